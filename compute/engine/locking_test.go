package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestEngineDeadlock: two transactions locking two rows in opposite
// orders; one is chosen as the victim with ErrDeadlock, the other commits.
func TestEngineDeadlock(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, startStorage(t), 64<<20)
	defer e.Close()
	idx, _ := e.CreateIndex(ctx)
	a, b := e.Begin(TxnOptions{}), e.Begin(TxnOptions{})
	if err := a.Put(ctx, idx, intKey(1), []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, idx, intKey(2), []byte("b")); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- a.Put(ctx, idx, intKey(2), []byte("a")) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	errB := b.Put(ctx, idx, intKey(1), []byte("b"))
	if !errors.Is(errB, ErrDeadlock) {
		t.Fatalf("second waiter: %v, want deadlock", errB)
	}
	if time.Since(start) > time.Second {
		t.Fatal("deadlock detected only after a timeout")
	}
	b.Rollback()
	if err := <-errc; err != nil {
		t.Fatalf("survivor: %v", err)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestEngineLockTimeout: a wait longer than the transaction's lock wait
// timeout fails with ErrLockTimeout and leaves the holder unaffected.
func TestEngineLockTimeout(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, startStorage(t), 64<<20)
	defer e.Close()
	idx, _ := e.CreateIndex(ctx)
	holder := e.Begin(TxnOptions{})
	if err := holder.Put(ctx, idx, intKey(1), []byte("x")); err != nil {
		t.Fatal(err)
	}
	waiter := e.Begin(TxnOptions{LockWaitTimeout: 100 * time.Millisecond})
	start := time.Now()
	_, _, err := waiter.Get(ctx, idx, intKey(1), LockShared)
	if !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("got %v, want lock timeout", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Fatalf("timed out after %v", d)
	}
	waiter.Rollback()
	if err := holder.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestEngineDuplicateKeyRace: many transactions race to insert the same
// key after checking it is absent with a locking read; exactly one wins.
func TestEngineDuplicateKeyRace(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, startStorage(t), 64<<20)
	defer e.Close()
	idx, _ := e.CreateIndex(ctx)
	for round := 0; round < 10; round++ {
		var wins, dups atomic.Int32
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tx := e.Begin(TxnOptions{})
				_, exists, err := tx.Get(ctx, idx, intKey(round), LockExclusive)
				if err != nil {
					t.Error(err)
					tx.Rollback()
					return
				}
				if exists {
					dups.Add(1)
					tx.Rollback()
					return
				}
				if err := tx.Put(ctx, idx, intKey(round), []byte("won")); err != nil {
					t.Error(err)
				}
				if err := tx.Commit(ctx); err != nil {
					t.Error(err)
					return
				}
				wins.Add(1)
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || dups.Load() != 7 {
			t.Fatalf("round %d: %d inserts won, %d saw the duplicate", round, wins.Load(), dups.Load())
		}
	}
}
