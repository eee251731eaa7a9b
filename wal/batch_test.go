package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"testing"
)

// newRand returns a deterministic generator; failures print the seed.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n+7)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n:n]
}

func randPageID(rng *rand.Rand) PageID {
	switch rng.IntN(4) {
	case 0:
		return 0
	case 1:
		return PageID(math.MaxUint64)
	default:
		return MakePageID(rng.Uint32(), rng.Uint64())
	}
}

// randPageWrite returns a valid PageWrite, biased towards the edges of the
// writable range: empty writes, writes ending exactly at PageSize, writes
// at the largest offsets.
func randPageWrite(rng *rand.Rand, lsn LSN) Record {
	var off, n int
	switch rng.IntN(8) {
	case 0: // empty write anywhere, including at PageSize itself
		off, n = PageLSNSize+rng.IntN(PageSize-PageLSNSize+1), 0
	case 1: // ends exactly at PageSize
		n = rng.IntN(300)
		off = PageSize - n
	case 2: // maximal offset
		off, n = PageSize, 0
	case 3: // the whole writable page
		off, n = PageLSNSize, PageSize-PageLSNSize
	case 4: // right after the LSN field
		off, n = PageLSNSize, rng.IntN(64)
	default:
		n = rng.IntN(200)
		off = PageLSNSize + rng.IntN(PageSize-PageLSNSize-n+1)
	}
	var data []byte
	if n > 0 || rng.IntN(2) == 0 {
		data = randBytes(rng, n) // empty but non-nil half the time
	}
	return PageWrite(randPageID(rng), lsn, uint32(off), data)
}

func randRecord(rng *rand.Rand, lsn LSN, images bool) Record {
	k := rng.IntN(10)
	switch {
	case k == 0 && images:
		return PageImage(randPageID(rng), lsn, randBytes(rng, PageSize))
	case k < 3:
		csn := rng.Uint64()
		if rng.IntN(4) == 0 {
			csn = 0
		}
		return Commit(lsn, csn)
	default:
		return randPageWrite(rng, lsn)
	}
}

func randBatch(rng *rand.Rand, n int, images bool) *Batch {
	b := &Batch{Epoch: rng.Uint64(), FirstLSN: LSN(1 + rng.Uint64N(1<<62))}
	switch rng.IntN(5) {
	case 0:
		b.FirstLSN = 1
	case 1:
		b.Epoch = 0
	}
	for i := range n {
		b.Records = append(b.Records, randRecord(rng, b.FirstLSN+LSN(i), images))
	}
	return b
}

// diffBatches describes the first difference between two batches, treating
// nil and empty Data as equal (the encoding cannot tell them apart).
func diffBatches(want, got *Batch) string {
	if want.Epoch != got.Epoch || want.FirstLSN != got.FirstLSN || len(want.Records) != len(got.Records) {
		return fmt.Sprintf("header (epoch %d, first %d, %d records), want (epoch %d, first %d, %d records)",
			got.Epoch, got.FirstLSN, len(got.Records), want.Epoch, want.FirstLSN, len(want.Records))
	}
	for i := range want.Records {
		w, g := &want.Records[i], &got.Records[i]
		if w.Kind != g.Kind || w.LSN != g.LSN || w.Page != g.Page || w.Offset != g.Offset || w.CSN != g.CSN || !bytes.Equal(w.Data, g.Data) {
			return fmt.Sprintf("record %d: got {%v lsn=%d page=%v off=%d len=%d csn=%d}, want {%v lsn=%d page=%v off=%d len=%d csn=%d}",
				i, g.Kind, g.LSN, g.Page, g.Offset, len(g.Data), g.CSN, w.Kind, w.LSN, w.Page, w.Offset, len(w.Data), w.CSN)
		}
	}
	return ""
}

func mustEncode(t testing.TB, b *Batch) []byte {
	t.Helper()
	buf, err := b.Encode(nil)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf
}

// reseal recomputes the trailing CRC so that a deliberately malformed body
// reaches the structural checks behind the checksum.
func reseal(buf []byte) []byte {
	body := buf[:len(buf)-crcSize]
	binary.LittleEndian.PutUint32(buf[len(body):], crc32.Checksum(body, castagnoli))
	return buf
}

