// Package mtr implements mini-transactions: a group of page changes that
// is logged, replayed and made visible to replicas atomically.
//
// Page operations are pure byte manipulation and do not log anything.
// Instead, the first time a mini-transaction touches a page it keeps the
// page's before-image; Finish compares before and after and emits physical
// redo for exactly the bytes that changed (wal.PageWrite per changed range,
// or one wal.PageImage for new pages and pages mostly rewritten). So redo
// replayed with wal.Apply reproduces the page bytes exactly, by
// construction, whatever the page operation did.
package mtr

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/polarsql/polar/compute/bufpool"
	"github.com/polarsql/polar/wal"
)

// imageThreshold: when a page's changed bytes exceed this, a full image is
// cheaper to log and to replay than many ranges.
const imageThreshold = wal.PageSize / 2

// mergeGap: changed ranges closer than this are logged as one range; a
// record costs about this much in headers.
const mergeGap = 24

var beforePool = sync.Pool{New: func() any { b := make([]byte, wal.PageSize); return &b }}

type touched struct {
	frame  *bufpool.Frame
	before *[]byte // nil for new pages
}

// MTR is one mini-transaction. It is not safe for concurrent use.
//
// Pages enter an MTR through Page or NewPage, which pin and exclusively
// latch them; the MTR holds them until Release (after Finish) or Abort, so
// readers never see a page half-way through a change.
type MTR struct {
	pages []touched
	index map[*bufpool.Frame]int
	byID  map[wal.PageID]*bufpool.Frame // pages this MTR latched
}

// New returns an empty mini-transaction.
func New() *MTR { return &MTR{index: map[*bufpool.Frame]int{}, byID: map[wal.PageID]*bufpool.Frame{}} }

// Page returns page id's bytes for changing: pinned, exclusively latched
// and with its before-image saved. Asking again for the same page returns
// the same bytes.
func (m *MTR) Page(ctx context.Context, pool *bufpool.Pool, id wal.PageID) ([]byte, error) {
	if f, ok := m.byID[id]; ok {
		return f.Data(), nil
	}
	f, err := pool.Fetch(ctx, id)
	if err != nil {
		return nil, err
	}
	f.Lock()
	m.byID[id] = f
	return m.Modify(f), nil
}

// NewPage returns a new, zeroed page, pinned and latched; it is logged as
// a full image. A page already in this MTR (a freed page being reused) is
// zeroed and becomes new.
func (m *MTR) NewPage(pool *bufpool.Pool, id wal.PageID) ([]byte, error) {
	if f, ok := m.byID[id]; ok {
		clear(f.Data()[wal.PageLSNSize:])
		return m.Created(f), nil
	}
	f, err := pool.Create(id)
	if err != nil {
		return nil, err
	}
	f.Lock()
	m.byID[id] = f
	return m.Created(f), nil
}

// Release unlatches and unpins every page taken with Page or NewPage and
// empties the MTR. Call it after Finish.
func (m *MTR) Release() {
	for _, f := range m.byID {
		f.Unlock()
		f.Release()
	}
	clear(m.byID)
	m.pages = m.pages[:0]
	clear(m.index)
}

// Modify declares that the caller is about to change f's page and returns
// its bytes. The first call per page saves the before-image.
func (m *MTR) Modify(f *bufpool.Frame) []byte {
	if _, ok := m.index[f]; !ok {
		b := beforePool.Get().(*[]byte)
		copy(*b, f.Data())
		m.index[f] = len(m.pages)
		m.pages = append(m.pages, touched{frame: f, before: b})
	}
	return f.Data()
}

// Created declares a page that is new in this mini-transaction (from
// bufpool.Create): it is logged as a full image.
func (m *MTR) Created(f *bufpool.Frame) []byte {
	if i, ok := m.index[f]; ok {
		if b := m.pages[i].before; b != nil {
			beforePool.Put(b)
			m.pages[i].before = nil
		}
		return f.Data()
	}
	m.index[f] = len(m.pages)
	m.pages = append(m.pages, touched{frame: f})
	return f.Data()
}

