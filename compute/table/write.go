package table

import (
	"bytes"
	"context"
	"fmt"

	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
)

// Writes check everything they can before they write anything: a call
// that fails with a DuplicateKeyError, NotNullError, ErrNoRow or
// ErrInvalid has left the transaction's writes as they were (locks it took
// are kept, as in MySQL). Other failures (lock wait timeout, deadlock,
// engine errors) may leave part of a call's writes: roll back the
// statement (engine.Txn.StatementRollback) or the transaction.

// Insert adds a row. It checks the primary key and every UNIQUE index
// race-free: it locks the key (for a unique index, the index value), then
// reads the newest committed state (a locking read) merged with the
// transaction's own writes. A taken key returns a *DuplicateKeyError
// (wrapping ErrDuplicateKey); NULLs never conflict in a unique secondary
// index. NULL in a NOT NULL or primary key column returns a *NotNullError:
// the SQL layer fills defaults and auto-increment values before calling.
// A HiddenPK table gives the row the next row id from the catalog.
func (t *Table) Insert(ctx context.Context, tx *engine.Txn, r Row) error {
	_, err := t.insert(ctx, tx, r)
	return err
}

// InsertRowID is Insert returning the row id the row got in a HiddenPK
// table (0 for a table with a primary key).
func (t *Table) InsertRowID(ctx context.Context, tx *engine.Txn, r Row) (uint64, error) {
	return t.insert(ctx, tx, r)
}

func (t *Table) insert(ctx context.Context, tx *engine.Txn, r Row) (uint64, error) {
	if err := t.checkRow(r); err != nil {
		return 0, err
	}
	val, err := t.encodeRow(r)
	if err != nil {
		return 0, err
	}
	var rowID uint64
	if t.hidden {
		if rowID, err = t.newRowID(ctx, tx); err != nil {
			return 0, err
		}
	}
	key, err := t.pkKey(r, rowID)
	if err != nil {
		return 0, err
	}
	ents, err := t.entries(r, rowID)
	if err != nil {
		return 0, err
	}
	if !t.hidden {
		// Row ids are handed out once: only real keys can collide.
		taken, err := t.pkTaken(ctx, tx, key)
		if err != nil {
			return 0, err
		}
		if taken {
			return 0, t.dupError(t.clustered(), r, rowID)
		}
	}
	for i, ix := range t.indexes[1:] {
		if ix.unique && !ents[i].hasNull {
			if err := t.checkUnique(ctx, tx, ix, &ents[i], r, rowID); err != nil {
				return 0, err
			}
		}
	}
	if err := tx.Put(ctx, t.clustered().id, key, val); err != nil {
		return 0, err
	}
	for i, ix := range t.indexes[1:] {
		if err := tx.Put(ctx, ix.id, ents[i].key, ents[i].val); err != nil {
			return 0, err
		}
	}
	return rowID, nil
}

// newRowID hands out the next row id of a HiddenPK table from the
// catalog's row-id counter (derived from the clustered index when the
// engine opens, separate from any AUTO_INCREMENT column's counter). A
// locking read checks the id is free: a taken id would mean a counter bug,
// and overwriting a row silently is worse than failing the insert.
func (t *Table) newRowID(ctx context.Context, tx *engine.Txn) (uint64, error) {
	id, err := t.cat.NextRowID(ctx, t.def, 1)
	if err != nil {
		return 0, err
	}
	taken, err := t.pkTaken(ctx, tx, keycodec.AppendUint(nil, id))
	if err != nil {
		return 0, err
	}
	if taken {
		return 0, fmt.Errorf("%w: table %s: row id %d is taken", ErrCorrupt, t.def.Name, id)
	}
	return id, nil
}

// entries returns r's entry in every secondary index (in index order,
// starting with Indexes[1]).
func (t *Table) entries(r Row, rowID uint64) ([]entry, error) {
	ents := make([]entry, len(t.indexes)-1)
	for i, ix := range t.indexes[1:] {
		var err error
		if ents[i], err = t.secondaryEntry(ix, r, rowID); err != nil {
			return nil, err
		}
	}
	return ents, nil
}

