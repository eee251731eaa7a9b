package btree

import (
	"context"
	"errors"

	"github.com/polarsql/polar/compute/bufpool"
	"github.com/polarsql/polar/compute/mtr"
	"github.com/polarsql/polar/compute/page"
	"github.com/polarsql/polar/wal"
)

// A reader descends with latch coupling: it holds the parent's shared
// latch while it takes the child's, so it never sees a page whose
// structural change is half done (every page a mini-transaction changes
// stays exclusively latched until the MTR is released).
//
// While holding a latch a reader only ever try-latches: if the child is
// exclusively latched (or a writer waits for it) the reader lets go of
// everything, waits for the child, and starts again from the root. A
// reader therefore never blocks while holding a latch, which makes
// deadlocks with the writer impossible whatever order the writer latches
// pages in. That matters because one MTR may hold pages from several
// operations (the engine writes a whole commit, on several trees, in one
// MTR): a later operation then takes a parent after an earlier one took
// a leaf, which breaks any global top-down order.
//
// The writer's own reads (the ...In methods) take no latches at all: it is
// the only goroutine that changes pages, and the pages its MTR holds would
// deadlock it.
type reader struct {
	t     *Tree
	latch bool
}

// errWait tells a reader to release everything, wait until frame f is
// free, and retry.
type errWait struct{ f *bufpool.Frame }

func (e *errWait) Error() string { return "btree: page busy" }

func (r reader) tryLock(f *bufpool.Frame) bool { return !r.latch || f.TryRLock() }

// done unlatches and unpins f.
func (r reader) done(f *bufpool.Frame) {
	if r.latch {
		f.RUnlock()
	}
	f.Release()
}

// wait blocks until the writer has released f (holding nothing else),
// then unpins it.
func (r reader) wait(err error) bool {
	var w *errWait
	if !errors.As(err, &w) {
		return false
	}
	if r.latch {
		w.f.RLock()
		w.f.RUnlock()
	}
	w.f.Release()
	return true
}

// Descent modes.
const (
	// modeGE finds the leaf holding key; the bound is the leaf's exclusive
	// upper bound.
	modeGE = iota
	// modeLT finds the leaf holding the greatest keys below key (nil =
	// the last leaf); the bound is the leaf's inclusive lower bound.
	modeLT
)

// leaf descends to a leaf and returns it pinned and latched, with its
// bound (nil = none) if wantBound.
func (r reader) leaf(ctx context.Context, key []byte, mode int, wantBound bool) (*bufpool.Frame, []byte, error) {
	for {
		f, bound, err := r.tryLeaf(ctx, key, mode, wantBound)
		if r.wait(err) {
			continue
		}
		return f, bound, err
	}
}

func (r reader) tryLeaf(ctx context.Context, key []byte, mode int, wantBound bool) (*bufpool.Frame, []byte, error) {
	f, err := r.t.pool.Fetch(ctx, r.t.root)
	if err != nil {
		return nil, nil, err
	}
	if r.latch {
		f.RLock() // holding nothing else: may block
	}
	var bound []byte
	for depth := 0; ; depth++ {
		p := page.Page(f.Data())
		switch p.Type() {
		case page.TypeLeaf:
			return f, bound, nil
		case page.TypeInternal:
		default:
			id, typ := f.ID(), p.Type()
			r.done(f)
			return nil, nil, corrupt("page %v on the path is a %v page", id, typ)
		}
		if depth >= maxDepth {
			r.done(f)
			return nil, nil, corrupt("descent deeper than %d levels", maxDepth)
		}
		n := p.NumSlots()
		var ci int
		if mode == modeGE {
			ci = -1
			if key != nil {
				ci = p.ChildIndexFor(key)
			}
			if wantBound && ci+1 < n {
				bound = append([]byte{}, p.Key(ci+1)...)
			}
		} else {
			ci = n - 1
			if key != nil {
				i, _ := p.Search(key)
				ci = i - 1
			}
			if wantBound && ci >= 0 {
				bound = append([]byte{}, p.Key(ci)...)
			}
		}
		child := p.LeftmostChild()
		if ci >= 0 {
			child = p.Child(ci)
		}
		c, err := r.t.pool.Fetch(ctx, child)
		if err != nil {
			r.done(f)
			return nil, nil, err
		}
		if !r.tryLock(c) {
			r.done(f)
			return nil, nil, &errWait{c}
		}
		r.done(f)
		f = c
	}
}

