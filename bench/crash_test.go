package bench_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polarsql/polar/bench/mariadb"
)

// Shape of the crash test.
const (
	crashCycles  = 2
	crashWriters = 8
	crashAfter   = 2 * time.Second // writes before each SIGKILL
	crashOpLimit = 10 * time.Second
	crashDB      = "crashtest"
)

// crashServer is a server the crash test can SIGKILL and restart on the
// same data directory and ports.
type crashServer interface {
	addr() string
	alive() error
	kill()
	// restart starts the server again and waits until it accepts logins.
	restart() error
}

type polardCrash struct{ *polardServer }

func (p polardCrash) restart() error { return p.start() }

type mariadbCrash struct{ s *mariadb.Server }

func (m mariadbCrash) addr() string { return m.s.Addr() }
func (m mariadbCrash) kill()        { m.s.Kill() }
func (m mariadbCrash) alive() error {
	select {
	case <-m.s.Done():
		return fmt.Errorf("mariadbd exited; error log ends:\n%s", m.s.ErrorLogTail(20))
	default:
		return nil
	}
}
func (m mariadbCrash) restart() error {
	ctx, cancel := context.WithTimeout(context.Background(), polardReadyTimeout)
	defer cancel()
	return m.s.Restart(ctx)
}

// TestCrashRecovery SIGKILLs polard ($POLARD) while 8 clients insert rows,
// restarts it on the same data directory, and checks that every
// acknowledged insert survived and nothing unexpected appeared; twice.
func TestCrashRecovery(t *testing.T) {
	bin := requirePolard(t)
	p := startPolard(t, bin)
	runCrash(t, polardCrash{p})
}

// TestCrashRecoveryMariaDB runs the crash test against MariaDB (with
// innodb_flush_log_at_trx_commit=1 it must pass), to validate the
// harness. It runs only with SYSBENCH_MARIADB=1.
func TestCrashRecoveryMariaDB(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if os.Getenv("SYSBENCH_MARIADB") != "1" {
		t.Skip("set SYSBENCH_MARIADB=1 to run the crash test against MariaDB")
	}
	runCrash(t, mariadbCrash{mariadb.StartForTest(t)})
}

// ledgerValue is the value stored with id, so a row with a wrong value is
// detected.
func ledgerValue(id int64) string {
	return fmt.Sprintf("v%d-%016x", id, uint64(id)*0x9e3779b97f4a7c15)
}

// ledger is the client-side record of the writes: attempted ids may be in
// the table (their outcome is unknown or they failed), acked ids must be.
type ledger struct {
	mu        sync.Mutex
	attempted map[int64]bool
	acked     map[int64]bool
}

func (l *ledger) attempt(ids ...int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		l.attempted[id] = true
	}
}

func (l *ledger) ack(ids ...int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		l.acked[id] = true
	}
}

func runCrash(t *testing.T, srv crashServer) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sql.Open("mysql", dsn(srv.addr(), ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + crashDB,
		"CREATE TABLE " + crashDB + ".ledger(id BIGINT PRIMARY KEY, v VARCHAR(64) NOT NULL)",
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			admin.Close()
			t.Fatalf("%s: %v", q, err)
		}
	}
	admin.Close()

	l := &ledger{attempted: map[int64]bool{}, acked: map[int64]bool{}}
	var nextID atomic.Int64
	for cycle := 1; cycle <= crashCycles; cycle++ {
		before := len(l.acked)
		preKillErrs := writeAndKill(t, srv, l, &nextID)
		newAcks := len(l.acked) - before
		t.Logf("cycle %d: %d inserts acknowledged before SIGKILL, %d ids attempted in total", cycle, newAcks, len(l.attempted))
		for _, e := range preKillErrs {
			t.Errorf("cycle %d: write failed while the server was up: %v", cycle, e)
		}
		if newAcks == 0 {
			t.Fatalf("cycle %d: no insert was acknowledged in %v before the kill", cycle, crashAfter)
		}
		if err := srv.restart(); err != nil {
			t.Fatalf("cycle %d: restart after SIGKILL: %v", cycle, err)
		}
		verifyLedger(t, srv, l, cycle)
		if t.Failed() {
			return
		}
	}
}

