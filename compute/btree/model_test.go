package btree_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/btree"
	"github.com/polarsql/polar/compute/mtr"
	"github.com/polarsql/polar/compute/page"
)

var seedFlag = flag.Uint64("btree.seed", 0, "seed for the randomized tests (0: derived from the time)")

func testSeed(t *testing.T) uint64 {
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -btree.seed=%d)", s, s)
	return s
}

// keyGen makes keys of 1-200 bytes with many shared prefixes.
type keyGen struct {
	rng      *rand.Rand
	prefixes [][]byte
}

func newKeyGen(rng *rand.Rand) *keyGen {
	g := &keyGen{rng: rng}
	for i := 0; i < 24; i++ {
		// Long prefixes make long separators, hence a low fan-out and a
		// tree of several levels from a few thousand keys.
		n := 120 + rng.IntN(70)
		if i%6 == 0 {
			n = rng.IntN(30)
		}
		p := make([]byte, n)
		for j := range p {
			p[j] = "abcd\x00\xff"[rng.IntN(6)]
		}
		g.prefixes = append(g.prefixes, p)
	}
	return g
}

func (g *keyGen) key() []byte {
	r := g.rng
	p := g.prefixes[r.IntN(len(g.prefixes))]
	var k []byte
	n := 1 + r.IntN(200)
	switch x := r.IntN(10); {
	case x < 7: // a prefix and a random tail
		k = append(k, p...)
		n = len(p) + 1 + r.IntN(200-len(p))
	case x < 9: // random
	default: // a truncated prefix
		if len(p) > 0 {
			return append(k, p[:1+r.IntN(len(p))]...)
		}
	}
	for len(k) < n {
		k = append(k, "abcdefgh\x00\xff"[r.IntN(10)])
	}
	return k
}

func (g *keyGen) value() []byte {
	r := g.rng
	var n int
	switch x := r.IntN(100); {
	case x < 2:
		n = 20_000 + r.IntN(80_000) // overflow chain
	case x < 5:
		n = 3_500 + r.IntN(1_000) // around the inline limit
	default:
		n = r.IntN(301)
	}
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(r.Uint32())
	}
	return v
}