// rawBatch builds an encoding by hand (header, raw record bytes, valid
// CRC), bypassing Encode's validation.
func rawBatch(version byte, epoch uint64, first LSN, count uint32, records ...[]byte) []byte {
	buf := []byte{version}
	buf = binary.LittleEndian.AppendUint64(buf, epoch)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(first))
	buf = binary.LittleEndian.AppendUint32(buf, count)
	for _, r := range records {
		buf = append(buf, r...)
	}
	buf = append(buf, 0, 0, 0, 0)
	return reseal(buf)
}

func rawPageWrite(page PageID, off, n uint64, data []byte) []byte {
	r := []byte{byte(KindPageWrite)}
	r = binary.LittleEndian.AppendUint64(r, uint64(page))
	r = binary.AppendUvarint(r, off)
	r = binary.AppendUvarint(r, n)
	return append(r, data...)
}

func rawCommit(csn uint64) []byte {
	return binary.LittleEndian.AppendUint64([]byte{byte(KindCommit)}, csn)
}

// specEncode encodes a batch straight from the format documented on
// Encode, without validation or size limit: an independent check of
// Encode's output, and a way to build well-formed but oversized batches.
func specEncode(b *Batch) []byte {
	var recs [][]byte
	for _, r := range b.Records {
		switch r.Kind {
		case KindPageWrite:
			recs = append(recs, rawPageWrite(r.Page, uint64(r.Offset), uint64(len(r.Data)), r.Data))
		case KindPageImage:
			recs = append(recs, append(binary.LittleEndian.AppendUint64([]byte{byte(KindPageImage)}, uint64(r.Page)), r.Data...))
		default:
			recs = append(recs, binary.LittleEndian.AppendUint64([]byte{byte(r.Kind)}, r.CSN))
		}
	}
	return rawBatch(FormatVersion, b.Epoch, b.FirstLSN, uint32(len(b.Records)), recs...)
}

func checkRoundTrip(t *testing.T, b *Batch) {
	t.Helper()
	prefix := []byte("prefix")
	out, err := b.Encode(append([]byte(nil), prefix...))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(out[:len(prefix)], prefix) {
		t.Fatalf("Encode clobbered dst prefix")
	}
	buf := out[len(prefix):]
	if !bytes.Equal(buf, specEncode(b)) {
		t.Fatalf("Encode output differs from the documented format")
	}
	if len(buf) != b.EncodedSize() {
		t.Fatalf("encoding is %d bytes, EncodedSize says %d", len(buf), b.EncodedSize())
	}
	got, err := DecodeBatch(buf)
	if err != nil {
		t.Fatalf("DecodeBatch: %v", err)
	}
	if d := diffBatches(b, got); d != "" {
		t.Fatalf("round trip: %s", d)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("decoded batch fails Validate: %v", err)
	}
	if got.LastLSN() != b.LastLSN() {
		t.Fatalf("LastLSN %d, want %d", got.LastLSN(), b.LastLSN())
	}
	h, err := DecodeHeader(buf)
	if err != nil {
		t.Fatalf("DecodeHeader: %v", err)
	}
	if h.Epoch != b.Epoch || h.FirstLSN != b.FirstLSN || h.Count != len(b.Records) || h.LastLSN() != b.LastLSN() {
		t.Fatalf("header %+v (last %d) disagrees with batch (epoch %d, first %d, %d records, last %d)",
			h, h.LastLSN(), b.Epoch, b.FirstLSN, len(b.Records), b.LastLSN())
	}
	again, err := got.Encode(nil)
	if err != nil {
		t.Fatalf("re-Encode: %v", err)
	}
	if !bytes.Equal(again, buf) {
		t.Fatalf("re-encoding the decoded batch changed the bytes")
	}
}

func TestBatchRoundTripRandom(t *testing.T) {
	for seed := range uint64(300) {
		rng := newRand(seed)
		n := 1 + rng.IntN(40)
		b := randBatch(rng, n, seed%3 == 0)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkRoundTrip(t, b) })
	}
}

