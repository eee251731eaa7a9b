package wal

import (
	"bytes"
	"fmt"
	"testing"
)

// modelPage is the oracle: a page's LSN and its body as plain bytes,
// maintained without Apply.
type modelPage struct {
	lsn  LSN
	body [PageSize]byte // body[0:8] unused; the LSN lives in lsn
}

func (m *modelPage) apply(r *Record) {
	switch r.Kind {
	case KindPageWrite:
		for i, c := range r.Data {
			m.body[int(r.Offset)+i] = c
		}
	case KindPageImage:
		for i := PageLSNSize; i < PageSize; i++ {
			m.body[i] = r.Data[i]
		}
	default:
		return
	}
	m.lsn = r.LSN
}

func (m *modelPage) check(t *testing.T, what string, page []byte) {
	t.Helper()
	if got := PageLSN(page); got != m.lsn {
		t.Fatalf("%s: page LSN %d, model %d", what, got, m.lsn)
	}
	if bytes.Equal(page[PageLSNSize:], m.body[PageLSNSize:]) {
		return
	}
	for i := PageLSNSize; i < PageSize; i++ {
		if page[i] != m.body[i] {
			t.Fatalf("%s: byte %d is %#x, model %#x", what, i, page[i], m.body[i])
		}
	}
}

func applyOK(t *testing.T, page []byte, r *Record) {
	t.Helper()
	if err := Apply(page, r); err != nil {
		t.Fatalf("Apply(%v at LSN %d): %v", r.Kind, r.LSN, err)
	}
}

// TestApplyModel replays a random log over a few pages and compares every
// page with the oracle after every record, then checks that replaying any
// older record, or the whole log again, changes nothing.
func TestApplyModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { testApplyModel(t, seed) })
	}
}

func testApplyModel(t *testing.T, seed uint64) {
	rng := newRand(seed)
	ids := []PageID{MakePageID(1, 1), MakePageID(1, 2), MakePageID(2, 1), MakePageID(3, 7)}
	pages := map[PageID][]byte{}
	models := map[PageID]*modelPage{}
	for _, id := range ids {
		pages[id] = make([]byte, PageSize)
		models[id] = new(modelPage)
	}
	var log []Record
	lsn := LSN(1 + rng.IntN(1000))
	for step := range 400 {
		id := ids[rng.IntN(len(ids))]
		var r Record
		switch k := rng.IntN(20); {
		case k == 0:
			r = PageImage(id, lsn, randBytes(rng, PageSize))
		case k < 4:
			r = Commit(lsn, uint64(step))
		default:
			r = randPageWrite(rng, lsn)
			r.Page = id
		}
		// Occasionally leave LSN gaps: other pages' records, or records
		// applied elsewhere, consume LSNs too.
		lsn += 1 + LSN(rng.IntN(2)*rng.IntN(5))
		log = append(log, r)

		if r.HasPage() {
			applyOK(t, pages[r.Page], &r)
			models[r.Page].apply(&r)
		} else {
			// A commit record applied to any page changes nothing.
			for _, pid := range ids {
				before := append([]byte(nil), pages[pid]...)
				applyOK(t, pages[pid], &r)
				if !bytes.Equal(before, pages[pid]) {
					t.Fatalf("step %d: commit record changed page %v", step, pid)
				}
			}
		}
		for _, pid := range ids {
			models[pid].check(t, fmt.Sprintf("step %d page %v", step, pid), pages[pid])
		}

		// Re-applying any earlier record to its page is a no-op.
		if old := &log[rng.IntN(len(log))]; old.HasPage() {
			before := append([]byte(nil), pages[old.Page]...)
			applyOK(t, pages[old.Page], old)
			if !bytes.Equal(before, pages[old.Page]) {
				t.Fatalf("step %d: re-applying LSN %d changed page %v", step, old.LSN, old.Page)
			}
		}
	}

	// Replaying the whole log again (as storage does after a crash that
	// lost no page) changes nothing.
	for i := range log {
		r := &log[i]
		if r.HasPage() {
			applyOK(t, pages[r.Page], r)
		}
	}
	for _, pid := range ids {
		models[pid].check(t, fmt.Sprintf("after full replay, page %v", pid), pages[pid])
	}

	// Replaying the log from the start onto a copy of a page taken at any
	// point (a checkpointed page) converges on the same final page.
	for range 10 {
		cut := rng.IntN(len(log) + 1)
		snap := map[PageID][]byte{}
		for _, pid := range ids {
			snap[pid] = make([]byte, PageSize)
		}
		for i := range log[:cut] {
			if r := &log[i]; r.HasPage() {
				applyOK(t, snap[r.Page], r)
			}
		}
		for i := range log {
			if r := &log[i]; r.HasPage() {
				applyOK(t, snap[r.Page], r)
			}
		}
		for _, pid := range ids {
			if !bytes.Equal(snap[pid], pages[pid]) {
				t.Fatalf("replay from a checkpoint at record %d: page %v differs", cut, pid)
			}
		}
	}
}

