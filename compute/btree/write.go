package btree

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/polarsql/polar/compute/mtr"
	"github.com/polarsql/polar/compute/page"
	"github.com/polarsql/polar/wal"
)

// Put inserts key with val, or replaces the value of an existing key,
// inside the writer's mini-transaction m. key is at most MaxKeySize
// bytes, val at most MaxValueSize; longer values than fit inline go to an
// overflow chain. Replacing an overflowed value frees its chain.
//
// Only the single writer calls Put. The pages it changes stay exclusively
// latched until the caller's m.Release (after m.Finish) or m.Abort; after
// an error the caller must Abort m, which undoes every page change (the
// allocator's own state outside pages is the caller's).
func (t *Tree) Put(ctx context.Context, m *mtr.MTR, key, val []byte) error {
	if len(key) > MaxKeySize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrKeyTooLarge, len(key), MaxKeySize)
	}
	if len(val) > MaxValueSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrValueTooLarge, len(val), MaxValueSize)
	}
	path, owner, err := t.writePath(ctx, key)
	if err != nil {
		return err
	}
	leaf := path[len(path)-1]
	// Look at the leaf without a latch (the single writer sees a stable
	// page) to decide whether the change stays on it.
	f, err := t.pool.Fetch(ctx, leaf.id)
	if err != nil {
		return err
	}
	lp := page.Page(f.Data())
	i, found := lp.Search(key)
	free := lp.FreeSpace()
	oldCell := 0
	var old decoded
	if found {
		v := lp.Value(i)
		oldCell = page.LeafCellSize(len(key), len(v))
		old, err = decodeValue(v)
	}
	f.Release()
	if err != nil {
		return fmt.Errorf("btree: leaf %v: %w", leaf.id, err)
	}
	var oldChain []wal.PageID
	if old.overflow {
		if oldChain, err = t.chainPages(ctx, old); err != nil {
			return err
		}
	}
	var enc []byte
	if inlineFits(len(key), len(val)) {
		enc = encodeInline(val)
	} else {
		// New overflow pages are unreachable until the leaf points at
		// them, so they can be written before any latch is taken.
		first, err := t.writeChain(ctx, m, val, owner)
		if err != nil {
			return err
		}
		enc = encodeMarker(len(val), first)
	}
	newCell := page.LeafCellSize(len(key), len(enc))
	if (found && free+oldCell >= newCell) || (!found && free >= newCell+page.SlotSize) {
		b, err := m.Page(ctx, t.pool, leaf.id)
		if err != nil {
			return err
		}
		lp := page.Page(b)
		if found {
			err = lp.UpdateValue(i, enc)
		} else {
			err = lp.InsertLeaf(i, key, enc)
		}
		if err != nil {
			return fmt.Errorf("btree: put into leaf %v: %w", leaf.id, err)
		}
	} else {
		s := t.newSim(ctx, m, owner)
		if err := s.put(path, key, enc); err != nil {
			return err
		}
		if err := s.apply(); err != nil {
			return err
		}
	}
	return t.freeChain(ctx, m, oldChain)
}

// Delete removes key inside the writer's mini-transaction m and reports
// whether it was there. A leaf left empty is unlinked and freed; a leaf
// left under a quarter full is merged with a sibling when the two fit
// comfortably in one page, and internal pages likewise; a root left with
// a single child takes over the child's contents. The caller's duties are
// those of Put.
func (t *Tree) Delete(ctx context.Context, m *mtr.MTR, key []byte) (found bool, err error) {
	if len(key) > MaxKeySize {
		return false, nil
	}
	path, owner, err := t.writePath(ctx, key)
	if err != nil {
		return false, err
	}
	leaf := path[len(path)-1]
	f, err := t.pool.Fetch(ctx, leaf.id)
	if err != nil {
		return false, err
	}
	lp := page.Page(f.Data())
	i, found := lp.Search(key)
	if !found {
		f.Release()
		return false, nil
	}
	v := lp.Value(i)
	d, err := decodeValue(v)
	n := lp.NumSlots()
	after := used(lp) - page.LeafCellSize(len(key), len(v)) - page.SlotSize
	f.Release()
	if err != nil {
		return false, fmt.Errorf("btree: leaf %v: %w", leaf.id, err)
	}
	var chain []wal.PageID
	if d.overflow {
		if chain, err = t.chainPages(ctx, d); err != nil {
			return false, err
		}
	}
	if len(path) == 1 || (n > 1 && after >= page.UsableSize/4) {
		b, err := m.Page(ctx, t.pool, leaf.id)
		if err != nil {
			return false, err
		}
		page.Page(b).Delete(i)
	} else {
		s := t.newSim(ctx, m, owner)
		lp, err := s.get(leaf)
		if err != nil {
			return false, err
		}
		j, ok := lp.Search(key)
		if !ok {
			return false, corrupt("key vanished from leaf %v", leaf.id)
		}
		lp.Delete(j)
		if err := s.rebalance(path); err != nil {
			return false, err
		}
		if err := s.apply(); err != nil {
			return false, err
		}
	}
	return true, t.freeChain(ctx, m, chain)
}

