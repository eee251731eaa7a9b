package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkFsync measures the machine's raw durable-append rate: each
// iteration appends one buffer to a file and fsyncs it. This is the
// physical limit the storage tier's append throughput is compared against
// (ns/op is the latency of one durable write; 1e9/ns/op the fsyncs/s).
//
// The file wraps around to offset 0 after fsyncFileLimit bytes so a long
// run cannot fill the disk; the first pass through the file appends (size
// changes, as in a growing log), later passes overwrite.
func BenchmarkFsync(b *testing.B) {
	const fsyncFileLimit = 64 << 20
	for _, size := range []int{4 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "fsync.bench"), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := randBytes(newRand(uint64(size)), size)
			b.SetBytes(int64(size))
			var off int64
			for b.Loop() {
				if off+int64(size) > fsyncFileLimit {
					off = 0
				}
				if _, err := f.WriteAt(buf, off); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				off += int64(size)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsyncs/s")
		})
	}
}
