package table

import (
	"context"
	"fmt"

	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/row"
)

// Bound is one end of a scan range: a tuple of key values that may be
// shorter than the index key, so it bounds a prefix range. On an index on
// (a, b), Lo = {(5), Inclusive} starts at the first row with a >= 5,
// Lo = {(5), exclusive} at the first with a > 5, Hi = {(5, 7), Inclusive}
// ends after the last with (a, b) <= (5, 7). Values are in the index's
// key column order: the index's own columns, then (for a secondary index)
// the primary key columns or, in a HiddenPK table, the row id (a
// KindUint). A NULL value bounds at NULL, which sorts before every value:
// for `a < 5` a secondary scan needs Lo = {(NULL), exclusive} to skip
// NULLs. Strings compare by the column's collation.
type Bound struct {
	Values    []keycodec.Value
	Inclusive bool
}

// ScanOptions selects an index and a range.
type ScanOptions struct {
	// Index is the position in the definition's Indexes (0 = clustered).
	Index int
	// Lo and Hi bound the range; nil is unbounded.
	Lo, Hi *Bound
	// Reverse returns rows in descending key order.
	Reverse bool
	// Lock makes the scan a locking read: every row returned is locked
	// (on a secondary index, its index entry, then its clustered row) and
	// read in its newest committed version. No gap locks are taken.
	Lock engine.LockMode
	// KeyOnly, on a secondary index, returns only the index and primary
	// key columns from the index entry, without reading the clustered row
	// (an index-only scan); the other columns are NULL. Ignored for the
	// clustered index.
	KeyOnly bool
	// Transient lets Rows reuse one row for every call of Next: a row
	// (the slice, not the bytes its strings point to, which stay valid)
	// is only good until the next call. Readers that copy each row out,
	// like a SELECT's join, save a row allocation per row.
	Transient bool
}

// Scan iterates over rows through an index in key order (a secondary
// index's entries are ordered by the index columns, then the primary key).
// Rows from a secondary index are read from the clustered index at the
// same snapshot, or with the same lock mode for a locking scan. The
// transaction's own writes are included.
//
//	rows := t.Scan(ctx, tx, table.ScanOptions{Index: 1, Lo: &table.Bound{Values: []keycodec.Value{keycodec.IntValue(5)}, Inclusive: true}})
//	for rows.Next(ctx) {
//		use(rows.Row())
//	}
//	if err := rows.Err(); err != nil { … }
//
// A point lookup on a unique secondary index is a scan with Lo == Hi,
// both inclusive.
func (t *Table) Scan(ctx context.Context, tx *engine.Txn, opts ScanOptions) *Rows {
	rs := &Rows{t: t, tx: tx, opts: opts}
	if opts.Index < 0 || opts.Index >= len(t.indexes) {
		rs.err = fmt.Errorf("%w: table %s has no index %d", ErrInvalid, t.def.Name, opts.Index)
		return rs
	}
	ix := t.indexes[opts.Index]
	rs.ix = ix
	eo := engine.ScanOptions{Reverse: opts.Reverse, Lock: opts.Lock}
	if b := opts.Lo; b != nil {
		k, err := t.boundKey(ix, b.Values)
		if err != nil {
			rs.err = err
			return rs
		}
		if !b.Inclusive {
			// Past every key that starts with k. Nothing is past the
			// empty prefix, and a non-empty key starts with a flag byte
			// below 0xFF, so PrefixEnd is nil only then.
			if k = keycodec.PrefixEnd(k); k == nil {
				rs.done = true
				return rs
			}
		}
		if len(k) > 0 {
			eo.Lo = k
		}
	}
	if b := opts.Hi; b != nil {
		k, err := t.boundKey(ix, b.Values)
		if err != nil {
			rs.err = err
			return rs
		}
		if b.Inclusive {
			k = keycodec.PrefixEnd(k) // nil (unbounded) for the empty prefix
		} else if len(k) == 0 {
			rs.done = true // before the empty prefix: nothing
			return rs
		}
		eo.Hi = k
	}
	rs.it = tx.Scan(ctx, ix.id, eo)
	return rs
}

// boundKey encodes a tuple of an index's key values (a prefix of its key
// columns).
func (t *Table) boundKey(ix *index, vals []keycodec.Value) ([]byte, error) {
	if len(vals) > len(ix.keyTypes) {
		return nil, fmt.Errorf("%w: %d values for index %s of %d key columns", ErrInvalid, len(vals), ix.name, len(ix.keyTypes))
	}
	var k []byte
	for p, v := range vals {
		var err error
		if k, err = keycodec.AppendKey(k, ix.keyTypes[p], v); err != nil {
			return nil, fmt.Errorf("table %s: index %s: key value %d: %w", t.def.Name, ix.name, p, err)
		}
	}
	return k, nil
}

