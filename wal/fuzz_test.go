package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"testing"
)

// fuzzing reports whether the test binary runs with -fuzz.
func fuzzing() bool {
	fl := flag.Lookup("test.fuzz")
	return fl != nil && fl.Value.String() != ""
}

// FuzzDecodeBatch feeds arbitrary bytes to DecodeBatch. Random mutations
// almost never keep the CRC valid, which would leave everything behind the
// checksum unexplored, so when fixCRC is set the trailing CRC is recomputed
// first and the structural checks get the input instead.
//
// Go's fuzzer minimizes every new-coverage input with a pass quadratic in
// its size, which can stall workers on inputs of a few KiB for up to
// -fuzzminimizetime (60s by default); add -fuzzminimizetime=1s for
// throughput on long runs.
func FuzzDecodeBatch(f *testing.F) {
	rng := newRand(99)
	seeds := []*Batch{
		{FirstLSN: 1, Records: []Record{Commit(1, 1)}},
		{Epoch: 3, FirstLSN: 10, Records: []Record{
			PageWrite(MakePageID(1, 2), 10, 8, []byte("hello")),
			PageWrite(MakePageID(1, 2), 11, PageSize, nil),
			PageWrite(MakePageID(1, 2), 12, PageSize-2, []byte{1, 2}),
			Commit(13, 99),
		}},
		{Epoch: 1 << 40, FirstLSN: 1 << 50, Records: []Record{
			PageWrite(MakePageID(3, 1<<39), 1<<50, 200, randBytes(rng, 130)),
			PageWrite(PageID(1<<63), 1<<50+1, PageSize-1, []byte{0xff}),
			PageWrite(0, 1<<50+2, 9000, []byte{}),
			Commit(1<<50+3, 1<<60),
		}},
	}
	// A page image makes a 16 KiB input, which the minimizer (see above)
	// chews on for the whole -fuzzminimizetime whenever a mutation of it
	// finds new coverage. So the image seed runs in plain `go test` only;
	// under -fuzz the image paths are reached from the short-image seed
	// below (the fuzzer can grow it), and batch_test.go covers the image
	// round trip.
	if !fuzzing() {
		seeds = append(seeds, &Batch{FirstLSN: 5, Records: []Record{PageImage(7, 5, randBytes(rng, PageSize)), Commit(6, 1)}})
	}
	for _, b := range seeds {
		buf, err := b.Encode(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(buf, false)
		f.Add(buf, true)
	}
	// Near misses: valid CRC, malformed body.
	f.Add(rawBatch(FormatVersion, 0, 1, 1, []byte{4, 0, 0, 0, 0, 0, 0, 0, 0}), true)
	f.Add(rawBatch(FormatVersion, 0, 1, 1, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x00, 0}), true)
	f.Add(rawBatch(FormatVersion, 0, 1, 2, rawCommit(1)), true)
	f.Add(rawBatch(FormatVersion, 0, 1, 1, append([]byte{byte(KindPageImage), 7, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 64)...)), true)
	f.Add(rawBatch(FormatVersion, 0, 1<<63, 1, rawCommit(0)), false)
	f.Add([]byte{}, false)
	f.Add(make([]byte, batchHeaderSize+crcSize), true)

	f.Fuzz(func(t *testing.T, buf []byte, fixCRC bool) {
		if fixCRC && len(buf) >= crcSize {
			buf = reseal(append([]byte(nil), buf...))
		}
		orig := append([]byte(nil), buf...)
		b, err := DecodeBatch(buf)
		h, herr := DecodeHeader(buf)
		if !bytes.Equal(buf, orig) {
			t.Fatalf("decoding modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("DecodeBatch error %q does not wrap ErrCorrupt", err)
			}
			if b != nil {
				t.Fatalf("DecodeBatch returned a batch with its error")
			}
			if herr != nil && !errors.Is(herr, ErrCorrupt) {
				t.Fatalf("DecodeHeader error %q does not wrap ErrCorrupt", herr)
			}
			return
		}
		if verr := b.Validate(); verr != nil {
			t.Fatalf("decoded batch fails Validate: %v", verr)
		}
		if herr != nil {
			t.Fatalf("DecodeBatch succeeded but DecodeHeader failed: %v", herr)
		}
		if h.Epoch != b.Epoch || h.FirstLSN != b.FirstLSN || h.Count != len(b.Records) || h.LastLSN() != b.LastLSN() {
			t.Fatalf("header %+v disagrees with batch (epoch %d, first %d, %d records)", h, b.Epoch, b.FirstLSN, len(b.Records))
		}
		if b.EncodedSize() != len(buf) {
			t.Fatalf("EncodedSize %d, input %d bytes", b.EncodedSize(), len(buf))
		}
		again, err := b.Encode(nil)
		if err != nil {
			t.Fatalf("re-Encode: %v", err)
		}
		if !bytes.Equal(again, buf) {
			t.Fatalf("re-encoding differs from the input:\n got %x\nwant %x", again, buf)
		}
		// Every decoded page record applies cleanly to a fresh page.
		page := make([]byte, PageSize)
		for i := range b.Records {
			if err := Apply(page, &b.Records[i]); err != nil {
				t.Fatalf("Apply of decoded record %d: %v", i, err)
			}
		}
	})
}

