package page

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/polarsql/polar/wal"
)

// PageID names a page; it is wal.PageID (space << 40 | page number).
type PageID = wal.PageID

// Page is one wal.PageSize page viewed through the slotted-page format.
// It is a plain byte slice: converting a buffer-pool frame's bytes with
// Page(b) costs nothing and all methods work in place on those bytes.
type Page []byte

// Type is a page's kind, stored at byte 12.
type Type uint8

// Page types.
const (
	// TypeFree is an unused page (all-zero pages are free pages).
	TypeFree Type = 0
	// TypeLeaf is a B+tree leaf: cells are key/value pairs.
	TypeLeaf Type = 1
	// TypeInternal is a B+tree internal node: cells are key/child pairs
	// plus the leftmost child in the header.
	TypeInternal Type = 2
	// TypeOverflow holds one piece of a long value; pages chain through
	// the next-overflow header field.
	TypeOverflow Type = 3
	// TypeMeta is a metadata page whose body (from HeaderSize on) belongs
	// to its user.
	TypeMeta Type = 4
)

func (t Type) String() string {
	switch t {
	case TypeFree:
		return "free"
	case TypeLeaf:
		return "leaf"
	case TypeInternal:
		return "internal"
	case TypeOverflow:
		return "overflow"
	case TypeMeta:
		return "meta"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Header layout. Bytes 0..8 are the page LSN, owned by package wal.
const (
	offChecksum  = 8
	offType      = 12
	offLevel     = 13
	offFlags     = 14
	offNSlots    = 16
	offCellStart = 18
	offFrag      = 20
	offPrev      = 24
	offNext      = 32
	offLeftmost  = 40 // internal: leftmost child; overflow: next overflow page
	offOwner     = 48
)

const (
	// HeaderSize is the size of the page header; the slot array starts
	// right after it.
	HeaderSize = 64
	// SlotSize is the size of one slot-array entry (a u16 cell offset).
	SlotSize = 2
	// UsableSize is the number of bytes available to slots and cells on an
	// empty leaf or internal page.
	UsableSize = wal.PageSize - HeaderSize

	leafCellHeader     = 4  // keyLen u16 | valLen u16
	internalCellHeader = 10 // keyLen u16 | child u64

	// MaxCellSize bounds len(key)+len(value) of a leaf cell and len(key)
	// of an internal cell. It is chosen so that at least four cells of
	// either kind, with their slots, fit on one page; this is what makes
	// a split always leave room for the cell that caused it. Longer values
	// belong in overflow chains.
	MaxCellSize = UsableSize/4 - internalCellHeader - SlotSize

	// maxSlots is the most slots a page can hold (empty leaf cells).
	maxSlots = UsableSize / (leafCellHeader + SlotSize)
)

// Errors returned by page operations and Check.
var (
	// ErrFull means the cell and its slot do not fit on the page, even
	// after compaction. The page is unchanged.
	ErrFull = errors.New("page: full")
	// ErrTooLarge means a cell exceeds MaxCellSize (or overflow data
	// exceeds OverflowCapacity). The page is unchanged.
	ErrTooLarge = errors.New("page: cell too large")
	// ErrCorrupt is wrapped by every error Check returns.
	ErrCorrupt = errors.New("page: corrupt")
)

// LeafCellSize is the number of cell-area bytes a leaf cell with the given
// key and value lengths takes; inserting it also needs SlotSize bytes.
func LeafCellSize(keyLen, valLen int) int { return leafCellHeader + keyLen + valLen }

// InternalCellSize is the number of cell-area bytes an internal cell with
// the given key length takes; inserting it also needs SlotSize bytes.
func InternalCellSize(keyLen int) int { return internalCellHeader + keyLen }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func le16(b []byte) int           { return int(binary.LittleEndian.Uint16(b)) }
func put16(b []byte, v int)       { binary.LittleEndian.PutUint16(b, uint16(v)) }
func le64(b []byte) uint64        { return binary.LittleEndian.Uint64(b) }
func put64(b []byte, v uint64)    { binary.LittleEndian.PutUint64(b, v) }
func slotPos(i int) int           { return HeaderSize + SlotSize*i }
func (p Page) slot(i int) int     { return le16(p[slotPos(i):]) }
func (p Page) setSlot(i, off int) { put16(p[slotPos(i):], off) }

// Init formats p (wal.PageSize bytes) as an empty page of type typ at the
// given level (0 for leaves, height above the leaves for internal pages).
// It zeroes everything but the page LSN, so the result is deterministic;
// callers log a new page as a full image anyway. It returns p as a Page.
func Init(p []byte, typ Type, level uint8) Page {
	if len(p) != wal.PageSize {
		panic(fmt.Sprintf("page: Init on %d bytes, want %d", len(p), wal.PageSize))
	}
	clear(p[wal.PageLSNSize:])
	pg := Page(p)
	pg[offType] = byte(typ)
	pg[offLevel] = level
	pg.setCellStart(wal.PageSize)
	return pg
}

// SetChecksum stores the CRC-32C of bytes 12..PageSize at bytes 8..12.
// The page LSN is not covered, so replaying redo onto a page does not
// depend on the checksum. Page operations do not maintain the checksum;
// call this before a page leaves the process if it is to be verified.
func SetChecksum(p []byte) {
	binary.LittleEndian.PutUint32(p[offChecksum:], crc32.Checksum(p[offType:wal.PageSize], castagnoli))
}

// VerifyChecksum reports whether the checksum stored in p matches its
// contents. It returns false for a slice that is not wal.PageSize long.
func VerifyChecksum(p []byte) bool {
	if len(p) != wal.PageSize {
		return false
	}
	return binary.LittleEndian.Uint32(p[offChecksum:]) == crc32.Checksum(p[offType:], castagnoli)
}

// Type returns the page type.
func (p Page) Type() Type { return Type(p[offType]) }

// SetType sets the page type without touching anything else.
func (p Page) SetType(t Type) { p[offType] = byte(t) }

// Level returns the page's level: 0 for leaves, the height above the
// leaves for internal pages.
func (p Page) Level() uint8 { return p[offLevel] }

// SetLevel sets the page's level.
func (p Page) SetLevel(l uint8) { p[offLevel] = l }

// Flags returns the page's flag bits; their meaning belongs to the caller.
func (p Page) Flags() uint16 { return binary.LittleEndian.Uint16(p[offFlags:]) }

// SetFlags sets the page's flag bits.
func (p Page) SetFlags(f uint16) { binary.LittleEndian.PutUint16(p[offFlags:], f) }

// Prev returns the previous sibling's page ID (0 = none).
func (p Page) Prev() PageID { return PageID(le64(p[offPrev:])) }

// SetPrev sets the previous sibling's page ID (0 = none).
func (p Page) SetPrev(id PageID) { put64(p[offPrev:], uint64(id)) }

// Next returns the next sibling's page ID (0 = none).
func (p Page) Next() PageID { return PageID(le64(p[offNext:])) }

// SetNext sets the next sibling's page ID (0 = none).
func (p Page) SetNext(id PageID) { put64(p[offNext:], uint64(id)) }

// LeftmostChild returns an internal page's leftmost child: the subtree
// holding keys below Key(0).
func (p Page) LeftmostChild() PageID { return PageID(le64(p[offLeftmost:])) }

// SetLeftmostChild sets an internal page's leftmost child.
func (p Page) SetLeftmostChild(id PageID) { put64(p[offLeftmost:], uint64(id)) }

// Owner returns the owner id stored in the page (for example the index
// id), used for sanity checks.
func (p Page) Owner() uint64 { return le64(p[offOwner:]) }

// SetOwner sets the owner id.
func (p Page) SetOwner(id uint64) { put64(p[offOwner:], id) }

// NumSlots returns the number of cells on the page.
func (p Page) NumSlots() int { return le16(p[offNSlots:]) }

func (p Page) setNumSlots(n int) { put16(p[offNSlots:], n) }

// cellStart returns the offset of the lowest byte used by cells.
func (p Page) cellStart() int { return le16(p[offCellStart:]) }

func (p Page) setCellStart(off int) { put16(p[offCellStart:], off) }

// fragmented returns the bytes of dead cells inside the cell area.
func (p Page) fragmented() int { return le16(p[offFrag:]) }

func (p Page) setFragmented(n int) { put16(p[offFrag:], n) }

// FreeSpace returns the bytes available for new cells and their slots,
// including fragmented space that Compact (run automatically by the
// insert and update operations when needed) would reclaim. A cell of size
// c fits exactly when c+SlotSize <= FreeSpace().
func (p Page) FreeSpace() int {
	return p.cellStart() - slotPos(p.NumSlots()) + p.fragmented()
}

// gap returns the contiguous free bytes between the slot array and the
// cell area.
func (p Page) gap() int { return p.cellStart() - slotPos(p.NumSlots()) }