// Rows is an iterator over the rows of a Scan.
type Rows struct {
	t     *Table
	tx    *engine.Txn
	opts  ScanOptions
	ix    *index
	it    *engine.Iterator
	row   Row
	rowID uint64
	done  bool
	err   error
	arena []keycodec.Value // rows of shared decodes are carved from it
}

// Next moves to the next row; it returns false at the end of the range or
// on an error (see Err).
func (r *Rows) Next(ctx context.Context) bool {
	r.row = nil
	if r.err != nil || r.done {
		return false
	}
	if !r.it.Next(ctx) {
		r.err = r.it.Err()
		r.done = true
		return false
	}
	var err error
	if r.ix == r.t.clustered() && !r.t.hidden && r.opts.Lock == engine.NoLock {
		// The common case, decoded without copies: the iterator's entries
		// are never overwritten, and rows come from a shared chunk.
		n := len(r.t.kinds)
		if r.opts.Transient {
			r.arena = r.arena[:0]
		}
		if len(r.arena)+n > cap(r.arena) {
			chunk := 32 * n
			if r.opts.Transient {
				chunk = n
			}
			r.arena = make([]keycodec.Value, 0, chunk)
		}
		row, err := r.t.decodeRowShared(r.arena[len(r.arena):len(r.arena):len(r.arena)+n], r.it.Value())
		if err != nil {
			r.err = err
			return false
		}
		r.arena = r.arena[:len(r.arena)+n]
		r.row = row[:n:n]
		return true
	}
	if r.row, r.rowID, err = r.t.decodeEntry(ctx, r.tx, r.ix, r.it.Key(), r.it.Value(), r.opts); err != nil {
		r.err = err
		r.row = nil
		return false
	}
	return true
}

// Row returns the current row. It is the caller's, and later calls do not
// change it, unless the scan is Transient.
func (r *Rows) Row() Row { return r.row }

// RowID returns the current row's hidden row id in a HiddenPK table (0
// otherwise).
func (r *Rows) RowID() uint64 { return r.rowID }

// Err returns the error that ended the scan, if any.
func (r *Rows) Err() error { return r.err }

// decodeEntry turns an index entry into a row.
func (t *Table) decodeEntry(ctx context.Context, tx *engine.Txn, ix *index, key, val []byte, opts ScanOptions) (Row, uint64, error) {
	var rowID uint64
	if ix == t.clustered() {
		if t.hidden {
			id, _, err := keycodec.DecodeUint(key)
			if err != nil {
				return nil, 0, fmt.Errorf("%w: table %s: row id: %w", ErrCorrupt, t.def.Name, err)
			}
			rowID = id
		}
		rw, err := t.decodeRow(val)
		return rw, rowID, err
	}
	if opts.KeyOnly {
		return t.decodeKeyOnly(ix, key, val)
	}
	pk := key
	for p := 0; p < ix.ncols; p++ {
		var err error
		if pk, err = keycodec.Skip(pk, ix.keyTypes[p]); err != nil {
			return nil, 0, fmt.Errorf("%w: table %s: index %s: %w", ErrCorrupt, t.def.Name, ix.name, err)
		}
	}
	if t.hidden {
		id, _, err := keycodec.DecodeUint(pk)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: table %s: index %s: row id: %w", ErrCorrupt, t.def.Name, ix.name, err)
		}
		rowID = id
	}
	b, ok, err := tx.Get(ctx, t.clustered().id, pk, opts.Lock)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, fmt.Errorf("%w: table %s: index %s has an entry %x whose row is missing", ErrCorrupt, t.def.Name, ix.name, key)
	}
	rw, err := t.decodeRow(b)
	return rw, rowID, err
}

// decodeKeyOnly decodes a secondary entry's key columns into a row whose
// other columns are NULL; lossy string columns come from the entry value.
func (t *Table) decodeKeyOnly(ix *index, key, val []byte) (Row, uint64, error) {
	rw := make(Row, len(t.kinds))
	var rowID uint64
	rest := key
	for p, c := range ix.keyCols {
		v, r, err := keycodec.DecodeKey(rest, ix.keyTypes[p])
		if err != nil {
			return nil, 0, fmt.Errorf("%w: table %s: index %s: %w", ErrCorrupt, t.def.Name, ix.name, err)
		}
		rest = r
		if c == rowIDCol {
			rowID = v.Uint
		} else {
			rw[c] = v
		}
	}
	if len(rest) != 0 {
		return nil, 0, fmt.Errorf("%w: table %s: index %s: %d bytes after the key", ErrCorrupt, t.def.Name, ix.name, len(rest))
	}
	if len(ix.lossy) > 0 {
		_, vals, err := row.Decode(val, ix.lossyKinds)
		if err != nil || len(vals) != len(ix.lossy) {
			return nil, 0, fmt.Errorf("%w: table %s: index %s: entry value: %v", ErrCorrupt, t.def.Name, ix.name, err)
		}
		for j, p := range ix.lossy {
			rw[ix.keyCols[p]] = vals[j]
		}
	}
	return rw, rowID, nil
}