// FuzzApply applies one arbitrary record to a page with arbitrary contents.
// kind's top bit asks for data to be stretched to a full page, so that page
// images are reachable as well as wrong-sized ones.
func FuzzApply(f *testing.F) {
	f.Add(uint64(1), uint64(0), uint8(KindPageWrite), uint64(1), uint32(8), []byte("abc"), uint64(0), false)
	f.Add(uint64(2), uint64(5), uint8(KindPageWrite), uint64(5), uint32(100), []byte("stale"), uint64(0), false)
	f.Add(uint64(3), uint64(5), uint8(KindPageWrite), uint64(4), uint32(100), []byte("older"), uint64(0), false)
	f.Add(uint64(4), uint64(9), uint8(KindPageWrite), uint64(10), uint32(PageSize-2), []byte{1, 2}, uint64(0), false)
	f.Add(uint64(5), uint64(9), uint8(KindPageWrite), uint64(10), uint32(PageSize), []byte{}, uint64(0), false)
	f.Add(uint64(6), uint64(9), uint8(KindPageWrite), uint64(10), uint32(PageSize-1), []byte{1, 2}, uint64(0), false)
	f.Add(uint64(7), uint64(9), uint8(KindPageWrite), uint64(10), uint32(4), []byte{1, 2, 3, 4, 5, 6}, uint64(0), false)
	f.Add(uint64(8), uint64(0), uint8(KindPageImage|0x80), uint64(1), uint32(0), []byte("image"), uint64(0), false)
	f.Add(uint64(9), uint64(3), uint8(KindPageImage), uint64(4), uint32(0), []byte("short"), uint64(0), false)
	f.Add(uint64(10), uint64(3), uint8(KindCommit), uint64(4), uint32(0), []byte(nil), uint64(77), false)
	f.Add(uint64(11), uint64(3), uint8(0), uint64(4), uint32(8), []byte{1}, uint64(0), false)
	f.Add(uint64(12), uint64(0), uint8(KindPageWrite), uint64(1), uint32(8), []byte("abc"), uint64(0), true)
	f.Add(uint64(13), ^uint64(0), uint8(KindPageWrite), ^uint64(0), uint32(8), []byte("max"), uint64(0), false)

	f.Fuzz(func(t *testing.T, seed, pageLSN uint64, kind uint8, lsn uint64, off uint32, data []byte, csn uint64, badPage bool) {
		rng := newRand(seed)
		size := PageSize
		if badPage {
			size = rng.IntN(2 * PageSize)
			if size == PageSize {
				size++
			}
		}
		page := randBytes(rng, size)
		if size >= PageLSNSize {
			binary.LittleEndian.PutUint64(page, pageLSN)
		}
		if kind&0x80 != 0 {
			kind &^= 0x80
			img := make([]byte, PageSize)
			for i := range img {
				if len(data) > 0 {
					img[i] = data[i%len(data)] ^ byte(i)
				} else {
					img[i] = byte(i * 7)
				}
			}
			data = img
		}
		rec := Record{Kind: Kind(kind), LSN: LSN(lsn), Offset: off, Data: data, CSN: csn}
		if rec.HasPage() {
			rec.Page = PageID(seed)
		}
		before := append([]byte(nil), page...)
		recData := append([]byte(nil), data...)

		err := Apply(page, &rec)

		if !bytes.Equal(rec.Data, recData) {
			t.Fatalf("Apply modified the record's data")
		}
		verr := rec.Validate()
		if err != nil {
			if verr == nil && !badPage {
				t.Fatalf("Apply failed on a valid record and page: %v", err)
			}
			if !bytes.Equal(page, before) {
				t.Fatalf("failed Apply modified the page")
			}
			return
		}
		if badPage {
			t.Fatalf("Apply accepted a page of %d bytes", size)
		}
		if verr != nil {
			t.Fatalf("Apply accepted an invalid record: %v", verr)
		}
		if rec.Kind == KindCommit || LSN(lsn) <= LSN(pageLSN) {
			if !bytes.Equal(page, before) {
				t.Fatalf("Apply of %v at LSN %d to a page at LSN %d changed the page", rec.Kind, lsn, pageLSN)
			}
			return
		}
		if got := PageLSN(page); got != LSN(lsn) {
			t.Fatalf("page LSN %d after applying LSN %d", got, lsn)
		}
		switch rec.Kind {
		case KindPageWrite:
			end := int(off) + len(data)
			if !bytes.Equal(page[off:end], data) {
				t.Fatalf("written range [%d,%d) does not hold the data", off, end)
			}
			if !bytes.Equal(page[PageLSNSize:off], before[PageLSNSize:off]) {
				t.Fatalf("bytes before the write [%d,%d) changed", PageLSNSize, off)
			}
			if !bytes.Equal(page[end:], before[end:]) {
				t.Fatalf("bytes after the write [%d,%d) changed", end, PageSize)
			}
		case KindPageImage:
			if !bytes.Equal(page[PageLSNSize:], data[PageLSNSize:]) {
				t.Fatalf("page does not hold the image")
			}
		}
	})
}
