package btree_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/btree"
	"github.com/polarsql/polar/compute/bufpool"
	"github.com/polarsql/polar/compute/mtr"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/wal"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

const (
	testSpace = 1
	rootPage  = 1
	owner     = 77
)

// env plays the engine's committer over a real storage node: tree
// operations run in an MTR whose redo is appended to storage before the
// MTR is released, and the buffer pool is small, so pages are evicted and
// read back from storage all the time.
type env struct {
	tb    testing.TB
	ctx   context.Context
	node  *storage.Node
	epoch uint64
	pool  *bufpool.Pool
	alloc *memAlloc
	tree  *btree.Tree
	next  wal.LSN // next free LSN
	csn   uint64

	// Group commit for benchmarks: MTRs finished but not yet appended.
	pending   []wal.Record
	first     wal.LSN
	redoBytes int
}

func startNode(tb testing.TB) (*storage.Node, uint64) {
	tb.Helper()
	n, err := storage.StartNode(storage.Config{ID: 1, Dir: tb.TempDir(), Listen: "127.0.0.1:0",
		TickInterval: 10 * time.Millisecond, Logger: discard})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(n.Stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if info, _ := n.ClusterInfo(context.Background()); info.LeaderID != 0 {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatal("no leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
	epoch, _, err := n.BumpEpoch(context.Background(), "test", 0)
	if err != nil {
		tb.Fatal(err)
	}
	return n, epoch
}

// newEnv starts a storage node and creates an empty tree through a pool
// of the given number of frames.
func newEnv(tb testing.TB, frames int) *env {
	tb.Helper()
	node, epoch := startNode(tb)
	e := &env{tb: tb, ctx: context.Background(), node: node, epoch: epoch, next: 1}
	e.pool = bufpool.New(bufpool.Config{Bytes: int64(frames) * wal.PageSize, Source: node, Logger: discard})
	e.alloc = &memAlloc{e: e, next: rootPage + 1}
	root := wal.MakePageID(testSpace, rootPage)
	e.mustCommit(func(m *mtr.MTR) error { return btree.Create(e.ctx, m, e.pool, root, owner) })
	e.tree = btree.Open(e.pool, root, e.alloc)
	return e
}

// commit runs fn in one MTR and makes its redo durable in storage.
func (e *env) commit(fn func(m *mtr.MTR) error) error {
	m := mtr.New()
	snap := e.alloc.snapshot()
	if err := fn(m); err != nil {
		m.Abort()
		e.alloc.restore(snap)
		return err
	}
	return e.finish(m)
}

// finish logs m's redo, appends it to storage, and releases m.
func (e *env) finish(m *mtr.MTR) error {
	recs, next := m.Finish(nil, e.next)
	e.csn++
	recs = append(recs, wal.Commit(next, e.csn))
	raw, err := (&wal.Batch{Epoch: e.epoch, FirstLSN: e.next, Records: recs}).Encode(nil)
	if err == nil {
		_, err = e.node.Append(e.ctx, raw)
	}
	if err != nil {
		m.Release()
		return fmt.Errorf("append LSNs %d..%d: %w", e.next, next, err)
	}
	e.next = next + 1
	e.pool.SetDurable(next)
	m.Release()
	return nil
}

func (e *env) mustCommit(fn func(m *mtr.MTR) error) {
	e.tb.Helper()
	if err := e.commit(fn); err != nil {
		e.tb.Fatal(err)
	}
}

// finishGrouped finishes m into the pending group (released right away,
// as the benchmarks' pages need no durability to stay cached) and
// appends the group once it has groupSize MTRs.
func (e *env) finishGrouped(m *mtr.MTR, groupSize int, n *int) {
	if len(e.pending) == 0 {
		e.first = e.next
	}
	before := len(e.pending)
	recs, next := m.Finish(e.pending, e.next)
	e.csn++
	e.pending = append(recs, wal.Commit(next, e.csn))
	for _, r := range e.pending[before:] {
		e.redoBytes += len(r.Data) + 16
	}
	e.next = next + 1
	m.Release()
	*n++
	if *n%groupSize == 0 {
		e.flush()
	}
}

func (e *env) flush() {
	if len(e.pending) == 0 {
		return
	}
	raw, err := (&wal.Batch{Epoch: e.epoch, FirstLSN: e.first, Records: e.pending}).Encode(nil)
	if err == nil {
		_, err = e.node.Append(e.ctx, raw)
	}
	if err != nil {
		e.tb.Fatal(err)
	}
	e.pool.SetDurable(e.next - 1)
	e.pending = e.pending[:0]
}

// lastLSN is the last durable LSN.
func (e *env) lastLSN() wal.LSN { return e.next - 1 }

// restart drops the pool and reopens the tree through a new one over the
// same storage node.
func (e *env) restart(frames int) {
	e.pool = bufpool.New(bufpool.Config{Bytes: int64(frames) * wal.PageSize, Source: e.node,
		StartLSN: e.lastLSN(), Logger: discard})
	e.tree = btree.Open(e.pool, wal.MakePageID(testSpace, rootPage), e.alloc)
}

// memAlloc is a test Allocator: a page counter and a free list in memory
// (the engine keeps them in a meta page). Like the engine's, it takes a
// reused page into the MTR before handing it out, and clears freed pages.
type memAlloc struct {
	mu     sync.Mutex
	e      *env
	next   uint64
	free   []wal.PageID
	allocs int
	frees  int
}

type allocSnap struct {
	next          uint64
	free          []wal.PageID
	allocs, frees int
}

func (a *memAlloc) snapshot() allocSnap {
	a.mu.Lock()
	defer a.mu.Unlock()
	return allocSnap{a.next, append([]wal.PageID(nil), a.free...), a.allocs, a.frees}
}

func (a *memAlloc) restore(s allocSnap) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.next, a.free, a.allocs, a.frees = s.next, s.free, s.allocs, s.frees
}

func (a *memAlloc) Allocate(ctx context.Context, m *mtr.MTR) (wal.PageID, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.allocs++
	if n := len(a.free); n > 0 {
		id := a.free[n-1]
		if _, err := m.Page(ctx, a.e.pool, id); err != nil {
			return 0, err
		}
		a.free = a.free[:n-1]
		return id, nil
	}
	id := wal.MakePageID(testSpace, a.next)
	a.next++
	return id, nil
}

func (a *memAlloc) Free(ctx context.Context, m *mtr.MTR, id wal.PageID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := m.Page(ctx, a.e.pool, id)
	if err != nil {
		return err
	}
	clear(b[wal.PageLSNSize:])
	a.frees++
	a.free = append(a.free, id)
	return nil
}

// allPages returns every page ID the allocator ever handed out, and the
// root.
func (a *memAlloc) allPages() []wal.PageID {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []wal.PageID
	for n := uint64(rootPage); n < a.next; n++ {
		out = append(out, wal.MakePageID(testSpace, n))
	}
	return out
}

func (a *memAlloc) freeCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.free)
}