// Get reads the row whose primary key columns (in primary index order)
// are pk: the transaction's own write, else the version in its snapshot,
// or with a lock mode, after locking the row, the newest committed one.
// For HiddenPK tables use GetByRowID.
func (t *Table) Get(ctx context.Context, tx *engine.Txn, pk []keycodec.Value, mode engine.LockMode) (Row, bool, error) {
	if t.hidden {
		return nil, false, fmt.Errorf("%w: table %s has no primary key; use GetByRowID", ErrInvalid, t.def.Name)
	}
	if len(pk) != len(t.pkCols) {
		return nil, false, fmt.Errorf("%w: %d values for a primary key of %d columns", ErrInvalid, len(pk), len(t.pkCols))
	}
	key, err := t.boundKey(t.clustered(), pk)
	if err != nil {
		return nil, false, err
	}
	return t.get(ctx, tx, key, mode)
}

// GetByRowID reads the row with hidden row id id of a HiddenPK table, as
// Get does.
func (t *Table) GetByRowID(ctx context.Context, tx *engine.Txn, id uint64, mode engine.LockMode) (Row, bool, error) {
	if !t.hidden {
		return nil, false, fmt.Errorf("%w: table %s has a primary key; use Get", ErrInvalid, t.def.Name)
	}
	return t.get(ctx, tx, keycodec.AppendUint(nil, id), mode)
}

func (t *Table) get(ctx context.Context, tx *engine.Txn, key []byte, mode engine.LockMode) (Row, bool, error) {
	b, ok, err := tx.Get(ctx, t.clustered().id, key, mode)
	if err != nil || !ok {
		return nil, false, err
	}
	r, err := t.decodeRow(b)
	if err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// Update replaces the row old with new. old must be the row as read in
// this transaction with a locking read (as MySQL's UPDATE reads), so that
// it is still the newest version; Update locks it and reads it again
// anyway, returns ErrNoRow if it is gone, and maintains the indexes from
// the stored version, so a stale old cannot corrupt them.
//
// It rewrites the clustered entry (a delete and an insert, with the
// duplicate check, if the primary key changed) and, for each secondary
// index whose entry changed, deletes the old entry and inserts the new one
// (with the unique check for a new UNIQUE value). Indexes whose entry is
// unchanged are not touched, and an update that changes nothing writes
// nothing (MySQL counts such a row as matched, not changed; compare the
// rows to tell). For HiddenPK tables use UpdateByRowID.
func (t *Table) Update(ctx context.Context, tx *engine.Txn, old, new Row) error {
	if t.hidden {
		return fmt.Errorf("%w: table %s has no primary key; use UpdateByRowID", ErrInvalid, t.def.Name)
	}
	if len(old) != len(t.kinds) {
		return fmt.Errorf("%w: row of %d values for %d columns of %s", ErrInvalid, len(old), len(t.kinds), t.def.Name)
	}
	oldKey, err := t.pkKey(old, 0)
	if err != nil {
		return err
	}
	return t.update(ctx, tx, oldKey, 0, old, new)
}

// UpdateByRowID is Update for a HiddenPK table: id is the row's id (see
// Rows.RowID), which does not change.
func (t *Table) UpdateByRowID(ctx context.Context, tx *engine.Txn, id uint64, old, new Row) error {
	if !t.hidden {
		return fmt.Errorf("%w: table %s has a primary key; use Update", ErrInvalid, t.def.Name)
	}
	return t.update(ctx, tx, keycodec.AppendUint(nil, id), id, old, new)
}

// change is a secondary index entry an update replaces.
type change struct {
	ix         *index
	old, new   entry
	keyChanged bool
}

func (t *Table) update(ctx context.Context, tx *engine.Txn, oldKey []byte, rowID uint64, old, new Row) error {
	if err := t.checkRow(new); err != nil {
		return err
	}
	newVal, err := t.encodeRow(new)
	if err != nil {
		return err
	}
	newKey := oldKey
	if !t.hidden {
		if newKey, err = t.pkKey(new, rowID); err != nil {
			return err
		}
	}
	cur, stored, err := t.current(ctx, tx, oldKey, old)
	if err != nil {
		return err
	}
	pkChanged := !bytes.Equal(oldKey, newKey)
	if !pkChanged && bytes.Equal(stored, newVal) {
		return nil // nothing changes: nothing to write
	}
	if pkChanged {
		taken, err := t.pkTaken(ctx, tx, newKey)
		if err != nil {
			return err
		}
		if taken {
			return t.dupError(t.clustered(), new, rowID)
		}
	}
	var changes []change
	for _, ix := range t.indexes[1:] {
		oe, err := t.secondaryEntry(ix, cur, rowID)
		if err != nil {
			return err
		}
		ne, err := t.secondaryEntry(ix, new, rowID)
		if err != nil {
			return err
		}
		c := change{ix: ix, old: oe, new: ne, keyChanged: !bytes.Equal(oe.key, ne.key)}
		if !c.keyChanged && bytes.Equal(oe.val, ne.val) {
			continue
		}
		if ix.unique && c.keyChanged && !ne.hasNull {
			// Whoever puts a new key under a unique value holds its lock
			// (see lockUnique), even when the value is the row's own.
			if err := t.lockUnique(ctx, tx, ix, &ne); err != nil {
				return err
			}
			if oe.hasNull || !bytes.Equal(oe.prefix(), ne.prefix()) {
				taken, err := t.uniqueTaken(ctx, tx, ix, &ne)
				if err != nil {
					return err
				}
				if taken {
					return t.dupError(ix, new, rowID)
				}
			}
		}
		changes = append(changes, c)
	}
	if pkChanged {
		if err := tx.Delete(ctx, t.clustered().id, oldKey); err != nil {
			return err
		}
	}
	if err := tx.Put(ctx, t.clustered().id, newKey, newVal); err != nil {
		return err
	}
	for _, c := range changes {
		if c.keyChanged {
			if err := tx.Delete(ctx, c.ix.id, c.old.key); err != nil {
				return err
			}
		}
		if err := tx.Put(ctx, c.ix.id, c.new.key, c.new.val); err != nil {
			return err
		}
	}
	return nil
}

// current locks the row with clustered key key and returns its newest
// version, and its stored bytes: the row is given, if that is what is
// stored (the usual case, no decoding needed), else the stored row
// decoded. It returns ErrNoRow if the row does not exist.
func (t *Table) current(ctx context.Context, tx *engine.Txn, key []byte, given Row) (Row, []byte, error) {
	b, ok, err := tx.Get(ctx, t.clustered().id, key, engine.LockExclusive)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("%w: table %s", ErrNoRow, t.def.Name)
	}
	if len(t.indexes) == 1 {
		return given, b, nil // no secondary entries to find
	}
	if enc, err := t.encodeRow(given); err == nil && bytes.Equal(enc, b) {
		return given, b, nil
	}
	r, err := t.decodeRow(b)
	return r, b, err
}

