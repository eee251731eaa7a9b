package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/row"
)

// Row is one table row: one value per catalog column, in column order. A
// HiddenPK table's row id is not part of it (see Rows.RowID).
type Row = []keycodec.Value

var (
	// ErrDuplicateKey is wrapped by *DuplicateKeyError (MySQL error 1062).
	ErrDuplicateKey = errors.New("table: duplicate key")
	// ErrNotNull is wrapped by *NotNullError (MySQL error 1048).
	ErrNotNull = errors.New("table: column cannot be null")
	// ErrNoRow: the row given to Update or Delete does not exist (any
	// more). Rows to change must come from a locking read (or a write) of
	// the same transaction, which guarantees they still exist.
	ErrNoRow = errors.New("table: row not found")
	// ErrCorrupt: an index and the clustered index disagree, or stored
	// bytes do not decode. It is an internal error, never a user error.
	ErrCorrupt = errors.New("table: corrupt index")
	// ErrInvalid: a call does not fit the table (wrong number of key
	// values, index out of range, row id call on a table with a primary
	// key or the other way round, definition that does not resolve).
	ErrInvalid = errors.New("table: invalid argument")
)

// DuplicateKeyError reports a row whose primary key or UNIQUE index key is
// taken. It wraps ErrDuplicateKey; its message is MySQL's (error 1062).
type DuplicateKeyError struct {
	Table string // table name
	Index string // index name ("PRIMARY" for the primary key)
	Key   string // MySQL-style text of the key values, joined by '-': "1", "a-b"
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("Duplicate entry '%s' for key '%s.%s'", e.Key, e.Table, e.Index)
}

// Unwrap returns ErrDuplicateKey.
func (e *DuplicateKeyError) Unwrap() error { return ErrDuplicateKey }

// NotNullError reports NULL given for a NOT NULL (or primary key) column.
// It wraps ErrNotNull; its message is MySQL's (error 1048).
type NotNullError struct {
	Column string
}

func (e *NotNullError) Error() string { return fmt.Sprintf("Column '%s' cannot be null", e.Column) }

// Unwrap returns ErrNotNull.
func (e *NotNullError) Unwrap() error { return ErrNotNull }

// rowIDCol marks the hidden row id among an index's key columns.
const rowIDCol = -1

// rowIDType is the key type of the hidden row id.
var rowIDType = keycodec.ColumnType{Kind: keycodec.KindUint}

// index is an index of the table with everything precomputed.
type index struct {
	def    *catalog.Index
	id     engine.IndexID
	name   string
	unique bool // a UNIQUE secondary index (the clustered index is checked separately)
	// ncols is the number of the index's own columns; keyCols[:ncols]
	// are they, keyCols[ncols:] the primary key columns (or rowIDCol)
	// appended to secondary keys. For the clustered index ncols ==
	// len(keyCols).
	ncols    int
	keyCols  []int
	keyTypes []keycodec.ColumnType
	// lossy lists the positions in keyCols of columns whose key encoding
	// does not give the original value back (strings of a non-binary
	// collation: general_ci keys hold weights, PAD SPACE keys drop
	// trailing spaces). A secondary entry's value holds their originals,
	// row-encoded with lossyKinds, so index-only scans return them.
	lossy      []int
	lossyKinds []keycodec.Kind
}

// Table is a table opened for reading and writing rows. It is safe for
// concurrent use by many transactions; it caches the definition it was
// opened with, so open it again after DDL changes the table.
type Table struct {
	e       *engine.Engine
	cat     *catalog.Catalog
	def     *catalog.Table
	kinds   []keycodec.Kind
	version uint32
	hidden  bool
	pkCols  []int // ordinals of the primary key columns (nil with a hidden PK)
	indexes []*index
	notNull []bool // NOT NULL or part of the primary key
}

