package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/polarsql/polar/wal"
)

// startTestNode starts a single-voter node in dir on a free port.
func startTestNode(t *testing.T, dir string) *Node {
	t.Helper()
	n, err := StartNode(Config{
		ID:           1,
		Dir:          dir,
		Listen:       "127.0.0.1:0",
		TickInterval: 10 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitLeader waits until the service reports a leader and returns the
// epoch after bumping it for primary.
func waitLeader(t testing.TB, s Service) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		info, err := s.ClusterInfo(context.Background())
		if err == nil && info.LeaderID != 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no leader elected")
}

// encodeTestBatch builds an encoded batch of page writes.
func encodeTestBatch(t testing.TB, epoch uint64, first wal.LSN, recs ...wal.Record) []byte {
	t.Helper()
	b := wal.Batch{Epoch: epoch, FirstLSN: first, Records: recs}
	for i := range b.Records {
		b.Records[i].LSN = first + wal.LSN(i)
	}
	raw, err := b.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestNodeAppendGetPage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n := startTestNode(t, dir)
	waitLeader(t, n)
	epoch, last, err := n.BumpEpoch(ctx, "test", 0)
	if err != nil || epoch != 1 || last != 0 {
		t.Fatalf("bump epoch = %d, %d, %v", epoch, last, err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	oracle := map[wal.PageID][]byte{}
	lsn := wal.LSN(1)
	for i := 0; i < 200; i++ {
		var recs []wal.Record
		for j := 0; j < 1+rng.IntN(5); j++ {
			pg := wal.PageID(rng.IntN(8))
			data := make([]byte, rng.IntN(200))
			for k := range data {
				data[k] = byte(rng.Uint32())
			}
			off := uint32(wal.PageLSNSize + rng.IntN(wal.PageSize-wal.PageLSNSize-len(data)))
			recs = append(recs, wal.PageWrite(pg, 0, off, data))
		}
		recs = append(recs, wal.Commit(0, uint64(i+1)))
		raw := encodeTestBatch(t, epoch, lsn, recs...)
		res, err := n.Append(ctx, raw)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		for k, r := range recs {
			r.LSN = lsn + wal.LSN(k)
			if !r.HasPage() {
				continue
			}
			if oracle[r.Page] == nil {
				oracle[r.Page] = make([]byte, wal.PageSize)
			}
			if err := wal.Apply(oracle[r.Page], &r); err != nil {
				t.Fatal(err)
			}
		}
		lsn += wal.LSN(len(recs))
		if res.LastLSN != lsn-1 || res.Duplicate {
			t.Fatalf("append %d: result %+v, want last %d", i, res, lsn-1)
		}
		// A retry of the same batch is a duplicate and changes nothing.
		if i%50 == 0 {
			res, err := n.Append(ctx, raw)
			if err != nil || !res.Duplicate {
				t.Fatalf("retry: %+v %v", res, err)
			}
		}
	}
	check := func(n *Node) {
		t.Helper()
		for pg, want := range oracle {
			p, err := n.GetPage(ctx, pg, lsn-1)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.Image, want) {
				t.Fatalf("page %v differs from the oracle", pg)
			}
		}
	}
	check(n)

	// Refusals change nothing and are told apart.
	cases := []struct {
		name string
		raw  []byte
		want error
	}{
		{"stale epoch", encodeTestBatch(t, epoch-1, lsn, wal.Commit(0, 1)), ErrStaleEpoch},
		{"future epoch", encodeTestBatch(t, epoch+1, lsn, wal.Commit(0, 1)), ErrStaleEpoch},
		{"gap", encodeTestBatch(t, epoch, lsn+5, wal.Commit(0, 1)), ErrLSNGap},
		{"overlap", encodeTestBatch(t, epoch, lsn-1, wal.Commit(0, 1)), ErrLSNGap},
		{"bad crc", func() []byte {
			b := encodeTestBatch(t, epoch, lsn, wal.Commit(0, 1))
			b[len(b)-1] ^= 1
			return b
		}(), ErrCorrupt},
		{"too large", make([]byte, wal.MaxBatchSize+1), ErrTooLarge},
	}
	for _, c := range cases {
		_, err := n.Append(ctx, c.raw)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if info, _ := n.ClusterInfo(ctx); info.LastLSN != lsn-1 {
		t.Fatalf("log end moved to %d after refusals, want %d", info.LastLSN, lsn-1)
	}

	// GetPage beyond the log end waits, then times out.
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = n.GetPage(tctx, 0, lsn+10)
	cancel()
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("get page past the end: %v", err)
	}

	// Restart: everything acknowledged is there.
	n.Stop()
	n = startTestNode(t, dir)
	defer n.Stop()
	waitLeader(t, n)
	check(n)

	// StreamWAL replays the log from any point.
	var got wal.LSN
	sctx, scancel := context.WithCancel(ctx)
	err = n.StreamWAL(sctx, 1, func(raw []byte) error {
		b, err := wal.DecodeBatch(raw)
		if err != nil {
			return err
		}
		if got != 0 && b.FirstLSN != got+1 {
			t.Errorf("stream gap: %d after %d", b.FirstLSN, got)
		}
		got = b.LastLSN()
		if got == lsn-1 {
			scancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || got != lsn-1 {
		t.Fatalf("stream ended with %v at %d, want %d", err, got, lsn-1)
	}
}
