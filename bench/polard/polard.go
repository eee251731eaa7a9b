// Package polard starts polard processes for benchmarks and end-to-end
// tests: the embedded default (storage, compute and the MySQL server in one
// process) and a local cluster (storage nodes plus one compute node), each
// on free loopback ports with its own data directories and log files.
//
// Every process runs in its own process group (a terminal's ^C reaches only
// the caller, which stops the processes itself) and can be stopped
// (SIGTERM, then SIGKILL), killed (SIGKILL) and restarted with the same
// command line.
package polard

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/polarsql/polar/bench/internal/proc"
)

// Default timeouts.
const (
	// ReadyTimeout bounds the wait for a fresh or restarted process to
	// accept connections.
	ReadyTimeout = 60 * time.Second
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	StopTimeout = 20 * time.Second
)

// Process is one polard process (any role) started with a fixed command
// line, appending its stdout and stderr to a log file.
type Process struct {
	// Name identifies the process in messages ("polard", "storage 2").
	Name    string
	bin     string
	args    []string
	logPath string
	starts  int

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current process has exited
	waitErr error         // its exit status, valid after done
}

// Launch starts bin with args, appending its output to logPath. It does
// not wait for the process to be ready.
func Launch(name, bin string, args []string, logPath string) (*Process, error) {
	p := &Process{Name: name, bin: bin, args: args, logPath: logPath}
	if err := p.launch(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Process) launch() error {
	p.starts++
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: log: %w", p.Name, err)
	}
	fmt.Fprintf(logf, "=== start %d: %s %s\n", p.starts, p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%s: start %s: %w", p.Name, p.bin, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

func (p *Process) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

// Pid is the process id of the current process.
func (p *Process) Pid() int {
	cmd, _ := p.current()
	return cmd.Process.Pid
}

// Done is closed when the current process has exited.
func (p *Process) Done() <-chan struct{} {
	_, done := p.current()
	return done
}

// Starts is how many times the process was launched.
func (p *Process) Starts() int { return p.starts }

// LogPath is the file holding the process's stdout and stderr.
func (p *Process) LogPath() string { return p.logPath }

// LogTail returns the last n lines of the log.
func (p *Process) LogTail(n int) string { return proc.FileTail(p.logPath, n) }

func (p *Process) exited() bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

// Alive returns an error, quoting the end of the log, if the current
// process has exited.
func (p *Process) Alive() error {
	if !p.exited() {
		return nil
	}
	p.mu.Lock()
	werr := p.waitErr
	p.mu.Unlock()
	return fmt.Errorf("%s (pid %d) exited: %v; log %s ends:\n%s", p.Name, p.Pid(), werr, p.logPath, p.LogTail(20))
}

// PeakRSS is the current process's peak resident set size in bytes.
func (p *Process) PeakRSS() (int64, error) {
	n, err := proc.PeakRSS(p.Pid())
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p.Name, err)
	}
	return n, nil
}

// Kill SIGKILLs the current process and waits for it to exit.
func (p *Process) Kill() {
	cmd, done := p.current()
	if cmd == nil || p.exited() {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Stop sends SIGTERM and waits up to timeout (0: StopTimeout) for the
// process to exit, then SIGKILLs it. It returns an error if the process had
// to be killed or exited with a failure status. Stop may be called more
// than once.
func (p *Process) Stop(timeout time.Duration) error {
	if timeout == 0 {
		timeout = StopTimeout
	}
	cmd, done := p.current()
	if cmd == nil || p.exited() {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		p.mu.Lock()
		werr := p.waitErr
		p.mu.Unlock()
		if werr != nil {
			return fmt.Errorf("%s (pid %d) shutdown: %w", p.Name, cmd.Process.Pid, werr)
		}
		return nil
	case <-t.C:
		p.Kill()
		return fmt.Errorf("%s (pid %d) did not exit within %v of SIGTERM; killed", p.Name, cmd.Process.Pid, timeout)
	}
}

// Relaunch starts the process again with the same command line after it
// exited (Kill or Stop). It does not wait for it to be ready.
func (p *Process) Relaunch() error {
	if !p.exited() {
		return fmt.Errorf("%s: relaunch: pid %d is still running", p.Name, p.Pid())
	}
	return p.launch()
}

// WaitMySQL polls addr until root (empty password) can log in, ctx ends or
// exited is closed.
func WaitMySQL(ctx context.Context, addr string, exited <-chan struct{}) error {
	db, err := sql.Open("mysql", DSN(addr, ""))
	if err != nil {
		return err
	}
	defer db.Close()
	var lastErr error
	for {
		// A plain dial first keeps the driver from logging every refused attempt.
		err := dial(ctx, addr)
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = db.PingContext(pctx)
			cancel()
			if err == nil {
				return nil
			}
		}
		lastErr = err
		select {
		case <-exited:
			return fmt.Errorf("server exited (last error: %v)", lastErr)
		case <-ctx.Done():
			return fmt.Errorf("no MySQL login on %s: %w (last error: %v)", addr, ctx.Err(), lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WaitTCP polls addr until it accepts TCP connections, ctx ends or exited
// is closed.
func WaitTCP(ctx context.Context, addr string, exited <-chan struct{}) error {
	for {
		err := dial(ctx, addr)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("server exited (last error: %v)", err)
		case <-ctx.Done():
			return fmt.Errorf("nothing listening on %s: %w (last error: %v)", addr, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func dial(ctx context.Context, addr string) error {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// DSN is a go-sql-driver/mysql DSN for root with an empty password over
// TCP. Statements with arguments are interpolated client-side (COM_QUERY),
// and every network operation has a timeout so a stuck server fails the
// caller instead of hanging it.
func DSN(addr, db string) string {
	c := mysql.NewConfig()
	c.User = "root"
	c.Net = "tcp"
	c.Addr = addr
	c.DBName = db
	c.Timeout = 5 * time.Second
	c.ReadTimeout = 60 * time.Second
	c.WriteTimeout = 60 * time.Second
	c.InterpolateParams = true
	return c.FormatDSN()
}

// QuietDriverLog stops go-sql-driver/mysql from logging every broken
// connection; callers report errors themselves.
func QuietDriverLog() {
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
}
