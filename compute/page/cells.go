package page

import (
	"bytes"
	"fmt"
	"slices"
)

// keyHeader returns the size of the cell header in front of the key: 4 for
// leaf cells, 10 for internal cells.
func (p Page) keyHeader() int {
	if p.Type() == TypeInternal {
		return internalCellHeader
	}
	return leafCellHeader
}

// cellSize returns the size of the live cell at off (excluding any slack
// left behind by an in-place value shrink, which counts as fragmented).
func (p Page) cellSize(off int) int {
	if p.Type() == TypeInternal {
		return internalCellHeader + le16(p[off:])
	}
	return leafCellHeader + le16(p[off:]) + le16(p[off+2:])
}

func (p Page) mustType(t Type, op string) {
	if p.Type() != t {
		panic(fmt.Sprintf("page: %s on a %v page", op, p.Type()))
	}
}

func (p Page) mustIndex(i, n int, op string) {
	if i < 0 || i >= n {
		panic(fmt.Sprintf("page: %s: index %d out of range [0,%d)", op, i, n))
	}
}

// Key returns the key of cell i on a leaf or internal page. The slice
// aliases the page: it is valid until the page changes, and must be copied
// to be kept. Its capacity is capped, so appending to it never writes into
// the page.
func (p Page) Key(i int) []byte {
	off := p.slot(i)
	kl := le16(p[off:])
	k := off + p.keyHeader()
	return p[k : k+kl : k+kl]
}

// Value returns the value of cell i on a leaf page, aliasing the page like
// Key.
func (p Page) Value(i int) []byte {
	off := p.slot(i)
	kl, vl := le16(p[off:]), le16(p[off+2:])
	v := off + leafCellHeader + kl
	return p[v : v+vl : v+vl]
}

// Child returns the child page of cell i on an internal page: the subtree
// holding keys >= Key(i) and < Key(i+1).
func (p Page) Child(i int) PageID {
	return PageID(le64(p[p.slot(i)+2:]))
}

// SetChild replaces the child page of cell i on an internal page, in
// place (8 bytes change).
func (p Page) SetChild(i int, child PageID) {
	p.mustType(TypeInternal, "SetChild")
	p.mustIndex(i, p.NumSlots(), "SetChild")
	put64(p[p.slot(i)+2:], uint64(child))
}

// Search binary-searches the page's keys (ordered by bytes.Compare) and
// returns the index of the first cell whose key is >= key, and whether
// that key equals key. i == NumSlots() means every key is smaller; i is
// also the position at which key would be inserted.
func (p Page) Search(key []byte) (i int, found bool) {
	h := p.keyHeader()
	lo, hi := 0, p.NumSlots()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		off := le16(p[slotPos(m):])
		k := off + h
		c := bytes.Compare(p[k:k+le16(p[off:])], key)
		if c < 0 {
			lo = m + 1
		} else if c > 0 {
			hi = m
		} else {
			return m, true
		}
	}
	return lo, false
}

// ChildFor returns the child of an internal page whose subtree holds key:
// the leftmost child if key < Key(0), else Child(i) for the last i with
// Key(i) <= key.
func (p Page) ChildFor(key []byte) PageID {
	i, found := p.Search(key)
	if found {
		return p.Child(i)
	}
	if i == 0 {
		return p.LeftmostChild()
	}
	return p.Child(i - 1)
}

// ChildIndexFor is ChildFor returning a position instead of a page: -1 for
// the leftmost child, else the index i of the cell whose Child(i) holds
// key.
func (p Page) ChildIndexFor(key []byte) int {
	i, found := p.Search(key)
	if found {
		return i
	}
	return i - 1
}

// alloc reserves size bytes of cell area, compacting the page first if the
// contiguous gap is too small. extraSlots is the number of slots the caller
// is about to add. It returns the cell offset, or ErrFull with the page
// unchanged.
func (p Page) alloc(size, extraSlots int) (int, error) {
	gap := p.gap() - extraSlots*SlotSize
	if gap < size {
		if gap+p.fragmented() < size {
			return 0, ErrFull
		}
		if gap >= 0 {
			if off := p.takeHole(size, -1); off >= 0 {
				return off, nil
			}
		}
		p.compact(-1)
	}
	off := p.cellStart() - size
	p.setCellStart(off)
	return off, nil
}

