package mysqlserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// Defaults of Config.
const (
	DefaultVersion          = "8.0.36-polar"
	DefaultMaxConnections   = 1024
	DefaultMaxAllowedPacket = 64 << 20
	DefaultWriteBufferSize  = 32 << 10
	DefaultHandshakeTimeout = 10 * time.Second
	// MaxPreparedStmts bounds the prepared statements one connection may
	// hold (MySQL's max_prepared_stmt_count default, there server-wide).
	MaxPreparedStmts = 16382
)

// Config configures a Server. The zero value of every field means its
// default.
type Config struct {
	// Addr is the TCP address to listen on, e.g. "127.0.0.1:3306" or
	// "127.0.0.1:0" (any free port; see Server.Addr).
	Addr string
	// Version is the server version in the handshake (SELECT VERSION() is
	// the Handler's business). Default DefaultVersion.
	Version string
	// Users maps user name to plain-text password, for any client host.
	// Default: root with an empty password.
	Users map[string]string
	// AuthPlugin is the plugin the greeting proposes: "mysql_native_password"
	// (default; what sysbench/libmariadb use) or "caching_sha2_password".
	// Both are accepted whatever the greeting says; a client answering with
	// another plugin is switched to mysql_native_password.
	AuthPlugin string
	// MaxConnections bounds concurrent client connections; further clients
	// get ERR 1040 "Too many connections". 0 = DefaultMaxConnections,
	// negative = unlimited.
	MaxConnections int
	// MaxAllowedPacket bounds one client packet (a query text, an execute
	// with its parameters, long data per parameter); a bigger one is
	// answered with ERR 1153 and the connection is closed. Default 64 MiB
	// (sysbench's bulk load sends 512 KiB statements). Minimum 1024.
	MaxAllowedPacket int
	// WriteBufferSize is the per-connection write buffer. Responses are
	// collected in it and flushed when the server is about to read the
	// next packet from the client (one write syscall per response instead
	// of one per packet). 0 = DefaultWriteBufferSize; negative = unbuffered,
	// one write per packet (go-mysql's behaviour; for comparisons only).
	WriteBufferSize int
	// HandshakeTimeout bounds the login phase. Default 10 s.
	HandshakeTimeout time.Duration
	// TLSConfig, if set, offers TLS (CLIENT_SSL) to clients.
	TLSConfig *tls.Config
	// Logger receives connection-level events (debug), authentication
	// failures (info) and recovered panics (error). Default slog.Default().
	Logger *slog.Logger
}

// Server is a MySQL protocol server: it accepts connections, authenticates
// them and passes their commands to one Handler per connection.
type Server struct {
	cfg     Config
	ln      net.Listener
	factory func(ConnInfo) Handler
	log     *slog.Logger
	caps    uint32

	baseCtx context.Context
	cancel  context.CancelFunc

	mu       sync.Mutex
	conns    map[*conn]struct{}
	active   int
	closed   bool
	serving  bool
	wg       sync.WaitGroup
	closeErr error
	once     sync.Once

	nextID    atomic.Uint32
	questions atomic.Uint64
	started   time.Time

	// wrapConn, if set (tests), wraps every accepted connection.
	wrapConn func(net.Conn) net.Conn
}

// serverCaps are the capabilities the greeting offers. CLIENT_LONG_PASSWORD
// doubles as CLIENT_MYSQL: with it set, MariaDB's client library treats us as
// a MySQL server and does not send MariaDB extended capabilities. Not
// offered: CLIENT_DEPRECATE_EOF (classic EOF packets are always sent),
// CLIENT_SESSION_TRACK, CLIENT_COMPRESS, CLIENT_QUERY_ATTRIBUTES,
// CLIENT_LOCAL_FILES (no LOAD DATA LOCAL); CLIENT_SSL only with a TLSConfig.
const serverCaps = mysql.CLIENT_LONG_PASSWORD | mysql.CLIENT_FOUND_ROWS | mysql.CLIENT_LONG_FLAG |
	mysql.CLIENT_CONNECT_WITH_DB | mysql.CLIENT_IGNORE_SPACE | mysql.CLIENT_PROTOCOL_41 |
	mysql.CLIENT_INTERACTIVE | mysql.CLIENT_TRANSACTIONS | mysql.CLIENT_SECURE_CONNECTION |
	mysql.CLIENT_MULTI_STATEMENTS | mysql.CLIENT_MULTI_RESULTS | mysql.CLIENT_PS_MULTI_RESULTS |
	mysql.CLIENT_PLUGIN_AUTH | mysql.CLIENT_CONNECT_ATTRS | mysql.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA

