// Package catalog keeps a Polar database's schema — databases, tables,
// columns, indexes — in the engine's own catalog index, so every compute
// node reading the same storage sees the same catalog. It also hands out
// auto-increment values on the primary.
//
// Entries are JSON values under prefix-free keys:
//
//	"D" ‖ db              → Database
//	"T" ‖ db ‖ table      → Table
//	"N"                   → next table id (u64)
//
// DDL runs in its own engine transaction (MySQL's DDL commits implicitly)
// and bumps the in-memory schema generation, which invalidates cached
// definitions.
package catalog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
)

var (
	// ErrDatabaseExists is MySQL error 1007.
	ErrDatabaseExists = errors.New("catalog: database exists")
	// ErrNoDatabase is MySQL error 1049.
	ErrNoDatabase = errors.New("catalog: unknown database")
	// ErrTableExists is MySQL error 1050.
	ErrTableExists = errors.New("catalog: table already exists")
	// ErrNoTable is MySQL error 1146.
	ErrNoTable = errors.New("catalog: table doesn't exist")
	// ErrInvalid covers malformed definitions.
	ErrInvalid = errors.New("catalog: invalid definition")
)

// Database is a schema.
type Database struct {
	Name      string `json:"name"`
	Charset   string `json:"charset,omitempty"`
	Collation string `json:"collation,omitempty"`
}

// ColumnType is a column's SQL type.
type ColumnType struct {
	// Name is the canonical lower-case MySQL type name: tinyint,
	// smallint, mediumint, int, bigint, decimal, float, double, char,
	// varchar, text, blob, binary, varbinary, date, datetime, timestamp.
	Name      string `json:"name"`
	Unsigned  bool   `json:"unsigned,omitempty"`
	Length    int    `json:"length,omitempty"`    // chars (char/varchar), bytes (binary), display width (ints)
	Precision int    `json:"precision,omitempty"` // decimal
	Scale     int    `json:"scale,omitempty"`     // decimal
	Fsp       int    `json:"fsp,omitempty"`       // datetime/timestamp fractional digits
	Charset   string `json:"charset,omitempty"`
	Collation string `json:"collation,omitempty"` // "binary", "utf8mb4_bin", "utf8mb4_general_ci"
}

// Kind returns the value kind the engine stores for the type.
func (t ColumnType) Kind() keycodec.Kind {
	switch t.Name {
	case "tinyint", "smallint", "mediumint", "int", "bigint":
		if t.Unsigned {
			return keycodec.KindUint
		}
		return keycodec.KindInt
	case "float", "double":
		return keycodec.KindFloat
	case "decimal":
		return keycodec.KindDecimal
	case "date":
		return keycodec.KindDate
	case "datetime":
		return keycodec.KindDateTime
	case "timestamp":
		return keycodec.KindTimestamp
	}
	return keycodec.KindString
}

// KeyType returns the type used to encode the column in index keys.
func (t ColumnType) KeyType() keycodec.ColumnType {
	kt := keycodec.ColumnType{Kind: t.Kind()}
	if kt.Kind == keycodec.KindString {
		switch {
		case t.Name == "binary" || t.Name == "varbinary" || t.Name == "blob" || t.Collation == "binary":
			kt.Collation = keycodec.CollationBinary
		case strings.HasSuffix(t.Collation, "_bin"):
			kt.Collation = keycodec.CollationUTF8MB4Bin
		default:
			kt.Collation = keycodec.CollationUTF8MB4GeneralCI
		}
	}
	return kt
}

// Column is a table column.
type Column struct {
	Name          string     `json:"name"`
	Type          ColumnType `json:"type"`
	NotNull       bool       `json:"not_null,omitempty"`
	HasDefault    bool       `json:"has_default,omitempty"`
	Default       *string    `json:"default,omitempty"` // SQL text of the default; nil with HasDefault = DEFAULT NULL
	AutoIncrement bool       `json:"auto_increment,omitempty"`
	Comment       string     `json:"comment,omitempty"`
}

// Index is an index of a table. The primary index (first in
// Table.Indexes) is clustered: its entries hold the rows. Secondary index
// keys are the index columns followed by the primary key columns.
type Index struct {
	Name    string         `json:"name"`
	ID      engine.IndexID `json:"id"`
	Columns []string       `json:"columns"`
	Unique  bool           `json:"unique,omitempty"`
	Primary bool           `json:"primary,omitempty"`
}

