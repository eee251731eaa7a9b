// Package mariadb starts a private MariaDB server for benchmarks and tests:
// a fresh data directory, its own TCP port on 127.0.0.1 and its own Unix
// socket, no option files (--no-defaults), InnoDB with
// innodb_flush_log_at_trx_commit=1 and the binary log off.
//
// Access: the grant tables are in force (no --skip-grant-tables). After
// start-up, root@localhost and root@'127.0.0.1' are set to
// mysql_native_password with an empty password and ALL PRIVILEGES, so
// clients (sysbench, go-sql-driver/mysql) connect as root without a
// password over TCP.
package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/polarsql/polar/bench/internal/proc"
)

// Buffer pool sizes for Config.BufferPoolSize.
const (
	// BenchBufferPool is the default innodb_buffer_pool_size (1 GiB).
	BenchBufferPool int64 = 1 << 30
	// TestBufferPool is a smaller buffer pool (128 MiB) for tests.
	TestBufferPool int64 = 128 << 20
)

// Default locations of the Debian MariaDB binaries.
const (
	DefaultServerBinary  = "/usr/sbin/mariadbd"
	DefaultInstallBinary = "mariadb-install-db"
)

// Config describes the server to start.
type Config struct {
	// Dir is a directory owned by the server (required). The data
	// directory (Dir/data, which must not exist yet), the socket, the pid
	// file and the logs are created in it.
	Dir string
	// BufferPoolSize is innodb_buffer_pool_size in bytes; 0 means
	// BenchBufferPool.
	BufferPoolSize int64
	// ServerBinary is the mariadbd executable; empty means
	// DefaultServerBinary.
	ServerBinary string
	// InstallBinary is mariadb-install-db; empty means
	// DefaultInstallBinary (looked up in PATH).
	InstallBinary string
	// ExtraArgs are appended to the mariadbd command line.
	ExtraArgs []string
	// StartTimeout bounds data-directory initialisation plus start-up;
	// 0 means 2 minutes.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL;
	// 0 means 60 seconds.
	StopTimeout time.Duration
	// Logger receives progress messages; nil means slog.Default().
	Logger *slog.Logger
}

// Server is a running mariadbd process.
type Server struct {
	cfg      Config
	log      *slog.Logger
	args     []string
	port     int
	socket   string
	sockDir  string // a short temporary directory holding the socket, if Dir was too long
	errorLog string
	outPath  string

	mu   sync.Mutex
	proc *process // the current mariadbd process
}