// TestModel runs thousands of random operations against a map oracle,
// through a buffer pool of 24 frames over a real storage node, in phases
// that grow the tree, shrink it (merges, root collapse) and grow it again.
// Then it checks redo fidelity, page accounting and a restart.
func TestModel(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	e := newEnv(t, 24)
	ctx := e.ctx
	o := newOracle()
	g := newKeyGen(rng)
	// Small iterator batches: most batches end inside a leaf.
	defer btree.SetBatchBytes(2000)()
	phases := []struct {
		ops            int
		putPct, delPct int
	}{
		{10000, 90, 3},
		{7000, 5, 90},
		{2000, 70, 20},
	}
	if testing.Short() || raceEnabled {
		for i := range phases {
			phases[i].ops /= 4
		}
	}
	// existing returns a key in the tree (or a fresh one if empty).
	existing := func() []byte {
		if len(o.keys) == 0 || rng.IntN(10) == 0 {
			return g.key()
		}
		return []byte(o.keys[rng.IntN(len(o.keys))])
	}
	var maxHeight, ops int
	for pi, ph := range phases {
		for n := 0; n < ph.ops; {
			x := rng.IntN(100)
			switch {
			case x < ph.putPct+ph.delPct:
				// A group of 1-4 writes in one MTR, with reads by the
				// writer in between.
				group := 1 + rng.IntN(4)
				err := e.commit(func(m *mtr.MTR) error {
					for range group {
						if rng.IntN(ph.putPct+ph.delPct) < ph.putPct {
							k := g.key()
							if rng.IntN(5) == 0 {
								k = existing()
							}
							v := g.value()
							if err := e.tree.Put(ctx, m, k, v); err != nil {
								return fmt.Errorf("put %x: %w", k, err)
							}
							o.put(string(k), v)
						} else if rng.IntN(40) == 0 {
							// Delete a run of keys found by the writer's
							// own scan: empties whole leaves.
							it := e.tree.SeekIn(ctx, m, existing())
							var run [][]byte
							for len(run) < 10+rng.IntN(50) && it.Next(ctx) {
								run = append(run, it.Key())
							}
							if it.Err() != nil {
								return it.Err()
							}
							for _, k := range run {
								if found, err := e.tree.Delete(ctx, m, k); err != nil || !found {
									return fmt.Errorf("range delete %x: found %v, err %v", k, found, err)
								}
								o.del(string(k))
							}
						} else {
							k := existing()
							found, err := e.tree.Delete(ctx, m, k)
							if err != nil {
								return fmt.Errorf("delete %x: %w", k, err)
							}
							if want := o.del(string(k)); found != want {
								return fmt.Errorf("delete %x: found %v, want %v", k, found, want)
							}
						}
						k := existing()
						v, ok, err := e.tree.GetIn(ctx, m, k)
						want, wantOK := o.m[string(k)]
						if err != nil || ok != wantOK || !bytes.Equal(v, want) {
							return fmt.Errorf("get-in %x: found %v (want %v), err %v", k, ok, wantOK, err)
						}
						if rng.IntN(8) == 0 {
							start := existing()
							if err := checkScan(ctx, o, e.tree.SeekIn(ctx, m, start), start, false, 20); err != nil {
								return fmt.Errorf("seek-in: %w", err)
							}
							if err := checkScan(ctx, o, e.tree.SeekReverseIn(ctx, m, start), start, true, 20); err != nil {
								return fmt.Errorf("seek-reverse-in: %w", err)
							}
						}
					}
					return nil
				})
				if err != nil {
					t.Fatalf("phase %d op %d: %v", pi, ops, err)
				}
				n += group
			case x < ph.putPct+ph.delPct+8:
				k := existing()
				v, ok, err := e.tree.Get(ctx, k)
				want, wantOK := o.m[string(k)]
				if err != nil || ok != wantOK || !bytes.Equal(v, want) {
					t.Fatalf("op %d: get %x: found %v (want %v), err %v", ops, k, ok, wantOK, err)
				}
				n++
			default:
				var start []byte
				switch rng.IntN(4) {
				case 0:
					start = nil
				case 1:
					start = g.key()
				default:
					start = existing()
				}
				limit := 1 + rng.IntN(80)
				if err := checkScan(ctx, o, e.tree.Seek(ctx, start), start, false, limit); err != nil {
					t.Fatalf("op %d: %v", ops, err)
				}
				if err := checkScan(ctx, o, e.tree.SeekReverse(ctx, start), start, true, limit); err != nil {
					t.Fatalf("op %d: %v", ops, err)
				}
				n++
			}
			ops++
			if ops%300 == 0 {
				if err := e.tree.Check(ctx); err != nil {
					t.Fatalf("op %d: %v", ops, err)
				}
				st, err := e.tree.Stats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if st.Entries != len(o.keys) {
					t.Fatalf("op %d: stats count %d entries, oracle %d", ops, st.Entries, len(o.keys))
				}
				maxHeight = max(maxHeight, st.Height)
			}
		}
		st, err := e.tree.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("after phase %d: %d keys, height %d, pages/level %v, %d overflow pages, fill %.2f (leaves %.2f)",
			pi, len(o.keys), st.Height, st.PagesPerLevel, st.OverflowPages, st.FillFactor, st.LeafFill)
	}
	if maxHeight < 3 && !testing.Short() && !raceEnabled {
		t.Errorf("tree never got higher than %d levels: the test does not exercise internal splits", maxHeight)
	}
	ps := e.pool.Stats()
	t.Logf("pool: %+v; allocator: %d allocations, %d frees", ps, e.alloc.allocs, e.alloc.frees)
	if ps.Evictions < 1000 {
		t.Errorf("only %d evictions: pages are not being re-read from storage", ps.Evictions)
	}
	if e.alloc.frees == 0 {
		t.Error("no page was ever freed")
	}
	verifyAll(t, e, o)
	checkNoLeak(t, e)
	checkRedo(t, e)

	// Restart: a new pool over the same storage sees the same tree.
	e.restart(24)
	verifyAll(t, e, o)
	// And it keeps working.
	for i := 0; i < 200; i++ {
		k, v := g.key(), g.value()
		e.mustCommit(func(m *mtr.MTR) error { return e.tree.Put(ctx, m, k, v) })
		o.put(string(k), v)
	}
	verifyAll(t, e, o)
	checkRedo(t, e)
}