// Table is a table definition.
type Table struct {
	ID       uint64   `json:"id"`
	Database string   `json:"database"`
	Name     string   `json:"name"`
	Columns  []Column `json:"columns"`
	Indexes  []Index  `json:"indexes"`
	// HiddenPK: the table has no primary key; rows are keyed by a hidden
	// auto-increment row id.
	HiddenPK  bool   `json:"hidden_pk,omitempty"`
	Version   uint32 `json:"version"`
	Engine    string `json:"engine,omitempty"`
	Charset   string `json:"charset,omitempty"`
	Collation string `json:"collation,omitempty"`
	Comment   string `json:"comment,omitempty"`
}

// Column returns the ordinal of a column (case-insensitive), or -1.
func (t *Table) Column(name string) int {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return i
		}
	}
	return -1
}

// Primary returns the clustered index.
func (t *Table) Primary() *Index { return &t.Indexes[0] }

// AutoIncrementColumn returns the ordinal of the AUTO_INCREMENT column, or
// -1.
func (t *Table) AutoIncrementColumn() int {
	for i := range t.Columns {
		if t.Columns[i].AutoIncrement {
			return i
		}
	}
	return -1
}

// validate checks a definition before it is stored.
func (t *Table) validate() error {
	if t.Name == "" || t.Database == "" {
		return fmt.Errorf("%w: table needs a name and a database", ErrInvalid)
	}
	if len(t.Columns) == 0 {
		return fmt.Errorf("%w: table %s has no columns", ErrInvalid, t.Name)
	}
	seen := map[string]bool{}
	autoInc := 0
	for _, c := range t.Columns {
		l := strings.ToLower(c.Name)
		if seen[l] {
			return fmt.Errorf("%w: duplicate column name '%s'", ErrInvalid, c.Name)
		}
		seen[l] = true
		if c.AutoIncrement {
			autoInc++
		}
	}
	if autoInc > 1 {
		return fmt.Errorf("%w: there can be only one auto column", ErrInvalid)
	}
	names := map[string]bool{}
	for i, ix := range t.Indexes {
		if ix.Primary != (i == 0 && !t.HiddenPK) {
			return fmt.Errorf("%w: the primary index must come first", ErrInvalid)
		}
		if names[strings.ToLower(ix.Name)] {
			return fmt.Errorf("%w: duplicate key name '%s'", ErrInvalid, ix.Name)
		}
		names[strings.ToLower(ix.Name)] = true
		if len(ix.Columns) == 0 {
			return fmt.Errorf("%w: index %s has no columns", ErrInvalid, ix.Name)
		}
		for _, c := range ix.Columns {
			if t.Column(c) < 0 {
				return fmt.Errorf("%w: key column '%s' doesn't exist in table", ErrInvalid, c)
			}
		}
	}
	return nil
}

// Catalog is the schema of one database instance.
type Catalog struct {
	e   *engine.Engine
	idx engine.IndexID

	mu     sync.Mutex
	tables map[string]*Table // db + "\x00" + name → cached definition
	gen    uint64

	ai *autoInc
}

// Open returns the catalog stored in the engine.
func Open(e *engine.Engine) *Catalog {
	return &Catalog{e: e, idx: e.CatalogIndex(), tables: map[string]*Table{}, ai: newAutoInc(e)}
}

func keyDB(db string) []byte {
	k, _ := keycodec.AppendBytes([]byte{'D'}, []byte(db), keycodec.CollationBinary)
	return k
}

func keyTable(db, name string) []byte {
	k, _ := keycodec.AppendBytes([]byte{'T'}, []byte(db), keycodec.CollationBinary)
	k, _ = keycodec.AppendBytes(k, []byte(name), keycodec.CollationBinary)
	return k
}

var keyNextTable = []byte{'N'}

// ddl runs f in a transaction and commits it, dropping cached definitions.
func (c *Catalog) ddl(ctx context.Context, f func(tx *engine.Txn) error) error {
	tx := c.e.Begin(engine.TxnOptions{})
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	err := tx.Commit(ctx)
	c.mu.Lock()
	c.tables = map[string]*Table{}
	c.gen++
	c.mu.Unlock()
	return err
}

// Generation changes whenever a DDL statement commits; callers caching
// plans compare it.
func (c *Catalog) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func getJSON(ctx context.Context, tx *engine.Txn, idx engine.IndexID, key []byte, mode engine.LockMode, v any) (bool, error) {
	b, ok, err := tx.Get(ctx, idx, key, mode)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("catalog: decode %q: %w", key, err)
	}
	return true, nil
}

