package btree

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/polarsql/polar/compute/bufpool"
	"github.com/polarsql/polar/compute/mtr"
	"github.com/polarsql/polar/compute/page"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/wal"
)

// These tests build rare tree shapes by hand, in a pool large enough
// never to evict (its source only ever serves never-written pages), to
// reach paths random operations hardly ever take.

type zeroSource struct{}

func (zeroSource) GetPage(ctx context.Context, id wal.PageID, lsn wal.LSN) (storage.Page, error) {
	return storage.Page{Image: make([]byte, wal.PageSize)}, nil
}

type counterAlloc struct {
	pool  *bufpool.Pool
	next  wal.PageID
	freed []wal.PageID
}

func (a *counterAlloc) Allocate(ctx context.Context, m *mtr.MTR) (wal.PageID, error) {
	a.next++
	return a.next, nil
}

func (a *counterAlloc) Free(ctx context.Context, m *mtr.MTR, id wal.PageID) error {
	a.freed = append(a.freed, id)
	return nil
}

const handOwner = 5

// bigKey is a 1004-byte key: internal pages hold at most 16 separators
// made of such keys.
func bigKey(i int) []byte {
	return fmt.Appendf(bytes.Repeat([]byte{'k'}, 1000), "%04d", i)
}

type handTree struct {
	t     *testing.T
	ctx   context.Context
	pool  *bufpool.Pool
	alloc *counterAlloc
	m     *mtr.MTR
	tree  *Tree
}

