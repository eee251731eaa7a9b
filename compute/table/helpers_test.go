package table

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/storage/storagetest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// startNode starts a real single-voter storage node.
func startNode(t testing.TB) *storage.Node { return storagetest.Start(t) }

// smallPool is 8 pages (the minimum): tests evict and re-read pages all the time.
const smallPool = 8 * 16 << 10

func openEngine(t testing.TB, n *storage.Node, poolBytes int64) *engine.Engine {
	t.Helper()
	e, err := engine.Open(context.Background(), engine.Config{Storage: n, BufferPoolBytes: poolBytes, Logger: discard,
		LockWaitTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// env is an engine with a catalog and a database "db".
type env struct {
	n   *storage.Node
	e   *engine.Engine
	cat *catalog.Catalog
}

func newEnv(t testing.TB, poolBytes int64) *env {
	t.Helper()
	n := startNode(t)
	e := openEngine(t, n, poolBytes)
	cat := catalog.Open(e)
	if err := cat.CreateDatabase(context.Background(), catalog.Database{Name: "db"}, false); err != nil {
		t.Fatal(err)
	}
	return &env{n: n, e: e, cat: cat}
}

// restart closes the engine and opens a new one on the same storage.
func (v *env) restart(t testing.TB, poolBytes int64) {
	t.Helper()
	v.e.Close()
	v.e = openEngine(t, v.n, poolBytes)
	v.cat = catalog.Open(v.e)
}

// create creates def in "db" and opens it.
func (v *env) create(t testing.TB, def *catalog.Table) *Table {
	t.Helper()
	def.Database = "db"
	if err := v.cat.CreateTable(context.Background(), def, false); err != nil {
		t.Fatal(err)
	}
	return v.open(t, def.Name)
}

// open opens table name of "db" from the catalog.
func (v *env) open(t testing.TB, name string) *Table {
	t.Helper()
	def, err := v.cat.Table(context.Background(), "db", name)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Open(v.e, v.cat, def)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func intCol(name string, notNull bool) catalog.Column {
	return catalog.Column{Name: name, Type: catalog.ColumnType{Name: "int"}, NotNull: notNull}
}

func strCol(name, typ string, notNull bool) catalog.Column {
	return catalog.Column{Name: name, Type: catalog.ColumnType{Name: typ, Length: 120, Collation: "utf8mb4_general_ci"}, NotNull: notNull}
}

// sbtestDef is sysbench's table: id INT AUTO_INCREMENT PRIMARY KEY, k INT,
// c CHAR(120), pad CHAR(60), plus INDEX k_1 (k) when withK.
func sbtestDef(name string, withK bool) *catalog.Table {
	def := &catalog.Table{Name: name,
		Columns: []catalog.Column{
			{Name: "id", Type: catalog.ColumnType{Name: "int"}, NotNull: true, AutoIncrement: true},
			intCol("k", true),
			strCol("c", "char", true),
			strCol("pad", "char", true),
		},
		Indexes: []catalog.Index{{Name: "PRIMARY", Columns: []string{"id"}, Unique: true, Primary: true}},
	}
	if withK {
		def.Indexes = append(def.Indexes, catalog.Index{Name: "k_1", Columns: []string{"k"}})
	}
	return def
}

func ints(vs ...int64) []keycodec.Value {
	out := make([]keycodec.Value, len(vs))
	for i, v := range vs {
		out[i] = keycodec.IntValue(v)
	}
	return out
}

// rowString formats a row for failure messages.
func rowString(r Row) string {
	parts := make([]string, len(r))
	for i, v := range r {
		switch v.Kind {
		case keycodec.KindNull:
			parts[i] = "NULL"
		case keycodec.KindString:
			s := string(v.Str)
			if len(s) > 24 {
				s = fmt.Sprintf("%s…(%d)", s[:20], len(s))
			}
			parts[i] = fmt.Sprintf("%q", s)
		default:
			parts[i] = valueText(v, 6)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func rowsString(rs []Row) string {
	var sb strings.Builder
	for _, r := range rs {
		sb.WriteString(rowString(r))
		sb.WriteString("\n")
	}
	return sb.String()
}

// sameValue compares values exactly (strings byte for byte).
func sameValue(a, b keycodec.Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case keycodec.KindNull:
		return true
	case keycodec.KindString:
		return bytes.Equal(a.Str, b.Str)
	case keycodec.KindInt:
		return a.Int == b.Int
	case keycodec.KindUint:
		return a.Uint == b.Uint
	default:
		return valueText(a, 6) == valueText(b, 6)
	}
}

func sameRow(a, b Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameRows(a, b []Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameRow(a[i], b[i]) {
			return false
		}
	}
	return true
}

// collect runs a scan to the end.
func collect(ctx context.Context, t *Table, tx *engine.Txn, opts ScanOptions) ([]Row, []uint64, error) {
	rs := t.Scan(ctx, tx, opts)
	var out []Row
	var ids []uint64
	for rs.Next(ctx) {
		out = append(out, rs.Row())
		ids = append(ids, rs.RowID())
	}
	return out, ids, rs.Err()
}
