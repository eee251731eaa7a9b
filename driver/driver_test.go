package driver_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/driver"
)

// Every statement runs under a deadline: a broken layer below must fail a
// test, not hang it.
const stmtTimeout = 30 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), stmtTimeout)
	t.Cleanup(cancel)
	return ctx
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("polar", dsn)
	if err != nil {
		t.Fatalf("sql.Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PingContext(ctxT(t)); err != nil {
		t.Fatalf("starting the database %q: %v", dsn, err)
	}
	return db
}

// needSQL fails the test with a clear message while the SQL layer cannot
// run statements yet.
func needSQL(t *testing.T, db *sql.DB) {
	t.Helper()
	var one int
	if err := db.QueryRowContext(ctxT(t), "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("the SQL layer cannot run SELECT 1 (package sql not ready?): %v", err)
	}
}

func exec(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, query string, args ...any) sql.Result {
	t.Helper()
	res, err := db.ExecContext(ctxT(t), query, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", query, args, err)
	}
	return res
}

func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(ctxT(t), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func setup(t *testing.T, db *sql.DB) {
	t.Helper()
	needSQL(t, db)
	exec(t, db, "CREATE DATABASE d")
	exec(t, db, "CREATE TABLE d.t (id INT PRIMARY KEY, name VARCHAR(20), score DOUBLE)")
}

func TestMemRoundTrip(t *testing.T) {
	db := open(t, "mem:")
	setup(t, db)
	res := exec(t, db, "INSERT INTO d.t VALUES (?, ?, ?), (?, ?, ?)", 1, "one", 1.5, 2, nil, nil)
	if n, err := res.RowsAffected(); err != nil || n != 2 {
		t.Errorf("RowsAffected = %d, %v", n, err)
	}
	rows, err := db.QueryContext(ctxT(t), "SELECT id, name, score FROM d.t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id int
		var name sql.NullString
		var score sql.NullFloat64
		if err := rows.Scan(&id, &name, &score); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %v %v", id, name, score))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"1 {one true} {1.5 true}", "2 { false} {0 false}"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	var name string
	if err := db.QueryRowContext(ctxT(t), "SELECT name FROM d.t WHERE id = ?", 1).Scan(&name); err != nil || name != "one" {
		t.Errorf("point select: %q, %v", name, err)
	}
}

func TestMemDatabasesAreSeparate(t *testing.T) {
	a := open(t, "mem:")
	b := open(t, "mem:")
	setup(t, a)
	if _, err := b.ExecContext(ctxT(t), "INSERT INTO d.t VALUES (1, 'x', 0)"); err == nil {
		t.Fatal("second mem: database sees the first one's table")
	}
}

func TestFilePersists(t *testing.T) {
	dir := t.TempDir()
	db := open(t, "file:"+dir)
	setup(t, db)
	exec(t, db, "INSERT INTO d.t VALUES (?, ?, ?)", 42, "kept", 0.5)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db = open(t, "file:"+dir)
	var name string
	if err := db.QueryRowContext(ctxT(t), "SELECT name FROM d.t WHERE id = 42").Scan(&name); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	if name != "kept" {
		t.Fatalf("after reopen: name %q", name)
	}
}

func TestTransactions(t *testing.T) {
	db := open(t, "mem:")
	setup(t, db)
	ctx := ctxT(t)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, tx, "INSERT INTO d.t VALUES (1, 'committed', 0)")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, err = db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	exec(t, tx, "INSERT INTO d.t VALUES (2, 'rolled back', 0)")
	var inTx int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM d.t").Scan(&inTx); err != nil || inTx != 2 {
		t.Errorf("count inside the transaction %d, %v; want 2", inTx, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "d.t"); n != 1 {
		t.Errorf("after rollback %d rows, want 1", n)
	}

	ro, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Rollback()
	if _, err := ro.ExecContext(ctx, "INSERT INTO d.t VALUES (3, 'x', 0)"); err == nil {
		t.Error("write in a READ ONLY transaction succeeded")
	}
}

func TestPreparedStatementReuse(t *testing.T) {
	db := open(t, "mem:")
	setup(t, db)
	ctx := ctxT(t)
	ins, err := db.PrepareContext(ctx, "INSERT INTO d.t (id, name) VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	for i := 1; i <= 50; i++ {
		if _, err := ins.ExecContext(ctx, i, fmt.Sprint("n", i)); err != nil {
			t.Fatalf("execute %d: %v", i, err)
		}
	}
	sel, err := db.PrepareContext(ctx, "SELECT name FROM d.t WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	for _, i := range []int{1, 25, 50} {
		var name string
		if err := sel.QueryRowContext(ctx, i).Scan(&name); err != nil || name != fmt.Sprint("n", i) {
			t.Errorf("id %d: %q, %v", i, name, err)
		}
	}
	if n := count(t, db, "d.t"); n != 50 {
		t.Errorf("%d rows, want 50", n)
	}
}

func TestConcurrentInserts(t *testing.T) {
	db := open(t, "mem:")
	setup(t, db)
	const workers, each = 8, 25
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := w*each + i
				if _, err := db.ExecContext(ctx, "INSERT INTO d.t VALUES (?, ?, ?)", id, "w", float64(w)); err != nil {
					errs <- fmt.Errorf("worker %d insert %d: %w", w, id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := count(t, db, "d.t"); n != workers*each {
		t.Errorf("%d rows, want %d", n, workers*each)
	}
}

func TestDuplicateKeyError(t *testing.T) {
	db := open(t, "mem:")
	setup(t, db)
	exec(t, db, "INSERT INTO d.t VALUES (1, 'a', 0)")
	_, err := db.ExecContext(ctxT(t), "INSERT INTO d.t VALUES (?, 'b', 0)", 1)
	var me *mysqlserver.Error
	if !errors.As(err, &me) {
		t.Fatalf("duplicate insert: %v (%T), want a *mysqlserver.Error", err, err)
	}
	if me.Code != 1062 || me.State != "23000" {
		t.Errorf("duplicate insert: %d (%s) %s, want 1062 (23000)", me.Code, me.State, me.Message)
	}
}

// Plumbing only (no SQL): two *sql.DB on the same directory share one
// database instead of failing on the directory lock, and mem:NAME is
// shared while mem: is not.
func TestSharedDatabases(t *testing.T) {
	dir := t.TempDir()
	open(t, "file:"+dir)
	open(t, "file:"+dir) // would fail with "in use" if it started a second storage node

	c1, _ := driver.NewConnector("mem:shared-test")
	c2, _ := driver.NewConnector("mem:shared-test")
	c3, _ := driver.NewConnector("mem:")
	for _, c := range []*driver.Connector{c1, c2, c3} {
		db := sql.OpenDB(c)
		defer db.Close()
		if err := db.PingContext(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if c1.Instance() == nil || c1.Instance() != c2.Instance() {
		t.Error("mem:NAME not shared")
	}
	if c3.Instance() == c1.Instance() {
		t.Error("mem: shared with mem:NAME")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := sql.Open("polar", "/no/scheme"); err == nil {
		t.Error("DSN without scheme accepted")
	}
	// A directory that cannot be created fails the first use, clearly.
	db, err := sql.Open("polar", "file:/proc/polar-cannot-exist")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(ctxT(t)); err == nil {
		t.Error("database in /proc started")
	}
}

// db.Close shuts everything down, goroutines included, also with
// connections checked out and rows open.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	run := func(dsn string, hold bool) {
		db, err := sql.Open("polar", dsn)
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t)
		if err := db.PingContext(ctx); err != nil {
			t.Fatal(err)
		}
		db.SetMaxIdleConns(4)
		var conns []*sql.Conn
		for i := 0; i < 3; i++ {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		// A statement on each connection; with hold, its rows stay open.
		var open []*sql.Rows
		for _, c := range conns {
			rows, err := c.QueryContext(ctx, "SELECT 1")
			if err != nil {
				t.Fatalf("SELECT 1: %v", err)
			}
			if hold {
				open = append(open, rows)
			} else {
				rows.Close()
				c.Close()
			}
		}
		// With hold, connections are still checked out: Close must end
		// their sessions anyway.
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, rows := range open {
			if rows.Next() || rows.Err() == nil {
				t.Errorf("rows after db.Close: no error (%v)", rows.Err())
			}
			rows.Close() // database/sql holds the sql.Conn until then
		}
		for _, c := range conns {
			c.Close()
		}
	}
	// Warm up process-wide goroutines (gRPC, Pebble) started once.
	run("mem:", false)
	base := settle(0)

	run("mem:", false)
	run("mem:", true)
	run("file:"+t.TempDir(), false)
	if n := settle(base); n > base {
		var buf bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&buf, 1)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, base, buf.String())
	}
}

// settle waits up to 5 s for the goroutine count to drop to want (0: just
// let it settle) and returns it.
func settle(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	n := runtime.NumGoroutine()
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		m := runtime.NumGoroutine()
		if (want > 0 && m <= want) || (want == 0 && m == n) {
			return m
		}
		n = m
	}
	return n
}
