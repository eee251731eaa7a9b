package sql

import (
	"context"
	gosql "database/sql"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/polarsql/polar/compute/mysqlserver"
)

// serveTestDB serves a fresh DB over the MySQL protocol and returns its
// address.
func serveTestDB(t *testing.T) string {
	t.Helper()
	db := newTestDB(t)
	srv, err := mysqlserver.New(mysqlserver.Config{Addr: "127.0.0.1:0", Logger: discard}, db.Handler)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return srv.Addr()
}

func conn(t *testing.T, db *gosql.DB) *gosql.Conn {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestKill checks KILL QUERY (the statement fails with 1317, the
// connection lives) and KILL (the connection is closed, its transaction
// rolled back) from another connection.
func TestKill(t *testing.T) {
	db, err := gosql.Open("mysql", "root@tcp("+serveTestDB(t)+")/")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	admin, holder, victim := conn(t, db), conn(t, db), conn(t, db)
	for _, q := range []string{"CREATE DATABASE k", "CREATE TABLE k.t (id INT PRIMARY KEY, v INT)", "INSERT INTO k.t VALUES (1, 0)"} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var victimID int64
	if err := victim.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&victimID); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"BEGIN", "UPDATE k.t SET v = 1 WHERE id = 1"} {
		if _, err := holder.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// The victim waits for the holder's row lock until killed.
	waitKilled := func(kill string) error {
		errc := make(chan error, 1)
		go func() {
			_, err := victim.ExecContext(ctx, "UPDATE k.t SET v = 2 WHERE id = 1")
			errc <- err
		}()
		time.Sleep(200 * time.Millisecond)
		if _, err := admin.ExecContext(ctx, kill); err != nil {
			t.Fatalf("%s: %v", kill, err)
		}
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not stop the waiting statement", kill)
			return nil
		}
	}
	err = waitKilled("KILL QUERY " + strconv.FormatInt(victimID, 10))
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1317 {
		t.Fatalf("killed query: got %v, want error 1317", err)
	}
	var one int
	if err := victim.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("connection after KILL QUERY: %v", err)
	}
	if err := waitKilled("KILL " + strconv.FormatInt(victimID, 10)); err == nil {
		t.Fatal("statement of a killed connection succeeded")
	}
	if err := victim.QueryRowContext(ctx, "SELECT 1").Scan(&one); err == nil {
		t.Fatal("killed connection still answers")
	}
	if _, err := admin.ExecContext(ctx, "KILL 987654"); err == nil {
		t.Fatal("KILL of an unknown id succeeded")
	}
}
