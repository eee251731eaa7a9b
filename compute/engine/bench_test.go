package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/polarsql/polar/storage"
)

// benchSetup opens an engine on 1 or 3 in-process storage voters with one
// index of rows 100-byte values, keys 0..rows-1.
func benchSetup(b *testing.B, voters int, poolBytes int64, rows int) (*Engine, IndexID) {
	b.Helper()
	ctx := context.Background()
	var st storage.Service
	if voters == 1 {
		st = startStorage(b)
	} else {
		_, c := startCluster(b)
		st = c
	}
	e, err := Open(ctx, Config{Storage: st, BufferPoolBytes: poolBytes, Logger: discard})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	idx, err := e.CreateIndex(ctx)
	if err != nil {
		b.Fatal(err)
	}
	val := make([]byte, 100)
	for i := 0; i < rows; {
		tx := e.Begin(TxnOptions{})
		for j := 0; j < 500 && i < rows; j, i = j+1, i+1 {
			tx.Put(ctx, idx, intKey(i), val)
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return e, idx
}

// parallel runs op from g goroutines (g=1 runs inline).
func parallel(b *testing.B, g int, op func(rng *rand.Rand)) {
	if g == 1 {
		rng := rand.New(rand.NewPCG(1, 1))
		for i := 0; i < b.N; i++ {
			op(rng)
		}
		return
	}
	b.SetParallelism((g + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	var seed atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 2))
		for pb.Next() {
			op(rng)
		}
	})
}

const benchRows = 10000

func BenchmarkEngine(b *testing.B) {
	ctx := context.Background()
	for _, voters := range []int{1, 3} {
		for _, g := range []int{1, 8} {
			name := fmt.Sprintf("voters=%d/goroutines=%d", voters, g)
			b.Run("PointGet/"+name, func(b *testing.B) {
				e, idx := benchSetup(b, voters, 256<<20, benchRows)
				b.ResetTimer()
				parallel(b, g, func(rng *rand.Rand) {
					tx := e.Begin(TxnOptions{ReadOnly: true})
					if _, ok, err := tx.Get(ctx, idx, intKey(rng.IntN(benchRows)), NoLock); err != nil || !ok {
						b.Error("point get failed", err)
					}
					tx.Rollback()
				})
			})
			b.Run("RangeScan100/"+name, func(b *testing.B) {
				e, idx := benchSetup(b, voters, 256<<20, benchRows)
				b.ResetTimer()
				parallel(b, g, func(rng *rand.Rand) {
					lo := rng.IntN(benchRows - 100)
					tx := e.Begin(TxnOptions{ReadOnly: true})
					it := tx.Scan(ctx, idx, ScanOptions{Lo: intKey(lo), Hi: intKey(lo + 100)})
					n := 0
					for it.Next(ctx) {
						n++
					}
					if n != 100 {
						b.Errorf("scan returned %d rows (%v)", n, it.Err())
					}
					tx.Rollback()
				})
			})
			b.Run("Insert/"+name, func(b *testing.B) {
				e, idx := benchSetup(b, voters, 256<<20, 0)
				var next atomic.Int64
				val := make([]byte, 100)
				b.ResetTimer()
				parallel(b, g, func(rng *rand.Rand) {
					tx := e.Begin(TxnOptions{})
					tx.Put(ctx, idx, intKey(int(next.Add(1))), val)
					if err := tx.Commit(ctx); err != nil {
						b.Error(err)
					}
				})
				s := e.Stats()
				b.ReportMetric(float64(s.Commits)/float64(max(s.Batches, 1)), "commits/batch")
			})
			b.Run("UpdatePK/"+name, func(b *testing.B) {
				e, idx := benchSetup(b, voters, 256<<20, benchRows)
				before := e.Stats()
				val := make([]byte, 100)
				b.ResetTimer()
				parallel(b, g, func(rng *rand.Rand) {
					tx := e.Begin(TxnOptions{})
					tx.Put(ctx, idx, intKey(rng.IntN(benchRows)), val)
					if err := tx.Commit(ctx); err != nil {
						b.Error(err)
					}
				})
				s := e.Stats()
				commits := s.Commits - before.Commits
				b.ReportMetric(float64(s.RedoBytes-before.RedoBytes)/float64(max(commits, 1)), "redo-bytes/update")
				b.ReportMetric(float64(commits)/float64(max(s.Batches-before.Batches, 1)), "commits/batch")
			})
		}
	}
	// Buffer pool misses: a pool of 32 frames over 10k rows, so most
	// point gets read their leaf from storage.
	b.Run("PointGetPoolMiss/voters=1/goroutines=1", func(b *testing.B) {
		e, idx := benchSetup(b, 1, 32*16<<10, benchRows)
		before := e.Stats().Pool
		b.ResetTimer()
		parallel(b, 1, func(rng *rand.Rand) {
			tx := e.Begin(TxnOptions{ReadOnly: true})
			if _, ok, err := tx.Get(ctx, idx, intKey(rng.IntN(benchRows)), NoLock); err != nil || !ok {
				b.Error("point get failed", err)
			}
			tx.Rollback()
		})
		p := e.Stats().Pool
		b.ReportMetric(float64(p.Misses-before.Misses)/float64(b.N), "misses/op")
	})
}