func TestBatchRoundTripEdgeCases(t *testing.T) {
	img := randBytes(newRand(1), PageSize)
	full := randBytes(newRand(2), PageSize-PageLSNSize)
	maxLSN := LSN(math.MaxUint64 - 1) // the last LSN whose successor exists
	cases := []struct {
		name string
		b    Batch
	}{
		{"empty write nil data", Batch{FirstLSN: 1, Records: []Record{PageWrite(1, 1, PageLSNSize, nil)}}},
		{"empty write empty data", Batch{FirstLSN: 1, Records: []Record{PageWrite(1, 1, 100, []byte{})}}},
		{"empty write at PageSize", Batch{FirstLSN: 1, Records: []Record{PageWrite(1, 1, PageSize, nil)}}},
		{"write ending at PageSize", Batch{FirstLSN: 7, Records: []Record{PageWrite(2, 7, PageSize-3, []byte{1, 2, 3})}}},
		{"one byte at the last offset", Batch{FirstLSN: 7, Records: []Record{PageWrite(2, 7, PageSize-1, []byte{9})}}},
		{"whole writable page", Batch{FirstLSN: 7, Records: []Record{PageWrite(2, 7, PageLSNSize, full)}}},
		{"offset needing a 2-byte varint", Batch{FirstLSN: 3, Records: []Record{PageWrite(2, 3, 200, []byte{5})}}},
		{"single commit", Batch{Epoch: math.MaxUint64, FirstLSN: 5, Records: []Record{Commit(5, math.MaxUint64)}}},
		{"commit csn 0", Batch{FirstLSN: 5, Records: []Record{Commit(5, 0)}}},
		{"page image", Batch{FirstLSN: 9, Records: []Record{PageImage(MakePageID(1<<24-1, 1<<40-1), 9, img), Commit(10, 1)}}},
		{"max page id", Batch{FirstLSN: 9, Records: []Record{PageWrite(PageID(math.MaxUint64), 9, 8, []byte{1})}}},
		{"highest LSNs", Batch{FirstLSN: maxLSN - 2, Records: []Record{Commit(maxLSN-2, 1), Commit(maxLSN-1, 2), Commit(maxLSN, 3)}}},
		{"mixed", Batch{Epoch: 3, FirstLSN: 100, Records: []Record{
			PageWrite(1, 100, 8, []byte("abc")),
			PageImage(2, 101, img),
			PageWrite(2, 102, PageSize, nil),
			Commit(103, 42),
		}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkRoundTrip(t, &c.b) })
	}
}

func TestBatchAtMaxSize(t *testing.T) {
	// Fill a batch to exactly MaxBatchSize with full-page writes and a final
	// write sized to land on the limit; one more byte must be refused.
	img := make([]byte, PageSize)
	b := &Batch{FirstLSN: 1}
	for b.EncodedSize()+(1+8+PageSize) <= MaxBatchSize-64 {
		b.Records = append(b.Records, PageImage(1, b.LastLSN()+1, img))
	}
	b.Records = append(b.Records, PageWrite(2, b.LastLSN()+1, PageLSNSize, nil))
	// Size the last write so the batch lands exactly on the limit (the
	// length varint grows with the data, so search downwards).
	lastRec := &b.Records[len(b.Records)-1]
	n := MaxBatchSize - b.EncodedSize()
	for ; n >= 0; n-- {
		lastRec.Data = make([]byte, n)
		if b.EncodedSize() <= MaxBatchSize {
			break
		}
	}
	if got := b.EncodedSize(); got != MaxBatchSize {
		t.Fatalf("test setup: batch is %d bytes, want %d", got, MaxBatchSize)
	}
	buf := mustEncode(t, b)
	if len(buf) != MaxBatchSize {
		t.Fatalf("encoding is %d bytes, want %d", len(buf), MaxBatchSize)
	}
	if _, err := DecodeBatch(buf); err != nil {
		t.Fatalf("DecodeBatch of a batch of exactly MaxBatchSize: %v", err)
	}
	lastRec.Data = make([]byte, n+1)
	if b.EncodedSize() <= MaxBatchSize {
		t.Fatalf("test setup: batch is %d bytes, want more than %d", b.EncodedSize(), MaxBatchSize)
	}
	// Well formed in every way but size: storage must refuse it.
	over := specEncode(b)
	if _, err := DecodeHeader(over); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("DecodeHeader of a well-formed %d-byte batch: err = %v", len(over), err)
	}
	if _, err := DecodeBatch(over); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("DecodeBatch of a well-formed %d-byte batch: err = %v", len(over), err)
	}
	dst := []byte("keep")
	out, err := b.Encode(dst)
	if err == nil {
		t.Fatalf("Encode of a %d-byte batch succeeded", b.EncodedSize())
	}
	if string(out) != "keep" {
		t.Fatalf("failed Encode returned dst %q, want it unchanged", out[:min(len(out), 16)])
	}
}

