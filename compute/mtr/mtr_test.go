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
