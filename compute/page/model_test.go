package page

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/polarsql/polar/wal"
)

type kv struct{ k, v []byte }

// model is the oracle: a sorted slice of key/value pairs.
type model []kv

func (m model) used() int {
	u := HeaderSize
	for _, e := range m {
		u += LeafCellSize(len(e.k), len(e.v)) + SlotSize
	}
	return u
}

func (m model) search(k []byte) (int, bool) {
	return slices.BinarySearchFunc(m, k, func(e kv, k []byte) int { return bytes.Compare(e.k, k) })
}

const testLSN = 0x0123456789abcdef

func newLeaf(t testing.TB) Page {
	b := make([]byte, wal.PageSize)
	wal.SetPageLSN(b, testLSN)
	p := Init(b, TypeLeaf, 0)
	if wal.PageLSN(b) != testLSN {
		t.Fatal("Init changed the page LSN")
	}
	return p
}

// verify checks p against m: Check passes, the LSN is intact, contents and
// free space match, and Search agrees with the model.
func verify(t *testing.T, what string, p Page, m model, r *rand.Rand) {
	t.Helper()
	if err := Check(p); err != nil {
		t.Fatalf("%s: Check: %v", what, err)
	}
	if wal.PageLSN(p) != testLSN {
		t.Fatalf("%s: page LSN changed to %x", what, wal.PageLSN(p))
	}
	if p.NumSlots() != len(m) {
		t.Fatalf("%s: %d slots, model has %d", what, p.NumSlots(), len(m))
	}
	for i, e := range m {
		if !bytes.Equal(p.Key(i), e.k) || !bytes.Equal(p.Value(i), e.v) {
			t.Fatalf("%s: cell %d = %x/%x, want %x/%x", what, i, p.Key(i), p.Value(i), e.k, e.v)
		}
		if j, found := p.Search(e.k); j != i || !found {
			t.Fatalf("%s: Search(key %d) = %d,%v", what, i, j, found)
		}
	}
	if got, want := p.FreeSpace(), wal.PageSize-m.used(); got != want {
		t.Fatalf("%s: FreeSpace %d, want %d", what, got, want)
	}
	for range 4 {
		k := randKey(r)
		wi, wf := m.search(k)
		if gi, gf := p.Search(k); gi != wi || gf != wf {
			t.Fatalf("%s: Search(%x) = %d,%v, want %d,%v", what, k, gi, gf, wi, wf)
		}
	}
}

func randKey(r *rand.Rand) []byte {
	var n int
	switch x := r.IntN(100); {
	case x < 3:
		n = 0
	case x < 90:
		n = 1 + r.IntN(24)
	case x < 98:
		n = 25 + r.IntN(200)
	default:
		n = r.IntN(MaxCellSize / 2)
	}
	k := make([]byte, n)
	for i := range k {
		k[i] = byte('a' + r.IntN(4)) // small alphabet: shared prefixes, collisions
	}
	return k
}

func randVal(r *rand.Rand, small bool) []byte {
	var n int
	switch x := r.IntN(100); {
	case small:
		n = r.IntN(40)
	case x < 10:
		n = 0
	case x < 85:
		n = r.IntN(100)
	case x < 97:
		n = r.IntN(1000)
	default:
		n = r.IntN(MaxCellSize + 50) // sometimes too large
	}
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(r.Uint32())
	}
	return v
}

func TestLeafModel(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		small := seed%2 == 0 // small cells: hundreds per page
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runLeafModel(t, seed, small, 4000) })
	}
}

