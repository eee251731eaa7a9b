package main

// Process tests of the polard binary named by $POLARD (make test builds it
// and sets it; skipped otherwise): start it on free ports with a temporary
// data directory and talk to it with real clients — the mysql command-line
// client and go-sql-driver/mysql.
//
// Plumbing tests (port in use, flags, SIGTERM, 1045, compute role) need no
// SQL; the others need the SQL layer and say so when it is missing.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

const (
	startWait = 30 * time.Second // until "ready for connections"
	exitWait  = 10 * time.Second // after SIGTERM ("a few seconds" is the target; see the check)
	cliWait   = 20 * time.Second // one mysql CLI run
)

func polardPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("POLARD")
	if p == "" {
		t.Skip("POLARD (path to a built polard) not set; make test sets it")
	}
	return p
}

// proc is one polard process.
type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result, valid after done
	addr    string        // MySQL address from the ready line
}

var readyRE = regexp.MustCompile(`msg="ready for connections" mysql=(\S+)`)

// startProc runs polard with args and, if wantReady, waits for its ready
// line. The process is killed when the test ends if still running.
func startProc(t *testing.T, env []string, wantReady bool, args ...string) *proc {
	t.Helper()
	bin := polardPath(t)
	p := &proc{t: t, logPath: filepath.Join(t.TempDir(), "polard.log"), done: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	if !wantReady {
		return p
	}
	deadline := time.Now().Add(startWait)
	for {
		if m := readyRE.FindStringSubmatch(p.log()); m != nil {
			p.addr = m[1]
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("polard %s exited before it was ready (%v):\n%s", strings.Join(args, " "), p.err, p.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("polard %s not ready after %v:\n%s", strings.Join(args, " "), startWait, p.log())
		}
	}
}

// startServer starts the embedded default on a free MySQL port.
func startServer(t *testing.T, dataDir string, extra ...string) *proc {
	t.Helper()
	return startProc(t, nil, true, append([]string{"--port=0", "--data=" + dataDir}, extra...)...)
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func (p *proc) port() string {
	_, port, _ := net.SplitHostPort(p.addr)
	return port
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("polard still running %v later:\n%s", d, p.log())
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	p.t.Fatalf("wait: %v", p.err)
	return -1
}

// stop sends SIGTERM and checks for a clean exit within a few seconds.
func (p *proc) stop() {
	p.t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	if code := p.wait(exitWait); code != 0 {
		p.t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.log())
	}
	if d := time.Since(start); d > 5*time.Second {
		p.t.Errorf("SIGTERM took %v to exit", d)
	}
}

// connect opens a go-sql-driver/mysql pool; timeouts keep a broken server
// from hanging the test.
func connect(t *testing.T, addr, password, dbName string, params string) *sql.DB {
	t.Helper()
	dsn := fmt.Sprintf("root:%s@tcp(%s)/%s?timeout=5s&readTimeout=30s&writeTimeout=30s", password, addr, dbName)
	if params != "" {
		dsn += "&" + params
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mysqlCLI runs the mysql (or mariadb) client and returns its combined
// output.
func mysqlCLI(t *testing.T, port string, args ...string) (string, error) {
	t.Helper()
	var bin string
	for _, c := range []string{"/usr/bin/mysql", "/usr/bin/mariadb"} {
		if _, err := os.Stat(c); err == nil {
			bin = c
			break
		}
	}
	if bin == "" {
		t.Skip("no mysql or mariadb client installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliWait)
	defer cancel()
	all := append([]string{"-h127.0.0.1", "-P" + port, "--connect-timeout=5"}, args...)
	out, err := exec.CommandContext(ctx, bin, all...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no answer within %v", bin, strings.Join(all, " "), cliWait)
	}
	return string(out), err
}

// mysqlErrno returns the MySQL error number of a go-sql-driver error, 0 if
// none.
func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// needSQL fails with a clear message while the SQL layer is missing.
func needSQL(t *testing.T, db *sql.DB) {
	t.Helper()
	var one int
	if err := db.QueryRowContext(ctxT(t), "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("the server cannot run SELECT 1 (SQL layer not ready?): %v", err)
	}
}

// --- plumbing: no SQL needed ---

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	data := filepath.Join(t.TempDir(), "data")
	p := startProc(t, nil, false, "--port="+port, "--data="+data)
	if code := p.wait(10 * time.Second); code != 1 {
		t.Fatalf("exit code %d, want 1:\n%s", code, p.log())
	}
	out := p.log()
	want := fmt.Sprintf("polard: MySQL port 127.0.0.1:%s is in use: ", port)
	if !strings.HasPrefix(strings.TrimSpace(out), want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("output %q, want one line starting %q", out, want)
	}
	if strings.Contains(out, "goroutine ") {
		t.Errorf("stack trace printed:\n%s", out)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("data directory created although the port was taken (%v)", err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--role=bogus"}, "unknown --role"},
		{[]string{"--role=compute"}, "--role=compute needs --storage"},
		{[]string{"--peers=1=127.0.0.1:1", "--port=0"}, "--peers not used by --role=all"},
		{[]string{"--role=storage", "--port=3307"}, "--port not used by --role=storage"},
		{[]string{"--role=compute", "--storage=127.0.0.1:1", "--data=x"}, "--data not used by --role=compute"},
	} {
		p := startProc(t, nil, false, tc.args...)
		if code := p.wait(10 * time.Second); code != 1 {
			t.Errorf("%v: exit code %d, want 1:\n%s", tc.args, code, p.log())
		}
		if out := p.log(); !strings.Contains(out, tc.want) {
			t.Errorf("%v: output %q, want %q", tc.args, out, tc.want)
		}
	}
}

func TestSIGTERMAndRestart(t *testing.T) {
	data := t.TempDir()
	p := startServer(t, data)
	if !strings.HasPrefix(p.addr, "127.0.0.1:") {
		t.Fatalf("MySQL on %q, want 127.0.0.1 (the default --host)", p.addr)
	}
	db := connect(t, p.addr, "", "", "")
	if err := db.PingContext(ctxT(t)); err != nil {
		t.Fatalf("ping: %v", err)
	}
	// An idle client connection must not hold up the shutdown.
	c, err := db.Conn(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p.stop()
	if !strings.Contains(p.log(), "msg=stopped") {
		t.Errorf("no clean stop logged:\n%s", p.log())
	}
	p = startServer(t, data)
	if err := connect(t, p.addr, "", "", "").PingContext(ctxT(t)); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
	p.stop()
}

func TestRootPassword(t *testing.T) {
	check := func(p *proc) {
		t.Helper()
		err := connect(t, p.addr, "wrong", "", "").PingContext(ctxT(t))
		if n := mysqlErrno(err); n != 1045 {
			t.Errorf("wrong password: %v, want error 1045", err)
		}
		if err := connect(t, p.addr, "s3cret", "", "").PingContext(ctxT(t)); err != nil {
			t.Errorf("right password: %v", err)
		}
		out, err := mysqlCLI(t, p.port(), "-uroot", "-pwrong", "-e", "SELECT 1")
		if err == nil || !strings.Contains(out, "1045") {
			t.Errorf("mysql CLI with a wrong password: %v\n%s", err, out)
		}
		p.stop()
	}
	check(startServer(t, t.TempDir(), "--root-password=s3cret"))
	// The default comes from $POLAR_ROOT_PASSWORD.
	check(startProc(t, []string{"POLAR_ROOT_PASSWORD=s3cret"}, true, "--port=0", "--data="+t.TempDir()))
}

// A compute node over a storage node running as its own process.
func TestComputeRole(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	storageAddr := l.Addr().String()
	l.Close()
	st := startProc(t, nil, false, "--role=storage", "--listen="+storageAddr, "--data="+t.TempDir())
	c := startProc(t, nil, true, "--role=compute", "--storage="+storageAddr, "--port=0")
	if err := connect(t, c.addr, "", "", "").PingContext(ctxT(t)); err != nil {
		t.Fatalf("ping the compute node: %v", err)
	}
	if !strings.Contains(c.log(), "storage="+storageAddr) {
		t.Errorf("ready line does not name the storage cluster:\n%s", c.log())
	}
	c.stop()
	if err := st.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := st.wait(exitWait); code != 0 {
		t.Errorf("storage node exit code %d:\n%s", code, st.log())
	}
}

// --- these need the SQL layer ---

func TestUnknownDatabase(t *testing.T) {
	p := startServer(t, t.TempDir())
	err := connect(t, p.addr, "", "nosuchdb", "").PingContext(ctxT(t))
	if n := mysqlErrno(err); n != 1049 {
		t.Errorf("login with an unknown database: %v, want error 1049", err)
	}
	p.stop()
}

func TestMySQLCLI(t *testing.T) {
	p := startServer(t, t.TempDir())
	out, err := mysqlCLI(t, p.port(), "-uroot", "-e",
		"CREATE DATABASE cli; CREATE TABLE cli.t (id INT PRIMARY KEY, name VARCHAR(20)); "+
			"INSERT INTO cli.t VALUES (1, 'one'), (2, NULL)")
	if err != nil {
		t.Fatalf("mysql -e: %v\n%s", err, out)
	}
	out, err = mysqlCLI(t, p.port(), "-uroot", "--batch", "-e", "SELECT id, name FROM cli.t ORDER BY id")
	if err != nil {
		t.Fatalf("mysql --batch: %v\n%s", err, out)
	}
	if want := "id\tname\n1\tone\n2\tNULL\n"; out != want {
		t.Errorf("--batch output %q, want %q", out, want)
	}
	// The login database, and the client's own startup queries.
	out, err = mysqlCLI(t, p.port(), "-uroot", "cli", "--batch", "-e", "SELECT COUNT(*) AS n FROM t")
	if err != nil || out != "n\n2\n" {
		t.Errorf("mysql cli: %q, %v", out, err)
	}
	p.stop()
}

func TestGoSQLDriver(t *testing.T) {
	p := startServer(t, t.TempDir())
	setup := connect(t, p.addr, "", "", "")
	needSQL(t, setup)
	ctx := ctxT(t)
	for _, q := range []string{"CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, name VARCHAR(20), score DOUBLE)"} {
		if _, err := setup.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, mode := range []struct{ name, params string }{
		{"text", "interpolateParams=true"},
		{"binary", "interpolateParams=false"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			db := connect(t, p.addr, "", "app", mode.params)
			base := 0
			if mode.name == "binary" {
				base = 100
			}
			ins, err := db.PrepareContext(ctx, "INSERT INTO t VALUES (?, ?, ?)")
			if err != nil {
				t.Fatal(err)
			}
			defer ins.Close()
			for i := 1; i <= 10; i++ {
				if _, err := ins.ExecContext(ctx, base+i, fmt.Sprint("n", i), float64(i)/2); err != nil {
					t.Fatalf("insert %d: %v", i, err)
				}
			}
			var name string
			var score float64
			if err := db.QueryRowContext(ctx, "SELECT name, score FROM t WHERE id = ?", base+3).Scan(&name, &score); err != nil {
				t.Fatal(err)
			}
			if name != "n3" || score != 1.5 {
				t.Errorf("row %d: %q %v", base+3, name, score)
			}
			_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (?, 'dup', 0)", base+1)
			if n := mysqlErrno(err); n != 1062 {
				t.Errorf("duplicate key: %v, want 1062", err)
			}
		})
	}
	p.stop()
}

func TestRestartKeepsCommittedData(t *testing.T) {
	data := t.TempDir()
	p := startServer(t, data)
	db := connect(t, p.addr, "", "", "")
	needSQL(t, db)
	ctx := ctxT(t)
	for _, q := range []string{
		"CREATE DATABASE keep",
		"CREATE TABLE keep.t (id INT PRIMARY KEY, v VARCHAR(10))",
		"INSERT INTO keep.t VALUES (1, 'committed')",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Open, uncommitted at SIGTERM: must roll back.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO keep.t VALUES (2, 'open')"); err != nil {
		t.Fatal(err)
	}
	p.stop()
	tx.Rollback()

	p = startServer(t, data)
	db = connect(t, p.addr, "", "", "")
	rows, err := db.QueryContext(ctx, "SELECT id, v FROM keep.t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id int
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(id, "=", v))
	}
	rows.Close()
	if fmt.Sprint(got) != "[1=committed]" {
		t.Errorf("after restart %v, want [1=committed]", got)
	}
	p.stop()
}
