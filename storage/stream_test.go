package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/polarsql/polar/wal"
)

// TestStreamWALAfterTruncation: StreamWAL serves batches from the Raft
// log; when snapshots truncate the log, the batches at or above the GC
// horizon are kept in the state, whole, and keep streaming (across a
// restart too), while those below it are not copied and are refused.
// While the reader follows the log end nothing is copied at all.
func TestStreamWALAfterTruncation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	start := func() *Node {
		n, err := StartNode(Config{ID: 1, Dir: dir, Listen: "127.0.0.1:0", TickInterval: 10 * time.Millisecond,
			SnapshotEntries: 40, KeepEntries: 10, GCInterval: time.Hour,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		waitLeader(t, n)
		return n
	}
	n := start()
	epoch, _, err := n.BumpEpoch(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	lsn := wal.LSN(1)
	var horizon wal.LSN
	for i := 0; i < 300; i++ {
		data := bytes.Repeat([]byte{byte(i)}, 1+i%50)
		raw := encodeTestBatch(t, epoch, lsn, wal.PageWrite(wal.PageID(i%7), 0, 100, data), wal.Commit(0, uint64(i+1)))
		if _, err := n.Append(ctx, raw); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		raws = append(raws, raw)
		lsn += 2
		if i <= 149 {
			// A reader that follows the log end, like a busy primary,
			// until it stays at the end of batch 149: only batches from
			// there on are above the horizon.
			horizon = lsn - 1
			if _, err := n.ReportReadLSN(ctx, "reader", horizon, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	end := lsn - 1
	waitNodeApplied(t, n, end)
	if first, _ := n.rlog.FirstIndex(); first < 250 {
		t.Fatalf("the log starts at entry %d: snapshots did not truncate it", first)
	}

	stream := func(n *Node, from wal.LSN) ([][]byte, error) {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var out [][]byte
		err := n.StreamWAL(sctx, from, func(raw []byte) error {
			out = append(out, append([]byte(nil), raw...))
			if h, _ := wal.DecodeHeader(raw); h.LastLSN() == end {
				cancel()
			}
			return nil
		})
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		return out, err
	}
	check := func(n *Node) {
		t.Helper()
		got, err := stream(n, horizon)
		if err != nil {
			t.Fatalf("stream from the horizon %d: %v", horizon, err)
		}
		want := raws[149:]
		if len(got) != len(want) {
			t.Fatalf("stream from the horizon: %d batches, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("streamed batch %d differs", 149+i)
			}
		}
		if _, err := stream(n, 1); !errors.Is(err, ErrBelowHorizon) {
			t.Fatalf("stream from LSN 1 below the horizon: %v, want ErrBelowHorizon", err)
		}
	}
	check(n)

	// Only batches at or above the horizon were copied into the state.
	it, err := n.sdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixWAL}, UpperBound: []byte{prefixWAL + 1}})
	if err != nil {
		t.Fatal(err)
	}
	copies := 0
	for ok := it.First(); ok; ok = it.Next() {
		if _, isRef := decodeWALRef(it.Value()); !isRef {
			copies++
			if h, err := wal.DecodeHeader(it.Value()); err != nil || h.LastLSN() < horizon {
				t.Errorf("batch %+v below the horizon %d copied (%v)", h, horizon, err)
			}
		}
	}
	it.Close()
	if copies == 0 {
		t.Fatal("no batch was copied out of the truncated log")
	}
	t.Logf("%d of 300 batches copied into the state; the log starts at entry %d", copies, func() uint64 { f, _ := n.rlog.FirstIndex(); return f }())

	n.collect(ctx)
	check(n)
	n.Stop()
	n = start()
	defer n.Stop()
	check(n)
}

// waitNodeApplied waits until n has applied lsn.
func waitNodeApplied(t *testing.T, n *Node, lsn wal.LSN) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.sm.waitLSN(ctx, lsn); err != nil {
		t.Fatal(err)
	}
}
