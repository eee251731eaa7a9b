package catalog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/storage"
	"github.com/polarsql/polar/storage/storagetest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func startEngine(t *testing.T) (*engine.Engine, *storage.Node) {
	t.Helper()
	n := storagetest.Start(t)
	e, err := engine.Open(context.Background(), engine.Config{Storage: n, BufferPoolBytes: 4 << 20, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	return e, n
}

func sbtest(name string) *Table {
	def := "0"
	return &Table{
		Database: "sbtest", Name: name,
		Columns: []Column{
			{Name: "id", Type: ColumnType{Name: "int"}, NotNull: true, AutoIncrement: true},
			{Name: "k", Type: ColumnType{Name: "int"}, NotNull: true, HasDefault: true, Default: &def},
			{Name: "c", Type: ColumnType{Name: "char", Length: 120, Collation: "utf8mb4_general_ci"}, NotNull: true},
			{Name: "pad", Type: ColumnType{Name: "char", Length: 60, Collation: "utf8mb4_general_ci"}, NotNull: true},
		},
		Indexes: []Index{{Name: "PRIMARY", Columns: []string{"id"}, Unique: true, Primary: true}},
	}
}

func TestCatalogDDL(t *testing.T) {
	ctx := context.Background()
	e, n := startEngine(t)
	c := Open(e)
	if err := c.CreateTable(ctx, sbtest("sbtest1"), false); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("table in a missing database: %v", err)
	}
	if err := c.CreateDatabase(ctx, Database{Name: "sbtest"}, false); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateDatabase(ctx, Database{Name: "sbtest"}, false); !errors.Is(err, ErrDatabaseExists) {
		t.Fatalf("duplicate database: %v", err)
	}
	if err := c.CreateDatabase(ctx, Database{Name: "sbtest"}, true); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sbtest2", "sbtest1"} {
		if err := c.CreateTable(ctx, sbtest(name), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CreateTable(ctx, sbtest("sbtest1"), false); !errors.Is(err, ErrTableExists) {
		t.Fatalf("duplicate table: %v", err)
	}
	bad := sbtest("bad")
	bad.Indexes[0].Columns = []string{"nope"}
	if err := c.CreateTable(ctx, bad, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad key column: %v", err)
	}
	tables, err := c.Tables(ctx, "sbtest")
	if err != nil || len(tables) != 2 || tables[0].Name != "sbtest1" || tables[1].Name != "sbtest2" {
		t.Fatalf("tables = %v, %v", tables, err)
	}
	t1, err := c.Table(ctx, "sbtest", "sbtest1")
	if err != nil || t1.ID == tables[1].ID || t1.Indexes[0].ID == 0 || t1.Column("PAD") != 3 {
		t.Fatalf("table = %+v, %v", t1, err)
	}
	// Auto-increment: 1..N for one client, then past explicit values.
	for want := uint64(1); want <= 5; want++ {
		got, err := c.NextAutoIncrement(ctx, t1, 1)
		if err != nil || got != want {
			t.Fatalf("auto-increment = %d, %v, want %d", got, err, want)
		}
	}
	if err := c.ObserveAutoIncrement(ctx, t1, 100); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.NextAutoIncrement(ctx, t1, 10); got != 101 {
		t.Fatalf("after explicit 100: %d", got)
	}
	// The counter restarts from the data: write id 41 into the primary.
	tx := e.Begin(engine.TxnOptions{})
	tx.Put(ctx, t1.Indexes[0].ID, keycodec.AppendInt(nil, 41), []byte("row"))
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e.Close()
	e2, err := engine.Open(ctx, engine.Config{Storage: n, BufferPoolBytes: 4 << 20, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	c = Open(e2)
	t1, err = c.Table(ctx, "sbtest", "sbtest1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.NextAutoIncrement(ctx, t1, 1); err != nil || got != 42 {
		t.Fatalf("auto-increment after restart = %d, %v, want 42", got, err)
	}
	if err := c.DropTable(ctx, "sbtest", "sbtest2", false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Table(ctx, "sbtest", "sbtest2"); !errors.Is(err, ErrNoTable) {
		t.Fatalf("dropped table: %v", err)
	}
	if err := c.DropTable(ctx, "sbtest", "sbtest2", false); !errors.Is(err, ErrNoTable) {
		t.Fatalf("drop missing table: %v", err)
	}
	if err := c.DropTable(ctx, "sbtest", "sbtest2", true); err != nil {
		t.Fatal(err)
	}
	if err := c.DropDatabase(ctx, "sbtest", false); err != nil {
		t.Fatal(err)
	}
	if dbs, _ := c.Databases(ctx); len(dbs) != 0 {
		t.Fatalf("databases after drop: %v", dbs)
	}
	if _, err := c.Table(ctx, "sbtest", "sbtest1"); !errors.Is(err, ErrNoTable) {
		t.Fatalf("table of a dropped database: %v", err)
	}
}
