package catalog

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
)

// Auto-increment values are handed out from memory on the primary, in
// order, with no gaps for a single client (sysbench's bulk load relies on
// ids 1..N). A counter starts, on first use after the engine opens, at
// one past the largest committed value, found by reading the last entry
// of an index that starts with the column (MySQL requires one). So nothing
// needs persisting: a restarted or promoted primary derives it from data.

type autoInc struct {
	e        *engine.Engine
	mu       sync.Mutex
	counters map[string]*counter
}

type counter struct {
	mu   sync.Mutex
	next uint64 // 0: not loaded yet
}

func newAutoInc(e *engine.Engine) *autoInc {
	return &autoInc{e: e, counters: map[string]*counter{}}
}

// get returns the counter of a table's AUTO_INCREMENT column or, with
// rowID, of its hidden row ids: a table without a primary key may have
// both, and they must not share values.
func (a *autoInc) get(db, name string, rowID bool) *counter {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := db + "\x00" + name
	if rowID {
		k += "\x00rowid"
	}
	c := a.counters[k]
	if c == nil {
		c = &counter{}
		a.counters[k] = c
	}
	return c
}

func (a *autoInc) forget(db, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.counters, db+"\x00"+name)
	delete(a.counters, db+"\x00"+name+"\x00rowid")
}

// NextAutoIncrement reserves n consecutive values of t's AUTO_INCREMENT
// column and returns the first.
func (c *Catalog) NextAutoIncrement(ctx context.Context, t *Table, n uint64) (uint64, error) {
	return c.next(ctx, t, n, false)
}

// NextRowID reserves n consecutive hidden row ids of a table without a
// primary key and returns the first.
func (c *Catalog) NextRowID(ctx context.Context, t *Table, n uint64) (uint64, error) {
	if !t.HiddenPK {
		return 0, fmt.Errorf("%w: table '%s' has a primary key", ErrInvalid, t.Name)
	}
	return c.next(ctx, t, n, true)
}

func (c *Catalog) next(ctx context.Context, t *Table, n uint64, rowID bool) (uint64, error) {
	ctr := c.ai.get(t.Database, t.Name, rowID)
	ctr.mu.Lock()
	defer ctr.mu.Unlock()
	if ctr.next == 0 {
		last, err := c.maxAutoValue(ctx, t, rowID)
		if err != nil {
			return 0, err
		}
		ctr.next = last + 1
	}
	first := ctr.next
	ctr.next += n
	return first, nil
}

// ObserveAutoIncrement moves the counter past an explicitly inserted
// value, as MySQL does.
func (c *Catalog) ObserveAutoIncrement(ctx context.Context, t *Table, v uint64) error {
	ctr := c.ai.get(t.Database, t.Name, false)
	ctr.mu.Lock()
	defer ctr.mu.Unlock()
	if ctr.next == 0 {
		last, err := c.maxAutoValue(ctx, t, false)
		if err != nil {
			return err
		}
		ctr.next = last + 1
	}
	if v >= ctr.next {
		ctr.next = v + 1
	}
	return nil
}

// maxAutoValue reads the largest committed value from the last entry of
// an index led by the auto-increment column, or with rowID of the hidden
// clustered index.
func (c *Catalog) maxAutoValue(ctx context.Context, t *Table, rowID bool) (uint64, error) {
	var ix *Index
	var kt keycodec.ColumnType
	if col := t.AutoIncrementColumn(); col >= 0 && !rowID {
		for i := range t.Indexes {
			if len(t.Indexes[i].Columns) > 0 && strings.EqualFold(t.Indexes[i].Columns[0], t.Columns[col].Name) {
				ix = &t.Indexes[i]
				break
			}
		}
		if ix == nil {
			return 0, fmt.Errorf("%w: incorrect table definition; there can be only one auto column and it must be defined as a key", ErrInvalid)
		}
		kt = t.Columns[col].Type.KeyType()
	} else if t.HiddenPK && rowID {
		ix = &t.Indexes[0]
		kt = keycodec.ColumnType{Kind: keycodec.KindUint}
	} else {
		return 0, fmt.Errorf("%w: table '%s' has no auto-increment column", ErrInvalid, t.Name)
	}
	tx := c.e.Begin(engine.TxnOptions{ReadOnly: true})
	defer tx.Rollback()
	it := tx.Scan(ctx, ix.ID, engine.ScanOptions{Reverse: true})
	if !it.Next(ctx) {
		return 0, it.Err()
	}
	v, _, err := keycodec.DecodeKey(it.Key(), kt)
	if err != nil {
		return 0, fmt.Errorf("catalog: decode auto-increment key: %w", err)
	}
	switch v.Kind {
	case keycodec.KindInt:
		if v.Int < 0 {
			return 0, nil
		}
		return uint64(v.Int), nil
	case keycodec.KindUint:
		return v.Uint, nil
	case keycodec.KindNull:
		return 0, nil
	}
	return 0, fmt.Errorf("%w: auto-increment column of kind %v", ErrInvalid, v.Kind)
}