func TestEncodeRejects(t *testing.T) {
	img := make([]byte, PageSize)
	big := make([]byte, PageSize)
	tooMany := &Batch{FirstLSN: 1}
	for range MaxBatchSize/(1+8+PageSize) + 1 {
		tooMany.Records = append(tooMany.Records, PageImage(1, tooMany.LastLSN()+1, big))
	}
	cases := []struct {
		name string
		b    *Batch
	}{
		{"empty", &Batch{FirstLSN: 1}},
		{"LSN 0", &Batch{FirstLSN: 0, Records: []Record{Commit(0, 1)}}},
		{"LSN 0 in record", &Batch{FirstLSN: 1, Records: []Record{Commit(0, 1)}}},
		{"gap", &Batch{FirstLSN: 1, Records: []Record{Commit(1, 1), Commit(3, 2)}}},
		{"repeat", &Batch{FirstLSN: 1, Records: []Record{Commit(1, 1), Commit(1, 2)}}},
		{"backwards", &Batch{FirstLSN: 5, Records: []Record{Commit(5, 1), Commit(4, 2)}}},
		{"first record off FirstLSN", &Batch{FirstLSN: 5, Records: []Record{Commit(6, 1), Commit(7, 2)}}},
		{"LSN wraps", &Batch{FirstLSN: math.MaxUint64, Records: []Record{Commit(math.MaxUint64, 1), Commit(0, 2)}}},
		{"last LSN has no successor", &Batch{FirstLSN: math.MaxUint64, Records: []Record{Commit(math.MaxUint64, 1)}}},
		{"write at 0", &Batch{FirstLSN: 1, Records: []Record{PageWrite(1, 1, 0, []byte{1})}}},
		{"write overlapping LSN field", &Batch{FirstLSN: 1, Records: []Record{PageWrite(1, 1, PageLSNSize-1, []byte{1, 2})}}},
		{"empty write inside LSN field", &Batch{FirstLSN: 1, Records: []Record{PageWrite(1, 1, 3, nil)}}},
		{"write past page end", &Batch{FirstLSN: 1, Records: []Record{PageWrite(1, 1, PageSize-1, []byte{1, 2})}}},
		{"empty write past page end", &Batch{FirstLSN: 1, Records: []Record{PageWrite(1, 1, PageSize+1, nil)}}},
		{"write at max offset", &Batch{FirstLSN: 1, Records: []Record{PageWrite(1, 1, math.MaxUint32, []byte{1})}}},
		{"write larger than page", &Batch{FirstLSN: 1, Records: []Record{PageWrite(1, 1, 8, make([]byte, PageSize))}}},
		{"short image", &Batch{FirstLSN: 1, Records: []Record{PageImage(1, 1, img[:PageSize-1])}}},
		{"long image", &Batch{FirstLSN: 1, Records: []Record{PageImage(1, 1, append(img, 0))}}},
		{"nil image", &Batch{FirstLSN: 1, Records: []Record{PageImage(1, 1, nil)}}},
		{"image with offset", &Batch{FirstLSN: 1, Records: []Record{{Kind: KindPageImage, LSN: 1, Page: 1, Offset: 8, Data: img}}}},
		{"commit with page", &Batch{FirstLSN: 1, Records: []Record{{Kind: KindCommit, LSN: 1, Page: 1}}}},
		{"commit with data", &Batch{FirstLSN: 1, Records: []Record{{Kind: KindCommit, LSN: 1, Data: []byte{1}}}}},
		{"commit with offset", &Batch{FirstLSN: 1, Records: []Record{{Kind: KindCommit, LSN: 1, Offset: 8}}}},
		{"write with csn", &Batch{FirstLSN: 1, Records: []Record{{Kind: KindPageWrite, LSN: 1, Page: 1, Offset: 8, CSN: 7}}}},
		{"image with csn", &Batch{FirstLSN: 1, Records: []Record{{Kind: KindPageImage, LSN: 1, Page: 1, Data: img, CSN: 7}}}},
		{"kind 0", &Batch{FirstLSN: 1, Records: []Record{{Kind: 0, LSN: 1}}}},
		{"kind 4", &Batch{FirstLSN: 1, Records: []Record{{Kind: 4, LSN: 1}}}},
		{"invalid record after valid ones", &Batch{FirstLSN: 1, Records: []Record{Commit(1, 1), PageWrite(1, 2, 8, nil), {Kind: 255, LSN: 3}}}},
		{"oversized", tooMany},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte("dst")
			out, err := c.b.Encode(dst)
			if err == nil {
				t.Fatalf("Encode succeeded (%d bytes)", len(out))
			}
			if string(out) != "dst" {
				t.Fatalf("failed Encode changed dst to %d bytes", len(out))
			}
			if c.b != tooMany {
				if err := c.b.Validate(); err == nil {
					t.Fatalf("Validate accepted the batch")
				}
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := mustEncode(t, &Batch{Epoch: 2, FirstLSN: 10, Records: []Record{
		PageWrite(1, 10, 8, []byte("hello")),
		Commit(11, 5),
	}})
	withImage := mustEncode(t, &Batch{FirstLSN: 1, Records: []Record{PageImage(1, 1, make([]byte, PageSize))}})
	mod := func(src []byte, f func([]byte) []byte) []byte {
		return f(append([]byte(nil), src...))
	}
	oversized := make([]byte, MaxBatchSize+1)
	copy(oversized, valid[:batchHeaderSize])
	reseal(oversized)

	cases := []struct {
		name string
		buf  []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"shorter than header", valid[:batchHeaderSize+crcSize-1]},
		{"bad CRC", mod(valid, func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b })},
		{"zeroed CRC", mod(valid, func(b []byte) []byte { clear(b[len(b)-crcSize:]); return b })},
		{"truncated without CRC fixup", valid[:len(valid)-1]},
		{"truncated record", reseal(mod(valid, func(b []byte) []byte { return append(b[:len(b)-crcSize-3], 0, 0, 0, 0) }))},
		{"truncated record header", rawBatch(FormatVersion, 0, 1, 1, []byte{byte(KindCommit), 1, 2, 3})},
		{"truncated image", reseal(mod(withImage, func(b []byte) []byte { return append(b[:len(b)-crcSize-1], 0, 0, 0, 0) }))},
		{"version 0", reseal(mod(valid, func(b []byte) []byte { b[0] = 0; return b }))},
		{"version 2", reseal(mod(valid, func(b []byte) []byte { b[0] = FormatVersion + 1; return b }))},
		{"version 255", reseal(mod(valid, func(b []byte) []byte { b[0] = 255; return b }))},
		{"unknown kind 0", rawBatch(FormatVersion, 0, 1, 1, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0})},
		{"unknown kind 4", rawBatch(FormatVersion, 0, 1, 1, []byte{4, 0, 0, 0, 0, 0, 0, 0, 0})},
		{"unknown kind 255", rawBatch(FormatVersion, 0, 1, 2, rawCommit(1), []byte{255, 0, 0, 0, 0, 0, 0, 0, 0})},
		{"count 0", rawBatch(FormatVersion, 0, 1, 0)},
		{"count 0 with records", rawBatch(FormatVersion, 0, 1, 0, rawCommit(1))},
		{"count too big", rawBatch(FormatVersion, 0, 1, 3, rawCommit(1), rawCommit(2))},
		{"count max uint32", rawBatch(FormatVersion, 0, 1, math.MaxUint32, rawCommit(1))},
		{"count fits bytes but records run out", rawBatch(FormatVersion, 0, 1, 2, rawPageWrite(1, 8, 9, make([]byte, 9)))},
		{"count too small (trailing record)", rawBatch(FormatVersion, 0, 1, 1, rawCommit(1), rawCommit(2))},
		{"trailing bytes", rawBatch(FormatVersion, 0, 1, 1, rawCommit(1), []byte{0})},
		{"trailing bytes after valid batch", reseal(mod(valid, func(b []byte) []byte { return append(b[:len(b)-crcSize], 1, 2, 3, 0, 0, 0, 0) }))},
		{"LSN 0", rawBatch(FormatVersion, 0, 0, 1, rawCommit(1))},
		{"LSN range wraps", rawBatch(FormatVersion, 0, math.MaxUint64, 2, rawCommit(1), rawCommit(2))},
		{"last LSN max", rawBatch(FormatVersion, 0, math.MaxUint64, 1, rawCommit(1))},
		{"oversized", oversized},
		{"write at 0", rawBatch(FormatVersion, 0, 1, 1, rawPageWrite(1, 0, 1, []byte{1}))},
		{"write overlapping LSN field", rawBatch(FormatVersion, 0, 1, 1, rawPageWrite(1, 7, 2, []byte{1, 2}))},
		{"offset past page", rawBatch(FormatVersion, 0, 1, 1, rawPageWrite(1, PageSize+1, 0, nil))},
		{"offset 2^64-1", rawBatch(FormatVersion, 0, 1, 1, rawPageWrite(1, math.MaxUint64, 0, nil))},
		{"offset 2^32+8", rawBatch(FormatVersion, 0, 1, 1, rawPageWrite(1, 1<<32+8, 1, []byte{1}))},
		{"write past page end", rawBatch(FormatVersion, 0, 1, 1, rawPageWrite(1, PageSize-1, 2, []byte{1, 2}))},
		{"length past input", rawBatch(FormatVersion, 0, 1, 1, rawPageWrite(1, 8, 100, make([]byte, 99)))},
		{"length 2^64-1", rawBatch(FormatVersion, 0, 1, 1, rawPageWrite(1, 8, math.MaxUint64, make([]byte, 16)))},
		{"offset varint overflow", rawBatch(FormatVersion, 0, 1, 1, append([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}, bytes.Repeat([]byte{0xff}, 11)...))},
		{"offset varint cut off", rawBatch(FormatVersion, 0, 1, 1, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0x88})},
		{"length varint missing", rawBatch(FormatVersion, 0, 1, 1, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 8})},
		// The encoding is canonical: a varint with redundant continuation
		// bytes would decode to a batch whose encoding differs from the
		// input (and whose size differs from EncodedSize).
		{"non-minimal offset varint", rawBatch(FormatVersion, 0, 1, 1, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x00, 0})},
		{"non-minimal length varint", rawBatch(FormatVersion, 0, 1, 1, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0x81, 0x00, 7})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := DecodeBatch(c.buf)
			if err == nil {
				t.Fatalf("DecodeBatch succeeded: %+v", b.Records)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("DecodeBatch error %q does not wrap ErrCorrupt", err)
			}
			if b != nil {
				t.Fatalf("DecodeBatch returned a batch with its error")
			}
			if _, herr := DecodeHeader(c.buf); herr != nil && !errors.Is(herr, ErrCorrupt) {
				t.Fatalf("DecodeHeader error %q does not wrap ErrCorrupt", herr)
			}
		})
	}
}