// value returns a copy of a leaf value, reading its overflow chain while
// the caller keeps the leaf latched (so the chain cannot be freed).
func (r reader) value(ctx context.Context, enc []byte) ([]byte, error) {
	d, err := decodeValue(enc)
	if err != nil {
		return nil, err
	}
	if !d.overflow {
		return append([]byte{}, d.inline...), nil
	}
	out := make([]byte, 0, d.total)
	for id := d.first; id != 0; {
		if len(out) >= d.total {
			return nil, corrupt("overflow chain from %v longer than %d bytes", d.first, d.total)
		}
		f, err := r.t.pool.Fetch(ctx, id)
		if err != nil {
			return nil, err
		}
		if !r.tryLock(f) {
			return nil, &errWait{f}
		}
		p := page.Page(f.Data())
		if p.Type() != page.TypeOverflow {
			typ := p.Type()
			r.done(f)
			return nil, corrupt("overflow chain from %v: page %v is a %v page", d.first, id, typ)
		}
		data := p.OverflowData()
		if len(out)+len(data) > d.total {
			r.done(f)
			return nil, corrupt("overflow chain from %v longer than %d bytes", d.first, d.total)
		}
		out = append(out, data...)
		id = p.NextOverflow()
		r.done(f)
	}
	if len(out) != d.total {
		return nil, corrupt("overflow chain from %v holds %d bytes, want %d", d.first, len(out), d.total)
	}
	return out, nil
}

// Get returns a copy of key's value and whether key is present. Safe for
// concurrent use with the writer and other readers; the writer itself
// must use GetIn.
func (t *Tree) Get(ctx context.Context, key []byte) (val []byte, found bool, err error) {
	return reader{t: t, latch: true}.get(ctx, key)
}

// GetIn is Get for the writer, inside its mini-transaction m: it reads
// without latches (the pages m holds are exclusively latched by the
// writer itself) and sees the changes m made so far. Only the writer
// goroutine may call it.
func (t *Tree) GetIn(ctx context.Context, m *mtr.MTR, key []byte) (val []byte, found bool, err error) {
	return reader{t: t}.get(ctx, key)
}

func (r reader) get(ctx context.Context, key []byte) ([]byte, bool, error) {
	if len(key) > MaxKeySize {
		return nil, false, nil
	}
	if key == nil {
		key = []byte{}
	}
	for {
		f, _, err := r.leaf(ctx, key, modeGE, false)
		if err != nil {
			return nil, false, err
		}
		p := page.Page(f.Data())
		i, found := p.Search(key)
		if !found {
			r.done(f)
			return nil, false, nil
		}
		val, err := r.value(ctx, p.Value(i))
		r.done(f)
		if r.wait(err) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		return val, true, nil
	}
}

// batchBytes bounds the keys and values an iterator copies per batch, so
// that a leaf full of overflowed values is not read in one go. (A
// variable so that tests can make batches end inside leaves.)
var batchBytes = 256 << 10

// firstBatchBytes bounds an iterator's first batch, which is all a point
// read by Seek and one Next needs (small: a point read or a commit's
// version pruning copies one or two entries); later batches grow fourfold up to
// batchBytes.
const firstBatchBytes = 512

type entry struct{ key, val []byte }