// Open prepares def (as returned by the catalog) for row access: it
// resolves index columns, column kinds and key types once. cat hands out
// the row ids of a HiddenPK table.
func Open(e *engine.Engine, cat *catalog.Catalog, def *catalog.Table) (*Table, error) {
	if len(def.Indexes) == 0 {
		return nil, fmt.Errorf("%w: table %s has no clustered index", ErrInvalid, def.Name)
	}
	t := &Table{e: e, cat: cat, def: def, version: def.Version, hidden: def.HiddenPK}
	t.kinds = make([]keycodec.Kind, len(def.Columns))
	keyTypes := make([]keycodec.ColumnType, len(def.Columns))
	t.notNull = make([]bool, len(def.Columns))
	for i, c := range def.Columns {
		t.kinds[i] = c.Type.Kind()
		keyTypes[i] = c.Type.KeyType()
		t.notNull[i] = c.NotNull
	}
	resolve := func(ix *catalog.Index) ([]int, error) {
		cols := make([]int, len(ix.Columns))
		for j, name := range ix.Columns {
			if cols[j] = def.Column(name); cols[j] < 0 {
				return nil, fmt.Errorf("%w: index %s of %s: no column %s", ErrInvalid, ix.Name, def.Name, name)
			}
		}
		return cols, nil
	}
	if !t.hidden {
		cols, err := resolve(&def.Indexes[0])
		if err != nil {
			return nil, err
		}
		if len(cols) == 0 {
			return nil, fmt.Errorf("%w: primary key of %s has no columns", ErrInvalid, def.Name)
		}
		t.pkCols = cols
		for _, c := range cols {
			t.notNull[c] = true
		}
	}
	pkSuffix := t.pkCols
	if t.hidden {
		pkSuffix = []int{rowIDCol}
	}
	for i := range def.Indexes {
		d := &def.Indexes[i]
		ix := &index{def: d, id: d.ID, name: d.Name}
		if i == 0 {
			ix.keyCols = pkSuffix
			if ix.name == "" {
				ix.name = "PRIMARY"
			}
		} else {
			cols, err := resolve(d)
			if err != nil {
				return nil, err
			}
			ix.unique = d.Unique
			ix.keyCols = append(cols, pkSuffix...)
		}
		ix.ncols = len(ix.keyCols)
		if i > 0 {
			ix.ncols = len(d.Columns)
		}
		for p, c := range ix.keyCols {
			kt := rowIDType
			if c != rowIDCol {
				kt = keyTypes[c]
			}
			ix.keyTypes = append(ix.keyTypes, kt)
			if i > 0 && kt.Kind == keycodec.KindString && kt.Collation != keycodec.CollationBinary {
				ix.lossy = append(ix.lossy, p)
				ix.lossyKinds = append(ix.lossyKinds, keycodec.KindString)
			}
		}
		t.indexes = append(t.indexes, ix)
	}
	return t, nil
}

// Def returns the definition the table was opened with (shared: do not
// modify it).
func (t *Table) Def() *catalog.Table { return t.def }

func (t *Table) clustered() *index { return t.indexes[0] }

// checkRow checks a row's shape and NOT NULL columns before a write.
func (t *Table) checkRow(r Row) error {
	if len(r) != len(t.kinds) {
		return fmt.Errorf("%w: row of %d values for %d columns of %s", ErrInvalid, len(r), len(t.kinds), t.def.Name)
	}
	for i, nn := range t.notNull {
		if nn && r[i].Kind == keycodec.KindNull {
			return &NotNullError{Column: t.def.Columns[i].Name}
		}
	}
	return nil
}

// encodeRow returns the clustered value of r.
func (t *Table) encodeRow(r Row) ([]byte, error) {
	b, err := row.Encode(nil, t.version, t.kinds, r)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.def.Name, err)
	}
	return b, nil
}

// decodeRow decodes a clustered value. Columns added after the row was
// written (ALTER TABLE … ADD COLUMN) read as NULL.
func (t *Table) decodeRow(b []byte) (Row, error) {
	r, err := t.decodeRowShared(make([]keycodec.Value, 0, len(t.kinds)), b)
	row.Detach(r) // rows outlive the buffers they were read from
	return r, err
}

// decodeRowShared decodes into dst's storage with strings aliasing b: for
// buffers that are never overwritten (a scan's iterator batches).
func (t *Table) decodeRowShared(dst []keycodec.Value, b []byte) (Row, error) {
	_, vals, err := row.DecodeInto(dst, b, t.kinds)
	if err != nil {
		return nil, fmt.Errorf("%w: table %s: %w", ErrCorrupt, t.def.Name, err)
	}
	for len(vals) < len(t.kinds) {
		vals = append(vals, keycodec.Value{})
	}
	return vals, nil
}

// appendKey appends the key of index ix for row r (hidden row id rowID)
// to dst. It also returns the length of the index's own columns (the
// unique prefix) and whether any of them is NULL.
func (t *Table) appendKey(dst []byte, ix *index, r Row, rowID uint64) (key []byte, prefixLen int, hasNull bool, err error) {
	key = dst
	for p, c := range ix.keyCols {
		if p == ix.ncols {
			prefixLen = len(key)
		}
		if c == rowIDCol {
			key = keycodec.AppendUint(key, rowID)
			continue
		}
		if p < ix.ncols && r[c].Kind == keycodec.KindNull {
			hasNull = true
		}
		if key, err = keycodec.AppendKey(key, ix.keyTypes[p], r[c]); err != nil {
			return nil, 0, false, fmt.Errorf("table %s: index %s: column %s: %w", t.def.Name, ix.name, t.def.Columns[c].Name, err)
		}
	}
	if ix.ncols == len(ix.keyCols) {
		prefixLen = len(key)
	}
	return key, prefixLen, hasNull, nil
}

// pkKey returns the clustered key of r.
func (t *Table) pkKey(r Row, rowID uint64) ([]byte, error) {
	k, _, _, err := t.appendKey(nil, t.clustered(), r, rowID)
	return k, err
}