func newHandTree(t *testing.T) *handTree {
	pool := bufpool.New(bufpool.Config{Bytes: 1024 * wal.PageSize, Source: zeroSource{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h := &handTree{t: t, ctx: context.Background(), pool: pool, alloc: &counterAlloc{pool: pool, next: 1000}, m: mtr.New()}
	h.tree = Open(pool, 1, h.alloc)
	return h
}

func (h *handTree) page(id wal.PageID, typ page.Type, level uint8) page.Page {
	b, err := h.m.NewPage(h.pool, id)
	if err != nil {
		h.t.Fatal(err)
	}
	p := page.Init(b, typ, level)
	p.SetOwner(handOwner)
	return p
}

// leaves makes leaf pages ids[i] holding bigKey(keys[i]), linked in order.
func (h *handTree) leaves(ids []wal.PageID, keys []int) {
	for i, id := range ids {
		p := h.page(id, page.TypeLeaf, 0)
		if err := p.InsertLeaf(0, bigKey(keys[i]), []byte{valInline, byte(keys[i])}); err != nil {
			h.t.Fatal(err)
		}
		if i > 0 {
			p.SetPrev(ids[i-1])
		}
		if i+1 < len(ids) {
			p.SetNext(ids[i+1])
		}
	}
}

// internal makes an internal page over children[0] (leftmost) and
// children[1:] with separators bigKey(seps[i]).
func (h *handTree) internal(id wal.PageID, level uint8, children []wal.PageID, seps []int) {
	p := h.page(id, page.TypeInternal, level)
	p.SetLeftmostChild(children[0])
	for i, c := range children[1:] {
		if err := p.InsertInternal(i, bigKey(seps[i]), c); err != nil {
			h.t.Fatal(err)
		}
	}
}

func (h *handTree) commit() {
	h.m.Finish(nil, 1)
	h.m.Release()
	h.m = mtr.New()
}

func (h *handTree) keys() []string {
	var out []string
	it := h.tree.Seek(h.ctx, nil)
	for it.Next(h.ctx) {
		out = append(out, string(it.Key()))
	}
	if it.Err() != nil {
		h.t.Fatal(it.Err())
	}
	return out
}

// TestEmptiedInternal: an internal page with no separators (its merges
// failed because both siblings are nearly full) loses its only child; it
// must leave the tree too.
func TestEmptiedInternal(t *testing.T) {
	h := newHandTree(t)
	// Leaves 100..126 hold keys 0..26.
	var ids []wal.PageID
	var keys []int
	for i := 0; i <= 26; i++ {
		ids = append(ids, wal.PageID(100+i))
		keys = append(keys, i)
	}
	h.leaves(ids, keys)
	seq := func(a, b int) []int {
		var out []int
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
		return out
	}
	// W (10) over leaves 0..12, X (11) with only leaf 13, Y (12) over
	// 14..26; root 1 over W, X, Y.
	h.internal(10, 1, ids[0:13], seq(1, 12))
	h.internal(11, 1, ids[13:14], nil)
	h.internal(12, 1, ids[14:27], seq(15, 26))
	h.internal(1, 2, []wal.PageID{10, 11, 12}, []int{13, 14})
	h.commit()
	if err := h.tree.Check(h.ctx); err != nil {
		t.Fatal(err)
	}
	found, err := h.tree.Delete(h.ctx, h.m, bigKey(13))
	if err != nil || !found {
		t.Fatalf("delete: %v %v", found, err)
	}
	h.commit()
	if err := h.tree.Check(h.ctx); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(h.alloc.freed); got != "[0:113 0:11]" {
		t.Fatalf("freed %s, want leaf 113 and internal page 11", got)
	}
	got := h.keys()
	if len(got) != 26 {
		t.Fatalf("%d keys left", len(got))
	}
	for _, k := range got {
		if k == string(bigKey(13)) {
			t.Fatal("deleted key still there")
		}
	}
}

// TestEmptiedRoot: a root with a single child (a shape Put and Delete do
// not leave behind) that loses it becomes an empty leaf.
func TestEmptiedRoot(t *testing.T) {
	h := newHandTree(t)
	h.leaves([]wal.PageID{100}, []int{7})
	h.internal(1, 1, []wal.PageID{100}, nil)
	h.commit()
	if found, err := h.tree.Delete(h.ctx, h.m, bigKey(7)); err != nil || !found {
		t.Fatalf("delete: %v %v", found, err)
	}
	h.commit()
	if err := h.tree.Check(h.ctx); err != nil {
		t.Fatal(err)
	}
	st, err := h.tree.Stats(h.ctx)
	if err != nil || st.Height != 1 || st.Entries != 0 || fmt.Sprint(h.alloc.freed) != "[0:100]" {
		t.Fatalf("stats %+v, err %v, freed %v", st, err, h.alloc.freed)
	}
}

// TestCheckCatches: Check reports broken invariants (not only page-local
// ones).
func TestCheckCatches(t *testing.T) {
	build := func(t *testing.T) *handTree {
		h := newHandTree(t)
		h.leaves([]wal.PageID{100, 101, 102}, []int{1, 2, 3})
		h.internal(1, 1, []wal.PageID{100, 101, 102}, []int{2, 3})
		h.commit()
		if err := h.tree.Check(h.ctx); err != nil {
			t.Fatal(err)
		}
		return h
	}
	cases := map[string]func(h *handTree){
		"broken next link": func(h *handTree) {
			b, _ := h.m.Page(h.ctx, h.pool, 100)
			page.Page(b).SetNext(102)
		},
		"key outside separators": func(h *handTree) {
			b, _ := h.m.Page(h.ctx, h.pool, 101)
			p := page.Page(b)
			_ = p.InsertLeaf(1, bigKey(5), []byte{valInline})
		},
		"wrong owner": func(h *handTree) {
			b, _ := h.m.Page(h.ctx, h.pool, 102)
			page.Page(b).SetOwner(9)
		},
		"empty leaf": func(h *handTree) {
			b, _ := h.m.Page(h.ctx, h.pool, 102)
			page.Page(b).Delete(0)
		},
		"bad value encoding": func(h *handTree) {
			b, _ := h.m.Page(h.ctx, h.pool, 102)
			page.Page(b).Value(0)[0] = 7
		},
		"cycle": func(h *handTree) {
			b, _ := h.m.Page(h.ctx, h.pool, 1)
			page.Page(b).SetLeftmostChild(1)
		},
		"leaves at different depths": func(h *handTree) {
			b, _ := h.m.Page(h.ctx, h.pool, 1)
			page.Page(b).SetLevel(2)
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			h := build(t)
			breakIt(h)
			h.commit()
			if err := h.tree.Check(h.ctx); err == nil {
				t.Fatal("Check passed")
			} else {
				t.Log(err)
			}
		})
	}
}
