package wal

import (
	"testing"
)

// benchBatches returns the two batch shapes the benchmarks measure: ~4 KiB
// of small page writes (an OLTP mini-transaction mix) and ~64 KiB made of a
// few page images plus writes (splits and new pages).
func benchBatches() []struct {
	name string
	b    *Batch
} {
	rng := newRand(2024)
	small := &Batch{Epoch: 1, FirstLSN: 1000}
	for small.EncodedSize() < 4<<10-64 {
		lsn := small.LastLSN() + 1
		if len(small.Records)%8 == 7 {
			small.Records = append(small.Records, Commit(lsn, uint64(lsn)))
			continue
		}
		n := 16 + rng.IntN(48)
		off := PageLSNSize + rng.IntN(PageSize-PageLSNSize-n)
		small.Records = append(small.Records, PageWrite(MakePageID(1, rng.Uint64N(1000)), lsn, uint32(off), randBytes(rng, n)))
	}
	large := &Batch{Epoch: 1, FirstLSN: 1000}
	for range 3 {
		large.Records = append(large.Records, PageImage(MakePageID(2, rng.Uint64N(1000)), large.LastLSN()+1, randBytes(rng, PageSize)))
	}
	for large.EncodedSize() < 64<<10-300 {
		n := 100 + rng.IntN(100)
		off := PageLSNSize + rng.IntN(PageSize-PageLSNSize-n)
		large.Records = append(large.Records, PageWrite(MakePageID(2, rng.Uint64N(1000)), large.LastLSN()+1, uint32(off), randBytes(rng, n)))
	}
	large.Records = append(large.Records, Commit(large.LastLSN()+1, 1))
	return []struct {
		name string
		b    *Batch
	}{{"4KiB", small}, {"64KiB", large}}
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range benchBatches() {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, c.b.EncodedSize())
			b.SetBytes(int64(c.b.EncodedSize()))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = c.b.Encode(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(c.b.Records)), "records/batch")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range benchBatches() {
		b.Run(c.name, func(b *testing.B) {
			buf := mustEncode(b, c.b)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeBatch(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(c.b.Records)), "records/batch")
		})
	}
}

func BenchmarkApplyPageWrite(b *testing.B) {
	page := make([]byte, PageSize)
	rec := PageWrite(1, 1, 1000, make([]byte, 100))
	b.SetBytes(int64(len(rec.Data)))
	for b.Loop() {
		// Advance the LSN so every iteration really writes.
		rec.LSN++
		if err := Apply(page, &rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyPageImage(b *testing.B) {
	page := make([]byte, PageSize)
	rec := PageImage(1, 1, randBytes(newRand(1), PageSize))
	b.SetBytes(PageSize)
	for b.Loop() {
		rec.LSN++
		if err := Apply(page, &rec); err != nil {
			b.Fatal(err)
		}
	}
}
