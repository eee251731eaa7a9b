package btree

import (
	"bytes"
	"context"
	"fmt"

	"github.com/polarsql/polar/compute/page"
	"github.com/polarsql/polar/wal"
)

// walker visits every page of a tree, depth first, reading each page
// under its shared latch into a private copy. On a tree the writer is
// changing concurrently the visit is not a consistent snapshot, so the
// callers (Check, Stats, Pages) are meant for a quiescent tree; they
// never deadlock with the writer, but the writer must not call them while
// its MTR holds pages.
type walker struct {
	t     *Tree
	ctx   context.Context
	seen  map[wal.PageID]bool
	owner uint64
	check bool

	// Results.
	leaves   []leafInfo
	lastKey  []byte
	haveLast bool
	stats    Stats
	leafUsed int64
	pages    []wal.PageID
}

type leafInfo struct{ id, prev, next wal.PageID }

// Check verifies the whole tree: page.Check on every page (tree and
// overflow pages); page types, levels (every leaf at level 0, each child
// one level below its parent, so all leaves at the same depth) and owner
// tags; keys strictly ascending across all leaves and inside the bounds
// set by the separators above them; the leaf chain's prev/next links in
// key order; no empty non-root leaf and no internal root with a single
// child; every value's encoding, and every overflow chain's pages and
// length; no page reachable twice. It returns the first problem found,
// wrapping ErrCorrupt.
//
// Run it on a quiescent tree (see walker); it takes shared latches page
// by page, so it never sees a torn page.
func (t *Tree) Check(ctx context.Context) error {
	w := &walker{t: t, ctx: ctx, seen: map[wal.PageID]bool{}, check: true}
	if err := w.run(); err != nil {
		return err
	}
	for i, l := range w.leaves {
		wantPrev, wantNext := wal.PageID(0), wal.PageID(0)
		if i > 0 {
			wantPrev = w.leaves[i-1].id
		}
		if i+1 < len(w.leaves) {
			wantNext = w.leaves[i+1].id
		}
		if l.prev != wantPrev || l.next != wantNext {
			return corrupt("leaf %v: links prev %v next %v, want %v and %v", l.id, l.prev, l.next, wantPrev, wantNext)
		}
	}
	return nil
}

// Stats describes a tree's shape.
type Stats struct {
	// Height is the number of levels (1: the root is a leaf).
	Height int
	// PagesPerLevel[l] is the number of pages at level l (0 = leaves).
	PagesPerLevel []int
	// LeafPages, InternalPages and OverflowPages count pages by kind.
	LeafPages, InternalPages, OverflowPages int
	// Entries is the number of key/value pairs; OverflowValues of them
	// are stored in overflow chains.
	Entries, OverflowValues int
	// KeyBytes and ValueBytes sum the lengths of keys and values.
	KeyBytes, ValueBytes int64
	// UsedBytes is the space taken by cells and slots on leaf and
	// internal pages, out of CapacityBytes.
	UsedBytes, CapacityBytes int64
	// FillFactor is UsedBytes/CapacityBytes; LeafFill the same over
	// leaves only.
	FillFactor, LeafFill float64
}

// Stats walks the tree and returns its shape (see Check about
// concurrency).
func (t *Tree) Stats(ctx context.Context) (Stats, error) {
	w := &walker{t: t, ctx: ctx, seen: map[wal.PageID]bool{}}
	if err := w.run(); err != nil {
		return Stats{}, err
	}
	s := w.stats
	if s.CapacityBytes > 0 {
		s.FillFactor = float64(s.UsedBytes) / float64(s.CapacityBytes)
	}
	if s.LeafPages > 0 {
		s.LeafFill = float64(w.leafUsed) / float64(int64(s.LeafPages)*page.UsableSize)
	}
	return s, nil
}

// Pages returns the ID of every page of the tree, overflow pages
// included, root first (for example to free them all, or to compare
// them with storage). See Check about concurrency.
func (t *Tree) Pages(ctx context.Context) ([]wal.PageID, error) {
	w := &walker{t: t, ctx: ctx, seen: map[wal.PageID]bool{}}
	if err := w.run(); err != nil {
		return nil, err
	}
	return w.pages, nil
}

func (w *walker) run() error {
	root, err := w.t.pageCopy(w.ctx, w.t.root)
	if err != nil {
		return err
	}
	switch root.Type() {
	case page.TypeLeaf, page.TypeInternal:
	default:
		return corrupt("root %v is a %v page", w.t.root, root.Type())
	}
	w.owner = root.Owner()
	level := int(root.Level())
	w.stats.Height = level + 1
	w.stats.PagesPerLevel = make([]int, level+1)
	if w.check && root.Type() == page.TypeInternal && root.NumSlots() == 0 {
		return corrupt("root %v is an internal page with a single child", w.t.root)
	}
	return w.visit(w.t.root, root, level, nil, nil, true)
}

