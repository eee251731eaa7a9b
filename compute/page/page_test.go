package page

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/polarsql/polar/wal"
)

func TestInitAndHeader(t *testing.T) {
	b := bytes.Repeat([]byte{0xee}, wal.PageSize)
	wal.SetPageLSN(b, testLSN)
	p := Init(b, TypeInternal, 3)
	if wal.PageLSN(b) != testLSN {
		t.Fatal("Init changed the LSN")
	}
	if p.Type() != TypeInternal || p.Level() != 3 || p.NumSlots() != 0 || p.FreeSpace() != UsableSize {
		t.Fatalf("after Init: type %v level %d slots %d free %d", p.Type(), p.Level(), p.NumSlots(), p.FreeSpace())
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	p.SetPrev(wal.MakePageID(1, 2))
	p.SetNext(wal.MakePageID(3, 4))
	p.SetLeftmostChild(5)
	p.SetOwner(6)
	p.SetFlags(0xbeef)
	p.SetLevel(7)
	p.SetType(TypeLeaf)
	if p.Prev() != wal.MakePageID(1, 2) || p.Next() != wal.MakePageID(3, 4) || p.LeftmostChild() != 5 ||
		p.Owner() != 6 || p.Flags() != 0xbeef || p.Level() != 7 || p.Type() != TypeLeaf {
		t.Fatal("header round trip failed")
	}
	// Fields are where the layout says.
	for _, f := range []struct {
		off  int
		want uint64
	}{{24, uint64(wal.MakePageID(1, 2))}, {32, uint64(wal.MakePageID(3, 4))}, {40, 5}, {48, 6}} {
		if got := binary.LittleEndian.Uint64(b[f.off:]); got != f.want {
			t.Errorf("field at %d = %d, want %d", f.off, got, f.want)
		}
	}
	if b[12] != 1 || b[13] != 7 || binary.LittleEndian.Uint16(b[14:]) != 0xbeef || binary.LittleEndian.Uint16(b[18:]) != wal.PageSize {
		t.Error("type/level/flags/cellStart not at their offsets")
	}
	if TypeOverflow.String() != "overflow" || Type(9).String() != "Type(9)" {
		t.Error("Type.String")
	}
}

func TestMaxCellSize(t *testing.T) {
	if 4*(InternalCellSize(MaxCellSize)+SlotSize) > UsableSize || 4*(LeafCellSize(MaxCellSize, 0)+SlotSize) > UsableSize {
		t.Fatalf("four max cells do not fit")
	}
	if MaxCellSize < 4000 {
		t.Fatalf("MaxCellSize %d needlessly small", MaxCellSize)
	}
	p := newLeaf(t)
	for i := range 4 {
		k := bytes.Repeat([]byte{byte('a' + i)}, 100)
		if err := p.InsertLeaf(i, k, make([]byte, MaxCellSize-100)); err != nil {
			t.Fatalf("max cell %d: %v", i, err)
		}
	}
	if err := p.InsertLeaf(4, []byte("z"), make([]byte, 100)); !errors.Is(err, ErrFull) {
		t.Fatalf("fifth cell: %v", err)
	}
	if err := newLeaf(t).InsertLeaf(0, []byte("k"), make([]byte, MaxCellSize)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized cell: %v", err)
	}
	ip := Init(make([]byte, wal.PageSize), TypeInternal, 1)
	if err := ip.InsertInternal(0, make([]byte, MaxCellSize+1), 1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized internal key: %v", err)
	}
}

// TestErrFullExact fills pages with cells of many sizes, with and without
// fragmentation, and checks that an insert or update fails with ErrFull
// exactly when the live data would exceed the page, and that a failed
// operation changes nothing.
func TestErrFullExact(t *testing.T) {
	for _, cell := range []int{4, 5, 17, 100, 1000, 4000} {
		t.Run(fmt.Sprint(cell), func(t *testing.T) {
			p := newLeaf(t)
			key := func(i int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(i)) }
			vlen := cell - 4 // 4-byte keys
			if vlen < 0 {
				vlen = 0
			}
			n := 0
			for {
				need := LeafCellSize(4, vlen) + SlotSize
				before := slices.Clone(p)
				fits := need <= p.FreeSpace()
				err := p.InsertLeaf(n, key(n), make([]byte, vlen))
				if fits != (err == nil) {
					t.Fatalf("insert %d: err %v with %d free for %d", n, err, p.FreeSpace(), need)
				}
				if err != nil {
					if !errors.Is(err, ErrFull) || !bytes.Equal(before, p) {
						t.Fatalf("failed insert: %v, page changed %v", err, !bytes.Equal(before, p))
					}
					break
				}
				n++
			}
			if want := UsableSize / (LeafCellSize(4, vlen) + SlotSize); n != want {
				t.Fatalf("%d cells fit, want %d", n, want)
			}
			// Delete every other cell: the freed space is fragmented.
			for i := n - 1; i >= 0; i -= 2 {
				p.Delete(i)
			}
			if free := p.FreeSpace(); p.gap() >= free {
				t.Fatalf("expected fragmentation: gap %d free %d", p.gap(), free)
			}
			// Fill the page to exactly zero free bytes, with the cells
			// at the end of the key space; the first one needs the
			// automatic compaction.
			tail := func(j int) []byte { return []byte{0xff, 0xff, 0xff, byte(j)} }
			for j := 0; ; j++ {
				free := p.FreeSpace()
				vl := min(free-SlotSize-LeafCellSize(4, 0), MaxCellSize-4)
				if vl < 0 {
					break
				}
				at := p.NumSlots()
				if j == 0 && n > 10 && p.gap() >= LeafCellSize(4, vl)+SlotSize {
					t.Fatalf("first fill insert does not need compaction")
				}
				if vl < MaxCellSize-4 {
					// One byte more must fail and change nothing.
					before := slices.Clone(p)
					if err := p.InsertLeaf(at, tail(j), make([]byte, vl+1)); !errors.Is(err, ErrFull) || !bytes.Equal(before, p) {
						t.Fatalf("insert of %d with %d free: %v", LeafCellSize(4, vl+1)+SlotSize, free, err)
					}
				}
				if err := p.InsertLeaf(at, tail(j), make([]byte, vl)); err != nil {
					t.Fatalf("insert of %d with %d free: %v", LeafCellSize(4, vl)+SlotSize, free, err)
				}
				if err := Check(p); err != nil {
					t.Fatal(err)
				}
			}
			if p.FreeSpace() >= SlotSize+LeafCellSize(0, 0) {
				t.Fatalf("page not full: %d free", p.FreeSpace())
			}
			before := slices.Clone(p)
			if err := p.InsertLeaf(0, nil, nil); !errors.Is(err, ErrFull) || !bytes.Equal(before, p) {
				t.Fatalf("insert into full page: %v", err)
			}
			// Make room again for the update checks below.
			p.Delete(p.NumSlots() - 1)
			// Growing a value: fits exactly when the page has room for the
			// difference.
			free := p.FreeSpace()
			i := p.NumSlots() / 2
			old := len(p.Value(i))
			grow := min(free, MaxCellSize-4-old)
			before = slices.Clone(p)
			wantErr := ErrFull
			if old+grow+1 > MaxCellSize-4 {
				wantErr = ErrTooLarge
			}
			if err := p.UpdateValue(i, make([]byte, old+grow+1)); !errors.Is(err, wantErr) || !bytes.Equal(before, p) {
				t.Fatalf("update by %d with %d free: %v (want %v), page changed %v", grow+1, free, err, wantErr, !bytes.Equal(before, p))
			}
			if err := p.UpdateValue(i, bytes.Repeat([]byte{7}, old+grow)); err != nil {
				t.Fatalf("update by %d with %d free: %v", grow, free, err)
			}
			if err := Check(p); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.Value(i), bytes.Repeat([]byte{7}, old+grow)) || !bytes.Equal(p.Key(i), Page(before).Key(i)) {
				t.Fatal("updated cell wrong")
			}
		})
	}
}

