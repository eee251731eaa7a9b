// Package page implements Polar's 16 KiB slotted-page format, the on-page
// layout of B+tree leaves, internal nodes and overflow pages.
//
// Everything here is a pure function of a wal.PageSize byte slice: no I/O,
// no latches, no logging. Redo is produced elsewhere (package mtr) by
// diffing a page's bytes before and after a mini-transaction, so the
// operations change as few bytes as they reasonably can: an insert writes
// the new cell, the shifted part of the slot array and a few header
// fields; a delete leaves the dead cell in place as fragmented space.
// Only Compact (run automatically when fragmented space is needed) and
// Init rewrite large parts of a page.
//
// # Layout
//
// All integers are little-endian.
//
//	0   8  page LSN (owned by package wal; nothing here writes it)
//	8   4  checksum: CRC-32C of bytes 12..PageSize (SetChecksum/VerifyChecksum)
//	12  1  page type (Type)
//	13  1  level: 0 for leaves, height above the leaves for internal pages
//	14  2  flags
//	16  2  nslots
//	18  2  cellStart: lowest byte used by cells (cells grow down from PageSize)
//	20  2  fragmented: dead bytes inside the cell area
//	22  2  reserved
//	24  8  prev sibling PageID (0 = none)
//	32  8  next sibling PageID (0 = none)
//	40  8  leftmost child (internal) / next overflow page (overflow)
//	48  8  owner id (e.g. index id)
//	56  8  reserved
//	64     slot array: nslots × u16 cell offsets, in key order
//
// Leaf cell: keyLen u16 | valLen u16 | key | value.
// Internal cell: keyLen u16 | child u64 | key. The leftmost child holds the
// keys below Key(0); Child(i) holds keys >= Key(i) and < Key(i+1).
// Overflow page: u16 data length at 64, data from 66.
//
// # Usage
//
// Wrap page bytes (for example a buffer-pool frame) and work in place:
//
//	p := page.Init(buf, page.TypeLeaf, 0)
//	i, found := p.Search(key)
//	if found {
//		err = p.UpdateValue(i, val)
//	} else {
//		err = p.InsertLeaf(i, key, val)
//	}
//	if errors.Is(err, page.ErrFull) {
//		// split: move the upper half to a new right sibling
//		right := page.Init(newBuf, page.TypeLeaf, 0)
//		s := p.SplitPoint()
//		_ = p.MoveTail(right, s) // cannot fail: right is empty
//		sep := bytes.Clone(right.Key(0)) // to the parent, pointing at right
//		// ... insert key into p or right, fix sibling links; Compact p
//		// if the split is logged as full page images anyway
//	}
//
// Internal pages split with MoveTailInternal, which also returns the
// separator key to push up; descending uses ChildFor.
//
// Cells are bounded by MaxCellSize (len(key)+len(value) for leaves,
// len(key) for internal cells) so that at least four fit on a page and a
// split always makes room. Longer values go to overflow chains of pages
// of OverflowCapacity bytes each (InitOverflow, SetOverflowData,
// SetNextOverflow).
//
// Hot-path accessors (Key, Value, Child, Search, ...) assume a valid
// page and may panic on a corrupt one; run Check on pages of doubtful
// origin first: it validates every invariant and never panics. Slices
// returned by Key, Value and OverflowData alias the page and are valid
// only until the page changes. Keys and values passed in must not alias
// the page being changed.
package page
