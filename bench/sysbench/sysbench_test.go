package sysbench

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// testdata/oltp_read_write_mariadb.txt is the real output of
// sysbench 1.0.20 oltp_read_write run (2 tables x 1000 rows, 4 threads,
// 2 s) against MariaDB 10.11.
func TestParseRealOutput(t *testing.T) {
	raw, err := os.ReadFile("testdata/oltp_read_write_mariadb.txt")
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := Parse(string(raw), &r); err != nil {
		t.Fatal(err)
	}
	want := Result{
		Transactions: 958, TPS: 475.64,
		Queries: 19225, QPS: 9545.15,
		IgnoredErrors: 4, Reconnects: 0,
		MinMs: 1.40, AvgMs: 8.35, MaxMs: 108.86, P95Ms: 15.00,
		Reads: 13468, Writes: 3837, Other: 1920,
		TotalTime: 2012700 * time.Microsecond,
	}
	if r != want {
		t.Errorf("Parse:\n got %+v\nwant %+v", r, want)
	}
}

func TestParseFatalOutput(t *testing.T) {
	raw, err := os.ReadFile("testdata/fatal_no_table.txt")
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	err = Parse(string(raw), &r)
	if err == nil || !strings.Contains(err.Error(), "no transactions") {
		t.Errorf("Parse of a FATAL run: err = %v, want a missing-report error", err)
	}
}

func TestArgs(t *testing.T) {
	o := Options{Workload: "oltp_point_select", Command: CmdRun, Port: 3306, Tables: 4, TableSize: 10000, Threads: 8,
		Time: 5 * time.Second, PSMode: "disable", RandType: "uniform"}
	got := strings.Join(o.Args(), " ")
	want := "oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port=3306 --mysql-user=root --mysql-password= " +
		"--mysql-db=sbtest --tables=4 --table-size=10000 --threads=8 --time=5 --report-interval=0 --db-ps-mode=disable " +
		"--percentile=95 --rand-type=uniform run"
	if got != want {
		t.Errorf("Args:\n got %s\nwant %s", got, want)
	}
}

// TestRunFailure checks that a run against a closed port fails with
// sysbench's FATAL lines in the error, and does not hang.
func TestRunFailure(t *testing.T) {
	if _, err := exec.LookPath(DefaultBinary); err != nil {
		t.Skip("sysbench not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Run(ctx, Options{Workload: "oltp_point_select", Command: CmdRun, Port: 1, Tables: 1, TableSize: 10, Threads: 1, Time: time.Second})
	if err == nil || !strings.Contains(err.Error(), "Can't connect") {
		t.Errorf("Run against a closed port: err = %v", err)
	}
}
