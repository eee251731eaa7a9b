package storage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/polarsql/polar/wal"
)

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startInProcessCluster starts n voters in this process, talking gRPC over
// loopback, each with its own Pebble directory, and returns a client for
// all of them.
func startInProcessCluster(t testing.TB, n int) ([]*Node, *Client) {
	t.Helper()
	peers := map[uint64]string{}
	for i := 1; i <= n; i++ {
		peers[uint64(i)] = freeAddr(t)
	}
	dir := t.TempDir()
	var nodes []*Node
	var addrs []string
	for i := 1; i <= n; i++ {
		node, err := StartNode(Config{
			ID:           uint64(i),
			Dir:          filepath.Join(dir, fmt.Sprint(i)),
			Listen:       peers[uint64(i)],
			Peers:        peers,
			TickInterval: 20 * time.Millisecond,
			Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, node)
		addrs = append(addrs, node.Addr())
	}
	t.Cleanup(func() {
		for _, node := range nodes {
			node.Stop()
		}
	})
	c, err := Dial(addrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	waitLeader(t, c)
	return nodes, c
}

// BenchmarkAppend measures one writer appending batches back to back
// through the gRPC client: throughput and commit latency, for 1 and 3
// voters and 4 KiB and 64 KiB batches. Every append is fsynced by a
// majority before it returns; compare with wal's BenchmarkFsync.
func BenchmarkAppend(b *testing.B) {
	for _, voters := range []int{1, 3} {
		for _, size := range []int{4 << 10, 64 << 10} {
			for _, inflight := range []int{1, 8} {
				if inflight > 1 && size > 4<<10 {
					continue
				}
				name := fmt.Sprintf("voters=%d/size=%dKiB", voters, size>>10)
				if inflight > 1 {
					name += fmt.Sprintf("/pipelined=%d", inflight)
				}
				b.Run(name, func(b *testing.B) { benchmarkAppend(b, voters, size, inflight) })
			}
		}
	}
}

// benchmarkAppend appends batches of size bytes through the gRPC client:
// one Append at a time, or inflight at once through StartAppend.
func benchmarkAppend(b *testing.B, voters, size, inflight int) {
	_, c := startInProcessCluster(b, voters)
	ctx := context.Background()
	epoch, _, err := c.BumpEpoch(ctx, "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	// Page writes of 1 KiB spread over many pages.
	payload := make([]byte, 1000)
	per := size / 1016
	lsn := wal.LSN(1)
	lat := make([]time.Duration, 0, b.N)
	type flight struct {
		start time.Time
		out   <-chan AppendOutcome
	}
	var flights []flight
	settle := func() {
		o := <-flights[0].out
		if o.Err != nil {
			b.Fatal(o.Err)
		}
		lat = append(lat, time.Since(flights[0].start))
		flights = flights[1:]
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		recs := make([]wal.Record, 0, per+1)
		for j := 0; j < per; j++ {
			recs = append(recs, wal.PageWrite(wal.PageID((i*per+j)%4096), lsn+wal.LSN(j), 64, payload))
		}
		recs = append(recs, wal.Commit(lsn+wal.LSN(per), uint64(i+1)))
		batch := wal.Batch{Epoch: epoch, FirstLSN: lsn, Records: recs}
		raw, err := batch.Encode(nil)
		if err != nil {
			b.Fatal(err)
		}
		lsn = batch.LastLSN() + 1
		start := time.Now()
		if inflight == 1 {
			if _, err := c.Append(ctx, raw); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			continue
		}
		out, err := c.StartAppend(ctx, raw)
		if err != nil {
			b.Fatal(err)
		}
		flights = append(flights, flight{start, out})
		if len(flights) == inflight {
			settle()
		}
	}
	for len(flights) > 0 {
		settle()
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
}

// reportLatency adds p50 and p99 of the samples to the benchmark output.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkGetPageRPC measures GetPage end to end through the gRPC client
// for a page with one image followed by 0, 10 or 100 deltas of 100 bytes
// (materialisation off, so every read replays them all).
func BenchmarkGetPageRPC(b *testing.B) {
	for _, deltas := range []int{0, 10, 100} {
		b.Run(fmt.Sprintf("deltas=%d", deltas), func(b *testing.B) {
			n, err := StartNode(Config{ID: 1, Dir: b.TempDir(), Listen: "127.0.0.1:0", TickInterval: 10 * time.Millisecond,
				MaterializeAfter: 1 << 30, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer n.Stop()
			c, err := Dial([]string{n.Addr()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			waitLeader(b, c)
			ctx := context.Background()
			epoch, _, err := c.BumpEpoch(ctx, "bench", 0)
			if err != nil {
				b.Fatal(err)
			}
			recs := []wal.Record{wal.PageImage(7, 0, make([]byte, wal.PageSize))}
			for i := 0; i < deltas; i++ {
				recs = append(recs, wal.PageWrite(7, 0, uint32(64+i*100%16000), make([]byte, 100)))
			}
			recs = append(recs, wal.Commit(0, 1))
			if _, err := c.Append(ctx, encodeTestBatch(b, epoch, 1, recs...)); err != nil {
				b.Fatal(err)
			}
			last := wal.LSN(len(recs))
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, err := c.GetPage(ctx, 7, last); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
}