// Iterator walks entries in key order (or reverse order). It holds no
// latch and no pin between calls: it copies a batch of entries from one
// leaf under the leaf's shared latch, and to get past the batch it
// descends from the root again, for the first key after (or before) the
// batch. So it is never invalidated by concurrent splits and merges;
// entries changed concurrently may or may not be seen, but keys always
// come strictly in order. An Iterator is not safe for concurrent use.
type Iterator struct {
	r       reader
	reverse bool
	// key is where the next batch starts: forward, the first key >= key
	// (> key if excl; nil = the first key); reverse, the last key < key
	// (nil = the last key).
	key    []byte
	excl   bool
	last   bool // the current batch is the last one
	budget int  // bytes for the next batch
	// stop, if set, ends the iteration at the first key it accepts, so
	// a bounded scan copies nothing past its bound.
	stop    func(key []byte) bool
	stopped bool
	batch   []entry
	pos     int
	err     error
}

// Seek returns an iterator over the entries with keys >= key (nil key:
// all entries), in ascending order. Call Next before the first Key.
// Safe for concurrent use with the writer; the writer itself must use
// SeekIn.
func (t *Tree) Seek(ctx context.Context, key []byte) *Iterator {
	return &Iterator{r: reader{t: t, latch: true}, key: cloneKey(key)}
}

// SeekReverse returns an iterator over the entries with keys < key (nil
// key: all entries) in descending order: the first Next positions on the
// last entry below key. Safe for concurrent use with the writer; the
// writer itself must use SeekReverseIn.
func (t *Tree) SeekReverse(ctx context.Context, key []byte) *Iterator {
	return &Iterator{r: reader{t: t, latch: true}, reverse: true, key: cloneKey(key)}
}

// SeekIn is Seek for the writer inside its mini-transaction m (see
// GetIn): no latches, and it sees m's changes. The iterator must not be
// used after m is released.
func (t *Tree) SeekIn(ctx context.Context, m *mtr.MTR, key []byte) *Iterator {
	return &Iterator{r: reader{t: t}, key: cloneKey(key)}
}

// SeekReverseIn is SeekReverse for the writer inside its mini-transaction
// m (see GetIn and SeekIn).
func (t *Tree) SeekReverseIn(ctx context.Context, m *mtr.MTR, key []byte) *Iterator {
	return &Iterator{r: reader{t: t}, reverse: true, key: cloneKey(key)}
}

// cloneKey copies key, keeping nil and empty apart.
func cloneKey(key []byte) []byte {
	if key == nil {
		return nil
	}
	return append([]byte{}, key...)
}

// StopAt ends the iteration before the first entry, in the iterator's
// direction, whose key stop accepts: keys must be ordered so that once
// stop accepts one it accepts every later one. Call it before Next.
func (it *Iterator) StopAt(stop func(key []byte) bool) { it.stop = stop }

// Next moves to the next entry; the first call positions on the first
// one. It returns false at the end or on error (see Err).
func (it *Iterator) Next(ctx context.Context) bool {
	if it.err != nil {
		return false
	}
	if it.pos+1 < len(it.batch) {
		it.pos++
		return true
	}
	if it.last {
		it.batch, it.pos = nil, 0
		return false
	}
	if it.budget == 0 {
		it.budget = min(firstBatchBytes, batchBytes)
	} else {
		it.budget = min(4*it.budget, batchBytes)
	}
	for {
		var err error
		if it.reverse {
			err = it.loadReverse(ctx)
		} else {
			err = it.loadForward(ctx)
		}
		if it.r.wait(err) {
			continue
		}
		if err != nil {
			it.err = err
			it.batch, it.pos = nil, 0
			return false
		}
		break
	}
	it.pos = 0
	return len(it.batch) > 0
}

// Key returns the current entry's key. The slice is the iterator's own
// copy and is not overwritten by later calls.
func (it *Iterator) Key() []byte {
	if it.pos < len(it.batch) {
		return it.batch[it.pos].key
	}
	return nil
}

// Value returns the current entry's value, a copy like Key.
func (it *Iterator) Value() []byte {
	if it.pos < len(it.batch) {
		return it.batch[it.pos].val
	}
	return nil
}

// Err returns the error that ended the iteration, if any.
func (it *Iterator) Err() error { return it.err }

