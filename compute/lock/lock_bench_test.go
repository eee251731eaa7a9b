package lock

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkUncontended takes and releases one X lock.
func BenchmarkUncontended(b *testing.B) {
	m := New()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		txn := TxnID(i + 1)
		if err := m.Acquire(ctx, txn, "key", Exclusive, time.Second); err != nil {
			b.Fatal(err)
		}
		m.ReleaseAll(txn)
	}
}

// BenchmarkContended runs 8 goroutines, each taking and releasing one X
// lock on a random key of 64.
func BenchmarkContended(b *testing.B) {
	const (
		workers = 8
		nkeys   = 64
	)
	m := New()
	ctx := context.Background()
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("key%02d", i)
	}
	var next atomic.Uint64
	var ops atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for ops.Add(1) <= int64(b.N) {
				txn := TxnID(next.Add(1))
				if err := m.Acquire(ctx, txn, keys[rng.IntN(nkeys)], Exclusive, 10*time.Second); err != nil {
					b.Error(err)
					return
				}
				m.ReleaseAll(txn)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if k, w := m.Stats(); k != 0 || w != 0 {
		b.Fatalf("Stats = (%d, %d) after the run", k, w)
	}
}