// TestShrink deletes almost everything and then everything: leaves merge,
// empty pages are freed, the root comes back down to a single empty leaf,
// and no page leaks.
func TestShrink(t *testing.T) {
	e := newEnv(t, 32)
	ctx := e.ctx
	o := newOracle()
	const n = 6000
	// Long shared prefixes make long separators, so the tree gets three
	// levels.
	key := func(i int) []byte { return fmt.Appendf(bytes.Repeat([]byte{'p'}, 250), "%08d", (i*7919)%n) }
	val := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 40+i%90) }
	for i := 0; i < n; i += 50 {
		e.mustCommit(func(m *mtr.MTR) error {
			for j := i; j < i+50; j++ {
				if err := e.tree.Put(ctx, m, key(j), val(j)); err != nil {
					return err
				}
				o.put(string(key(j)), val(j))
			}
			return nil
		})
	}
	full, err := e.tree.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if full.Height < 3 {
		t.Fatalf("height %d after %d inserts", full.Height, n)
	}
	// Keep every 40th key.
	for i := 0; i < n; i += 100 {
		e.mustCommit(func(m *mtr.MTR) error {
			for j := i; j < i+100; j++ {
				if (j*7919)%n%40 == 0 {
					continue
				}
				if found, err := e.tree.Delete(ctx, m, key(j)); err != nil || !found {
					return fmt.Errorf("delete %s: %v %v", key(j), found, err)
				}
				o.del(string(key(j)))
			}
			return nil
		})
	}
	verifyAll(t, e, o)
	sparse, err := e.tree.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("full: %+v", full)
	t.Logf("sparse: %+v", sparse)
	if sparse.LeafPages > full.LeafPages/8 || sparse.LeafFill < 0.2 {
		t.Errorf("leaves did not merge: %d leaves at %.2f fill (from %d)", sparse.LeafPages, sparse.LeafFill, full.LeafPages)
	}
	// Delete the rest.
	e.mustCommit(func(m *mtr.MTR) error {
		for _, k := range append([]string(nil), o.keys...) {
			if found, err := e.tree.Delete(ctx, m, []byte(k)); err != nil || !found {
				return fmt.Errorf("delete %x: %v %v", k, found, err)
			}
			o.del(k)
		}
		return nil
	})
	verifyAll(t, e, o)
	empty, err := e.tree.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if empty.Height != 1 || empty.LeafPages != 1 || empty.Entries != 0 {
		t.Fatalf("empty tree: %+v", empty)
	}
	checkNoLeak(t, e)
	if e.alloc.freeCount() != len(e.alloc.allPages())-1 {
		t.Fatalf("%d pages free of %d", e.alloc.freeCount(), len(e.alloc.allPages()))
	}
	checkRedo(t, e)
}

