package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/polarsql/polar/wal"
)

// BenchmarkReadPage measures GetPage reconstruction cost by delta-chain
// length: one image followed by N 100-byte deltas, nothing materialised.
// Besides ns/op it reports p50/p99 latency of single reads.
func BenchmarkReadPage(b *testing.B) {
	for _, n := range []int{0, 10, 100} {
		b.Run(fmt.Sprintf("deltas=%d", n), func(b *testing.B) {
			db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: psQuietLogger{}})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s := NewPageStore(db, PageStoreOptions{MaterializeAfter: 1 << 30})
			const page = wal.PageID(77)
			rng := rand.New(rand.NewPCG(1, 2))
			recs := []wal.Record{wal.PageImage(page, 1, bytes.Repeat([]byte{0x5a}, wal.PageSize))}
			for i := 0; i < n; i++ {
				off := wal.PageLSNSize + rng.IntN(wal.PageSize-wal.PageLSNSize-100)
				recs = append(recs, wal.PageWrite(page, wal.LSN(2+i), uint32(off), psRandBytes(rng, 100)))
			}
			batch := &wal.Batch{Epoch: 1, FirstLSN: 1, Records: recs}
			psCommit(b, db, s, batch)
			// Flush so reads hit sstables, as they mostly do on a real node.
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
			last := batch.LastLSN()

			durs := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				if _, _, err := s.ReadPage(page, last); err != nil {
					b.Fatal(err)
				}
				durs = append(durs, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}

// BenchmarkAddBatch measures storing one commit group's redo in a WAL-less
// Pebble, as the state machine does: shaped like a sysbench write_only
// commit (17 writes of about 100 bytes in runs of three over six leaf
// pages of 10,000).
func BenchmarkAddBatch(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: psQuietLogger{}, DisableWAL: true, MemTableSize: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := NewPageStore(db, PageStoreOptions{})
	rng := rand.New(rand.NewPCG(1, 2))
	data := psRandBytes(rng, 100)
	next := wal.LSN(1)
	b.ReportAllocs()
	for b.Loop() {
		batch := &wal.Batch{Epoch: 1, FirstLSN: next}
		for p := 0; p < 6; p++ {
			page := wal.PageID(1 + rng.IntN(10000))
			for r := 0; r < 3 && len(batch.Records) < 17; r++ {
				batch.Records = append(batch.Records, wal.PageWrite(page, next, uint32(100+200*r), data))
				next++
			}
		}
		batch.Records = append(batch.Records, wal.Commit(next, uint64(next)))
		next++
		psCommit(b, db, s, batch)
	}
}
