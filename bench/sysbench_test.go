package bench_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polarsql/polar/bench/mariadb"
	"github.com/polarsql/polar/bench/sysbench"
)

// Shape of the sysbench suite.
const (
	suiteTables    = 4
	suiteTableSize = 10000
	suiteThreads   = 8
)

// Timeouts of single sysbench invocations beyond their --time.
const (
	prepareTimeout = 3 * time.Minute
	cleanupTimeout = 2 * time.Minute
	runSlack       = time.Minute
)

// psModes are the --db-ps-mode values the suite runs: prepared statements
// (COM_STMT_*) and plain COM_QUERY.
var psModes = []string{"auto", "disable"}

// target is a server under test.
type target struct {
	name string
	addr string // MySQL protocol address, 127.0.0.1:port
	port int
	// alive returns an error once the server process has exited.
	alive func() error
}

// TestSysbenchPolard runs the sysbench OLTP suite against polard ($POLARD).
func TestSysbenchPolard(t *testing.T) {
	bin := requirePolard(t)
	requireSysbench(t)
	p := startPolard(t, bin)
	runSuite(t, target{name: "polard", addr: p.addr(), port: p.MySQLPort, alive: p.alive})
}

// TestSysbenchMariaDB runs the same suite against a private MariaDB server,
// to validate the harness and give reference figures. It runs only with
// SYSBENCH_MARIADB=1.
func TestSysbenchMariaDB(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if os.Getenv("SYSBENCH_MARIADB") != "1" {
		t.Skip("set SYSBENCH_MARIADB=1 to run the sysbench suite against MariaDB")
	}
	requireSysbench(t)
	s := mariadb.StartForTest(t)
	runSuite(t, target{name: "mariadb", addr: s.Addr(), port: s.Port(), alive: func() error {
		select {
		case <-s.Done():
			return fmt.Errorf("mariadbd (pid %d) exited; error log ends:\n%s", s.Pid(), s.ErrorLogTail(20))
		default:
			return nil
		}
	}})
}

func requireSysbench(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(sysbench.DefaultBinary); err != nil {
		t.Skipf("%s not installed", sysbench.DefaultBinary)
	}
}

// suiteTime is the duration of each workload: 5 s, or $SYSBENCH_TIME
// (seconds, or a Go duration such as "30s").
func suiteTime(t *testing.T) time.Duration {
	v := os.Getenv("SYSBENCH_TIME")
	if v == "" {
		return 5 * time.Second
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		t.Fatalf("bad SYSBENCH_TIME=%q: want seconds or a duration of at least 1s", v)
	}
	return d
}

