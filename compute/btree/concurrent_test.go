package btree_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/btree"
	"github.com/polarsql/polar/compute/mtr"
)

// TestConcurrentReaders: one writer commits groups of random puts and
// deletes (several operations per MTR, as the engine does, with splits,
// merges and overflow chains) while four readers run Gets and full scans
// in both directions through a small pool. Readers never fail, scans are
// strictly ordered, and keys inserted before the readers started and never
// deleted are always found with their values.
func TestConcurrentReaders(t *testing.T) {
	seed := testSeed(t)
	e := newEnv(t, 16)
	ctx := e.ctx
	o := newOracle()
	const stable = 400
	stableKey := func(i int) []byte { return fmt.Appendf(nil, "s%05d", i*10) }
	stableVal := func(i int) []byte {
		n := (i * 37) % 301
		if i%60 == 0 {
			n = 30_000 + i
		}
		return bytes.Repeat([]byte{byte(i)}, n)
	}
	for i := 0; i < stable; i += 20 {
		e.mustCommit(func(m *mtr.MTR) error {
			for j := i; j < i+20; j++ {
				if err := e.tree.Put(ctx, m, stableKey(j), stableVal(j)); err != nil {
					return err
				}
				o.put(string(stableKey(j)), stableVal(j))
			}
			return nil
		})
	}

	dur := 3 * time.Second
	if testing.Short() {
		dur = time.Second
	}
	// A deadlock shows up as a hang: fail loudly with every stack.
	watchdog := time.AfterFunc(dur+2*time.Minute, func() {
		buf := make([]byte, 8<<20)
		n := runtime.Stack(buf, true)
		panic(fmt.Sprintf("TestConcurrentReaders hung:\n%s", buf[:n]))
	})
	defer watchdog.Stop()

	// Small iterator batches: scans re-descend many times per leaf.
	defer btree.SetBatchBytes(3000)()
	stop := make(chan struct{})
	errc := make(chan error, 8)
	var wg sync.WaitGroup
	var gets, scans atomic.Int64
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(r)))
			if err := reader(ctx, e, rng, stop, stableKey, stableVal, stable, &gets, &scans); err != nil {
				errc <- fmt.Errorf("reader %d: %w", r, err)
			}
		}(r)
	}

	rng := rand.New(rand.NewPCG(seed, 99))
	allocs0, frees0 := e.alloc.allocs, e.alloc.frees
	var live []string // the writer's keys
	deadline := time.Now().Add(dur)
	commits := 0
	// Run for dur, and at least minCommits commits whatever the machine's
	// speed (a loaded CI machine made too few for the checks below).
	const minCommits = 600
	for time.Now().Before(deadline) || commits < minCommits {
		err := e.commit(func(m *mtr.MTR) error {
			for range 1 + rng.IntN(8) {
				if len(live) == 0 || rng.IntN(100) < 60 {
					k := fmt.Sprintf("s%05d-%x", rng.IntN(stable*10), rng.Uint32()>>uint(rng.IntN(32)))
					n := rng.IntN(301)
					if rng.IntN(40) == 0 {
						n = 10_000 + rng.IntN(30_000)
					}
					v := bytes.Repeat([]byte{byte(n)}, n)
					if err := e.tree.Put(ctx, m, []byte(k), v); err != nil {
						return err
					}
					if _, ok := o.m[k]; !ok {
						live = append(live, k)
					}
					o.put(k, v)
					continue
				}
				i := rng.IntN(len(live))
				k := live[i]
				live[i] = live[len(live)-1]
				live = live[:len(live)-1]
				if found, err := e.tree.Delete(ctx, m, []byte(k)); err != nil || !found {
					return fmt.Errorf("delete %q: found %v, err %v", k, found, err)
				}
				o.del(k)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		commits++
		select {
		case err := <-errc:
			close(stop)
			t.Fatal(err)
		default:
		}
		// Now and then shrink a lot, so pages merge and the tree lowers.
		if commits%150 == 0 {
			e.mustCommit(func(m *mtr.MTR) error {
				for len(live) > 20 {
					k := live[len(live)-1]
					live = live[:len(live)-1]
					if _, err := e.tree.Delete(ctx, m, []byte(k)); err != nil {
						return err
					}
					o.del(k)
				}
				return nil
			})
		}
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d commits (%d allocations, %d frees); readers: %d gets, %d scans; pool %+v",
		commits, e.alloc.allocs-allocs0, e.alloc.frees-frees0, gets.Load(), scans.Load(), e.pool.Stats())
	if e.alloc.allocs-allocs0 < 20 || e.alloc.frees-frees0 < 20 {
		t.Errorf("too few splits and merges during the test")
	}
	if scans.Load() < 8 {
		t.Errorf("readers made little progress: %d scans", scans.Load())
	}
	verifyAll(t, e, o)
}

func reader(ctx context.Context, e *env, rng *rand.Rand, stop chan struct{}, stableKey, stableVal func(int) []byte,
	stable int, gets, scans *atomic.Int64) error {
	for iter := 0; ; iter++ {
		select {
		case <-stop:
			return nil
		default:
		}
		switch iter % 4 {
		case 0:
			for range 20 {
				i := rng.IntN(stable)
				v, ok, err := e.tree.Get(ctx, stableKey(i))
				if err != nil {
					return err
				}
				if !ok || !bytes.Equal(v, stableVal(i)) {
					return fmt.Errorf("stable key %s: found %v, value ok %v", stableKey(i), ok, bytes.Equal(v, stableVal(i)))
				}
				gets.Add(1)
			}
		case 1, 2:
			reverse := iter%4 == 2
			it := e.tree.Seek(ctx, nil)
			if reverse {
				it = e.tree.SeekReverse(ctx, nil)
			}
			var prev []byte
			seen := 0
			for n := 0; it.Next(ctx); n++ {
				k := it.Key()
				if n > 0 {
					if c := bytes.Compare(prev, k); (!reverse && c >= 0) || (reverse && c <= 0) {
						return fmt.Errorf("scan (reverse %v) out of order: %q then %q", reverse, prev, k)
					}
				}
				prev = k
				var i int
				if len(k) == 6 {
					if _, err := fmt.Sscanf(string(k), "s%05d", &i); err == nil && i%10 == 0 {
						if !bytes.Equal(it.Value(), stableVal(i/10)) {
							return fmt.Errorf("scan: stable key %q has a wrong value", k)
						}
						seen++
					}
				}
			}
			if err := it.Err(); err != nil {
				return err
			}
			if seen != stable {
				return fmt.Errorf("scan (reverse %v) saw %d stable keys, want %d", reverse, seen, stable)
			}
			scans.Add(1)
		case 3:
			start := stableKey(rng.IntN(stable))
			it := e.tree.Seek(ctx, start)
			var prev []byte
			for n := 0; n < 50 && it.Next(ctx); n++ {
				if bytes.Compare(it.Key(), start) < 0 || (n > 0 && bytes.Compare(prev, it.Key()) >= 0) {
					return fmt.Errorf("seek %q: key %q out of order", start, it.Key())
				}
				if n == 0 && !bytes.Equal(it.Key(), start) {
					return fmt.Errorf("seek %q: first key %q, but the stable key is there", start, it.Key())
				}
				prev = it.Key()
			}
			if err := it.Err(); err != nil {
				return err
			}
		}
	}
}

// TestReaderDoesNotBlockSplit: an MTR changes leaf A, a reader then waits
// for A, and the same MTR goes on to split another leaf under the same
// parent. With plain latch coupling the reader would wait for A while
// holding the parent, and the writer would wait for the parent: a
// deadlock. Readers must let go of the parent while they wait.
func TestReaderDoesNotBlockSplit(t *testing.T) {
	e := newEnv(t, 64)
	ctx := e.ctx
	key := func(i int) []byte { return fmt.Appendf(nil, "k%04d", i) }
	val := bytes.Repeat([]byte{'v'}, 200)
	e.mustCommit(func(m *mtr.MTR) error {
		for i := 0; i < 400; i += 2 {
			if err := e.tree.Put(ctx, m, key(i), val); err != nil {
				return err
			}
		}
		return nil
	})
	if st, err := e.tree.Stats(ctx); err != nil || st.Height != 2 {
		t.Fatalf("want a two-level tree: %+v %v", st, err)
	}
	m := mtr.New()
	// Leaf A (keys near 0) is now exclusively latched by m.
	if err := e.tree.Put(ctx, m, key(1), val); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, ok, err := e.tree.Get(ctx, key(0))
		if err == nil && !ok {
			err = fmt.Errorf("key 0 not found")
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond) // the reader is waiting for A
	// Split a leaf far from A: the parent (the root) must be latched.
	allocs := e.alloc.allocs
	done := make(chan error, 1)
	go func() {
		for i := 301; i < 399; i += 2 {
			if err := e.tree.Put(ctx, m, key(i), val); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: the writer cannot latch the parent while a reader waits for a leaf the MTR holds")
	}
	if e.alloc.allocs == allocs {
		t.Fatal("no split happened")
	}
	if err := e.finish(m); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if err := e.tree.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