// TestOverflow replaces and deletes overflowed values and checks that
// their chains are freed.
func TestOverflow(t *testing.T) {
	e := newEnv(t, 16)
	ctx := e.ctx
	o := newOracle()
	big := func(n int, b byte) []byte {
		v := make([]byte, n)
		for i := range v {
			v[i] = b + byte(i*31)
		}
		return v
	}
	sizes := []int{page.MaxCellSize - 10, page.MaxCellSize, page.OverflowCapacity, page.OverflowCapacity + 1, 3 * page.OverflowCapacity, 1 << 20}
	for i, n := range sizes {
		k := fmt.Appendf(nil, "big%d", i)
		v := big(n, byte(i))
		e.mustCommit(func(m *mtr.MTR) error { return e.tree.Put(ctx, m, k, v) })
		o.put(string(k), v)
	}
	verifyAll(t, e, o)
	st, _ := e.tree.Stats(ctx)
	if st.OverflowValues != 5 || st.OverflowPages != 1+1+2+3+(1<<20+page.OverflowCapacity-1)/page.OverflowCapacity {
		t.Fatalf("overflow accounting: %+v", st)
	}
	// Replace overflowed values by small ones, small by big, delete one.
	e.mustCommit(func(m *mtr.MTR) error {
		for i := range sizes {
			k := fmt.Appendf(nil, "big%d", i)
			v := []byte("small")
			if i < 2 {
				v = big(50_000, 9)
			}
			if err := e.tree.Put(ctx, m, k, v); err != nil {
				return err
			}
			o.put(string(k), v)
		}
		_, err := e.tree.Delete(ctx, m, []byte("big0"))
		o.del("big0")
		return err
	})
	verifyAll(t, e, o)
	st, _ = e.tree.Stats(ctx)
	if st.OverflowValues != 1 || st.OverflowPages != 4 {
		t.Fatalf("after replacing: %+v", st)
	}
	checkNoLeak(t, e)
	checkRedo(t, e)
}

// TestLimits checks the key and value bounds and edge-case keys.
func TestLimits(t *testing.T) {
	e := newEnv(t, 16)
	ctx := e.ctx
	err := e.commit(func(m *mtr.MTR) error {
		return e.tree.Put(ctx, m, make([]byte, btree.MaxKeySize+1), nil)
	})
	if !errors.Is(err, btree.ErrKeyTooLarge) {
		t.Fatalf("long key: %v", err)
	}
	err = e.commit(func(m *mtr.MTR) error {
		return e.tree.Put(ctx, m, []byte("k"), make([]byte, btree.MaxValueSize+1))
	})
	if !errors.Is(err, btree.ErrValueTooLarge) {
		t.Fatalf("long value: %v", err)
	}
	o := newOracle()
	keys := [][]byte{{}, {0}, {0, 0}, {0xff}, bytes.Repeat([]byte{0xff}, btree.MaxKeySize), bytes.Repeat([]byte{'a'}, btree.MaxKeySize)}
	// Enough long keys for internal pages full of long separators.
	for i := 0; i < 400; i++ {
		k := bytes.Repeat([]byte{'m'}, btree.MaxKeySize)
		copy(k[btree.MaxKeySize-4:], fmt.Appendf(nil, "%04d", i))
		keys = append(keys, k)
	}
	for _, k := range keys {
		e.mustCommit(func(m *mtr.MTR) error { return e.tree.Put(ctx, m, k, k[:min(len(k), 10)]) })
		o.put(string(k), k[:min(len(k), 10)])
	}
	verifyAll(t, e, o)
	st, _ := e.tree.Stats(ctx)
	if st.Height < 3 {
		t.Errorf("long keys: height %d", st.Height)
	}
	// Empty key vs nil in reverse scans: nil is "from the end", empty
	// is "below the empty key", which is nothing.
	if it := e.tree.SeekReverse(ctx, []byte{}); it.Next(ctx) {
		t.Fatalf("reverse scan below the empty key returned %x", it.Key())
	}
	if err := checkScan(ctx, o, e.tree.Seek(ctx, []byte{}), []byte{}, false, 3); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := e.tree.Get(ctx, nil); err != nil || !ok || len(v) != 0 {
		t.Fatalf("get of the empty key: %v %v %v", v, ok, err)
	}
	if found, err := func() (f bool, err error) {
		err = e.commit(func(m *mtr.MTR) error { f, err = e.tree.Delete(ctx, m, make([]byte, btree.MaxKeySize+1)); return err })
		return
	}(); err != nil || found {
		t.Fatalf("delete of an over-long key: %v %v", found, err)
	}
	checkRedo(t, e)
}

