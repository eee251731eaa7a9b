package bench_test

import (
	"context"
	"os"
	"testing"

	"github.com/polarsql/polar/bench/polard"
)

// Timeouts of the polard process helper.
const (
	polardReadyTimeout = polard.ReadyTimeout
	polardStopTimeout  = polard.StopTimeout
)

// requirePolard skips the test unless $POLARD names an executable file and
// the test is not running with -short. It returns the path.
func requirePolard(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping end-to-end polard test")
	}
	bin := os.Getenv("POLARD")
	if bin == "" {
		t.Skip("POLARD is not set (want the path of a polard binary, e.g. POLARD=$PWD/bin/polard)")
	}
	fi, err := os.Stat(bin)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Skipf("POLARD=%s is not an executable file", bin)
	}
	return bin
}

// polardServer is a polard process in the embedded default role (storage,
// compute and the MySQL protocol in one process) that a test can kill and
// restart on the same data directory and ports.
type polardServer struct {
	t *testing.T
	*polard.Embedded
}

// startPolard starts polard in a fresh temporary data directory on free
// loopback ports and waits until it accepts MySQL logins. The process is
// stopped when the test ends, and its log (stdout and stderr of every
// start) is printed if the test failed.
func startPolard(t *testing.T, bin string) *polardServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), polardReadyTimeout)
	defer cancel()
	e, err := polard.StartEmbedded(ctx, polard.Config{Binary: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	p := &polardServer{t: t, Embedded: e}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("polard log %s (last lines):\n%s", e.LogPath(), e.LogTail(150))
		}
	})
	t.Cleanup(p.stop)
	t.Logf("polard (pid %d) accepts MySQL connections on %s", e.Pid(), e.Addr())
	return p
}

// addr is the MySQL protocol address.
func (p *polardServer) addr() string { return p.Addr() }

// alive returns an error if the current process has exited.
func (p *polardServer) alive() error { return p.Alive() }

// kill SIGKILLs the current process and waits for it to exit.
func (p *polardServer) kill() { p.Kill() }

// start restarts the process after kill and waits until it accepts MySQL
// logins, at most polardReadyTimeout.
func (p *polardServer) start() error {
	ctx, cancel := context.WithTimeout(context.Background(), polardReadyTimeout)
	defer cancel()
	if err := p.Restart(ctx); err != nil {
		return err
	}
	p.t.Logf("polard (start %d, pid %d) accepts MySQL connections on %s", p.Starts(), p.Pid(), p.Addr())
	return nil
}

// stop sends SIGTERM, waits up to polardStopTimeout, then SIGKILLs.
func (p *polardServer) stop() {
	if err := p.Stop(polardStopTimeout); err != nil {
		p.t.Error(err)
	}
}

// dsn is a go-sql-driver/mysql DSN for root with an empty password over
// TCP (see polard.DSN).
func dsn(addr, db string) string { return polard.DSN(addr, db) }

func init() {
	// The tests report the errors themselves (and break connections on
	// purpose in the crash test).
	polard.QuietDriverLog()
}