func TestDecodeRejectsEveryTruncation(t *testing.T) {
	rng := newRand(42)
	b := &Batch{Epoch: 4, FirstLSN: 77}
	add := func(r Record) { r.LSN = b.LastLSN() + 1; b.Records = append(b.Records, r) }
	for range 10 {
		add(randPageWrite(rng, 0))
		if len(b.Records[len(b.Records)-1].Data) > 300 {
			b.Records[len(b.Records)-1].Data = b.Records[len(b.Records)-1].Data[:300]
		}
	}
	add(Commit(0, 1))
	add(PageImage(5, 0, randBytes(rng, PageSize)))
	add(PageWrite(5, 0, 8, []byte("x")))
	add(Commit(0, 2))
	buf := mustEncode(t, b)
	scratch := make([]byte, len(buf))
	for n := range len(buf) {
		if _, err := DecodeBatch(buf[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: err = %v", n, len(buf), err)
		}
		// With the CRC recomputed, the structural checks must catch the
		// truncated body instead.
		if n >= batchHeaderSize && n < len(buf)-crcSize {
			cut := append(append(scratch[:0], buf[:n]...), 0, 0, 0, 0)
			if _, err := DecodeBatch(reseal(cut)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("body truncated to %d of %d bytes, CRC valid: err = %v", n, len(buf)-crcSize, err)
			}
		}
	}
}

// TestDecodeDetectsBitFlips flips every bit of an encoded batch (header,
// every record kind, a full page image and the CRC itself) and checks that
// each corruption is rejected.
func TestDecodeDetectsBitFlips(t *testing.T) {
	rng := newRand(7)
	b := &Batch{Epoch: 9, FirstLSN: 1000, Records: []Record{
		PageWrite(MakePageID(1, 2), 1000, 8, randBytes(rng, 50)),
		PageImage(MakePageID(1, 3), 1001, randBytes(rng, PageSize)),
		PageWrite(MakePageID(1, 3), 1002, PageSize-4, randBytes(rng, 4)),
		PageWrite(MakePageID(1, 3), 1003, 300, nil),
		Commit(1004, 77),
	}}
	buf := mustEncode(t, b)
	if _, err := DecodeBatch(buf); err != nil {
		t.Fatal(err)
	}
	for i := range len(buf) * 8 {
		buf[i/8] ^= 1 << (i % 8)
		_, err := DecodeBatch(buf)
		_, herr := DecodeHeader(buf)
		buf[i/8] ^= 1 << (i % 8)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipping bit %d of byte %d: DecodeBatch err = %v", i%8, i/8, err)
		}
		if !errors.Is(herr, ErrCorrupt) {
			t.Fatalf("flipping bit %d of byte %d: DecodeHeader err = %v", i%8, i/8, herr)
		}
	}
}