// A sim plans a structural change (split, merge, root change) on private
// copies of the pages involved, read without latches: the single writer
// sees stable pages. apply then takes the changed pages into the MTR,
// exclusively latched top-down (by level) and left to right within a
// level, and copies the new contents in; the MTR's diff turns that into
// exactly the redo of the bytes that changed. So latches are only ever
// taken in a deadlock-free order, and each structural change is written
// once, as straight-line code.
type sim struct {
	t     *Tree
	ctx   context.Context
	m     *mtr.MTR
	owner uint64
	pages map[wal.PageID]*simPage
	list  []*simPage
}

type simPage struct {
	id    wal.PageID
	buf   page.Page
	fresh bool // allocated by this change
	freed bool // to be given back to the allocator
	level int  // level before the change (for latch order)
	rank  []byte
	order int
}

func (t *Tree) newSim(ctx context.Context, m *mtr.MTR, owner uint64) *sim {
	return &sim{t: t, ctx: ctx, m: m, owner: owner, pages: map[wal.PageID]*simPage{}}
}

// get returns the private copy of a tree page, reading it on first use.
// st.lb orders internal pages left to right; leaves are ordered by their
// first key (non-root leaves are never empty).
func (s *sim) get(st step) (page.Page, error) {
	if sp, ok := s.pages[st.id]; ok {
		return sp.buf, nil
	}
	f, err := s.t.pool.Fetch(s.ctx, st.id)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, wal.PageSize)
	copy(buf, f.Data())
	f.Release()
	p := page.Page(buf)
	sp := &simPage{id: st.id, buf: p, level: int(p.Level()), rank: st.lb, order: len(s.list)}
	switch p.Type() {
	case page.TypeLeaf:
		if p.NumSlots() > 0 {
			sp.rank = append([]byte{}, p.Key(0)...)
		}
	case page.TypeInternal:
	default:
		return nil, corrupt("page %v is a %v page, want a tree page", st.id, p.Type())
	}
	if p.Owner() != s.owner {
		return nil, corrupt("page %v has owner %d, tree %d", st.id, p.Owner(), s.owner)
	}
	s.pages[st.id] = sp
	s.list = append(s.list, sp)
	return p, nil
}

// alloc returns a new page (zeroed, private until apply).
func (s *sim) alloc() (wal.PageID, page.Page, error) {
	id, err := s.t.allocate(s.ctx, s.m)
	if err != nil {
		return 0, nil, err
	}
	if _, ok := s.pages[id]; ok {
		return 0, nil, corrupt("allocator returned page %v, which is in use", id)
	}
	sp := &simPage{id: id, buf: make([]byte, wal.PageSize), fresh: true, order: len(s.list)}
	s.pages[id] = sp
	s.list = append(s.list, sp)
	return id, sp.buf, nil
}

// free marks a page read with get to be freed at apply.
func (s *sim) free(id wal.PageID) {
	s.pages[id].freed = true
}

func rankLess(a, b *simPage) bool {
	if a.level != b.level {
		return a.level > b.level
	}
	if c := bytes.Compare(a.rank, b.rank); c != 0 {
		return c < 0
	}
	return a.order < b.order
}

// apply latches and writes the planned changes, then frees pages.
func (s *sim) apply() error {
	var old []*simPage
	for _, sp := range s.list {
		if !sp.fresh {
			old = append(old, sp)
		}
	}
	sort.Slice(old, func(i, j int) bool { return rankLess(old[i], old[j]) })
	for _, sp := range old {
		if !sp.freed {
			f, err := s.t.pool.Fetch(s.ctx, sp.id)
			if err != nil {
				return err
			}
			same := bytes.Equal(f.Data()[wal.PageLSNSize:], sp.buf[wal.PageLSNSize:])
			f.Release()
			if same {
				continue
			}
		}
		b, err := s.m.Page(s.ctx, s.t.pool, sp.id)
		if err != nil {
			return err
		}
		if !sp.freed {
			copy(b[wal.PageLSNSize:], sp.buf[wal.PageLSNSize:])
		}
	}
	for _, sp := range s.list {
		if sp.fresh {
			b, err := s.m.NewPage(s.t.pool, sp.id)
			if err != nil {
				return err
			}
			copy(b[wal.PageLSNSize:], sp.buf[wal.PageLSNSize:])
		}
	}
	for _, sp := range s.list {
		if sp.freed {
			if err := s.t.free(s.ctx, s.m, sp.id); err != nil {
				return err
			}
		}
	}
	return nil
}

