package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// FormatVersion is the batch encoding version written by this package.
const FormatVersion = 1

// MaxBatchSize bounds an encoded batch. Storage refuses larger batches; the
// committer splits work so it never produces one.
const MaxBatchSize = 16 << 20

// batchHeaderSize is version(1) + epoch(8) + firstLSN(8) + count(4).
const batchHeaderSize = 1 + 8 + 8 + 4

// crcSize is the trailing CRC-32C.
const crcSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("wal: corrupt batch")

// Batch is the unit the primary proposes to storage: one Raft entry holding
// one or more whole mini-transactions. Records carry LSNs FirstLSN,
// FirstLSN+1, ... in order.
type Batch struct {
	// Epoch is the primary's generation; storage refuses batches whose
	// epoch is not the current one.
	Epoch    uint64
	FirstLSN LSN
	Records  []Record
}

// LastLSN returns the LSN of the batch's last record.
func (b *Batch) LastLSN() LSN {
	if len(b.Records) == 0 {
		return b.FirstLSN - 1
	}
	return b.FirstLSN + LSN(len(b.Records)) - 1
}

// Validate checks that the batch is well formed: at least one record, LSNs
// contiguous from FirstLSN, and every record valid.
func (b *Batch) Validate() error {
	if len(b.Records) == 0 {
		return fmt.Errorf("wal: empty batch")
	}
	if b.FirstLSN == 0 {
		return fmt.Errorf("wal: batch starts at LSN 0")
	}
	// Same rule as DecodeHeader: the LSN after the batch must exist.
	if b.FirstLSN+LSN(len(b.Records)) < b.FirstLSN {
		return fmt.Errorf("wal: batch LSN range from %d overflows", b.FirstLSN)
	}
	for i := range b.Records {
		r := &b.Records[i]
		if want := b.FirstLSN + LSN(i); r.LSN != want {
			return fmt.Errorf("wal: record %d has LSN %d, want %d", i, r.LSN, want)
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	return nil
}

// EncodedSize returns the size of the batch's encoding.
func (b *Batch) EncodedSize() int {
	n := batchHeaderSize + crcSize
	for i := range b.Records {
		n += recordSize(&b.Records[i])
	}
	return n
}

func recordSize(r *Record) int {
	switch r.Kind {
	case KindPageWrite:
		return 1 + 8 + uvarintLen(uint64(r.Offset)) + uvarintLen(uint64(len(r.Data))) + len(r.Data)
	case KindPageImage:
		return 1 + 8 + len(r.Data)
	default:
		return 1 + 8
	}
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// Encode validates the batch and appends its encoding to dst.
//
//	version u8 | epoch u64 | firstLSN u64 | count u32 | records | crc32c u32
//	record: kind u8, then
//	  PageWrite: page u64 | offset uvarint | len uvarint | bytes
//	  PageImage: page u64 | PageSize bytes
//	  Commit:    csn u64
//
// Integers are little-endian; the CRC covers everything before it.
func (b *Batch) Encode(dst []byte) ([]byte, error) {
	if err := b.Validate(); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, FormatVersion)
	dst = binary.LittleEndian.AppendUint64(dst, b.Epoch)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(b.FirstLSN))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(b.Records)))
	for i := range b.Records {
		r := &b.Records[i]
		dst = append(dst, byte(r.Kind))
		switch r.Kind {
		case KindPageWrite:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Page))
			dst = binary.AppendUvarint(dst, uint64(r.Offset))
			dst = binary.AppendUvarint(dst, uint64(len(r.Data)))
			dst = append(dst, r.Data...)
		case KindPageImage:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Page))
			dst = append(dst, r.Data...)
		case KindCommit:
			dst = binary.LittleEndian.AppendUint64(dst, r.CSN)
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
	if len(dst)-start > MaxBatchSize {
		return dst[:start], fmt.Errorf("wal: batch of %d bytes exceeds the limit of %d", len(dst)-start, MaxBatchSize)
	}
	return dst, nil
}

// BatchHeader is the part of a batch readable without decoding records.
type BatchHeader struct {
	Epoch    uint64
	FirstLSN LSN
	Count    int
}