func TestApplyIdempotentSameLSN(t *testing.T) {
	page := make([]byte, PageSize)
	r := PageWrite(1, 5, 100, []byte("first"))
	applyOK(t, page, &r)
	// A different record with the same LSN is considered already applied.
	r2 := PageWrite(1, 5, 100, []byte("other"))
	applyOK(t, page, &r2)
	if got := string(page[100:105]); got != "first" {
		t.Fatalf("record at the page LSN was applied: %q", got)
	}
	img := PageImage(1, 4, bytes.Repeat([]byte{0xAB}, PageSize))
	applyOK(t, page, &img)
	if page[200] == 0xAB || PageLSN(page) != 5 {
		t.Fatalf("older image was applied")
	}
}

func TestApplyImageIgnoresImageLSN(t *testing.T) {
	page := make([]byte, PageSize)
	img := bytes.Repeat([]byte{0xFF}, PageSize) // image's own LSN field: max
	r := PageImage(1, 3, img)
	applyOK(t, page, &r)
	if got := PageLSN(page); got != 3 {
		t.Fatalf("page LSN %d after image at LSN 3; the image's header must not leak", got)
	}
	w := PageWrite(1, 4, 8, []byte{1})
	applyOK(t, page, &w)
	if page[8] != 1 || PageLSN(page) != 4 {
		t.Fatalf("write after image not applied")
	}
}

func TestApplyDoesNotAliasRecord(t *testing.T) {
	page := make([]byte, PageSize)
	data := []byte("abcdef")
	r := PageWrite(1, 1, 50, data)
	applyOK(t, page, &r)
	copy(data, "XXXXXX")
	if got := string(page[50:56]); got != "abcdef" {
		t.Fatalf("page changed with the record's buffer: %q", got)
	}
	img := make([]byte, PageSize)
	ri := PageImage(1, 2, img)
	applyOK(t, page, &ri)
	img[100] = 9
	if page[100] != 0 {
		t.Fatalf("page aliases the image")
	}
}

func TestApplyRejects(t *testing.T) {
	img := make([]byte, PageSize)
	cases := []struct {
		name string
		size int
		rec  Record
	}{
		{"nil page", -1, PageWrite(1, 1, 8, []byte{1})},
		{"short page", PageSize - 1, PageWrite(1, 1, 8, []byte{1})},
		{"long page", PageSize + 1, PageWrite(1, 1, 8, []byte{1})},
		{"commit on short page", 10, Commit(1, 1)},
		{"write overlapping LSN", PageSize, PageWrite(1, 9, 0, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9})},
		{"write past end", PageSize, PageWrite(1, 9, PageSize-1, []byte{1, 2})},
		{"short image", PageSize, PageImage(1, 9, img[:100])},
		{"unknown kind", PageSize, Record{Kind: 7, LSN: 9}},
		{"commit with page", PageSize, Record{Kind: KindCommit, LSN: 9, Page: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var page []byte
			if c.size >= 0 {
				page = make([]byte, c.size)
				for i := range page {
					page[i] = byte(i)
				}
			}
			before := append([]byte(nil), page...)
			if err := Apply(page, &c.rec); err == nil {
				t.Fatalf("Apply succeeded")
			}
			if !bytes.Equal(page, before) {
				t.Fatalf("failed Apply changed the page")
			}
		})
	}
	// Invalid records are rejected even when already covered by the page
	// LSN: validity does not depend on the page.
	page := make([]byte, PageSize)
	SetPageLSN(page, 100)
	bad := PageWrite(1, 50, 0, []byte{1})
	if err := Apply(page, &bad); err == nil {
		t.Fatalf("Apply accepted an invalid stale record")
	}
}
