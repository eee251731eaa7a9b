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

func newInternal(t testing.TB, level uint8) Page {
	b := make([]byte, wal.PageSize)
	wal.SetPageLSN(b, testLSN)
	return Init(b, TypeInternal, level)
}

func TestChildFor(t *testing.T) {
	p := newInternal(t, 1)
	p.SetLeftmostChild(100)
	for i, k := range []string{"b", "d", "f"} {
		if err := p.InsertInternal(i, []byte(k), PageID(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key   string
		child PageID
		idx   int
	}{{"", 100, -1}, {"a", 100, -1}, {"azzz", 100, -1}, {"b", 1, 0}, {"b\x00", 1, 0}, {"c", 1, 0},
		{"d", 2, 1}, {"e", 2, 1}, {"f", 3, 2}, {"ff", 3, 2}, {"zzz", 3, 2}} {
		if got := p.ChildFor([]byte(c.key)); got != c.child {
			t.Errorf("ChildFor(%q) = %d, want %d", c.key, got, c.child)
		}
		if got := p.ChildIndexFor([]byte(c.key)); got != c.idx {
			t.Errorf("ChildIndexFor(%q) = %d, want %d", c.key, got, c.idx)
		}
	}
	p.SetChild(1, 42)
	if p.ChildFor([]byte("e")) != 42 || p.Child(1) != 42 || string(p.Key(1)) != "d" {
		t.Error("SetChild")
	}
	// An internal page with no keys routes everything to its leftmost child.
	q := newInternal(t, 2)
	q.SetLeftmostChild(7)
	if q.ChildFor([]byte("anything")) != 7 || q.ChildFor(nil) != 7 {
		t.Error("empty internal page")
	}
}

type ent struct {
	k []byte
	c PageID
}

// imodel is the oracle for an internal page.
type imodel struct {
	leftmost PageID
	ents     []ent
}

func (m *imodel) childFor(k []byte) PageID {
	c := m.leftmost
	for _, e := range m.ents {
		if bytes.Compare(e.k, k) <= 0 {
			c = e.c
		}
	}
	return c
}

func (m *imodel) used() int {
	u := HeaderSize
	for _, e := range m.ents {
		u += InternalCellSize(len(e.k)) + SlotSize
	}
	return u
}

func verifyInternal(t *testing.T, what string, p Page, m *imodel, r *rand.Rand) {
	t.Helper()
	if err := Check(p); err != nil {
		t.Fatalf("%s: Check: %v", what, err)
	}
	if wal.PageLSN(p) != testLSN {
		t.Fatalf("%s: LSN changed", what)
	}
	if p.NumSlots() != len(m.ents) || p.LeftmostChild() != m.leftmost {
		t.Fatalf("%s: %d slots leftmost %d, want %d, %d", what, p.NumSlots(), p.LeftmostChild(), len(m.ents), m.leftmost)
	}
	for i, e := range m.ents {
		if !bytes.Equal(p.Key(i), e.k) || p.Child(i) != e.c {
			t.Fatalf("%s: cell %d = %x/%d, want %x/%d", what, i, p.Key(i), p.Child(i), e.k, e.c)
		}
		if got := p.ChildFor(e.k); got != e.c {
			t.Fatalf("%s: ChildFor(key %d) = %d, want %d", what, i, got, e.c)
		}
	}
	if got, want := p.FreeSpace(), wal.PageSize-m.used(); got != want {
		t.Fatalf("%s: FreeSpace %d, want %d", what, got, want)
	}
	for range 8 {
		k := randKey(r)
		if got, want := p.ChildFor(k), m.childFor(k); got != want {
			t.Fatalf("%s: ChildFor(%x) = %d, want %d", what, k, got, want)
		}
	}
}

func TestInternalModel(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			p := newInternal(t, 1)
			m := &imodel{leftmost: 1}
			p.SetLeftmostChild(1)
			next := PageID(2)
			splits, full := 0, 0
			for op := range 3000 {
				var what string
				split := false
				switch x := r.IntN(100); {
				case x < 60:
					k := randKey(r)
					i, found := slices.BinarySearchFunc(m.ents, k, func(e ent, k []byte) int { return bytes.Compare(e.k, k) })
					if found {
						continue
					}
					what = fmt.Sprintf("op %d insert %d bytes at %d", op, len(k), i)
					err := p.InsertInternal(i, k, next)
					if m.used()+InternalCellSize(len(k))+SlotSize > wal.PageSize {
						if !errors.Is(err, ErrFull) {
							t.Fatalf("%s: %v, want ErrFull", what, err)
						}
						full++
						split = true
						break
					}
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					m.ents = slices.Insert(m.ents, i, ent{k, next})
					next++
				case x < 80:
					if len(m.ents) == 0 {
						continue
					}
					i := r.IntN(len(m.ents))
					what = fmt.Sprintf("op %d delete %d", op, i)
					p.Delete(i)
					m.ents = slices.Delete(m.ents, i, i+1)
				case x < 90:
					if len(m.ents) == 0 {
						continue
					}
					i := r.IntN(len(m.ents))
					what = fmt.Sprintf("op %d set child %d", op, i)
					p.SetChild(i, next)
					m.ents[i].c = next
					next++
				case x < 93:
					what = fmt.Sprintf("op %d compact", op)
					p.Compact()
				default:
					split = p.FreeSpace() < UsableSize/8 && r.IntN(8) == 0
				}
				verifyInternal(t, what, p, m, r)
				if !split || len(m.ents) < 2 {
					continue
				}
				s := p.SplitPoint()
				what = fmt.Sprintf("op %d split at %d of %d", op, s, len(m.ents))
				right := newInternal(t, 1)
				orig := &imodel{leftmost: m.leftmost, ents: slices.Clone(m.ents)}
				sep := p.MoveTailInternal(right, s)
				splits++
				if !bytes.Equal(sep, orig.ents[s].k) {
					t.Fatalf("%s: separator %x, want %x", what, sep, orig.ents[s].k)
				}
				lm := &imodel{leftmost: orig.leftmost, ents: orig.ents[:s]}
				rm := &imodel{leftmost: orig.ents[s].c, ents: slices.Clone(orig.ents[s+1:])}
				verifyInternal(t, what+" (left)", p, lm, r)
				verifyInternal(t, what+" (right)", right, rm, r)
				// Routing through the pair agrees with the original page.
				for range 50 {
					k := randKey(r)
					got := p.ChildFor(k)
					if bytes.Compare(k, sep) >= 0 {
						got = right.ChildFor(k)
					}
					if want := orig.childFor(k); got != want {
						t.Fatalf("%s: routing %x gives %d, want %d", what, k, got, want)
					}
				}
				switch r.IntN(3) {
				case 0:
					m = lm
				case 1:
					p, m = right, rm
				default: // merge back: pull the separator down, append the right page
					if err := p.InsertInternal(p.NumSlots(), sep, right.LeftmostChild()); err != nil {
						t.Fatalf("%s: merge: %v", what, err)
					}
					if err := right.MoveTail(p, 0); err != nil {
						t.Fatalf("%s: merge: %v", what, err)
					}
					m = orig
				}
				verifyInternal(t, what+" (after)", p, m, r)
			}
			t.Logf("seed %d: %d ErrFull, %d splits", seed, full, splits)
			if full == 0 || splits == 0 {
				t.Error("internal model did not fill or split the page")
			}
		})
	}
}