// Len returns the number of pages touched.
func (m *MTR) Len() int { return len(m.pages) }

// Frames returns the touched frames in the order first touched.
func (m *MTR) Frames() []*bufpool.Frame {
	out := make([]*bufpool.Frame, len(m.pages))
	for i, t := range m.pages {
		out[i] = t.frame
	}
	return out
}

// Finish diffs every touched page and appends its redo to recs, with LSNs
// from next on; it stamps each page with the LSN of its last record and
// marks the frame dirty at that LSN. It returns the records and the next
// free LSN. Pages that did not change produce nothing. Latches are kept
// until Release.
func (m *MTR) Finish(recs []wal.Record, next wal.LSN) ([]wal.Record, wal.LSN) {
	for _, t := range m.pages {
		data := t.frame.Data()
		id := t.frame.ID()
		if t.before == nil {
			recs = appendImage(recs, t.frame, next)
			next++
			continue
		}
		before := *t.before
		ranges := diff(before, data)
		beforePool.Put(t.before)
		if len(ranges) == 0 {
			continue
		}
		total := 0
		for _, r := range ranges {
			total += r[1] - r[0]
		}
		if total > imageThreshold {
			recs = appendImage(recs, t.frame, next)
			next++
			continue
		}
		for _, r := range ranges {
			b := make([]byte, r[1]-r[0])
			copy(b, data[r[0]:r[1]])
			recs = append(recs, wal.PageWrite(id, next, uint32(r[0]), b))
			next++
		}
		wal.SetPageLSN(data, next-1)
		t.frame.MarkDirty(next - 1)
	}
	m.pages = m.pages[:0]
	clear(m.index)
	return recs, next
}

// appendImage logs f's page as a full image at lsn and stamps the page.
func appendImage(recs []wal.Record, f *bufpool.Frame, lsn wal.LSN) []wal.Record {
	data := f.Data()
	wal.SetPageLSN(data, lsn)
	img := make([]byte, wal.PageSize)
	copy(img, data)
	f.MarkDirty(lsn)
	return append(recs, wal.PageImage(f.ID(), lsn, img))
}

// Abort restores every touched page to its before-image (new pages are
// zeroed), then releases the pages like Release. Used when an operation
// fails half way.
func (m *MTR) Abort() {
	for _, t := range m.pages {
		if t.before == nil {
			clear(t.frame.Data())
			continue
		}
		copy(t.frame.Data(), *t.before)
		beforePool.Put(t.before)
	}
	m.Release()
}

// diff returns the [start, end) ranges where a and b differ, past the page
// LSN, with ranges closer than mergeGap merged.
func diff(a, b []byte) [][2]int {
	if len(a) != wal.PageSize || len(b) != wal.PageSize {
		panic(fmt.Sprintf("mtr: diff of %d and %d bytes", len(a), len(b)))
	}
	var out [][2]int
	i := wal.PageLSNSize
	for i < wal.PageSize {
		// Skip equal 256-byte blocks with the vectorised memequal, then
		// equal 8-byte words: most of a page is unchanged.
		for i+256 <= wal.PageSize && bytes.Equal(a[i:i+256], b[i:i+256]) {
			i += 256
		}
		for i+8 <= wal.PageSize && binary.LittleEndian.Uint64(a[i:]) == binary.LittleEndian.Uint64(b[i:]) {
			i += 8
		}
		for i < wal.PageSize && a[i] == b[i] {
			i++
		}
		if i >= wal.PageSize {
			break
		}
		start := i
		end := i + 1
		// Extend while differences continue within mergeGap.
		for j := end; j < wal.PageSize && j < end+mergeGap; j++ {
			if a[j] != b[j] {
				end = j + 1
			}
		}
		for end < wal.PageSize {
			found := false
			lim := min(end+mergeGap, wal.PageSize)
			for j := end; j < lim; j++ {
				if a[j] != b[j] {
					end = j + 1
					found = true
				}
			}
			if !found {
				break
			}
		}
		out = append(out, [2]int{start, end})
		i = end
	}
	return out
}