// writeAndKill runs crashWriters clients inserting unique ids (autocommit
// INSERTs and, one time in four, BEGIN + 3 INSERTs + COMMIT), SIGKILLs the
// server after crashAfter while they run, then stops the clients. It
// returns up to 5 errors seen before the kill.
func writeAndKill(t *testing.T, srv crashServer, l *ledger, nextID *atomic.Int64) []error {
	db, err := sql.Open("mysql", dsn(srv.addr(), crashDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(2 * crashWriters)

	var (
		killed   atomic.Bool
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		errMu    sync.Mutex
		preKill  []error
		postKill int
	)
	noteErr := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if killed.Load() {
			postKill++
		} else if len(preKill) < 5 {
			preKill = append(preKill, err)
		}
	}
	for w := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if rng.IntN(4) == 0 {
					ids := []int64{nextID.Add(1), nextID.Add(1), nextID.Add(1)}
					err = insertTx(db, l, ids)
				} else {
					id := nextID.Add(1)
					l.attempt(id)
					ctx, cancel := context.WithTimeout(context.Background(), crashOpLimit)
					_, err = db.ExecContext(ctx, "INSERT INTO ledger (id, v) VALUES (?, ?)", id, ledgerValue(id))
					cancel()
					if err == nil {
						l.ack(id)
					}
				}
				if err != nil {
					noteErr(err)
					time.Sleep(10 * time.Millisecond) // the server is down: don't spin
				}
			}
		}()
	}
	time.Sleep(crashAfter)
	if err := srv.alive(); err != nil {
		killed.Store(true)
		close(stop)
		wg.Wait()
		t.Fatalf("server died before the planned kill: %v", err)
	}
	killed.Store(true)
	srv.kill()
	// Let the clients run into the dead server for a moment, then stop them.
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d client errors after SIGKILL (expected)", postKill)
	return preKill
}

// insertTx inserts ids in one explicit transaction on one connection and
// acknowledges them only when COMMIT succeeds.
func insertTx(db *sql.DB, l *ledger, ids []int64) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), crashOpLimit)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// Do not return a connection with an open transaction to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}()
	l.attempt(ids...)
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("BEGIN: %w", err)
	}
	for _, id := range ids {
		if _, err := conn.ExecContext(ctx, "INSERT INTO ledger (id, v) VALUES (?, ?)", id, ledgerValue(id)); err != nil {
			return fmt.Errorf("INSERT in transaction: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("COMMIT: %w", err)
	}
	l.ack(ids...)
	return nil
}

// verifyLedger checks the table against the ledger: every acknowledged id
// is present with its value, every row is an attempted id with its value.
func verifyLedger(t *testing.T, srv crashServer, l *ledger, cycle int) {
	t.Helper()
	db, err := sql.Open("mysql", dsn(srv.addr(), crashDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := db.QueryContext(ctx, "SELECT id, v FROM ledger")
	if err != nil {
		t.Fatalf("cycle %d: read ledger after restart: %v", cycle, err)
	}
	defer rows.Close()
	present := map[int64]bool{}
	var bad []string
	for rows.Next() {
		var id int64
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatalf("cycle %d: scan ledger: %v", cycle, err)
		}
		switch {
		case present[id]:
			bad = append(bad, fmt.Sprintf("id %d returned twice", id))
		case !l.attempted[id]:
			bad = append(bad, fmt.Sprintf("id %d was never written", id))
		case v != ledgerValue(id):
			bad = append(bad, fmt.Sprintf("id %d has v=%q, want %q", id, v, ledgerValue(id)))
		}
		present[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("cycle %d: read ledger: %v", cycle, err)
	}
	var lost []int64
	for id := range l.acked {
		if !present[id] {
			lost = append(lost, id)
		}
	}
	sort.Slice(lost, func(i, j int) bool { return lost[i] < lost[j] })
	inFlight := 0
	for id := range present {
		if !l.acked[id] {
			inFlight++
		}
	}
	t.Logf("cycle %d after restart: %d rows; %d acknowledged, %d lost; %d unacknowledged (in flight) rows present",
		cycle, len(present), len(l.acked), len(lost), inFlight)
	if len(lost) > 0 {
		t.Errorf("cycle %d: %d acknowledged inserts lost after SIGKILL + restart, e.g. ids %v", cycle, len(lost), lost[:min(len(lost), 10)])
	}
	if len(bad) > 0 {
		t.Errorf("cycle %d: %d unexpected rows, e.g.:\n%v", cycle, len(bad), bad[:min(len(bad), 10)])
	}
}
