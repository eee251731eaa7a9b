package storage_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/wal"
)

// TestClusterPipelinedAppends keeps 8 appends in flight on the client's
// append stream to a 3-process cluster, SIGKILLs the leader in the middle,
// and checks that every outcome arrives in order, that the appends in
// flight at the crash are carried over to the new leader, that a leader
// dying between appends is survived too, and that the log holds exactly
// the acknowledged batches.
func TestClusterPipelinedAppends(t *testing.T) {
	cl := newCluster(t, 3, 1000)
	c := dial(t, cl.addrs()...)
	mustLeader(t, c)
	epoch, _, err := c.BumpEpoch(context.Background(), "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	g := newBatchGen(seed, 50)

	type flight struct {
		b   *wal.Batch
		raw []byte
		out <-chan storage.AppendOutcome
	}
	acked := map[wal.LSN][]byte{} // first LSN -> batch
	next := wal.LSN(1)
	var inflight []flight
	settle := func() {
		t.Helper()
		f := inflight[0]
		inflight = inflight[1:]
		o := <-f.out
		if o.Err != nil {
			t.Fatalf("append [%d,%d]: %v", f.b.FirstLSN, f.b.LastLSN(), o.Err)
		}
		if o.Result.LastLSN != f.b.LastLSN() && !(o.Result.Duplicate && o.Result.LastLSN > f.b.LastLSN()) {
			t.Fatalf("append [%d,%d]: result %+v out of order", f.b.FirstLSN, f.b.LastLSN(), o.Result)
		}
		acked[f.b.FirstLSN] = f.raw
	}
	pipeline := func(n int, during func(i int)) {
		t.Helper()
		for i := 0; i < n; i++ {
			if during != nil {
				during(i)
			}
			b, raw := g.next(epoch, next)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := c.StartAppend(ctx, raw)
			if err != nil {
				cancel()
				t.Fatalf("start append [%d,%d]: %v", b.FirstLSN, b.LastLSN(), err)
			}
			// The outcome channel is read before cancel runs.
			done := make(chan storage.AppendOutcome, 1)
			go func() { o := <-out; cancel(); done <- o }()
			inflight = append(inflight, flight{b, raw, done})
			next = b.LastLSN() + 1
			if len(inflight) == 8 {
				settle()
			}
		}
		for len(inflight) > 0 {
			settle()
		}
	}

	start := time.Now()
	pipeline(400, nil)
	t.Logf("400 pipelined appends in %v", time.Since(start).Round(time.Millisecond))

	info := mustLeader(t, c)
	leader := cl.byAddr(info.LeaderAddr)
	pipeline(200, func(i int) {
		if i == 50 {
			cl.kill(leader.id)
			t.Logf("SIGKILLed leader %d with appends in flight", leader.id)
		}
	})
	pipeline(50, nil)

	// A leader that dies with nothing in flight leaves the client's stream
	// pointing at a dead address: the next append must still find the new
	// leader rather than fail to open a stream.
	cl.restart(leader.id)
	info = mustLeader(t, c)
	leader = cl.byAddr(info.LeaderAddr)
	cl.kill(leader.id)
	t.Logf("SIGKILLed leader %d with nothing in flight", leader.id)
	pipeline(50, nil)

	// The log, read from the new leader, is exactly the acknowledged batches.
	end := next - 1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop := errors.New("stop")
	seen := 0
	err = c.StreamWAL(ctx, 1, func(raw []byte) error {
		h, err := wal.DecodeHeader(raw)
		if err != nil {
			return err
		}
		want, ok := acked[h.FirstLSN]
		if !ok || !bytes.Equal(want, raw) {
			t.Errorf("log holds a batch at %d that was not acknowledged there", h.FirstLSN)
		}
		seen++
		if h.LastLSN() >= end {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("StreamWAL: %v", err)
	}
	if seen != len(acked) {
		t.Fatalf("log holds %d batches, %d were acknowledged", seen, len(acked))
	}
}