// process is one run of mariadbd.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // the exit status, valid after done
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Start initialises a fresh data directory under cfg.Dir, starts mariadbd
// on a free loopback port and waits until it accepts connections and root
// can log in over TCP with an empty password. ctx bounds only the start-up;
// the server runs until Stop.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("mariadb: Config.Dir is required")
	}
	if cfg.BufferPoolSize == 0 {
		cfg.BufferPoolSize = BenchBufferPool
	}
	if cfg.ServerBinary == "" {
		cfg.ServerBinary = DefaultServerBinary
	}
	if cfg.InstallBinary == "" {
		cfg.InstallBinary = DefaultInstallBinary
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 60 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "mariadb")
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()

	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("mariadb: data dir: %w", err)
	}
	cfg.Dir = dir
	dataDir := filepath.Join(dir, "data")
	if _, err := os.Stat(dataDir); err == nil {
		return nil, fmt.Errorf("mariadb: data directory %s already exists (want a fresh one)", dataDir)
	}
	tmpDir := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return nil, fmt.Errorf("mariadb: create %s: %w", tmpDir, err)
	}
	asRoot := os.Geteuid() == 0

	// Initialise the data directory.
	install := []string{"--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db", "--datadir=" + dataDir}
	if asRoot {
		install = append(install, "--user=root")
	}
	start := time.Now()
	out, err := exec.CommandContext(ctx, cfg.InstallBinary, install...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("mariadb: %s %s: %w\n%s", cfg.InstallBinary, strings.Join(install, " "), err, proc.Tail(out, 20))
	}
	log.Debug("data directory initialised", "dir", dataDir, "took", time.Since(start))

	port, err := proc.FreePort()
	if err != nil {
		return nil, fmt.Errorf("mariadb: %w", err)
	}
	s := &Server{cfg: cfg, log: log, port: port, errorLog: filepath.Join(dir, "error.log"), outPath: filepath.Join(dir, "mariadbd.out")}
	// A Unix socket path must fit in sun_path (108 bytes).
	s.socket = filepath.Join(dir, "mysqld.sock")
	if len(s.socket) > 100 {
		if s.sockDir, err = os.MkdirTemp("", "mdb"); err != nil {
			return nil, fmt.Errorf("mariadb: socket dir: %w", err)
		}
		s.socket = filepath.Join(s.sockDir, "mysqld.sock")
	}
	args := []string{
		"--no-defaults",
		"--datadir=" + dataDir,
		"--tmpdir=" + tmpDir,
		"--socket=" + s.socket,
		"--pid-file=" + filepath.Join(dir, "mariadbd.pid"),
		"--log-error=" + s.errorLog,
		"--bind-address=127.0.0.1",
		"--port=" + strconv.Itoa(port),
		"--default-storage-engine=InnoDB",
		"--innodb-buffer-pool-size=" + strconv.FormatInt(cfg.BufferPoolSize, 10),
		"--innodb-flush-log-at-trx-commit=1",
		"--skip-log-bin",
		"--max-connections=500",
		"--max-prepared-stmt-count=100000",
		"--skip-name-resolve",
	}
	if asRoot {
		args = append(args, "--user=root")
	}
	args = append(args, cfg.ExtraArgs...)
	s.args = args
	if err := s.launch(); err != nil {
		s.cleanupSocketDir()
		return nil, err
	}
	log.Info("mariadbd started", "pid", s.Pid(), "addr", s.Addr(), "dir", dir, "buffer_pool", cfg.BufferPoolSize)

	if err := s.waitReady(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.setupRoot(ctx); err != nil {
		s.Close()
		return nil, err
	}
	log.Info("mariadbd ready", "addr", s.Addr(), "took", time.Since(start))
	return s, nil
}

// launch starts a mariadbd process with s.args; a goroutine waits for it
// and closes its done channel when it exits.
func (s *Server) launch() error {
	out, err := os.OpenFile(s.outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("mariadb: %w", err)
	}
	cmd := exec.Command(s.cfg.ServerBinary, s.args...)
	cmd.Stdout = out
	cmd.Stderr = out
	// Own process group, so a terminal's ^C reaches only the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("mariadb: start %s: %w", s.cfg.ServerBinary, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

func (s *Server) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// Kill SIGKILLs mariadbd (a crash: no shutdown, nothing flushed) and waits
// for it to exit.
func (s *Server) Kill() {
	p := s.current()
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	s.log.Info("mariadbd killed", "pid", p.cmd.Process.Pid)
}

// Restart starts mariadbd again on the same data directory, port and
// socket after Kill or Stop (InnoDB runs crash recovery), and waits until
// it accepts connections. ctx bounds the wait.
func (s *Server) Restart(ctx context.Context) error {
	if p := s.current(); !p.exited() {
		return fmt.Errorf("mariadb: restart: mariadbd (pid %d) is still running", p.cmd.Process.Pid)
	}
	if err := s.launch(); err != nil {
		return err
	}
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return err
	}
	s.log.Info("mariadbd restarted", "pid", s.Pid(), "addr", s.Addr())
	return nil
}

