package wal

import (
	"encoding/binary"
	"fmt"
)

// PageSize is the size of every page in bytes.
const PageSize = 16 << 10

// PageLSNSize is the size of the page LSN field at the start of every page.
const PageLSNSize = 8

// LSN is a log sequence number. LSNs are assigned by the primary, one per
// record, contiguous and starting at 1; 0 means "nothing".
type LSN uint64

// PageID names a page: space << 40 | page number.
type PageID uint64

// MakePageID builds a page ID from a space and a page number.
func MakePageID(space uint32, pageNo uint64) PageID {
	return PageID(uint64(space)<<40 | pageNo&(1<<40-1))
}

// Space returns the space part of a page ID.
func (p PageID) Space() uint32 { return uint32(uint64(p) >> 40) }

// PageNo returns the page-number part of a page ID.
func (p PageID) PageNo() uint64 { return uint64(p) & (1<<40 - 1) }

func (p PageID) String() string { return fmt.Sprintf("%d:%d", p.Space(), p.PageNo()) }

// Kind says what a record does.
type Kind uint8

const (
	// KindPageWrite overwrites Data at Offset of Page.
	KindPageWrite Kind = 1
	// KindPageImage replaces Page with a full image (new, split or
	// reorganised pages).
	KindPageImage Kind = 2
	// KindCommit ends a mini-transaction and carries its commit sequence
	// number. It changes no page; replicas apply the records of a
	// mini-transaction atomically up to and including its commit record.
	KindCommit Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindPageWrite:
		return "PageWrite"
	case KindPageImage:
		return "PageImage"
	case KindCommit:
		return "Commit"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Record is one redo record. Its meaning depends on Kind:
//
//	PageWrite: Page, Offset, Data (the new bytes at Offset)
//	PageImage: Page, Data (exactly PageSize bytes)
//	Commit:    CSN
type Record struct {
	Kind   Kind
	LSN    LSN
	Page   PageID
	Offset uint32
	Data   []byte
	CSN    uint64
}

// PageWrite returns a record that writes data at off of page.
func PageWrite(page PageID, lsn LSN, off uint32, data []byte) Record {
	return Record{Kind: KindPageWrite, LSN: lsn, Page: page, Offset: off, Data: data}
}

// PageImage returns a record that replaces page with image.
func PageImage(page PageID, lsn LSN, image []byte) Record {
	return Record{Kind: KindPageImage, LSN: lsn, Page: page, Data: image}
}

// Commit returns a commit marker with the given commit sequence number.
func Commit(lsn LSN, csn uint64) Record {
	return Record{Kind: KindCommit, LSN: lsn, CSN: csn}
}

// HasPage reports whether the record changes a page.
func (r *Record) HasPage() bool { return r.Kind == KindPageWrite || r.Kind == KindPageImage }

// Validate checks the record's fields without a page at hand.
func (r *Record) Validate() error {
	switch r.Kind {
	case KindPageWrite:
		if r.Offset < PageLSNSize {
			return fmt.Errorf("wal: page write at offset %d overlaps the page LSN", r.Offset)
		}
		if uint64(r.Offset)+uint64(len(r.Data)) > PageSize {
			return fmt.Errorf("wal: page write [%d,%d) beyond page size %d", r.Offset, uint64(r.Offset)+uint64(len(r.Data)), PageSize)
		}
		if r.CSN != 0 {
			return fmt.Errorf("wal: page write with CSN %d", r.CSN)
		}
	case KindPageImage:
		if len(r.Data) != PageSize {
			return fmt.Errorf("wal: page image of %d bytes, want %d", len(r.Data), PageSize)
		}
		if r.Offset != 0 {
			return fmt.Errorf("wal: page image with offset %d", r.Offset)
		}
		if r.CSN != 0 {
			return fmt.Errorf("wal: page image with CSN %d", r.CSN)
		}
	case KindCommit:
		if r.Page != 0 || len(r.Data) != 0 || r.Offset != 0 {
			return fmt.Errorf("wal: commit record with page fields")
		}
	default:
		return fmt.Errorf("wal: unknown record kind %d", r.Kind)
	}
	return nil
}

// PageLSN returns the LSN stored in a page's header.
func PageLSN(page []byte) LSN { return LSN(binary.LittleEndian.Uint64(page[:PageLSNSize])) }

// SetPageLSN stores lsn in a page's header.
func SetPageLSN(page []byte, lsn LSN) { binary.LittleEndian.PutUint64(page[:PageLSNSize], uint64(lsn)) }

// Apply replays rec onto page, which must be PageSize bytes. A record whose
// LSN is not above the page LSN was already applied and is skipped, so
// replay is idempotent. Commit records change nothing.
func Apply(page []byte, rec *Record) error {
	if len(page) != PageSize {
		return fmt.Errorf("wal: apply to a page of %d bytes", len(page))
	}
	if err := rec.Validate(); err != nil {
		return err
	}
	if rec.Kind == KindCommit {
		return nil
	}
	if rec.LSN <= PageLSN(page) {
		return nil
	}
	switch rec.Kind {
	case KindPageWrite:
		copy(page[rec.Offset:], rec.Data)
	case KindPageImage:
		copy(page, rec.Data)
	}
	SetPageLSN(page, rec.LSN)
	return nil
}
