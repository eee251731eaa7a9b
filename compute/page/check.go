package page

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/polarsql/polar/wal"
)

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// Check validates a page's invariants and returns an error wrapping
// ErrCorrupt describing the first violation, or nil. It never panics,
// whatever the bytes, so it can vet pages read from storage.
//
// Leaf and internal pages: the level matches the type; the slot array
// ends at or below cellStart; every slot points at a whole cell inside the
// cell area; cells do not overlap; no cell exceeds MaxCellSize; keys are
// strictly ascending; and the live cells plus fragmented account for
// every byte of the cell area. Overflow pages: the data length is at most
// OverflowCapacity. Free and meta pages are not checked beyond their type.
// The checksum is separate (VerifyChecksum).
func Check(b []byte) error {
	if len(b) != wal.PageSize {
		return corrupt("page is %d bytes, want %d", len(b), wal.PageSize)
	}
	p := Page(b)
	h := leafCellHeader
	switch p.Type() {
	case TypeFree, TypeMeta:
		return nil
	case TypeOverflow:
		if n := le16(p[offOverflowLen:]); n > OverflowCapacity {
			return corrupt("overflow data length %d > %d", n, OverflowCapacity)
		}
		return nil
	case TypeLeaf:
		if p.Level() != 0 {
			return corrupt("leaf at level %d", p.Level())
		}
	case TypeInternal:
		if p.Level() == 0 {
			return corrupt("internal page at level 0")
		}
		h = internalCellHeader
	default:
		return corrupt("unknown page type %d", p.Type())
	}
	n, cs, frag := p.NumSlots(), p.cellStart(), p.fragmented()
	if cs > wal.PageSize {
		return corrupt("cellStart %d beyond page", cs)
	}
	if slotPos(n) > cs {
		return corrupt("%d slots end at %d, above cellStart %d", n, slotPos(n), cs)
	}
	if frag > wal.PageSize-cs {
		return corrupt("fragmented %d > cell area %d", frag, wal.PageSize-cs)
	}
	cells := make([]uint64, 0, n) // off<<32 | end
	live := 0
	var prev []byte
	for i := 0; i < n; i++ {
		off := p.slot(i)
		if off < cs || off+h > wal.PageSize {
			return corrupt("slot %d: cell offset %d outside cell area [%d,%d)", i, off, cs, wal.PageSize)
		}
		kl, payload := le16(p[off:]), le16(p[off:])
		if h == leafCellHeader {
			payload += le16(p[off+2:])
		}
		if payload > MaxCellSize {
			return corrupt("slot %d: cell payload %d > MaxCellSize", i, payload)
		}
		end := off + h + payload
		if end > wal.PageSize {
			return corrupt("slot %d: cell [%d,%d) beyond page", i, off, end)
		}
		key := p[off+h : off+h+kl]
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return corrupt("slot %d: key %x not above key %x of slot %d", i, key, prev, i-1)
		}
		prev = key
		live += end - off
		cells = append(cells, uint64(off)<<32|uint64(end))
	}
	slices.Sort(cells)
	for j := 1; j < len(cells); j++ {
		if pe, o := cells[j-1]&0xffffffff, cells[j]>>32; pe > o {
			return corrupt("cells [%d,%d) and [%d,%d) overlap", cells[j-1]>>32, pe, o, cells[j]&0xffffffff)
		}
	}
	if live+frag != wal.PageSize-cs {
		return corrupt("live cells %d + fragmented %d != cell area %d", live, frag, wal.PageSize-cs)
	}
	return nil
}