// waitReady polls the Unix socket until root can log in, the process exits
// or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	p := s.current()
	db, err := sql.Open("mysql", s.socketDSN())
	if err != nil {
		return fmt.Errorf("mariadb: %w", err)
	}
	defer db.Close()
	var lastErr error
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		lastErr = db.PingContext(pctx)
		cancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("mariadb: mariadbd exited during start-up (%v); error log %s:\n%s", p.waitErr, s.errorLog, s.ErrorLogTail(30))
		case <-ctx.Done():
			return fmt.Errorf("mariadb: not accepting connections on %s: %w (last error: %v); error log:\n%s", s.socket, ctx.Err(), lastErr, s.ErrorLogTail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// setupRoot makes root usable over TCP with an empty password.
func (s *Server) setupRoot(ctx context.Context) error {
	db, err := sql.Open("mysql", s.socketDSN())
	if err != nil {
		return fmt.Errorf("mariadb: %w", err)
	}
	defer db.Close()
	stmts := []string{
		"ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('')",
		"CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('')",
		"ALTER USER root@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('')",
		"GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION",
		"FLUSH PRIVILEGES",
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("mariadb: %s: %w", q, err)
		}
	}
	// Check the TCP path the benchmarks use.
	tcp, err := sql.Open("mysql", s.DSN(""))
	if err != nil {
		return fmt.Errorf("mariadb: %w", err)
	}
	defer tcp.Close()
	if err := tcp.PingContext(ctx); err != nil {
		return fmt.Errorf("mariadb: root login over TCP %s: %w", s.Addr(), err)
	}
	return nil
}

func (s *Server) socketDSN() string {
	c := mysql.NewConfig()
	c.User = "root"
	c.Net = "unix"
	c.Addr = s.socket
	c.Timeout = 2 * time.Second
	return c.FormatDSN()
}

// Addr is the server's TCP address, "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// Socket is the path of the server's Unix socket.
func (s *Server) Socket() string { return s.socket }

// Pid is the process id of the current mariadbd process.
func (s *Server) Pid() int { return s.current().cmd.Process.Pid }

// Done is closed when the current mariadbd process has exited.
func (s *Server) Done() <-chan struct{} { return s.current().done }

// DSN is a go-sql-driver/mysql data source name for root over TCP, using
// database db (empty: none).
func (s *Server) DSN(db string) string {
	c := mysql.NewConfig()
	c.User = "root"
	c.Net = "tcp"
	c.Addr = s.Addr()
	c.DBName = db
	c.Timeout = 5 * time.Second
	return c.FormatDSN()
}

// PeakRSS is the process's peak resident set size in bytes (VmHWM from
// /proc/pid/status).
func (s *Server) PeakRSS() (int64, error) {
	n, err := proc.PeakRSS(s.Pid())
	if err != nil {
		return 0, fmt.Errorf("mariadb: %w", err)
	}
	return n, nil
}

// ErrorLogTail returns the last n lines of the server's error log.
func (s *Server) ErrorLogTail(n int) string {
	b, err := os.ReadFile(s.errorLog)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", s.errorLog, err)
	}
	return proc.Tail(b, n)
}

// Stop sends SIGTERM, waits up to Config.StopTimeout for a clean shutdown,
// then SIGKILLs the process. It returns an error if the server had to be
// killed or exited with a failure status (other than after Kill). Stop may
// be called more than once; the server can be restarted after it.
func (s *Server) Stop() error {
	p := s.current()
	if p.exited() {
		return nil
	}
	pid := p.cmd.Process.Pid
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.log.Warn("SIGTERM failed", "pid", pid, "err", err)
	}
	t := time.NewTimer(s.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("mariadb: mariadbd (pid %d) shutdown: %w", pid, p.waitErr)
		}
		s.log.Info("mariadbd stopped", "pid", pid)
		return nil
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		s.log.Warn("mariadbd killed after stop timeout", "pid", pid)
		return fmt.Errorf("mariadb: mariadbd (pid %d) did not stop within %v after SIGTERM; killed", pid, s.cfg.StopTimeout)
	}
}

// Close stops the server and removes the temporary socket directory, if
// one was needed. The server cannot be restarted after Close.
func (s *Server) Close() error {
	err := s.Stop()
	s.cleanupSocketDir()
	return err
}

func (s *Server) cleanupSocketDir() {
	if s.sockDir != "" {
		os.RemoveAll(s.sockDir)
	}
}
