package bufpool_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/bufpool"
	"github.com/polarsql/polar/compute/mtr"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/storage/storagetest"
	"github.com/polarsql/polar/wal"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func startStorage(t *testing.T) (*storage.Node, uint64) {
	t.Helper()
	n := storagetest.Start(t)
	epoch, _, err := n.BumpEpoch(context.Background(), "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	return n, epoch
}

// TestPoolEvictsAndRereads writes 64 pages through a pool of 8 frames,
// making each durable in storage, then reads them all back: every read is
// a miss served by storage at the page's last-written LSN, and a page with
// changes that are not durable is never evicted.
func TestPoolEvictsAndRereads(t *testing.T) {
	ctx := context.Background()
	st, epoch := startStorage(t)
	pool := bufpool.New(bufpool.Config{Bytes: 8 * wal.PageSize, Source: st, Logger: discard})
	next := wal.LSN(1)
	want := map[wal.PageID][]byte{}
	commit := func(m *mtr.MTR) {
		t.Helper()
		recs, nn := m.Finish(nil, next)
		recs = append(recs, wal.Commit(nn, 1))
		raw, err := (&wal.Batch{Epoch: epoch, FirstLSN: next, Records: recs}).Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Append(ctx, raw); err != nil {
			t.Fatal(err)
		}
		next = nn + 1
		pool.SetDurable(nn)
		m.Release()
	}
	for i := 1; i <= 64; i++ {
		m := mtr.New()
		p, err := m.NewPage(pool, wal.PageID(i))
		if err != nil {
			t.Fatal(err)
		}
		copy(p[100:], bytes.Repeat([]byte{byte(i)}, 50))
		commit(m)
		// Change it again so storage needs image + delta.
		m = mtr.New()
		p, err = m.Page(ctx, pool, wal.PageID(i))
		if err != nil {
			t.Fatal(err)
		}
		p[4000] = byte(i)
		commit(m)
		// After Finish, which stamps the page LSN.
		want[wal.PageID(i)] = append([]byte(nil), p...)
	}
	// A non-durable change pins its page in the pool.
	m := mtr.New()
	p, _ := m.Page(ctx, pool, 64)
	p[5000] = 1
	recs, _ := m.Finish(nil, next)
	m.Release()
	if len(recs) == 0 {
		t.Fatal("no redo")
	}
	for i := 1; i < 64; i++ {
		f, err := pool.Fetch(ctx, wal.PageID(i))
		if err != nil {
			t.Fatal(err)
		}
		f.RLock()
		if !bytes.Equal(f.Data(), want[wal.PageID(i)]) {
			t.Fatalf("page %d differs after re-read", i)
		}
		f.RUnlock()
		f.Release()
	}
	f, err := pool.Fetch(ctx, 64)
	if err != nil {
		t.Fatal(err)
	}
	if f.Data()[5000] != 1 {
		t.Fatal("a page with a non-durable change was evicted")
	}
	f.Release()
	s := pool.Stats()
	if s.Misses < 60 || s.Evictions < 50 {
		t.Fatalf("expected misses and evictions: %+v", s)
	}
	// Discarding drops the non-durable change; the next read is storage's.
	if n := pool.DiscardAbove(pool.Durable()); n != 1 {
		t.Fatalf("discarded %d pages, want 1", n)
	}
	f, _ = pool.Fetch(ctx, 64)
	if f.Data()[5000] != 0 || !bytes.Equal(f.Data(), want[64]) {
		t.Fatal("discarded page not re-read from storage")
	}
	f.Release()
}

// TestPoolConcurrentFetch: many goroutines fetching overlapping pages
// through a small pool all see the right bytes.
func TestPoolConcurrentFetch(t *testing.T) {
	ctx := context.Background()
	st, epoch := startStorage(t)
	var recs []wal.Record
	for i := 1; i <= 32; i++ {
		img := make([]byte, wal.PageSize)
		img[200] = byte(i)
		recs = append(recs, wal.PageImage(wal.PageID(i), wal.LSN(i), img))
	}
	recs = append(recs, wal.Commit(33, 1))
	raw, err := (&wal.Batch{Epoch: epoch, FirstLSN: 1, Records: recs}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, raw); err != nil {
		t.Fatal(err)
	}
	pool := bufpool.New(bufpool.Config{Bytes: 8 * wal.PageSize, Source: st, StartLSN: 33, Logger: discard})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := wal.PageID(1 + (i*7+g)%32)
				f, err := pool.Fetch(ctx, id)
				if err != nil {
					t.Error(err)
					return
				}
				f.RLock()
				if f.Data()[200] != byte(id) || f.ID() != id {
					t.Errorf("page %d has byte %d", id, f.Data()[200])
				}
				f.RUnlock()
				f.Release()
			}
		}(g)
	}
	wg.Wait()
}

// TestPoolReadsAboveGCHorizon: a miss whose last-written LSN storage has
// already collected past is served at the durable LSN instead.
func TestPoolReadsAboveGCHorizon(t *testing.T) {
	ctx := context.Background()
	n := storagetest.Start(t, func(c *storage.Config) { c.GCInterval = 20 * time.Millisecond })
	epoch, _, err := n.BumpEpoch(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	img := make([]byte, wal.PageSize)
	img[300] = 7
	recs := []wal.Record{wal.PageImage(1, 1, img)}
	for i := 0; i < 18; i++ {
		recs = append(recs, wal.PageWrite(2, wal.LSN(2+i), 100, []byte{byte(i)}))
	}
	recs = append(recs, wal.Commit(20, 1))
	raw, err := (&wal.Batch{Epoch: epoch, FirstLSN: 1, Records: recs}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Append(ctx, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ReportReadLSN(ctx, "reader", 20, false); err != nil {
		t.Fatal(err)
	}
	// Wait until storage refuses reads below the horizon.
	for i := 0; ; i++ {
		if _, err := n.GetPage(ctx, 1, 1); err != nil {
			break
		}
		if i > 500 {
			t.Fatal("storage never collected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A pool that believes page 1 was last written at LSN 1.
	pool := bufpool.New(bufpool.Config{Bytes: 8 * wal.PageSize, Source: n, StartLSN: 1, Logger: discard})
	pool.SetDurable(20)
	f, err := pool.Fetch(ctx, 1)
	if err != nil {
		t.Fatalf("fetch below the horizon: %v", err)
	}
	defer f.Release()
	if f.Data()[300] != 7 {
		t.Fatal("wrong page")
	}
}

// BenchmarkFetchHit measures a fetch of a cached page, the buffer pool's
// hot path (every B+tree level of every row access).
func BenchmarkFetchHit(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background()) // a ctx with a Done channel, as in a session
	defer cancel()
	st := storagetest.Start(b)
	epoch, _, err := st.BumpEpoch(ctx, "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	img := make([]byte, wal.PageSize)
	raw, err := (&wal.Batch{Epoch: epoch, FirstLSN: 1, Records: []wal.Record{wal.PageImage(1, 1, img), wal.Commit(2, 1)}}).Encode(nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Append(ctx, raw); err != nil {
		b.Fatal(err)
	}
	pool := bufpool.New(bufpool.Config{Bytes: 8 * wal.PageSize, Source: st, StartLSN: 2, Logger: discard})
	b.ReportAllocs()
	for b.Loop() {
		f, err := pool.Fetch(ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
}