func TestDecodedDataIsCapped(t *testing.T) {
	buf := mustEncode(t, &Batch{FirstLSN: 1, Records: []Record{
		PageWrite(1, 1, 8, []byte("abc")),
		PageImage(2, 2, make([]byte, PageSize)),
		Commit(3, 1),
	}})
	orig := append([]byte(nil), buf...)
	b, err := DecodeBatch(buf)
	if err != nil {
		t.Fatal(err)
	}
	// Appending to decoded data must not overwrite the rest of the batch.
	for i := range b.Records {
		_ = append(b.Records[i].Data, 0xEE, 0xEE, 0xEE, 0xEE)
	}
	if !bytes.Equal(buf, orig) {
		t.Fatalf("appending to decoded record data modified the encoded batch")
	}
}

func TestEncodeAppendsAndReusesBuffer(t *testing.T) {
	rng := newRand(3)
	var buf []byte
	var offsets []int
	var batches []*Batch
	next := LSN(1)
	for range 20 {
		b := randBatch(rng, 1+rng.IntN(10), false)
		b.FirstLSN = next
		for i := range b.Records {
			b.Records[i].LSN = next + LSN(i)
		}
		next = b.LastLSN() + 1
		offsets = append(offsets, len(buf))
		var err error
		if buf, err = b.Encode(buf); err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
	}
	offsets = append(offsets, len(buf))
	for i, b := range batches {
		got, err := DecodeBatch(buf[offsets[i]:offsets[i+1]])
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if d := diffBatches(b, got); d != "" {
			t.Fatalf("batch %d: %s", i, d)
		}
	}
}