// takeHole places a cell of size bytes in the smallest hole between live
// cells (ignoring slot skip, -1 = none) that holds it, and returns its
// offset, or -1 if no hole is big enough. Filling a hole changes only the
// cell's own bytes, where compacting would slide every cell below the
// first hole: with MVCC updates (a new version in, an old one out) that
// was most of a page per commit in the redo log.
func (p Page) takeHole(size, skip int) int {
	n := p.NumSlots()
	var buf [maxSlots]uint32
	ents := buf[:0]
	for i := 0; i < n; i++ {
		if i != skip {
			ents = append(ents, uint32(p.slot(i)))
		}
	}
	slices.Sort(ents)
	best, bestSize := -1, len(p)+1
	end := p.cellStart() // end of the cells examined so far
	for _, e := range ents {
		off := int(e)
		if h := off - end; h >= size && h < bestSize {
			best, bestSize = end, h
		}
		end = max(end, off+p.cellSize(off))
	}
	if h := len(p) - end; h >= size && h < bestSize {
		best = end
	}
	if best >= 0 {
		p.setFragmented(p.fragmented() - size)
	}
	return best
}

// insertSlot opens slot i (shifting slots i.. up by one) and points it at
// off.
func (p Page) insertSlot(i, off int) {
	n := p.NumSlots()
	if i < n {
		copy(p[slotPos(i+1):slotPos(n+1)], p[slotPos(i):slotPos(n)])
	}
	p.setSlot(i, off)
	p.setNumSlots(n + 1)
}

// InsertLeaf inserts a key/value cell at slot i (0 <= i <= NumSlots()) of
// a leaf page; the caller keeps keys ascending, normally with i from
// Search. It compacts the page first if only fragmented space makes the
// cell fit, and returns ErrFull (page unchanged) if it does not fit at
// all, or ErrTooLarge if len(key)+len(val) > MaxCellSize. key and val must
// not alias the page.
//
// Without compaction it writes the new cell, the slots from i on and
// three header fields, nothing else.
func (p Page) InsertLeaf(i int, key, val []byte) error {
	p.mustType(TypeLeaf, "InsertLeaf")
	p.mustIndex(i, p.NumSlots()+1, "InsertLeaf")
	if len(key)+len(val) > MaxCellSize {
		return ErrTooLarge
	}
	off, err := p.alloc(LeafCellSize(len(key), len(val)), 1)
	if err != nil {
		return err
	}
	put16(p[off:], len(key))
	put16(p[off+2:], len(val))
	copy(p[off+leafCellHeader:], key)
	copy(p[off+leafCellHeader+len(key):], val)
	p.insertSlot(i, off)
	return nil
}

// InsertInternal inserts a key/child cell at slot i (0 <= i <= NumSlots())
// of an internal page: child holds the keys >= key (and below the next
// cell's key). Errors are those of InsertLeaf, with len(key) bounded by
// MaxCellSize.
func (p Page) InsertInternal(i int, key []byte, child PageID) error {
	p.mustType(TypeInternal, "InsertInternal")
	p.mustIndex(i, p.NumSlots()+1, "InsertInternal")
	if len(key) > MaxCellSize {
		return ErrTooLarge
	}
	off, err := p.alloc(InternalCellSize(len(key)), 1)
	if err != nil {
		return err
	}
	put16(p[off:], len(key))
	put64(p[off+2:], uint64(child))
	copy(p[off+internalCellHeader:], key)
	p.insertSlot(i, off)
	return nil
}

// release accounts for the cell at off (of the given live size) becoming
// dead: a cell at the bottom of the cell area just moves cellStart up,
// others count as fragmented.
func (p Page) release(off, size int) {
	if off == p.cellStart() {
		p.setCellStart(off + size)
	} else {
		p.setFragmented(p.fragmented() + size)
	}
}

