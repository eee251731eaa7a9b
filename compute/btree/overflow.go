package btree

import (
	"context"

	"github.com/polarsql/polar/compute/mtr"
	"github.com/polarsql/polar/compute/page"
	"github.com/polarsql/polar/wal"
)

// writeChain stores val in a chain of new overflow pages tagged with owner
// and returns the first page.
func (t *Tree) writeChain(ctx context.Context, m *mtr.MTR, val []byte, owner uint64) (wal.PageID, error) {
	n := (len(val) + page.OverflowCapacity - 1) / page.OverflowCapacity
	ids := make([]wal.PageID, n)
	for i := range ids {
		id, err := t.allocate(ctx, m)
		if err != nil {
			return 0, err
		}
		ids[i] = id
	}
	for i, id := range ids {
		b, err := m.NewPage(t.pool, id)
		if err != nil {
			return 0, err
		}
		p := page.InitOverflow(b)
		p.SetOwner(owner)
		if err := p.SetOverflowData(val[i*page.OverflowCapacity : min((i+1)*page.OverflowCapacity, len(val))]); err != nil {
			return 0, err
		}
		if i+1 < n {
			p.SetNextOverflow(ids[i+1])
		}
	}
	return ids[0], nil
}

// chainPages lists the pages of an overflow chain, read without latches
// (writer only).
func (t *Tree) chainPages(ctx context.Context, d decoded) ([]wal.PageID, error) {
	want := (d.total + page.OverflowCapacity - 1) / page.OverflowCapacity
	ids := make([]wal.PageID, 0, want)
	for id := d.first; id != 0; {
		if len(ids) >= want {
			return nil, corrupt("overflow chain from %v longer than %d pages", d.first, want)
		}
		f, err := t.pool.Fetch(ctx, id)
		if err != nil {
			return nil, err
		}
		p := page.Page(f.Data())
		typ, next := p.Type(), p.NextOverflow()
		f.Release()
		if typ != page.TypeOverflow {
			return nil, corrupt("overflow chain from %v: page %v is a %v page", d.first, id, typ)
		}
		ids = append(ids, id)
		id = next
	}
	if len(ids) != want {
		return nil, corrupt("overflow chain from %v has %d pages, want %d", d.first, len(ids), want)
	}
	return ids, nil
}

// freeChain takes the pages of an overflow chain into m (in chain order,
// after the leaf that referenced them) and gives them to the allocator.
func (t *Tree) freeChain(ctx context.Context, m *mtr.MTR, ids []wal.PageID) error {
	for _, id := range ids {
		if _, err := m.Page(ctx, t.pool, id); err != nil {
			return err
		}
		if err := t.free(ctx, m, id); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tree) allocate(ctx context.Context, m *mtr.MTR) (wal.PageID, error) {
	if t.alloc == nil {
		return 0, errNoAllocator
	}
	id, err := t.alloc.Allocate(ctx, m)
	if err != nil {
		return 0, err
	}
	if id == 0 || id == t.root {
		return 0, corrupt("allocator returned page %v", id)
	}
	return id, nil
}

func (t *Tree) free(ctx context.Context, m *mtr.MTR, id wal.PageID) error {
	if t.alloc == nil {
		return errNoAllocator
	}
	return t.alloc.Free(ctx, m, id)
}