func TestLastLSN(t *testing.T) {
	b := Batch{FirstLSN: 10}
	if got := b.LastLSN(); got != 9 {
		t.Fatalf("empty batch LastLSN = %d, want 9", got)
	}
	b.Records = []Record{Commit(10, 1), Commit(11, 2), Commit(12, 3)}
	if got := b.LastLSN(); got != 12 {
		t.Fatalf("LastLSN = %d, want 12", got)
	}
	if got := (BatchHeader{FirstLSN: 10, Count: 3}).LastLSN(); got != 12 {
		t.Fatalf("header LastLSN = %d, want 12", got)
	}
}

func TestPageID(t *testing.T) {
	p := MakePageID(7, 12345)
	if p.Space() != 7 || p.PageNo() != 12345 {
		t.Fatalf("MakePageID(7, 12345) = %v", p)
	}
	if got := p.String(); got != "7:12345" {
		t.Fatalf("String = %q", got)
	}
	p = MakePageID(math.MaxUint32, math.MaxUint64)
	if p.Space() != 1<<24-1 || p.PageNo() != 1<<40-1 {
		// The space occupies the top 24 bits only.
		t.Fatalf("MakePageID(max, max) = space %d page %d", p.Space(), p.PageNo())
	}
	if MakePageID(1, 1<<40) != MakePageID(1, 0) {
		t.Fatalf("page number is not masked to 40 bits")
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindPageWrite: "PageWrite", KindPageImage: "PageImage", KindCommit: "Commit", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}