// New validates cfg and starts listening on cfg.Addr; call Serve to accept
// connections. factory is called once per authenticated connection to create
// its Handler.
func New(cfg Config, factory func(conn ConnInfo) Handler) (*Server, error) {
	if factory == nil {
		return nil, errors.New("mysqlserver: nil handler factory")
	}
	if cfg.Addr == "" {
		return nil, errors.New("mysqlserver: Config.Addr is empty")
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.Users == nil {
		cfg.Users = map[string]string{"root": ""}
	} else {
		users := make(map[string]string, len(cfg.Users))
		for u, p := range cfg.Users {
			users[u] = p
		}
		cfg.Users = users
	}
	switch cfg.AuthPlugin {
	case "":
		cfg.AuthPlugin = mysql.AUTH_NATIVE_PASSWORD
	case mysql.AUTH_NATIVE_PASSWORD, mysql.AUTH_CACHING_SHA2_PASSWORD:
	default:
		return nil, fmt.Errorf("mysqlserver: unsupported auth plugin %q (want %s or %s)",
			cfg.AuthPlugin, mysql.AUTH_NATIVE_PASSWORD, mysql.AUTH_CACHING_SHA2_PASSWORD)
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.MaxAllowedPacket == 0 {
		cfg.MaxAllowedPacket = DefaultMaxAllowedPacket
	}
	if cfg.MaxAllowedPacket < 1024 || cfg.MaxAllowedPacket > 1<<30 {
		return nil, fmt.Errorf("mysqlserver: MaxAllowedPacket %d out of range [1024, 1 GiB]", cfg.MaxAllowedPacket)
	}
	if cfg.WriteBufferSize == 0 {
		cfg.WriteBufferSize = DefaultWriteBufferSize
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("mysqlserver: cannot listen on %s: %w", cfg.Addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:     cfg,
		ln:      ln,
		factory: factory,
		log:     cfg.Logger,
		caps:    serverCaps,
		baseCtx: ctx,
		cancel:  cancel,
		conns:   make(map[*conn]struct{}),
		started: time.Now(),
	}
	if cfg.TLSConfig != nil {
		s.caps |= mysql.CLIENT_SSL
	}
	return s, nil
}

// Addr returns the address the server listens on ("127.0.0.1:40213").
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve accepts connections until ctx is cancelled or Close is called, then
// closes every connection, waits for their goroutines and returns nil. It
// returns an error if the listener fails for another reason (after closing
// the server the same way) or if Serve was already called.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return errors.New("mysqlserver: Serve called twice")
	}
	s.serving = true
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Close() })
	defer stop()

	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.isClosed() {
				s.wg.Wait()
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				_ = s.Close()
				return fmt.Errorf("mysqlserver: accept: %w", err)
			}
			// EMFILE and the like: wait and retry, like net/http.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("mysqlserver: accept failed; retrying", "err", err, "delay", backoff)
			select {
			case <-time.After(backoff):
			case <-s.baseCtx.Done():
			}
			continue
		}
		backoff = 0
		if s.wrapConn != nil {
			nc = s.wrapConn(nc)
		}
		c := s.track(nc)
		if c == nil {
			_ = nc.Close()
			continue
		}
		go s.serveConn(c)
	}
}

// track registers a new connection (and its goroutine in wg) unless the
// server is closing.
func (s *Server) track(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	c := newConn(s, nc)
	if s.cfg.MaxConnections > 0 && s.active >= s.cfg.MaxConnections {
		c.rejected = true
	} else {
		s.active++
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return c
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if !c.rejected {
		s.active--
	}
	s.mu.Unlock()
}

func (s *Server) serveConn(c *conn) {
	defer s.wg.Done()
	defer s.untrack(c)
	c.serve(s.baseCtx)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops the listener, closes every client connection (their Handlers'
// Close runs) and waits for the connection goroutines to finish. A Handler
// call in progress sees its context cancelled; Close waits for it to return.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		s.cancel()
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = err
		}
		for _, c := range conns {
			c.shutdown()
		}
	})
	s.wg.Wait()
	return s.closeErr
}

// NumConnections returns the number of client connections being served.
func (s *Server) NumConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}
