package table

import (
	"context"
	"fmt"

	"github.com/polarsql/polar/compute/engine"
)

// buildBatch is how many rows BuildIndex indexes per transaction.
var buildBatch = 1000

// BuildIndex fills secondary index i (a position in the definition's
// Indexes, usually one that catalog.AlterTable just added) from the
// clustered index, in transactions of a bounded number of rows, so
// CREATE INDEX on a populated table neither holds every row's lock nor
// builds one huge commit. Rows are read with shared locks (the newest
// committed version); a UNIQUE index is checked as Insert checks it, and
// duplicate data returns a *DuplicateKeyError. Batches committed before
// an error stay: the caller drops the index (ALTER TABLE without it).
//
// Writers using a Table opened with the new definition may run
// concurrently (they maintain the index themselves); writers using one
// opened before the index existed must not, as they would leave it
// incomplete (the SQL layer holds the table's metadata lock).
func (t *Table) BuildIndex(ctx context.Context, i int) error {
	if i <= 0 || i >= len(t.indexes) {
		return fmt.Errorf("%w: table %s has no secondary index %d", ErrInvalid, t.def.Name, i)
	}
	ix := t.indexes[i]
	var from []byte
	for {
		n, next, err := t.buildBatch(ctx, ix, from)
		if err != nil {
			return err
		}
		if n < buildBatch {
			return nil
		}
		from = next
	}
}

// buildBatch indexes up to buildBatch rows from clustered key from on, in
// one transaction. It returns how many it indexed and where the next
// batch starts.
func (t *Table) buildBatch(ctx context.Context, ix *index, from []byte) (int, []byte, error) {
	tx := t.e.Begin(engine.TxnOptions{})
	defer tx.Rollback()
	it := tx.Scan(ctx, t.clustered().id, engine.ScanOptions{Lo: from, Lock: engine.LockShared})
	n := 0
	var next []byte
	for n < buildBatch && it.Next(ctx) {
		r, rowID, err := t.decodeEntry(ctx, tx, t.clustered(), it.Key(), it.Value(), ScanOptions{})
		if err != nil {
			return 0, nil, err
		}
		e, err := t.secondaryEntry(ix, r, rowID)
		if err != nil {
			return 0, nil, err
		}
		if ix.unique && !e.hasNull {
			if err := t.checkUnique(ctx, tx, ix, &e, r, rowID); err != nil {
				return 0, nil, err
			}
		}
		if err := tx.Put(ctx, ix.id, e.key, e.val); err != nil {
			return 0, nil, err
		}
		// key ‖ 0x00 is the smallest key after key.
		next = append(append(next[:0:0], it.Key()...), 0)
		n++
	}
	if err := it.Err(); err != nil {
		return 0, nil, err
	}
	if n == 0 {
		return 0, nil, nil
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, nil, err
	}
	return n, next, nil
}