func (it *Iterator) loadForward(ctx context.Context) error {
	key, excl := it.key, it.excl
	for {
		f, ub, err := it.r.leaf(ctx, key, modeGE, true)
		if err != nil {
			return err
		}
		p := page.Page(f.Data())
		i, n := 0, p.NumSlots()
		if key != nil {
			var found bool
			if i, found = p.Search(key); found && excl {
				i++
			}
		}
		if i < n {
			batch, end, err := it.copyEntries(ctx, p, i, n)
			it.r.done(f)
			if err != nil {
				return err
			}
			it.batch = batch
			switch {
			case it.stopped:
				it.last = true
			case !end:
				it.key, it.excl = batch[len(batch)-1].key, true
			case ub == nil:
				it.last = true
			default:
				// The rest of the leaf was taken: continue at the next
				// leaf's lower bound.
				it.key, it.excl = ub, false
			}
			return nil
		}
		it.r.done(f)
		if ub == nil {
			it.batch, it.last = nil, true
			return nil
		}
		key, excl = ub, false
	}
}

func (it *Iterator) loadReverse(ctx context.Context) error {
	key := it.key
	for {
		f, lb, err := it.r.leaf(ctx, key, modeLT, true)
		if err != nil {
			return err
		}
		p := page.Page(f.Data())
		i := p.NumSlots()
		if key != nil {
			i, _ = p.Search(key)
		}
		if i > 0 {
			batch, end, err := it.copyEntries(ctx, p, i-1, -1)
			it.r.done(f)
			if err != nil {
				return err
			}
			it.batch = batch
			switch {
			case it.stopped:
				it.last = true
			case !end:
				it.key = batch[len(batch)-1].key
			case lb == nil:
				it.last = true
			default:
				it.key = lb
			}
			return nil
		}
		it.r.done(f)
		if lb == nil {
			it.batch, it.last = nil, true
			return nil
		}
		key = lb
	}
}

// copyEntries copies the entries from index from towards to (exclusive;
// to < from walks backwards) of a latched leaf, stopping after about
// it.budget bytes or at a key it.stop accepts (setting it.stopped). end
// reports whether it reached to or the stop.
func (it *Iterator) copyEntries(ctx context.Context, p page.Page, from, to int) ([]entry, bool, error) {
	dir := 1
	if to < from {
		dir = -1
	}
	count := (to - from) * dir
	// The entries left in this leaf take about their share of its bytes,
	// and the budget bounds how many are copied: a point read's first
	// batch (512 bytes) needs room for two or three, not the leaf's rest.
	avg := used(p)/max(p.NumSlots(), 1) + 1
	out := make([]entry, 0, min(count, 64, it.budget/avg+1))
	arena := make([]byte, 0, min(avg*count+64, it.budget+avg)) // the entry that crosses the budget fits too
	size := 0
	for i := from; i != to; i += dir {
		if size >= it.budget {
			return out, false, nil
		}
		k := p.Key(i)
		if it.stop != nil && it.stop(k) {
			it.stopped = true
			return out, true, nil
		}
		enc := p.Value(i)
		start := len(arena)
		arena = append(arena, k...)
		key := arena[start:len(arena):len(arena)]
		var val []byte
		if len(enc) > 0 && enc[0] == valInline {
			start = len(arena)
			arena = append(arena, enc[1:]...)
			val = arena[start:len(arena):len(arena)]
		} else {
			v, err := it.r.value(ctx, enc)
			if err != nil {
				return nil, false, err
			}
			val = v
		}
		size += len(key) + len(val)
		out = append(out, entry{key: key, val: val})
	}
	return out, true, nil
}

// pageCopy reads a page under its shared latch (holding nothing else)
// and returns a private copy.
func (t *Tree) pageCopy(ctx context.Context, id wal.PageID) (page.Page, error) {
	f, err := t.pool.Fetch(ctx, id)
	if err != nil {
		return nil, err
	}
	f.RLock()
	buf := make([]byte, wal.PageSize)
	copy(buf, f.Data())
	f.RUnlock()
	f.Release()
	return page.Page(buf), nil
}