func putJSON(ctx context.Context, tx *engine.Txn, idx engine.IndexID, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("catalog: encode: %w", err)
	}
	return tx.Put(ctx, idx, key, b)
}

// CreateDatabase creates a database.
func (c *Catalog) CreateDatabase(ctx context.Context, db Database, ifNotExists bool) error {
	if db.Name == "" {
		return fmt.Errorf("%w: empty database name", ErrInvalid)
	}
	return c.ddl(ctx, func(tx *engine.Txn) error {
		var old Database
		ok, err := getJSON(ctx, tx, c.idx, keyDB(db.Name), engine.LockExclusive, &old)
		if err != nil {
			return err
		}
		if ok {
			if ifNotExists {
				return nil
			}
			return fmt.Errorf("%w: can't create database '%s'; database exists", ErrDatabaseExists, db.Name)
		}
		return putJSON(ctx, tx, c.idx, keyDB(db.Name), db)
	})
}

// DropDatabase drops a database and its tables.
func (c *Catalog) DropDatabase(ctx context.Context, name string, ifExists bool) error {
	return c.ddl(ctx, func(tx *engine.Txn) error {
		var old Database
		ok, err := getJSON(ctx, tx, c.idx, keyDB(name), engine.LockExclusive, &old)
		if err != nil {
			return err
		}
		if !ok {
			if ifExists {
				return nil
			}
			return fmt.Errorf("%w: can't drop database '%s'; database doesn't exist", ErrNoDatabase, name)
		}
		tables, err := c.tablesIn(ctx, tx, name)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if err := tx.Delete(ctx, c.idx, keyTable(name, t.Name)); err != nil {
				return err
			}
		}
		return tx.Delete(ctx, c.idx, keyDB(name))
	})
}

// Database returns a database's definition.
func (c *Catalog) Database(ctx context.Context, name string) (Database, error) {
	tx := c.e.Begin(engine.TxnOptions{ReadOnly: true})
	defer tx.Rollback()
	var db Database
	ok, err := getJSON(ctx, tx, c.idx, keyDB(name), engine.NoLock, &db)
	if err != nil {
		return Database{}, err
	}
	if !ok {
		return Database{}, fmt.Errorf("%w '%s'", ErrNoDatabase, name)
	}
	return db, nil
}

// Databases lists databases by name.
func (c *Catalog) Databases(ctx context.Context) ([]Database, error) {
	tx := c.e.Begin(engine.TxnOptions{ReadOnly: true})
	defer tx.Rollback()
	it := tx.Scan(ctx, c.idx, engine.ScanOptions{Lo: []byte{'D'}, Hi: []byte{'E'}})
	var out []Database
	for it.Next(ctx) {
		var db Database
		if err := json.Unmarshal(it.Value(), &db); err != nil {
			return nil, fmt.Errorf("catalog: decode database: %w", err)
		}
		out = append(out, db)
	}
	return out, it.Err()
}

// CreateTable stores a table definition, creating its indexes' trees. It
// assigns the table id, index ids and version. Index trees are created
// before the definition commits; a failed CREATE leaves them empty and
// unreferenced.
func (c *Catalog) CreateTable(ctx context.Context, t *Table, ifNotExists bool) error {
	if err := t.validate(); err != nil {
		return err
	}
	return c.ddl(ctx, func(tx *engine.Txn) error {
		if ok, err := getJSON(ctx, tx, c.idx, keyDB(t.Database), engine.LockShared, &Database{}); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w '%s'", ErrNoDatabase, t.Database)
		}
		var old Table
		ok, err := getJSON(ctx, tx, c.idx, keyTable(t.Database, t.Name), engine.LockExclusive, &old)
		if err != nil {
			return err
		}
		if ok {
			if ifNotExists {
				return nil
			}
			return fmt.Errorf("%w: table '%s' already exists", ErrTableExists, t.Name)
		}
		id, err := c.nextTableID(ctx, tx)
		if err != nil {
			return err
		}
		t.ID, t.Version = id, 1
		if t.HiddenPK || len(t.Indexes) == 0 || !t.Indexes[0].Primary {
			// No primary key: a hidden clustered index on the row id.
			t.HiddenPK = true
			t.Indexes = append([]Index{{Name: "", Primary: false}}, t.Indexes...)
		}
		for i := range t.Indexes {
			if t.Indexes[i].ID, err = c.e.CreateIndex(ctx); err != nil {
				return err
			}
		}
		return putJSON(ctx, tx, c.idx, keyTable(t.Database, t.Name), t)
	})
}

