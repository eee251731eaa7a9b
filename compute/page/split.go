package page

import "fmt"

// SplitPoint returns the slot index s that splits a leaf or internal page
// into halves [0, s) and [s, n) whose sizes (cells plus slots) are as
// close as possible. For n >= 2 it is in [1, n-1], so both halves are
// non-empty; for n < 2 it returns n (there is nothing to split).
//
// Because MaxCellSize lets four cells share a page, each half of a full
// page split at SplitPoint has room for any further cell of up to
// MaxCellSize.
func (p Page) SplitPoint() int {
	n := p.NumSlots()
	if n < 2 {
		return n
	}
	total := 0
	for i := 0; i < n; i++ {
		total += p.cellSize(p.slot(i)) + SlotSize
	}
	best, bestDiff := 1, total+1
	acc := 0
	for s := 1; s < n; s++ {
		acc += p.cellSize(p.slot(s-1)) + SlotSize
		d := 2*acc - total
		if d < 0 {
			d = -d
		}
		if d < bestDiff {
			best, bestDiff = s, d
		} else if 2*acc > total {
			break
		}
	}
	return best
}

// MoveTail moves cells [from, NumSlots()) of p to the end of dst, a page
// of the same type, preserving their order: on a split dst is an empty,
// freshly initialised page; for a merge dst may be the left sibling,
// whose keys must all be smaller than the moved ones. The moved cells
// become fragmented space in p; only p's header changes, so call Compact
// on p as well if the page is logged as a full image anyway.
//
// On internal pages the cells move verbatim with their children; dst's
// leftmost child is not touched (see MoveTailInternal for splits).
//
// It returns ErrFull, changing nothing, if the cells do not fit in dst
// (compacting dst first when that makes them fit); that cannot happen
// when dst is empty.
func (p Page) MoveTail(dst Page, from int) error {
	n := p.NumSlots()
	if from < 0 || from > n {
		panic(fmt.Sprintf("page: MoveTail from %d with %d slots", from, n))
	}
	if dst.Type() != p.Type() || (p.Type() != TypeLeaf && p.Type() != TypeInternal) {
		panic(fmt.Sprintf("page: MoveTail from a %v page to a %v page", p.Type(), dst.Type()))
	}
	cells := 0
	for j := from; j < n; j++ {
		cells += p.cellSize(p.slot(j))
	}
	need := cells + (n-from)*SlotSize
	if dst.FreeSpace() < need {
		return ErrFull
	}
	if dst.gap() < need {
		dst.Compact()
	}
	dn := dst.NumSlots()
	top := dst.cellStart()
	for j := from; j < n; j++ {
		off := p.slot(j)
		size := p.cellSize(off)
		top -= size
		copy(dst[top:top+size], p[off:off+size])
		dst.setSlot(dn+j-from, top)
	}
	dst.setCellStart(top)
	dst.setNumSlots(dn + n - from)
	p.setFragmented(p.fragmented() + cells)
	p.setNumSlots(from)
	return nil
}

// MoveTailInternal splits an internal page at cell from (0 <= from <
// NumSlots(), normally SplitPoint()): cells (from, n) move to dst, which
// must be an empty internal page; dst's leftmost child becomes
// Child(from); cell from is removed from p and its key is returned (as a
// copy) as the separator to insert into the parent, pointing at dst.
// Afterwards p covers keys < sep and dst covers keys >= sep, exactly as
// the original page did. Levels and sibling links are the caller's.
func (p Page) MoveTailInternal(dst Page, from int) (sep []byte) {
	p.mustType(TypeInternal, "MoveTailInternal")
	dst.mustType(TypeInternal, "MoveTailInternal")
	p.mustIndex(from, p.NumSlots(), "MoveTailInternal")
	if dst.NumSlots() != 0 {
		panic("page: MoveTailInternal into a non-empty page")
	}
	sep = append([]byte(nil), p.Key(from)...)
	dst.SetLeftmostChild(p.Child(from))
	if err := p.MoveTail(dst, from+1); err != nil {
		panic("page: MoveTailInternal: " + err.Error()) // unreachable: dst is empty
	}
	p.Truncate(from)
	return sep
}