// LastLSN returns the LSN of the batch's last record.
func (h BatchHeader) LastLSN() LSN { return h.FirstLSN + LSN(h.Count) - 1 }

// DecodeHeader checks the CRC and version of an encoded batch and returns
// its header.
func DecodeHeader(buf []byte) (BatchHeader, error) {
	if len(buf) < batchHeaderSize+crcSize {
		return BatchHeader{}, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(buf))
	}
	if len(buf) > MaxBatchSize {
		return BatchHeader{}, fmt.Errorf("%w: %d bytes exceeds the limit of %d", ErrCorrupt, len(buf), MaxBatchSize)
	}
	body := buf[:len(buf)-crcSize]
	if got, want := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(buf[len(body):]); got != want {
		return BatchHeader{}, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	if buf[0] != FormatVersion {
		return BatchHeader{}, fmt.Errorf("%w: unknown format version %d", ErrCorrupt, buf[0])
	}
	h := BatchHeader{
		Epoch:    binary.LittleEndian.Uint64(buf[1:]),
		FirstLSN: LSN(binary.LittleEndian.Uint64(buf[9:])),
		Count:    int(binary.LittleEndian.Uint32(buf[17:])),
	}
	// Every record takes at least 9 bytes, which bounds Count before any
	// allocation is sized by it.
	if h.Count == 0 || h.Count > (len(body)-batchHeaderSize)/9 {
		return BatchHeader{}, fmt.Errorf("%w: record count %d does not fit %d bytes", ErrCorrupt, h.Count, len(buf))
	}
	if h.FirstLSN == 0 || h.FirstLSN+LSN(h.Count) < h.FirstLSN {
		return BatchHeader{}, fmt.Errorf("%w: bad LSN range from %d", ErrCorrupt, h.FirstLSN)
	}
	return h, nil
}

// DecodeBatch decodes an encoded batch. Record data aliases buf. Any input
// either decodes to a batch that passes Validate or returns an error
// wrapping ErrCorrupt.
func DecodeBatch(buf []byte) (*Batch, error) {
	h, err := DecodeHeader(buf)
	if err != nil {
		return nil, err
	}
	b := &Batch{Epoch: h.Epoch, FirstLSN: h.FirstLSN, Records: make([]Record, h.Count)}
	body := buf[batchHeaderSize : len(buf)-crcSize]
	for i := range b.Records {
		r := &b.Records[i]
		r.LSN = h.FirstLSN + LSN(i)
		if len(body) < 9 {
			return nil, fmt.Errorf("%w: record %d truncated", ErrCorrupt, i)
		}
		r.Kind = Kind(body[0])
		v := binary.LittleEndian.Uint64(body[1:9])
		body = body[9:]
		switch r.Kind {
		case KindPageWrite:
			r.Page = PageID(v)
			// Varints must be minimal so that the encoding is canonical:
			// re-encoding a decoded batch reproduces its bytes.
			off, n := binary.Uvarint(body)
			if n <= 0 || n != uvarintLen(off) || off > PageSize {
				return nil, fmt.Errorf("%w: record %d: bad offset", ErrCorrupt, i)
			}
			body = body[n:]
			l, n := binary.Uvarint(body)
			if n <= 0 || n != uvarintLen(l) || l > uint64(len(body)-n) {
				return nil, fmt.Errorf("%w: record %d: bad length", ErrCorrupt, i)
			}
			body = body[n:]
			r.Offset = uint32(off)
			r.Data = body[:l:l]
			body = body[l:]
		case KindPageImage:
			r.Page = PageID(v)
			if len(body) < PageSize {
				return nil, fmt.Errorf("%w: record %d: truncated image", ErrCorrupt, i)
			}
			r.Data = body[:PageSize:PageSize]
			body = body[PageSize:]
		case KindCommit:
			r.CSN = v
		default:
			return nil, fmt.Errorf("%w: record %d: unknown kind %d", ErrCorrupt, i, uint8(r.Kind))
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("%w: record %d: %v", ErrCorrupt, i, err)
		}
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(body))
	}
	return b, nil
}