// insertCell inserts a leaf cell (key, val) or an internal cell (key,
// child) at its place.
func insertCell(p page.Page, key, val []byte, child wal.PageID) error {
	i, found := p.Search(key)
	if found {
		return corrupt("key %s is already on the page", fmtKey(key))
	}
	if p.Type() == page.TypeLeaf {
		return p.InsertLeaf(i, key, val)
	}
	return p.InsertInternal(i, key, child)
}

// put stores (key, enc) on the leaf at the end of path, splitting pages as
// needed.
func (s *sim) put(path []step, key, enc []byte) error {
	l := len(path) - 1
	lp, err := s.get(path[l])
	if err != nil {
		return err
	}
	if i, found := lp.Search(key); found {
		lp.Delete(i)
	}
	return s.insert(path, l, key, enc, 0)
}

// insert adds a cell to the page at path[l] (a key/value cell on a leaf, a
// separator and its right child on an internal page), splitting it and
// its ancestors when full. A full root moves its contents to a new child
// first, so the root page never moves.
func (s *sim) insert(path []step, l int, key, val []byte, child wal.PageID) error {
	for {
		st := path[l]
		p, err := s.get(st)
		if err != nil {
			return err
		}
		err = insertCell(p, key, val, child)
		if err == nil {
			return nil
		}
		if !errors.Is(err, page.ErrFull) {
			return fmt.Errorf("btree: insert into page %v: %w", st.id, err)
		}
		if l == 0 {
			cid, c, err := s.alloc()
			if err != nil {
				return err
			}
			copy(c[wal.PageLSNSize:], p[wal.PageLSNSize:])
			page.Init(p, page.TypeInternal, c.Level()+1)
			p.SetOwner(s.owner)
			p.SetLeftmostChild(cid)
			path = append([]step{{id: st.id, ci: -1}}, path...)
			path[1] = step{id: cid}
			l, st, p = 1, path[1], c
		}
		n := p.NumSlots()
		sp := p.SplitPoint()
		if sp < 1 || sp >= n {
			return corrupt("page %v is full with %d cells", st.id, n)
		}
		rid, r, err := s.alloc()
		if err != nil {
			return err
		}
		var sep []byte
		if p.Type() == page.TypeLeaf {
			page.Init(r, page.TypeLeaf, 0).SetOwner(s.owner)
			if err := p.MoveTail(r, sp); err != nil {
				return err
			}
			sep = shortestSep(p.Key(sp-1), r.Key(0))
			next := p.Next()
			r.SetPrev(st.id)
			r.SetNext(next)
			p.SetNext(rid)
			if next != 0 {
				np, err := s.get(step{id: next})
				if err != nil {
					return err
				}
				if np.Prev() != st.id {
					return corrupt("leaf %v: prev link %v, want %v", next, np.Prev(), st.id)
				}
				np.SetPrev(rid)
			}
		} else {
			page.Init(r, page.TypeInternal, p.Level()).SetOwner(s.owner)
			sep = p.MoveTailInternal(r, sp)
		}
		dst := p
		if bytes.Compare(key, sep) >= 0 {
			dst = r
		}
		if err := insertCell(dst, key, val, child); err != nil {
			return fmt.Errorf("btree: insert after splitting page %v: %w", st.id, err)
		}
		key, val, child = sep, nil, rid
		l--
	}
}

// rebalance restores the tree's shape after the leaf at the end of path
// lost an entry (already done on its copy): empty pages leave the tree,
// underfull pages merge with a sibling under the same parent, and the
// changes propagate up as parents lose children.
func (s *sim) rebalance(path []step) error {
	emptied := map[wal.PageID]bool{} // internal pages left without children
	for l := len(path) - 1; l > 0; l-- {
		st, pst := path[l], path[l-1]
		p, err := s.get(st)
		if err != nil {
			return err
		}
		parent, err := s.get(pst)
		if err != nil {
			return err
		}
		ci := pst.ci
		var removed int
		switch {
		case p.Type() == page.TypeLeaf && p.NumSlots() == 0:
			if err := s.unlink(st.id, p); err != nil {
				return err
			}
			s.free(st.id)
			removed = ci
		case emptied[st.id]:
			s.free(st.id)
			removed = ci
		case underfull(p):
			var ok bool
			if removed, ok, err = s.merge(parent, pst, ci, p, st); err != nil {
				return err
			} else if !ok {
				return nil
			}
		default:
			return nil
		}
		switch {
		case removed >= 0:
			parent.Delete(removed)
		case parent.NumSlots() > 0:
			// The leftmost child left: the next one takes its place
			// (and its key range).
			parent.SetLeftmostChild(parent.Child(0))
			parent.Delete(0)
		default:
			emptied[pst.id] = true
		}
	}
	return s.fixRoot(emptied[s.t.root])
}