// TestBigCells runs random writes with keys close to MaxKeySize and
// inline values close to the cell limit: a handful of entries per leaf
// and per internal page, so nearly every operation splits, merges, empties
// a leaf or an internal page, or changes the root.
func TestBigCells(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	e := newEnv(t, 16)
	ctx := e.ctx
	o := newOracle()
	prefix := bytes.Repeat([]byte{'x'}, btree.MaxKeySize-30)
	key := func() []byte {
		k := append([]byte(nil), prefix[:len(prefix)-rng.IntN(3)]...)
		return fmt.Appendf(k, "%0*d", 1+rng.IntN(25), rng.IntN(3000))
	}
	value := func(k []byte) []byte {
		n := page.MaxCellSize - len(k) - 1 - rng.IntN(1500)
		if rng.IntN(20) == 0 {
			n = 20_000 // overflow
		}
		return bytes.Repeat([]byte{byte(rng.Uint32())}, n)
	}
	ops := 4000
	if testing.Short() || raceEnabled {
		ops = 1000
	}
	maxHeight := 0
	for i := 0; i < ops; i++ {
		// Grow, then shrink to empty, then grow again.
		putPct := 70
		if (i/1000)%2 == 1 {
			putPct = 25
		}
		err := e.commit(func(m *mtr.MTR) error {
			for range 1 + rng.IntN(3) {
				if rng.IntN(100) < putPct {
					k := key()
					v := value(k)
					if err := e.tree.Put(ctx, m, k, v); err != nil {
						return err
					}
					o.put(string(k), v)
					continue
				}
				if putPct < 50 && rng.IntN(5) == 0 {
					// A run of keys: empties leaves one after another, so
					// their parent loses all its children.
					it := e.tree.SeekIn(ctx, m, key())
					var run [][]byte
					for len(run) < 5+rng.IntN(40) && it.Next(ctx) {
						run = append(run, it.Key())
					}
					for _, k := range run {
						if found, err := e.tree.Delete(ctx, m, k); err != nil || !found {
							return fmt.Errorf("range delete %x: found %v, err %v", k, found, err)
						}
						o.del(string(k))
					}
					if it.Err() != nil {
						return it.Err()
					}
					continue
				}
				k := key()
				if len(o.keys) > 0 && rng.IntN(4) > 0 {
					k = []byte(o.keys[rng.IntN(len(o.keys))])
				}
				found, err := e.tree.Delete(ctx, m, k)
				if err != nil {
					return err
				}
				if want := o.del(string(k)); want != found {
					return fmt.Errorf("delete %x: found %v, want %v", k, found, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		if i%50 == 0 {
			if err := e.tree.Check(ctx); err != nil {
				t.Fatalf("op %d: %v", i, err)
			}
			st, _ := e.tree.Stats(ctx)
			maxHeight = max(maxHeight, st.Height)
			start := key()
			if err := checkScan(ctx, o, e.tree.Seek(ctx, start), start, false, 30); err != nil {
				t.Fatalf("op %d: %v", i, err)
			}
			if err := checkScan(ctx, o, e.tree.SeekReverse(ctx, start), start, true, 30); err != nil {
				t.Fatalf("op %d: %v", i, err)
			}
		}
	}
	if maxHeight < 4 && !testing.Short() && !raceEnabled {
		t.Errorf("max height %d", maxHeight)
	}
	verifyAll(t, e, o)
	checkNoLeak(t, e)
	checkRedo(t, e)
}