// TestBytesTouched checks that the common operations write only what they
// must: the new cell, the shifted slots and the header fields.
func TestBytesTouched(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := newLeaf(t)
	var keys [][]byte
	for len(keys) < 100 {
		k := randKey(r)
		i, found := p.Search(k)
		if found || len(k) > 30 {
			continue
		}
		if err := p.InsertLeaf(i, k, bytes.Repeat([]byte{1}, 20)); err != nil {
			t.Fatal(err)
		}
		keys = slices.Insert(keys, i, k)
	}
	// Leave garbage in the free gap (dead cells below cellStart, stale
	// slots), so that an operation writing the gap would show.
	for range 5 {
		p.InsertLeaf(p.NumSlots(), []byte{0xff, 0xff}, bytes.Repeat([]byte{0xaa}, 300))
		p.Delete(p.NumSlots() - 1)
	}
	if p.fragmented() != 0 {
		t.Fatal("garbage setup fragmented the page")
	}
	// allowed reports the byte ranges an operation may change.
	check := func(what string, before, after []byte, allowed ...[2]int) {
		t.Helper()
		for o := range before {
			if before[o] == after[o] {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || (o >= a[0] && o < a[1])
			}
			if !ok {
				t.Fatalf("%s changed byte %d", what, o)
			}
		}
	}
	hdr := [2]int{offNSlots, offFrag + 2}

	before := slices.Clone(p)
	n, cs := p.NumSlots(), p.cellStart()
	if err := p.InsertLeaf(50, []byte("insert-me"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	check("InsertLeaf", before, p, hdr, [2]int{slotPos(50), slotPos(n + 1)}, [2]int{cs - LeafCellSize(9, 1), cs})

	before = slices.Clone(p)
	n = p.NumSlots()
	p.Delete(10)
	check("Delete", before, p, hdr, [2]int{slotPos(10), slotPos(n - 1)})

	before = slices.Clone(p)
	off := p.slot(20)
	p.UpdateValue(20, []byte("short"))
	check("UpdateValue (shrink)", before, p, hdr, [2]int{off, off + p.cellSize(off)})

	before = slices.Clone(p)
	cs = p.cellStart()
	size := LeafCellSize(len(p.Key(30)), 100)
	p.UpdateValue(30, make([]byte, 100))
	check("UpdateValue (grow)", before, p, hdr, [2]int{slotPos(30), slotPos(31)}, [2]int{cs - size, cs})

	// MoveTail writes only the source's header.
	before = slices.Clone(p)
	right := newLeaf(t)
	p.MoveTail(right, p.SplitPoint())
	check("MoveTail", before, p, hdr)

	// Compact of an already compact page changes nothing.
	p = newLeaf(t)
	for i := range 10 {
		p.InsertLeaf(i, []byte{byte(i)}, []byte("x"))
	}
	before = slices.Clone(p)
	p.Compact()
	check("Compact (no holes)", before, p)
	// Compact after deleting the last-inserted cell (at cellStart) changes
	// nothing either: cellStart simply moved up.
	p.Delete(9)
	before = slices.Clone(p)
	p.Compact()
	check("Compact (after bottom delete)", before, p)
}

// TestFullPageFillsHoles: on a page with no contiguous gap left, a cell
// replacing a deleted one of its size goes into the hole, so only the cell,
// its slots and the header change (an MVCC update: new version in, old
// out), and a grown value moves into a hole the same way.
func TestFullPageFillsHoles(t *testing.T) {
	p := newLeaf(t)
	val := bytes.Repeat([]byte{7}, 100)
	key := func(i int) []byte { return []byte(fmt.Sprintf("key%05d", i)) }
	n := 0
	for ; ; n++ {
		if err := p.InsertLeaf(n, key(n*2), val); err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			break
		}
	}
	hdr := [2]int{offNSlots, offFrag + 2}
	touched := func(before, after []byte) (out [][2]int) {
		for o := 0; o < len(before); o++ {
			if before[o] != after[o] {
				e := o
				for e < len(before) && before[e] != after[e] {
					e++
				}
				out = append(out, [2]int{o, e})
				o = e
			}
		}
		return out
	}
	for round := 0; round < 3*n; round++ {
		victim := (round * 37) % n
		hole := p.slot(victim)
		p.Delete(victim)
		before := slices.Clone(p)
		// The replacement sorts right after the deleted key: same slot.
		if err := p.InsertLeaf(victim, key(victim*2+1), val); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := Check(p); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := p.slot(victim); got != hole {
			t.Fatalf("round %d: cell went to %d, not the hole at %d", round, got, hole)
		}
		for _, r := range touched(before, p) {
			inHdr := r[0] >= hdr[0] && r[1] <= hdr[1]
			inSlots := r[0] >= slotPos(victim) && r[1] <= slotPos(n)
			inCell := r[0] >= hole && r[1] <= hole+LeafCellSize(8, len(val))
			if !inHdr && !inSlots && !inCell {
				t.Fatalf("round %d: insert into a hole changed bytes %v", round, r)
			}
		}
		p.Delete(victim)
		p.InsertLeaf(victim, key(victim*2), val)
	}
	// A grown value moves into a hole big enough for it.
	p.Delete(5)
	p.Delete(5)
	p.Delete(5)
	if err := p.UpdateValue(20, bytes.Repeat([]byte{8}, 250)); err != nil {
		t.Fatal(err)
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Value(20), bytes.Repeat([]byte{8}, 250)) || !bytes.Equal(p.Key(20), key(46)) {
		t.Fatalf("grown cell 20: key %q value %x", p.Key(20), p.Value(20)[:4])
	}
}

// TestSplitMakesRoom checks the promise behind MaxCellSize: when an insert
// fails with ErrFull, splitting at SplitPoint leaves room for the cell in
// the half it belongs to.
func TestSplitMakesRoom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 300 {
		p := newLeaf(t)
		for {
			kl := 1 + r.IntN(200)
			var vl int
			switch round % 3 {
			case 0:
				vl = MaxCellSize - kl // all maximal
			case 1:
				vl = r.IntN(MaxCellSize - kl + 1)
			default:
				vl = r.IntN(50)
				if r.IntN(20) == 0 {
					vl = MaxCellSize - kl
				}
			}
			k := make([]byte, kl)
			for i := range k {
				k[i] = byte(r.Uint32())
			}
			i, found := p.Search(k)
			if found {
				continue
			}
			err := p.InsertLeaf(i, k, make([]byte, vl))
			if err == nil {
				continue
			}
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			s := p.SplitPoint()
			right := newLeaf(t)
			if err := p.MoveTail(right, s); err != nil {
				t.Fatal(err)
			}
			target, ti := p, i
			if i >= s {
				target, ti = right, i-s
			}
			if err := target.InsertLeaf(ti, k, make([]byte, vl)); err != nil {
				t.Fatalf("round %d: after split at %d/%d, cell %d+%d did not fit (left free %d, right free %d)",
					round, s, s+right.NumSlots(), kl, vl, p.FreeSpace(), right.FreeSpace())
			}
			if err := Check(p); err != nil {
				t.Fatal(err)
			}
			if err := Check(right); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
}

func TestSplitPointSmall(t *testing.T) {
	p := newLeaf(t)
	if p.SplitPoint() != 0 {
		t.Fatal("empty page")
	}
	p.InsertLeaf(0, []byte("a"), nil)
	if p.SplitPoint() != 1 {
		t.Fatal("one cell")
	}
	p.InsertLeaf(1, []byte("b"), make([]byte, 3000))
	p.InsertLeaf(2, []byte("c"), nil)
	p.InsertLeaf(3, []byte("d"), nil)
	// Sizes with slots 7, 3007, 7, 7: [a b | c d] is off by 3000, the
	// other splits by 3014.
	if s := p.SplitPoint(); s != 2 {
		t.Fatalf("split point %d, want 2", s)
	}
}

func TestOverflow(t *testing.T) {
	b := make([]byte, wal.PageSize)
	wal.SetPageLSN(b, testLSN)
	p := InitOverflow(b)
	if p.Type() != TypeOverflow || len(p.OverflowData()) != 0 || wal.PageLSN(b) != testLSN {
		t.Fatal("InitOverflow")
	}
	data := bytes.Repeat([]byte("0123456789"), OverflowCapacity/10)
	data = append(data, make([]byte, OverflowCapacity-len(data))...)
	if err := p.SetOverflowData(data); err != nil {
		t.Fatal(err)
	}
	p.SetNextOverflow(wal.MakePageID(2, 9))
	if !bytes.Equal(p.OverflowData(), data) || p.NextOverflow() != wal.MakePageID(2, 9) || wal.PageLSN(b) != testLSN {
		t.Fatal("overflow round trip")
	}
	if binary.LittleEndian.Uint64(b[40:]) != uint64(wal.MakePageID(2, 9)) || binary.LittleEndian.Uint16(b[64:]) != OverflowCapacity {
		t.Fatal("overflow fields not at their offsets")
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(p)
	if err := p.SetOverflowData(make([]byte, OverflowCapacity+1)); !errors.Is(err, ErrTooLarge) || !bytes.Equal(before, p) {
		t.Fatalf("oversized overflow data: %v", err)
	}
	p.SetOverflowData([]byte("short"))
	if string(p.OverflowData()) != "short" {
		t.Fatal("shrinking overflow data")
	}
	binary.LittleEndian.PutUint16(b[64:], OverflowCapacity+1)
	if err := Check(p); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Check of bad overflow length: %v", err)
	}
}

func TestChecksum(t *testing.T) {
	p := newLeaf(t)
	p.InsertLeaf(0, []byte("k"), []byte("v"))
	if VerifyChecksum(p) {
		t.Fatal("checksum verified before SetChecksum")
	}
	SetChecksum(p)
	if !VerifyChecksum(p) {
		t.Fatal("checksum does not verify")
	}
	wal.SetPageLSN(p, 99) // the LSN is not covered
	if !VerifyChecksum(p) {
		t.Fatal("LSN change broke the checksum")
	}
	for _, off := range []int{8, 12, 20, 100, wal.PageSize - 1} {
		q := slices.Clone(p)
		q[off] ^= 0x10
		if VerifyChecksum(q) {
			t.Errorf("flipped bit at %d not detected", off)
		}
	}
	if VerifyChecksum(p[:100]) {
		t.Error("short page verified")
	}
}

// TestCheckDetects corrupts valid pages in specific ways and expects Check
// to notice each.
func TestCheckDetects(t *testing.T) {
	mk := func() Page {
		p := newLeaf(t)
		for i, k := range []string{"apple", "banana", "cherry", "date"} {
			p.InsertLeaf(i, []byte(k), []byte("value-"+k))
		}
		p.Delete(1) // some fragmentation
		return p
	}
	if err := Check(mk()); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(p Page){
		"short page":        func(p Page) {},
		"unknown type":      func(p Page) { p[offType] = 9 },
		"leaf level":        func(p Page) { p.SetLevel(1) },
		"internal level 0":  func(p Page) { p.SetType(TypeInternal) },
		"cellStart > page":  func(p Page) { p.setCellStart(wal.PageSize + 1) },
		"slots past cells":  func(p Page) { p.setNumSlots((p.cellStart()-HeaderSize)/2 + 1) },
		"fragmented wrong":  func(p Page) { p.setFragmented(p.fragmented() + 1) },
		"fragmented huge":   func(p Page) { p.setFragmented(60000) },
		"slot below cells":  func(p Page) { p.setSlot(0, p.cellStart()-4) },
		"slot past end":     func(p Page) { p.setSlot(0, wal.PageSize-2) },
		"cell past end":     func(p Page) { put16(p[p.slot(0)+2:], 30000) },
		"keys out of order": func(p Page) { o := p.slot(0); p.setSlot(0, p.slot(1)); p.setSlot(1, o) },
		"duplicate keys":    func(p Page) { p.setSlot(1, p.slot(0)) },
		"overlapping cells": func(p Page) { p.setSlot(2, p.slot(1)+1) },
		"cellStart too low": func(p Page) { p.setCellStart(p.cellStart() - 1) },
		"cell inside a cell": func(p Page) {
			// Cell "b" hides inside the value of cell "a", and fragmented
			// is lowered so that the byte accounting still adds up: only
			// the overlap check can tell.
			Init(p, TypeLeaf, 0)
			p.InsertLeaf(0, []byte("dead"), []byte("cell"))
			p.InsertLeaf(0, []byte("a"), []byte{1, 0, 0, 0, 'b'})
			p.Delete(1)
			p.insertSlot(1, p.slot(0)+leafCellHeader+1)
			p.setFragmented(p.fragmented() - 5)
		},
		"oversized cell": func(p Page) {
			// A single cell claiming MaxCellSize+1 bytes of payload.
			Init(p, TypeLeaf, 0)
			p.InsertLeaf(0, []byte("k"), make([]byte, MaxCellSize-1))
			put16(p[p.slot(0)+2:], MaxCellSize)
			p.setCellStart(p.cellStart() - 1)
		},
	}
	for name, corrupt := range cases {
		p := mk()
		corrupt(p)
		if name == "short page" {
			p = p[:wal.PageSize-1]
		}
		if err := Check(p); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Check = %v", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// FuzzCheck checks that Check never panics, whatever the bytes, and that
// a page it accepts can be read and compacted without panicking. Each
// input is a valid page with byte edits applied: 3 bytes per edit, a
// 16-bit offset (mostly aimed at the header and slot array) and a value.
func FuzzCheck(f *testing.F) {
	leaf := newLeaf(f)
	for i, k := range []string{"a", "bb", "ccc", "dddd"} {
		leaf.InsertLeaf(i, []byte(k), []byte("vv"))
	}
	leaf.Delete(1)
	internal := newInternal(f, 1)
	internal.InsertInternal(0, []byte("m"), 7)
	internal.InsertInternal(1, []byte("n"), 8)
	overflow := InitOverflow(make([]byte, wal.PageSize))
	overflow.SetOverflowData([]byte("data"))
	bases := []Page{leaf, internal, overflow}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{16, 0, 9})              // nslots
	f.Add(uint8(0), []byte{18, 0, 0, 66, 0, 0xff}) // cellStart, slot 1
	f.Add(uint8(2), []byte{64, 0, 0xff, 65, 0, 0xff})
	f.Fuzz(func(t *testing.T, which uint8, edits []byte) {
		b := slices.Clone(bases[int(which)%len(bases)])
		for ; len(edits) >= 3; edits = edits[3:] {
			off := int(binary.LittleEndian.Uint16(edits))
			if off&0x8000 == 0 {
				off %= 128 // header and slot array
			}
			b[off%wal.PageSize] = edits[2]
		}
		if Check(b) != nil {
			return
		}
		p := Page(b)
		if p.Type() == TypeOverflow {
			_ = p.OverflowData()
		}
		if p.Type() != TypeLeaf && p.Type() != TypeInternal {
			return
		}
		for i := range p.NumSlots() {
			if j, found := p.Search(p.Key(i)); j != i || !found {
				t.Fatalf("Search(Key(%d)) = %d, %v on a valid page", i, j, found)
			}
		}
		p.SplitPoint()
		p.Compact()
		if err := Check(p); err != nil {
			t.Fatalf("Compact broke a valid page: %v", err)
		}
	})
}

// TestUpdateGrowAtCellStart covers growing the value of the cell at the
// bottom of the cell area, where the new cell overlaps the old one and no
// space is left fragmented.
func TestUpdateGrowAtCellStart(t *testing.T) {
	key := []byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCD")
	for grow := 1; grow <= 60; grow++ {
		p := newLeaf(t)
		p.InsertLeaf(0, []byte("0"), []byte("first"))
		p.InsertLeaf(1, key, []byte("v"))
		cs := p.cellStart()
		val := bytes.Repeat([]byte{'x'}, 1+grow)
		if err := p.UpdateValue(1, val); err != nil {
			t.Fatal(err)
		}
		if err := Check(p); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Key(1), key) || !bytes.Equal(p.Value(1), val) || string(p.Value(0)) != "first" {
			t.Fatalf("grow %d: cell %q=%q", grow, p.Key(1), p.Value(1))
		}
		if p.fragmented() != 0 || p.cellStart() != cs-grow {
			t.Fatalf("grow %d: fragmented %d, cellStart moved by %d", grow, p.fragmented(), cs-p.cellStart())
		}
	}
}
