package mtr

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/polarsql/polar/compute/bufpool"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/wal"
)

// zeroSource serves zero pages; the test only needs frames.
type zeroSource struct{}

func (zeroSource) GetPage(ctx context.Context, page wal.PageID, lsn wal.LSN) (storage.Page, error) {
	return storage.Page{Image: make([]byte, wal.PageSize)}, nil
}

// TestRedoReproducesPages: for random changes, replaying the emitted redo
// onto the before-images with wal.Apply gives the after-images byte for
// byte.
func TestRedoReproducesPages(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	pool := bufpool.New(bufpool.Config{Bytes: 64 * wal.PageSize, Source: zeroSource{}})
	ctx := context.Background()
	replica := map[wal.PageID][]byte{}
	next := wal.LSN(1)
	m := New()
	for round := 0; round < 300; round++ {
		var frames []*bufpool.Frame
		for k := 0; k < 1+rng.IntN(4); k++ {
			id := wal.PageID(1 + rng.IntN(10))
			var f *bufpool.Frame
			var err error
			if replica[id] == nil {
				f, err = pool.Create(id)
				if err != nil {
					// Already created in this round.
					continue
				}
				m.Created(f)
				replica[id] = make([]byte, wal.PageSize)
			} else {
				f, err = pool.Fetch(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				m.Modify(f)
			}
			frames = append(frames, f)
			data := f.Data()
			switch rng.IntN(4) {
			case 0: // scattered small writes
				for j := 0; j < rng.IntN(20); j++ {
					data[wal.PageLSNSize+rng.IntN(wal.PageSize-wal.PageLSNSize)] = byte(rng.Uint32())
				}
			case 1: // one run
				off := wal.PageLSNSize + rng.IntN(wal.PageSize-wal.PageLSNSize-100)
				for j := 0; j < 1+rng.IntN(100); j++ {
					data[off+j] = byte(rng.Uint32())
				}
			case 2: // mostly rewritten
				for j := wal.PageLSNSize; j < wal.PageSize; j++ {
					if rng.IntN(3) > 0 {
						data[j] = byte(rng.Uint32())
					}
				}
			case 3: // no change
			}
		}
		recs, nn := m.Finish(nil, next)
		if nn-next != wal.LSN(len(recs)) {
			t.Fatalf("LSNs not contiguous: %d records for %d..%d", len(recs), next, nn)
		}
		for i := range recs {
			if recs[i].LSN != next+wal.LSN(i) {
				t.Fatalf("record %d LSN %d", i, recs[i].LSN)
			}
			if err := wal.Apply(replica[recs[i].Page], &recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		next = nn
		for _, f := range frames {
			if !bytes.Equal(replica[f.ID()], f.Data()) {
				t.Fatalf("round %d: page %v: replayed redo differs from the page", round, f.ID())
			}
			f.Release()
		}
		pool.SetDurable(next - 1)
	}
}

func TestDiffRanges(t *testing.T) {
	a := make([]byte, wal.PageSize)
	b := make([]byte, wal.PageSize)
	b[100] = 1
	b[110] = 1 // within mergeGap: one range
	b[1000] = 1
	b[wal.PageSize-1] = 1
	got := diff(a, b)
	want := [][2]int{{100, 111}, {1000, 1001}, {wal.PageSize - 1, wal.PageSize}}
	if len(got) != len(want) {
		t.Fatalf("diff = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("diff = %v, want %v", got, want)
		}
	}
	b[3] = 9 // the page LSN is not part of the diff
	if got := diff(a, b); len(got) != 3 {
		t.Fatalf("page LSN bytes diffed: %v", got)
	}
}

// TestDiffRandom checks diff against a byte-by-byte oracle: every
// differing byte past the page LSN is in a range, ranges are ordered and
// disjoint, start and end on differing bytes, and no equal run of
// mergeGap or more bytes sits inside one.
func TestDiffRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		a := make([]byte, wal.PageSize)
		for i := range a {
			a[i] = byte(rng.IntN(4))
		}
		b := append([]byte(nil), a...)
		for range rng.IntN(40) {
			at, n := rng.IntN(wal.PageSize), 1+rng.IntN(100)
			for j := at; j < min(at+n, wal.PageSize); j++ {
				b[j] = byte(rng.IntN(4))
			}
		}
		in := make([]bool, wal.PageSize)
		prev := 0
		for _, r := range diff(a, b) {
			if r[0] < max(prev, wal.PageLSNSize) || r[1] <= r[0] || r[1] > wal.PageSize {
				t.Fatalf("bad range %v after %d", r, prev)
			}
			if a[r[0]] == b[r[0]] || a[r[1]-1] == b[r[1]-1] {
				t.Fatalf("range %v does not start and end on a difference", r)
			}
			run := 0
			for j := r[0]; j < r[1]; j++ {
				in[j] = true
				if a[j] == b[j] {
					run++
					if run >= mergeGap {
						t.Fatalf("range %v holds %d equal bytes in a row", r, run)
					}
				} else {
					run = 0
				}
			}
			prev = r[1]
		}
		for j := wal.PageLSNSize; j < wal.PageSize; j++ {
			if a[j] != b[j] && !in[j] {
				t.Fatalf("byte %d differs but is in no range", j)
			}
		}
	}
}

// BenchmarkDiff diffs a page against a copy with three small changes, as
// a row update leaves a leaf.
func BenchmarkDiff(b *testing.B) {
	a := make([]byte, wal.PageSize)
	c := append([]byte(nil), a...)
	c[100], c[9000], c[16000] = 1, 1, 1
	for b.Loop() {
		if len(diff(a, c)) != 3 {
			b.Fatal("diff")
		}
	}
}