func (c *Catalog) nextTableID(ctx context.Context, tx *engine.Txn) (uint64, error) {
	b, ok, err := tx.Get(ctx, c.idx, keyNextTable, engine.LockExclusive)
	if err != nil {
		return 0, err
	}
	id := uint64(1)
	if ok && len(b) == 8 {
		id = binary.BigEndian.Uint64(b)
	}
	return id, tx.Put(ctx, c.idx, keyNextTable, binary.BigEndian.AppendUint64(nil, id+1))
}

// AlterTable replaces a table's definition (its id stays); new indexes
// (ID 0) get trees. The caller fills new indexes with existing rows.
func (c *Catalog) AlterTable(ctx context.Context, t *Table) error {
	if err := t.validate(); err != nil && !t.HiddenPK {
		return err
	}
	return c.ddl(ctx, func(tx *engine.Txn) error {
		var old Table
		ok, err := getJSON(ctx, tx, c.idx, keyTable(t.Database, t.Name), engine.LockExclusive, &old)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: table '%s.%s' doesn't exist", ErrNoTable, t.Database, t.Name)
		}
		t.ID, t.Version = old.ID, old.Version+1
		for i := range t.Indexes {
			if t.Indexes[i].ID == 0 {
				if t.Indexes[i].ID, err = c.e.CreateIndex(ctx); err != nil {
					return err
				}
			}
		}
		return putJSON(ctx, tx, c.idx, keyTable(t.Database, t.Name), t)
	})
}

// DropTable removes a table definition. Its trees are left unreferenced
// (space reclamation is future work).
func (c *Catalog) DropTable(ctx context.Context, db, name string, ifExists bool) error {
	err := c.ddl(ctx, func(tx *engine.Txn) error {
		var old Table
		ok, err := getJSON(ctx, tx, c.idx, keyTable(db, name), engine.LockExclusive, &old)
		if err != nil {
			return err
		}
		if !ok {
			if ifExists {
				return nil
			}
			return fmt.Errorf("%w: unknown table '%s.%s'", ErrNoTable, db, name)
		}
		return tx.Delete(ctx, c.idx, keyTable(db, name))
	})
	if err == nil {
		c.ai.forget(db, name)
	}
	return err
}

// Table returns a table's definition (cached until the next DDL). The
// returned value is shared: do not modify it.
func (c *Catalog) Table(ctx context.Context, db, name string) (*Table, error) {
	ck := db + "\x00" + name
	c.mu.Lock()
	t, ok := c.tables[ck]
	gen := c.gen
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	tx := c.e.Begin(engine.TxnOptions{ReadOnly: true})
	defer tx.Rollback()
	t = &Table{}
	found, err := getJSON(ctx, tx, c.idx, keyTable(db, name), engine.NoLock, t)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: table '%s.%s' doesn't exist", ErrNoTable, db, name)
	}
	c.mu.Lock()
	if c.gen == gen {
		c.tables[ck] = t
	}
	c.mu.Unlock()
	return t, nil
}

// Tables lists the tables of a database by name.
func (c *Catalog) Tables(ctx context.Context, db string) ([]*Table, error) {
	tx := c.e.Begin(engine.TxnOptions{ReadOnly: true})
	defer tx.Rollback()
	return c.tablesIn(ctx, tx, db)
}

func (c *Catalog) tablesIn(ctx context.Context, tx *engine.Txn, db string) ([]*Table, error) {
	lo := keyTable(db, "")
	// keyTable(db, "") ends with the empty name's terminator; every table
	// of db sorts between "T"‖db and its prefix end.
	prefix, _ := keycodec.AppendBytes([]byte{'T'}, []byte(db), keycodec.CollationBinary)
	it := tx.Scan(ctx, c.idx, engine.ScanOptions{Lo: lo, Hi: keycodec.PrefixEnd(prefix)})
	var out []*Table
	for it.Next(ctx) {
		t := &Table{}
		if err := json.Unmarshal(it.Value(), t); err != nil {
			return nil, fmt.Errorf("catalog: decode table: %w", err)
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, it.Err()
}