// oracle is the model: a map plus its sorted keys.
type oracle struct {
	m    map[string][]byte
	keys []string
}

func newOracle() *oracle { return &oracle{m: map[string][]byte{}} }

func (o *oracle) put(k string, v []byte) {
	if _, ok := o.m[k]; !ok {
		i := sort.SearchStrings(o.keys, k)
		o.keys = append(o.keys, "")
		copy(o.keys[i+1:], o.keys[i:])
		o.keys[i] = k
	}
	o.m[k] = v
}

func (o *oracle) del(k string) bool {
	if _, ok := o.m[k]; !ok {
		return false
	}
	delete(o.m, k)
	i := sort.SearchStrings(o.keys, k)
	o.keys = append(o.keys[:i], o.keys[i+1:]...)
	return true
}

// scan returns up to limit keys from start (>= start forward; < start in
// reverse, nil start = from the end).
func (o *oracle) scan(start []byte, reverse bool, limit int) []string {
	var out []string
	if !reverse {
		i := 0
		if start != nil {
			i = sort.SearchStrings(o.keys, string(start))
		}
		for ; i < len(o.keys) && len(out) < limit; i++ {
			out = append(out, o.keys[i])
		}
		return out
	}
	i := len(o.keys)
	if start != nil {
		i = sort.SearchStrings(o.keys, string(start))
	}
	for i--; i >= 0 && len(out) < limit; i-- {
		out = append(out, o.keys[i])
	}
	return out
}