// runSuite creates database sbtest on tg and, for each PS mode, prepares
// the tables, checks them, runs every workload and cleans up.
func runSuite(t *testing.T, tg target) {
	dur := suiteTime(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err := sysbench.CreateDatabase(ctx, tg.addr)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		mode, workload string
		r              *sysbench.Result
	}
	var summary []row
	for _, mode := range psModes {
		t.Run("ps-mode="+mode, func(t *testing.T) {
			if err := tg.alive(); err != nil {
				t.Fatal(err)
			}
			base := sysbench.Options{
				Port:      tg.port,
				Tables:    suiteTables,
				TableSize: suiteTableSize,
				Threads:   suiteThreads,
				Time:      dur,
				PSMode:    mode,
			}
			// prepare: sysbench creates the tables in parallel (one
			// thread per table) and bulk-loads them.
			o := base
			o.Workload, o.Command = "oltp_read_write", sysbench.CmdPrepare
			if _, err := runSysbench(t, tg, o, prepareTimeout); err != nil {
				t.Fatalf("%s prepare (ps-mode=%s): %v", tg.name, mode, err)
			}
			checkTables(t, tg)

			for _, w := range sysbench.Workloads {
				ok := t.Run(w, func(t *testing.T) {
					o := base
					o.Workload, o.Command = w, sysbench.CmdRun
					r, err := runSysbench(t, tg, o, dur+runSlack)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("%s %s ps-mode=%s: %.1f tps, %.1f qps, p95 %.2f ms, avg %.2f ms, max %.2f ms; %d transactions, %d ignored errors, %d reconnects (r/w/o %d/%d/%d)",
						tg.name, w, mode, r.TPS, r.QPS, r.P95Ms, r.AvgMs, r.MaxMs, r.Transactions, r.IgnoredErrors, r.Reconnects, r.Reads, r.Writes, r.Other)
					summary = append(summary, row{mode, w, r})
					if r.Transactions <= 0 {
						t.Errorf("%s: no transactions", w)
					}
					if r.IgnoredErrors*100 >= r.Transactions {
						t.Errorf("%s: %d ignored errors for %d transactions (want < 1%%)", w, r.IgnoredErrors, r.Transactions)
					}
				})
				if !ok {
					if err := tg.alive(); err != nil {
						t.Fatalf("after %s: %v", w, err)
					}
				}
			}

			o = base
			o.Workload, o.Command = "oltp_read_write", sysbench.CmdCleanup
			if _, err := runSysbench(t, tg, o, cleanupTimeout); err != nil {
				t.Errorf("%s cleanup (ps-mode=%s): %v", tg.name, mode, err)
			}
		})
	}
	if len(summary) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s, %d tables x %d rows, %d threads, %v per workload:\n", tg.name, suiteTables, suiteTableSize, suiteThreads, dur)
		fmt.Fprintf(&b, "%-8s %-22s %10s %10s %9s %8s\n", "ps-mode", "workload", "tps", "qps", "p95 ms", "ignored")
		for _, s := range summary {
			fmt.Fprintf(&b, "%-8s %-22s %10.1f %10.1f %9.2f %8d\n", s.mode, s.workload, s.r.TPS, s.r.QPS, s.r.P95Ms, s.r.IgnoredErrors)
		}
		t.Log(b.String())
	}
}

// runSysbench runs sysbench with a deadline and, on failure, adds whether
// the server is still running to the error.
func runSysbench(t *testing.T, tg target, o sysbench.Options, timeout time.Duration) (*sysbench.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	r, err := sysbench.Run(ctx, o)
	if err != nil {
		if aerr := tg.alive(); aerr != nil {
			err = fmt.Errorf("%w\n(server: %v)", err, aerr)
		}
		return nil, err
	}
	if o.Command != sysbench.CmdRun {
		t.Logf("%s %s ps-mode=%s took %v", tg.name, o.Command, o.PSMode, time.Since(start).Round(time.Millisecond))
	}
	return r, nil
}

// checkTables verifies that prepare loaded every table with exactly
// ids 1..suiteTableSize.
func checkTables(t *testing.T, tg target) {
	t.Helper()
	db, err := sql.Open("mysql", dsn(tg.addr, sysbench.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 1; i <= suiteTables; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var n, lo, hi sql.NullInt64
		q := fmt.Sprintf("SELECT COUNT(*), MIN(id), MAX(id) FROM sbtest%d", i)
		err := db.QueryRowContext(ctx, q).Scan(&n, &lo, &hi)
		cancel()
		if err != nil {
			t.Fatalf("%s: %s: %v", tg.name, q, err)
		}
		if n.Int64 != suiteTableSize || lo.Int64 != 1 || hi.Int64 != suiteTableSize {
			t.Errorf("%s: sbtest%d after prepare: COUNT(*)=%d MIN(id)=%s MAX(id)=%s, want %d rows with ids 1..%d",
				tg.name, i, n.Int64, nullInt(lo), nullInt(hi), suiteTableSize, suiteTableSize)
		}
	}
}

func nullInt(v sql.NullInt64) string {
	if !v.Valid {
		return "NULL"
	}
	return strconv.FormatInt(v.Int64, 10)
}
