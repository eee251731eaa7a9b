package mariadb_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/polarsql/polar/bench/mariadb"
)

func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a MariaDB server")
	}
	s := mariadb.StartForTest(t)
	db, err := sql.Open("mysql", s.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(context.Background(), "SELECT @@innodb_flush_log_at_trx_commit").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "1" {
		t.Errorf("innodb_flush_log_at_trx_commit = %s, want 1", v)
	}
	var logBin string
	if err := db.QueryRow("SELECT @@log_bin").Scan(&logBin); err != nil {
		t.Fatal(err)
	}
	if logBin != "0" {
		t.Errorf("log_bin = %s, want 0 (off)", logBin)
	}
	rss, err := s.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	if rss <= 0 {
		t.Errorf("PeakRSS = %d", rss)
	}
	t.Logf("mariadbd pid %d on %s, peak RSS %d MiB", s.Pid(), s.Addr(), rss>>20)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
}
