package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/storage/storagetest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// startStorage starts a real single-voter storage node.
func startStorage(t testing.TB) *storage.Node { return storagetest.Start(t) }

func openEngine(t testing.TB, st storage.Service, poolBytes int64) *Engine {
	t.Helper()
	e, err := Open(context.Background(), Config{Storage: st, BufferPoolBytes: poolBytes, Logger: discard,
		LockWaitTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// intKey encodes an int as a prefix-free key.
func intKey(i int) []byte { return keycodec.AppendInt(nil, int64(i)) }

// TestEngineModel runs random transactions against a Go map oracle with a
// buffer pool of 16 frames, so pages are evicted and re-read from storage
// all the time, then restarts the engine and checks everything again.
func TestEngineModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	ctx := context.Background()
	st := startStorage(t)
	e := openEngine(t, st, 16*16<<10)
	var idxs []IndexID
	for i := 0; i < 3; i++ {
		id, err := e.CreateIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		idxs = append(idxs, id)
	}
	oracle := map[IndexID]map[string]string{}
	for _, id := range idxs {
		oracle[id] = map[string]string{}
	}
	value := func() string {
		n := rng.IntN(300)
		if rng.IntN(50) == 0 {
			n = 5000 + rng.IntN(20000)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
	checkScan := func(t *testing.T, tx *Txn, id IndexID, view map[string]string) {
		t.Helper()
		keys := make([]string, 0, len(view))
		for k := range view {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		lo, hi := rng.IntN(600), rng.IntN(600)
		if lo > hi {
			lo, hi = hi, lo
		}
		reverse := rng.IntN(2) == 0
		var want []string
		for _, k := range keys {
			if k >= string(intKey(lo)) && k < string(intKey(hi)) {
				want = append(want, k)
			}
		}
		if reverse {
			for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
				want[i], want[j] = want[j], want[i]
			}
		}
		it := tx.Scan(ctx, id, ScanOptions{Lo: intKey(lo), Hi: intKey(hi), Reverse: reverse})
		var got []string
		for it.Next(ctx) {
			got = append(got, string(it.Key()))
			if string(it.Value()) != view[string(it.Key())] {
				t.Fatalf("scan: value of %x differs", it.Key())
			}
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("scan [%d,%d) reverse=%v: got %d keys, want %d", lo, hi, reverse, len(got), len(want))
		}
	}
	for round := 0; round < 300; round++ {
		tx := e.Begin(TxnOptions{})
		view := map[IndexID]map[string]string{}
		for _, id := range idxs {
			view[id] = map[string]string{}
			for k, v := range oracle[id] {
				view[id][k] = v
			}
		}
		for op := 0; op < 1+rng.IntN(12); op++ {
			id := idxs[rng.IntN(len(idxs))]
			k := intKey(rng.IntN(600))
			tx.StatementBegin()
			switch r := rng.IntN(10); {
			case r < 5:
				v := value()
				if err := tx.Put(ctx, id, k, []byte(v)); err != nil {
					t.Fatal(err)
				}
				view[id][string(k)] = v
			case r < 7:
				if err := tx.Delete(ctx, id, k); err != nil {
					t.Fatal(err)
				}
				delete(view[id], string(k))
			case r < 9:
				got, ok, err := tx.Get(ctx, id, k, NoLock)
				want, wok := view[id][string(k)]
				if err != nil || ok != wok || string(got) != want {
					t.Fatalf("round %d get: %v %v, want %v (err %v)", round, ok, len(got), wok, err)
				}
			default:
				// A statement that fails half way is undone.
				before := map[string]string{}
				for kk, v := range view[id] {
					before[kk] = v
				}
				tx.Put(ctx, id, k, []byte("doomed"))
				tx.Delete(ctx, id, intKey(rng.IntN(600)))
				tx.StatementRollback()
				view[id] = before
			}
		}
		sid := idxs[rng.IntN(len(idxs))]
		checkScan(t, tx, sid, view[sid])
		if rng.IntN(5) == 0 {
			tx.Rollback()
			continue
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		oracle = view
	}
	verify := func(e *Engine) {
		t.Helper()
		tx := e.Begin(TxnOptions{ReadOnly: true})
		defer tx.Rollback()
		for _, id := range idxs {
			it := tx.Scan(ctx, id, ScanOptions{})
			n := 0
			for it.Next(ctx) {
				n++
				if want, ok := oracle[id][string(it.Key())]; !ok || want != string(it.Value()) {
					t.Fatalf("index %v key %x: wrong row after restart", id, it.Key())
				}
			}
			if it.Err() != nil || n != len(oracle[id]) {
				t.Fatalf("index %v: %d rows, want %d (err %v)", id, n, len(oracle[id]), it.Err())
			}
		}
	}
	verify(e)
	stats := e.Stats()
	if stats.Pool.Misses == 0 || stats.Pool.Evictions == 0 {
		t.Fatalf("the pool never evicted: %+v", stats.Pool)
	}
	e.Close()
	e = openEngine(t, st, 16*16<<10)
	defer e.Close()
	verify(e)
}

// TestEngineBank moves money between accounts in concurrent transactions
// while readers sum all accounts at their snapshot: every sum is exact.
func TestEngineBank(t *testing.T) {
	ctx := context.Background()
	st := startStorage(t)
	e := openEngine(t, st, 64<<20)
	defer e.Close()
	idx, err := e.CreateIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const accounts, initial = 20, 1000
	tx := e.Begin(TxnOptions{})
	for i := 0; i < accounts; i++ {
		tx.Put(ctx, idx, intKey(i), binary.BigEndian.AppendUint64(nil, initial))
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var transfers, deadlocks atomic.Int64
	errc := make(chan error, 64)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for !stop.Load() {
				a, b := rng.IntN(accounts), rng.IntN(accounts)
				if a == b {
					continue
				}
				tx := e.Begin(TxnOptions{})
				err := func() error {
					va, _, err := tx.Get(ctx, idx, intKey(a), LockExclusive)
					if err != nil {
						return err
					}
					vb, _, err := tx.Get(ctx, idx, intKey(b), LockExclusive)
					if err != nil {
						return err
					}
					amt := uint64(rng.IntN(10))
					x, y := binary.BigEndian.Uint64(va), binary.BigEndian.Uint64(vb)
					if x < amt {
						return nil
					}
					tx.Put(ctx, idx, intKey(a), binary.BigEndian.AppendUint64(nil, x-amt))
					tx.Put(ctx, idx, intKey(b), binary.BigEndian.AppendUint64(nil, y+amt))
					return nil
				}()
				if errors.Is(err, ErrDeadlock) {
					deadlocks.Add(1)
					tx.Rollback()
					continue
				}
				if err != nil {
					tx.Rollback()
					errc <- err
					return
				}
				if err := tx.Commit(ctx); err != nil {
					errc <- err
					return
				}
				transfers.Add(1)
			}
		}(w)
	}
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				tx := e.Begin(TxnOptions{ReadOnly: true})
				var sum uint64
				it := tx.Scan(ctx, idx, ScanOptions{})
				n := 0
				for it.Next(ctx) {
					sum += binary.BigEndian.Uint64(it.Value())
					n++
				}
				tx.Rollback()
				if it.Err() != nil || n != accounts || sum != accounts*initial {
					errc <- fmt.Errorf("snapshot sum %d over %d accounts (err %v)", sum, n, it.Err())
					return
				}
			}
		}()
	}
	time.Sleep(3 * time.Second)
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	t.Logf("%d transfers, %d deadlocks, stats %+v", transfers.Load(), deadlocks.Load(), e.Stats())
	if transfers.Load() < 50 {
		t.Fatalf("only %d transfers", transfers.Load())
	}
}

// TestEngineLostUpdate: concurrent read-modify-write with locking reads
// never loses an increment.
func TestEngineLostUpdate(t *testing.T) {
	ctx := context.Background()
	st := startStorage(t)
	e := openEngine(t, st, 64<<20)
	defer e.Close()
	idx, err := e.CreateIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const workers, each = 8, 25
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				tx := e.Begin(TxnOptions{})
				v, _, err := tx.Get(ctx, idx, intKey(1), LockExclusive)
				if err != nil {
					t.Error(err)
					tx.Rollback()
					return
				}
				var n uint64
				if len(v) == 8 {
					n = binary.BigEndian.Uint64(v)
				}
				tx.Put(ctx, idx, intKey(1), binary.BigEndian.AppendUint64(nil, n+1))
				if err := tx.Commit(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	tx := e.Begin(TxnOptions{})
	defer tx.Rollback()
	v, _, err := tx.Get(ctx, idx, intKey(1), NoLock)
	if err != nil || binary.BigEndian.Uint64(v) != workers*each {
		t.Fatalf("counter = %x (err %v), want %d", v, err, workers*each)
	}
}

// TestEngineSnapshotIsolation: a repeatable-read transaction keeps seeing
// its snapshot; read committed sees new commits per statement.
func TestEngineSnapshotIsolation(t *testing.T) {
	ctx := context.Background()
	st := startStorage(t)
	e := openEngine(t, st, 64<<20)
	defer e.Close()
	idx, _ := e.CreateIndex(ctx)
	put := func(v string) {
		tx := e.Begin(TxnOptions{})
		tx.Put(ctx, idx, intKey(7), []byte(v))
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	put("one")
	rr := e.Begin(TxnOptions{Isolation: RepeatableRead})
	rc := e.Begin(TxnOptions{Isolation: ReadCommitted})
	rc.StatementBegin()
	put("two")
	get := func(tx *Txn) string {
		v, _, err := tx.Get(ctx, idx, intKey(7), NoLock)
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	if got := get(rr); got != "one" {
		t.Fatalf("repeatable read sees %q", got)
	}
	if got := get(rc); got != "one" {
		t.Fatalf("read committed sees %q within its statement", got)
	}
	rc.StatementBegin()
	if got := get(rc); got != "two" {
		t.Fatalf("read committed's next statement sees %q", got)
	}
	// A locking read sees the newest committed version.
	if v, _, _ := rr.Get(ctx, idx, intKey(7), LockShared); string(v) != "two" {
		t.Fatalf("locking read sees %q", v)
	}
	rr.Rollback()
	rc.Rollback()
}

func TestDefaultPoolBytes(t *testing.T) {
	b := defaultPoolBytes()
	if b < 64<<20 || b > 1<<42 {
		t.Fatalf("default pool of %d bytes", b)
	}
}

// TestCommitStageTimings checks the commit stage timings: each
// acknowledged commit's time splits exactly into waiting for the
// committer, writing its group and storage making the group durable.
func TestCommitStageTimings(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, startStorage(t), 1<<20)
	defer e.Close()
	idx, err := e.CreateIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := e.Stats()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				tx := e.Begin(TxnOptions{})
				if err := tx.Put(ctx, idx, intKey(g*1000+i), []byte("v")); err != nil {
					t.Error(err)
					return
				}
				if err := tx.Commit(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	st := e.Stats()
	if n := st.Commits - before.Commits; n != 100 {
		t.Fatalf("%d commits counted, want 100", n)
	}
	wait, write := st.CommitWait-before.CommitWait, st.CommitWrite-before.CommitWrite
	durable, total := st.CommitDurable-before.CommitDurable, st.CommitTotal-before.CommitTotal
	if write <= 0 || durable <= 0 || wait < 0 {
		t.Fatalf("stage timings wait %v write %v durable %v", wait, write, durable)
	}
	if wait+write+durable != total {
		t.Fatalf("stages %v + %v + %v != total %v", wait, write, durable, total)
	}
	t.Logf("mean per commit: wait %v, write %v, durable %v, total %v", wait/100, write/100, durable/100, total/100)
}