// checkScan compares an iterator's first limit entries with the oracle.
func checkScan(ctx context.Context, o *oracle, it *btree.Iterator, start []byte, reverse bool, limit int) error {
	want := o.scan(start, reverse, limit)
	n := 0
	for n < limit && it.Next(ctx) {
		if n >= len(want) {
			return fmt.Errorf("scan from %x (reverse %v): extra key %x after %d keys", start, reverse, it.Key(), n)
		}
		if string(it.Key()) != want[n] {
			return fmt.Errorf("scan from %x (reverse %v): key %d is %x, want %x", start, reverse, n, it.Key(), want[n])
		}
		if !bytes.Equal(it.Value(), o.m[want[n]]) {
			return fmt.Errorf("scan from %x (reverse %v): value of %x differs (%d bytes, want %d)", start, reverse, want[n], len(it.Value()), len(o.m[want[n]]))
		}
		n++
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("scan from %x: %w", start, err)
	}
	if n < len(want) {
		return fmt.Errorf("scan from %x (reverse %v): %d keys, want %d", start, reverse, n, len(want))
	}
	return nil
}

// verifyAll checks the tree against the oracle: Check, every key by Get,
// and full scans both ways.
func verifyAll(t testing.TB, e *env, o *oracle) {
	t.Helper()
	ctx := e.ctx
	if err := e.tree.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range o.keys {
		v, ok, err := e.tree.Get(ctx, []byte(k))
		if err != nil || !ok || !bytes.Equal(v, o.m[k]) {
			t.Fatalf("get %x: found %v err %v, value equal %v", k, ok, err, bytes.Equal(v, o.m[k]))
		}
	}
	if err := checkScan(ctx, o, e.tree.Seek(ctx, nil), nil, false, len(o.keys)+1); err != nil {
		t.Fatal(err)
	}
	if err := checkScan(ctx, o, e.tree.SeekReverse(ctx, nil), nil, true, len(o.keys)+1); err != nil {
		t.Fatal(err)
	}
}

// checkRedo compares, for every page ever allocated, storage's replayed
// page at the last LSN with the buffer pool's bytes.
func checkRedo(t testing.TB, e *env) {
	t.Helper()
	for _, id := range e.alloc.allPages() {
		pg, err := e.node.GetPage(e.ctx, id, e.lastLSN())
		if err != nil {
			t.Fatalf("storage page %v: %v", id, err)
		}
		f, err := e.pool.Fetch(e.ctx, id)
		if err != nil {
			t.Fatalf("pool page %v: %v", id, err)
		}
		f.RLock()
		same := bytes.Equal(pg.Image, f.Data())
		f.RUnlock()
		f.Release()
		if !same {
			t.Fatalf("page %v: storage's replay differs from the buffer pool", id)
		}
	}
}

// checkNoLeak verifies that every allocated page is either in the tree or
// on the free list.
func checkNoLeak(t testing.TB, e *env) {
	t.Helper()
	pages, err := e.tree.Pages(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(pages)+e.alloc.freeCount(), len(e.alloc.allPages()); got != want {
		t.Fatalf("%d tree pages + %d free pages, but %d pages allocated", len(pages), e.alloc.freeCount(), want)
	}
}