// Delete removes cell i from a leaf or internal page. The cell's bytes are
// left in place as fragmented space (reclaimed by Compact); only the slot
// array from i on and the header change.
//
// On an internal page, deleting cell i merges the key range of Child(i)
// into the child to its left; the caller deals with the child page.
func (p Page) Delete(i int) {
	n := p.NumSlots()
	p.mustIndex(i, n, "Delete")
	off := p.slot(i)
	p.release(off, p.cellSize(off))
	copy(p[slotPos(i):slotPos(n-1)], p[slotPos(i+1):slotPos(n)])
	p.setNumSlots(n - 1)
}

// Truncate removes cells [n, NumSlots()) from a leaf or internal page,
// leaving their bytes as fragmented space. Only the header changes.
func (p Page) Truncate(n int) {
	cur := p.NumSlots()
	if n < 0 || n > cur {
		panic(fmt.Sprintf("page: Truncate(%d) with %d slots", n, cur))
	}
	dead := 0
	for j := n; j < cur; j++ {
		dead += p.cellSize(p.slot(j))
	}
	p.setFragmented(p.fragmented() + dead)
	p.setNumSlots(n)
}

// UpdateValue replaces the value of cell i on a leaf page. A value no
// longer than the old one is written in place (the rest of the old value
// becomes fragmented space); a longer one moves the cell to new space,
// compacting the page if needed. It returns ErrFull (page unchanged) when
// the new cell does not fit even after compaction, and ErrTooLarge when
// the key plus the new value exceed MaxCellSize. val must not alias the
// page.
func (p Page) UpdateValue(i int, val []byte) error {
	p.mustType(TypeLeaf, "UpdateValue")
	p.mustIndex(i, p.NumSlots(), "UpdateValue")
	off := p.slot(i)
	kl, vl := le16(p[off:]), le16(p[off+2:])
	if kl+len(val) > MaxCellSize {
		return ErrTooLarge
	}
	vo := off + leafCellHeader + kl
	if len(val) <= vl {
		if len(val) < vl {
			put16(p[off+2:], len(val))
			p.setFragmented(p.fragmented() + vl - len(val))
		}
		copy(p[vo:], val)
		return nil
	}
	oldSize := leafCellHeader + kl + vl
	newSize := leafCellHeader + kl + len(val)
	var key []byte
	var n int
	if p.gap() < newSize {
		if p.gap()+p.fragmented()+oldSize < newSize {
			return ErrFull
		}
		// The old cell's space is free from here on and the new cell may
		// overwrite its key, so keep a copy.
		key = append([]byte(nil), p[off+leafCellHeader:vo]...)
		p.setFragmented(p.fragmented() + oldSize)
		if n = p.takeHole(newSize, i); n < 0 {
			p.compact(i)
		}
	} else {
		key = p[off+leafCellHeader : vo]
		p.release(off, oldSize)
	}
	if n <= 0 {
		n = p.cellStart() - newSize
		p.setCellStart(n)
	}
	put16(p[n:], kl)
	put16(p[n+2:], len(val))
	copy(p[n+leafCellHeader:], key)
	copy(p[n+leafCellHeader+kl:], val)
	p.setSlot(i, n)
	return nil
}

// Compact packs all live cells against the end of the page so that the
// free space is one contiguous gap and fragmented is 0. Cells already
// packed at the end of the page stay where they are; the others slide up,
// keeping their relative order. Slot order (key order) is unchanged.
func (p Page) Compact() { p.compact(-1) }

// compact packs the cells of all slots except skip (-1 = none); the slot
// skip is left pointing at stale bytes for the caller to fix.
func (p Page) compact(skip int) {
	n := p.NumSlots()
	var buf [maxSlots]uint32
	ents := buf[:0]
	for i := 0; i < n; i++ {
		if i != skip {
			ents = append(ents, uint32(p.slot(i))<<16|uint32(i))
		}
	}
	slices.Sort(ents)
	top := len(p)
	// Highest cell first: each cell moves up (or stays), never over a
	// cell that has not been moved yet.
	for j := len(ents) - 1; j >= 0; j-- {
		off, i := int(ents[j]>>16), int(ents[j]&0xffff)
		size := p.cellSize(off)
		dst := top - size
		if dst != off {
			copy(p[dst:dst+size], p[off:off+size])
			p.setSlot(i, dst)
		}
		top = dst
	}
	p.setCellStart(top)
	p.setFragmented(0)
}