// merge merges the underfull page p (child ci of parent) with its left
// sibling, or else its right sibling, under the same parent, when the
// result fits in mergeLimit bytes. It returns the index of the parent's
// cell whose child went away.
func (s *sim) merge(parent page.Page, pst step, ci int, p page.Page, st step) (int, bool, error) {
	if ci >= 0 {
		lst := step{id: parent.LeftmostChild(), lb: pst.lb}
		if ci > 0 {
			lst = step{id: parent.Child(ci - 1), lb: append([]byte{}, parent.Key(ci-1)...)}
		}
		left, err := s.get(lst)
		if err != nil {
			return 0, false, err
		}
		if ok, err := s.absorb(left, lst.id, p, st.id, parent.Key(ci)); err != nil || ok {
			return ci, ok, err
		}
	}
	if ci+1 < parent.NumSlots() {
		rst := step{id: parent.Child(ci + 1), lb: append([]byte{}, parent.Key(ci+1)...)}
		right, err := s.get(rst)
		if err != nil {
			return 0, false, err
		}
		if ok, err := s.absorb(p, st.id, right, rst.id, parent.Key(ci+1)); err != nil || ok {
			return ci + 1, ok, err
		}
	}
	return 0, false, nil
}

// absorb moves everything of src into dst, its left sibling under the
// same parent (sep is the parent's separator for src), and frees src, if
// the result fits in mergeLimit bytes.
func (s *sim) absorb(dst page.Page, dstID wal.PageID, src page.Page, srcID wal.PageID, sep []byte) (bool, error) {
	if dst.Type() != src.Type() || dst.Level() != src.Level() {
		return false, corrupt("siblings %v and %v differ in type or level", dstID, srcID)
	}
	if dst.Type() == page.TypeLeaf {
		if used(dst)+used(src) > mergeLimit {
			return false, nil
		}
		if dst.Next() != srcID || src.Prev() != dstID {
			return false, corrupt("leaves %v and %v are not linked", dstID, srcID)
		}
		if err := src.MoveTail(dst, 0); err != nil {
			return false, err
		}
		if err := s.unlink(srcID, src); err != nil {
			return false, err
		}
	} else {
		if used(dst)+used(src)+page.InternalCellSize(len(sep))+page.SlotSize > mergeLimit {
			return false, nil
		}
		if err := dst.InsertInternal(dst.NumSlots(), sep, src.LeftmostChild()); err != nil {
			return false, err
		}
		if err := src.MoveTail(dst, 0); err != nil {
			return false, err
		}
	}
	s.free(srcID)
	return true, nil
}

// unlink takes leaf x out of the leaf chain.
func (s *sim) unlink(id wal.PageID, x page.Page) error {
	prev, next := x.Prev(), x.Next()
	if prev != 0 {
		pp, err := s.get(step{id: prev})
		if err != nil {
			return err
		}
		if pp.Next() != id {
			return corrupt("leaf %v: next link %v, want %v", prev, pp.Next(), id)
		}
		pp.SetNext(next)
	}
	if next != 0 {
		np, err := s.get(step{id: next})
		if err != nil {
			return err
		}
		if np.Prev() != id {
			return corrupt("leaf %v: prev link %v, want %v", next, np.Prev(), id)
		}
		np.SetPrev(prev)
	}
	return nil
}

// fixRoot handles a root that lost a child: with no child left it becomes
// an empty leaf; with a single child it takes over the child's contents
// (repeatedly), so the tree gets lower.
func (s *sim) fixRoot(emptied bool) error {
	root, err := s.get(step{id: s.t.root})
	if err != nil {
		return err
	}
	if emptied {
		page.Init(root, page.TypeLeaf, 0).SetOwner(s.owner)
		return nil
	}
	for root.Type() == page.TypeInternal && root.NumSlots() == 0 {
		cid := root.LeftmostChild()
		c, err := s.get(step{id: cid})
		if err != nil {
			return err
		}
		if c.Type() == page.TypeLeaf && (c.Prev() != 0 || c.Next() != 0) {
			return corrupt("only leaf %v has sibling links", cid)
		}
		copy(root[wal.PageLSNSize:], c[wal.PageLSNSize:])
		s.free(cid)
	}
	return nil
}