// entry is one secondary index entry of a row.
type entry struct {
	key       []byte
	val       []byte
	prefixLen int  // length of the index columns' encoding in key
	hasNull   bool // an index column is NULL: never a unique conflict
}

func (e *entry) prefix() []byte { return e.key[:e.prefixLen] }

// secondaryEntry returns the entry of secondary index ix for row r.
func (t *Table) secondaryEntry(ix *index, r Row, rowID uint64) (entry, error) {
	key, pl, null, err := t.appendKey(nil, ix, r, rowID)
	if err != nil {
		return entry{}, err
	}
	e := entry{key: key, prefixLen: pl, hasNull: null}
	if len(ix.lossy) > 0 {
		vals := make([]keycodec.Value, len(ix.lossy))
		for j, p := range ix.lossy {
			vals[j] = r[ix.keyCols[p]]
		}
		if e.val, err = row.Encode(nil, 0, ix.lossyKinds, vals); err != nil {
			return entry{}, fmt.Errorf("table %s: index %s: %w", t.def.Name, ix.name, err)
		}
	} else {
		e.val = []byte{}
	}
	return e, nil
}

// keyText is MySQL's text of a duplicate key: the values of the index's
// own columns joined by '-'.
func (t *Table) keyText(ix *index, r Row, rowID uint64) string {
	var sb strings.Builder
	for p := 0; p < ix.ncols; p++ {
		if p > 0 {
			sb.WriteByte('-')
		}
		c := ix.keyCols[p]
		if c == rowIDCol {
			sb.WriteString(strconv.FormatUint(rowID, 10))
			continue
		}
		sb.WriteString(valueText(r[c], t.def.Columns[c].Type.Fsp))
	}
	return sb.String()
}

// valueText formats a value as MySQL prints it in messages; fsp is the
// fractional second digits of a DATETIME or TIMESTAMP column.
func valueText(v keycodec.Value, fsp int) string {
	switch v.Kind {
	case keycodec.KindNull:
		return "NULL"
	case keycodec.KindInt:
		return strconv.FormatInt(v.Int, 10)
	case keycodec.KindUint:
		return strconv.FormatUint(v.Uint, 10)
	case keycodec.KindFloat:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case keycodec.KindDecimal:
		return v.Dec.String()
	case keycodec.KindString:
		return string(v.Str)
	case keycodec.KindDate:
		return v.Time.String()[:10]
	default:
		s := v.Time.String()
		if fsp <= 0 {
			return s[:19]
		}
		return s[:min(20+fsp, len(s))]
	}
}

func (t *Table) dupError(ix *index, r Row, rowID uint64) error {
	return &DuplicateKeyError{Table: t.def.Name, Index: ix.name, Key: t.keyText(ix, r, rowID)}
}

// checkPrimary locks the clustered key and reports whether a row has it
// (the newest committed version, or this transaction's own write).
func (t *Table) pkTaken(ctx context.Context, tx *engine.Txn, key []byte) (bool, error) {
	_, ok, err := tx.Get(ctx, t.clustered().id, key, engine.LockExclusive)
	return ok, err
}

// lockUnique takes the exclusive lock on a unique index value. Every
// transaction that puts an entry with a new key into a unique index holds
// it, so a check made under it cannot race with another writer of the
// same value. (The lock key, index id ‖ value prefix, never equals an
// entry's lock key, index id ‖ prefix ‖ pk: key encodings are prefix-free.)
func (t *Table) lockUnique(ctx context.Context, tx *engine.Txn, ix *index, e *entry) error {
	return tx.Lock(ctx, ix.id, e.prefix(), engine.LockExclusive)
}

// uniqueTaken reports whether a live entry other than own has e's unique
// prefix, reading the newest committed state (and this transaction's
// writes) with shared locks on what it finds. The caller holds the
// prefix lock.
func (t *Table) uniqueTaken(ctx context.Context, tx *engine.Txn, ix *index, e *entry) (bool, error) {
	p := e.prefix()
	it := tx.Scan(ctx, ix.id, engine.ScanOptions{Lo: p, Hi: keycodec.PrefixEnd(p), Lock: engine.LockShared})
	for it.Next(ctx) {
		if !bytes.Equal(it.Key(), e.key) {
			return true, nil
		}
	}
	return false, it.Err()
}

// checkUnique locks e's unique value and fails with a DuplicateKeyError
// if another row has it.
func (t *Table) checkUnique(ctx context.Context, tx *engine.Txn, ix *index, e *entry, r Row, rowID uint64) error {
	if err := t.lockUnique(ctx, tx, ix, e); err != nil {
		return err
	}
	taken, err := t.uniqueTaken(ctx, tx, ix, e)
	if err != nil {
		return err
	}
	if taken {
		return t.dupError(ix, r, rowID)
	}
	return nil
}