func runLeafModel(t *testing.T, seed uint64, small bool, ops int) {
	r := rand.New(rand.NewPCG(seed, seed*7919))
	p := newLeaf(t)
	var m model
	var full, tooLarge, splits, compacts, autoCompacts, maxCells int
	for op := range ops {
		var what string
		splitNow := false
		switch x := r.IntN(100); {
		case x < 50: // insert
			k := randKey(r)
			v := randVal(r, small)
			i, found := m.search(k)
			what = fmt.Sprintf("op %d insert %d+%d at %d", op, len(k), len(v), i)
			if found {
				continue
			}
			needCompact := p.gap() < LeafCellSize(len(k), len(v))+SlotSize
			err := p.InsertLeaf(i, k, v)
			if err == nil && needCompact {
				autoCompacts++
			}
			switch {
			case len(k)+len(v) > MaxCellSize:
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("%s: err %v, want ErrTooLarge", what, err)
				}
				tooLarge++
			case m.used()+LeafCellSize(len(k), len(v))+SlotSize > wal.PageSize:
				if !errors.Is(err, ErrFull) {
					t.Fatalf("%s: err %v, want ErrFull (used %d)", what, err, m.used())
				}
				full++
				splitNow = r.IntN(2) == 0
			default:
				if err != nil {
					t.Fatalf("%s: %v (used %d)", what, err, m.used())
				}
				m = slices.Insert(m, i, kv{k, v})
			}
		case x < 65: // delete
			if len(m) == 0 {
				continue
			}
			i := r.IntN(len(m))
			what = fmt.Sprintf("op %d delete %d", op, i)
			p.Delete(i)
			m = slices.Delete(m, i, i+1)
		case x < 88: // update value, growing or shrinking
			if len(m) == 0 {
				continue
			}
			i := r.IntN(len(m))
			v := randVal(r, small)
			if r.IntN(3) == 0 && len(m[i].v) > 0 {
				v = v[:min(len(v), r.IntN(len(m[i].v)))] // shrink
			}
			what = fmt.Sprintf("op %d update %d: %d -> %d", op, i, len(m[i].v), len(v))
			err := p.UpdateValue(i, v)
			switch {
			case len(m[i].k)+len(v) > MaxCellSize:
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("%s: err %v, want ErrTooLarge", what, err)
				}
			case m.used()-len(m[i].v)+len(v) > wal.PageSize:
				if !errors.Is(err, ErrFull) {
					t.Fatalf("%s: err %v, want ErrFull", what, err)
				}
				full++
			default:
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				m[i].v = v
			}
		case x < 91:
			what = fmt.Sprintf("op %d compact", op)
			free := p.FreeSpace()
			p.Compact()
			compacts++
			if p.gap() != free || p.fragmented() != 0 {
				t.Fatalf("%s: gap %d fragmented %d, want %d, 0", what, p.gap(), p.fragmented(), free)
			}
		default:
			// Split now and then when fairly full.
			splitNow = p.FreeSpace() < UsableSize/8 && r.IntN(8) == 0
		}
		verify(t, what, p, m, r)
		maxCells = max(maxCells, len(m))
		if splitNow && len(m) >= 2 {
			// Split into a second page, then keep one half or merge back.
			s := p.SplitPoint()
			what = fmt.Sprintf("op %d split at %d of %d", op, s, len(m))
			checkSplitPoint(t, what, m, s)
			right := newLeaf(t)
			if err := p.MoveTail(right, s); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			splits++
			verify(t, what+" (left)", p, m[:s], r)
			verify(t, what+" (right)", right, m[s:], r)
			switch r.IntN(3) {
			case 0: // keep the left half
				m = m[:s:s]
			case 1: // keep the right half
				p, m = right, slices.Clone(m[s:])
			default: // merge back
				if err := right.MoveTail(p, 0); err != nil {
					t.Fatalf("%s: merge back: %v", what, err)
				}
				verify(t, what+" (emptied right)", right, nil, r)
			}
			verify(t, what, p, m, r)
		}
	}
	t.Logf("seed %d: up to %d cells, %d ErrFull, %d ErrTooLarge, %d splits, %d compactions, %d automatic", seed, maxCells, full, tooLarge, splits, compacts, autoCompacts)
	if full == 0 || splits == 0 || autoCompacts == 0 {
		t.Errorf("model test did not exercise full pages (%d), splits (%d) or automatic compaction (%d)", full, splits, autoCompacts)
	}
}

// checkSplitPoint checks that s balances the halves at least as well as
// any other split position.
func checkSplitPoint(t *testing.T, what string, m model, s int) {
	t.Helper()
	if s < 1 || s >= len(m) {
		t.Fatalf("%s: split point %d outside [1,%d)", what, s, len(m))
	}
	imb := func(s int) int {
		a, b := model(m[:s]).used(), model(m[s:]).used()
		if a > b {
			return a - b
		}
		return b - a
	}
	for o := 1; o < len(m); o++ {
		if imb(o) < imb(s) {
			t.Fatalf("%s: split at %d is better balanced (%d) than %d (%d)", what, o, imb(o), s, imb(s))
		}
	}
}