// Delete removes the row r and its secondary entries. r must be the row
// as read in this transaction with a locking read; Delete locks it and
// reads it again, returns ErrNoRow if it is gone, and removes the
// secondary entries of the stored version. For HiddenPK tables use
// DeleteByRowID.
func (t *Table) Delete(ctx context.Context, tx *engine.Txn, r Row) error {
	if t.hidden {
		return fmt.Errorf("%w: table %s has no primary key; use DeleteByRowID", ErrInvalid, t.def.Name)
	}
	if len(r) != len(t.kinds) {
		return fmt.Errorf("%w: row of %d values for %d columns of %s", ErrInvalid, len(r), len(t.kinds), t.def.Name)
	}
	key, err := t.pkKey(r, 0)
	if err != nil {
		return err
	}
	return t.delete(ctx, tx, key, 0, r)
}

// DeleteByRowID is Delete for a HiddenPK table.
func (t *Table) DeleteByRowID(ctx context.Context, tx *engine.Txn, id uint64, r Row) error {
	if !t.hidden {
		return fmt.Errorf("%w: table %s has a primary key; use Delete", ErrInvalid, t.def.Name)
	}
	return t.delete(ctx, tx, keycodec.AppendUint(nil, id), id, r)
}

func (t *Table) delete(ctx context.Context, tx *engine.Txn, key []byte, rowID uint64, r Row) error {
	cur, _, err := t.current(ctx, tx, key, r)
	if err != nil {
		return err
	}
	ents, err := t.entries(cur, rowID)
	if err != nil {
		return err
	}
	if err := tx.Delete(ctx, t.clustered().id, key); err != nil {
		return err
	}
	for i, ix := range t.indexes[1:] {
		if err := tx.Delete(ctx, ix.id, ents[i].key); err != nil {
			return err
		}
	}
	return nil
}