// visit checks and counts page id (p, if already read) expected at level
// with keys in [lb, ub) (nil = unbounded), then its subtree.
func (w *walker) visit(id wal.PageID, p page.Page, level int, lb, ub []byte, isRoot bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if level < 0 {
		return corrupt("page %v is below the leaf level", id)
	}
	if w.seen[id] {
		return corrupt("page %v is reachable twice", id)
	}
	w.seen[id] = true
	w.pages = append(w.pages, id)
	if p == nil {
		var err error
		if p, err = w.t.pageCopy(w.ctx, id); err != nil {
			return err
		}
	}
	if w.check {
		if err := page.Check(p); err != nil {
			return fmt.Errorf("btree: page %v: %w", id, err)
		}
		if p.Owner() != w.owner {
			return corrupt("page %v has owner %d, want %d", id, p.Owner(), w.owner)
		}
		if int(p.Level()) != level {
			return corrupt("page %v at level %d, want %d", id, p.Level(), level)
		}
	}
	w.stats.PagesPerLevel[level]++
	u := int64(used(p))
	w.stats.UsedBytes += u
	w.stats.CapacityBytes += page.UsableSize
	n := p.NumSlots()
	inBounds := func(k []byte) bool {
		return (lb == nil || bytes.Compare(k, lb) >= 0) && (ub == nil || bytes.Compare(k, ub) < 0)
	}
	switch p.Type() {
	case page.TypeLeaf:
		if w.check && level != 0 {
			return corrupt("leaf %v at level %d", id, level)
		}
		if w.check && n == 0 && !isRoot {
			return corrupt("non-root leaf %v is empty", id)
		}
		w.stats.LeafPages++
		w.leafUsed += u
		w.leaves = append(w.leaves, leafInfo{id: id, prev: p.Prev(), next: p.Next()})
		for i := 0; i < n; i++ {
			k := p.Key(i)
			if w.check {
				if !inBounds(k) {
					return corrupt("leaf %v: key %s outside [%s, %s)", id, fmtKey(k), fmtKey(lb), fmtKey(ub))
				}
				if w.haveLast && bytes.Compare(w.lastKey, k) >= 0 {
					return corrupt("leaf %v: key %s not above the previous key %s", id, fmtKey(k), fmtKey(w.lastKey))
				}
			}
			w.lastKey, w.haveLast = append(w.lastKey[:0], k...), true
			d, err := decodeValue(p.Value(i))
			if err != nil {
				return fmt.Errorf("btree: leaf %v, key %s: %w", id, fmtKey(k), err)
			}
			w.stats.Entries++
			w.stats.KeyBytes += int64(len(k))
			if !d.overflow {
				w.stats.ValueBytes += int64(len(d.inline))
				continue
			}
			w.stats.OverflowValues++
			w.stats.ValueBytes += int64(d.total)
			if err := w.chain(d); err != nil {
				return fmt.Errorf("btree: leaf %v, key %s: %w", id, fmtKey(k), err)
			}
		}
	case page.TypeInternal:
		if w.check && level == 0 {
			return corrupt("internal page %v at level 0", id)
		}
		w.stats.InternalPages++
		if w.check {
			for i := 0; i < n; i++ {
				if !inBounds(p.Key(i)) {
					return corrupt("internal page %v: separator %s outside [%s, %s)", id, fmtKey(p.Key(i)), fmtKey(lb), fmtKey(ub))
				}
			}
		}
		for i := -1; i < n; i++ {
			child, clb, cub := p.LeftmostChild(), lb, ub
			if i >= 0 {
				child, clb = p.Child(i), p.Key(i)
			}
			if i+1 < n {
				cub = p.Key(i + 1)
			}
			if err := w.visit(child, nil, level-1, clb, cub, false); err != nil {
				return err
			}
		}
	default:
		return corrupt("page %v is a %v page, want a tree page", id, p.Type())
	}
	return nil
}

// chain checks and counts an overflow chain.
func (w *walker) chain(d decoded) error {
	want := (d.total + page.OverflowCapacity - 1) / page.OverflowCapacity
	total, n := 0, 0
	for id := d.first; id != 0; n++ {
		if n >= want {
			return corrupt("overflow chain from %v longer than %d pages", d.first, want)
		}
		if w.seen[id] {
			return corrupt("overflow page %v is reachable twice", id)
		}
		w.seen[id] = true
		w.pages = append(w.pages, id)
		p, err := w.t.pageCopy(w.ctx, id)
		if err != nil {
			return err
		}
		if w.check {
			if err := page.Check(p); err != nil {
				return fmt.Errorf("btree: overflow page %v: %w", id, err)
			}
			if p.Type() != page.TypeOverflow {
				return corrupt("overflow chain from %v: page %v is a %v page", d.first, id, p.Type())
			}
			if p.Owner() != w.owner {
				return corrupt("overflow page %v has owner %d, want %d", id, p.Owner(), w.owner)
			}
		}
		total += len(p.OverflowData())
		w.stats.OverflowPages++
		id = p.NextOverflow()
	}
	if w.check && total != d.total {
		return corrupt("overflow chain from %v holds %d bytes, want %d", d.first, total, d.total)
	}
	return nil
}
