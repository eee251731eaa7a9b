package page

import "github.com/polarsql/polar/wal"

const offOverflowLen = HeaderSize

// OverflowCapacity is the number of value bytes one overflow page holds.
const OverflowCapacity = wal.PageSize - HeaderSize - 2

// InitOverflow formats p as an empty overflow page (type TypeOverflow, no
// next page, no data), keeping the page LSN, and returns it as a Page.
func InitOverflow(p []byte) Page { return Init(p, TypeOverflow, 0) }

// NextOverflow returns the next page of an overflow chain (0 = last).
func (p Page) NextOverflow() PageID { return PageID(le64(p[offLeftmost:])) }

// SetNextOverflow sets the next page of an overflow chain (0 = last).
func (p Page) SetNextOverflow(id PageID) { put64(p[offLeftmost:], uint64(id)) }

// OverflowData returns the data stored on an overflow page, aliasing the
// page.
func (p Page) OverflowData() []byte {
	n := le16(p[offOverflowLen:])
	return p[offOverflowLen+2 : offOverflowLen+2+n : offOverflowLen+2+n]
}

// SetOverflowData stores data (at most OverflowCapacity bytes) on an
// overflow page, replacing what was there. It returns ErrTooLarge,
// changing nothing, if data is too long.
func (p Page) SetOverflowData(data []byte) error {
	if len(data) > OverflowCapacity {
		return ErrTooLarge
	}
	put16(p[offOverflowLen:], len(data))
	copy(p[offOverflowLen+2:], data)
	return nil
}
