package driver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/polarsql/polar/compute/instance"
	"github.com/polarsql/polar/compute/mysqlserver"
)

// DriverName is the name the driver is registered under.
const DriverName = "polar"

func init() { sql.Register(DriverName, &Driver{}) }

// Driver is the "polar" database/sql driver.
type Driver struct{}

var (
	_ driver.Driver        = (*Driver)(nil)
	_ driver.DriverContext = (*Driver)(nil)
	_ driver.Connector     = (*Connector)(nil)
)

// Open returns a single connection with a database of its own (closing the
// connection shuts the database down). database/sql does not call it: it
// uses OpenConnector, so that all connections of a *sql.DB share one
// database.
func (d *Driver) Open(dsn string) (driver.Conn, error) {
	cn, err := NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	c, err := cn.Connect(context.Background())
	if err != nil {
		cn.Close()
		return nil, err
	}
	c.(*conn).ownConnector = true
	return c, nil
}

// OpenConnector implements driver.DriverContext.
func (d *Driver) OpenConnector(dsn string) (driver.Connector, error) {
	return NewConnector(dsn)
}

// config is a parsed data source name.
type config struct {
	dsn      string
	key      string // registry key; "" for a private mem: database
	dir      string
	inMemory bool
	caps     uint32
	logLevel slog.Level
}

// parseDSN reads "file:PATH[?opts]", "mem:[NAME][?opts]".
func parseDSN(dsn string) (config, error) {
	cfg := config{dsn: dsn, logLevel: slog.LevelWarn,
		caps: mysql.CLIENT_PROTOCOL_41 | mysql.CLIENT_TRANSACTIONS | mysql.CLIENT_MULTI_RESULTS | mysql.CLIENT_PS_MULTI_RESULTS}
	bad := func(format string, args ...any) (config, error) {
		return config{}, fmt.Errorf("polar: bad DSN %q: %s", dsn, fmt.Sprintf(format, args...))
	}
	body, opts, _ := strings.Cut(dsn, "?")
	scheme, rest, ok := strings.Cut(body, ":")
	switch {
	case !ok:
		return bad(`want "file:/path/to/dir" or "mem:"`)
	case scheme == "mem":
		cfg.inMemory = true
		if rest != "" {
			cfg.key = "mem:" + rest
		}
	case scheme == "file":
		if rest == "" {
			return bad("no directory after file:")
		}
		abs, err := filepath.Abs(rest)
		if err != nil {
			return bad("%v", err)
		}
		cfg.dir, cfg.key = abs, "file:"+abs
	default:
		return bad(`unknown scheme %q: want "file:/path/to/dir" or "mem:"`, scheme)
	}
	if opts == "" {
		return cfg, nil
	}
	q, err := url.ParseQuery(opts)
	if err != nil {
		return bad("%v", err)
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "multiStatements", "clientFoundRows":
			on, err := strconv.ParseBool(v)
			if err != nil {
				return bad("%s=%q is not a boolean", k, v)
			}
			flag := uint32(mysql.CLIENT_MULTI_STATEMENTS)
			if k == "clientFoundRows" {
				flag = mysql.CLIENT_FOUND_ROWS
			}
			if on {
				cfg.caps |= flag
			}
		case "logLevel":
			if err := cfg.logLevel.UnmarshalText([]byte(v)); err != nil {
				return bad("logLevel=%q: want debug, info, warn or error", v)
			}
		default:
			return bad("unknown option %q (known: multiStatements, clientFoundRows, logLevel)", k)
		}
	}
	return cfg, nil
}

// Connector opens connections to one Polar database; it implements
// driver.Connector and io.Closer, so sql.OpenDB(connector) works and
// db.Close shuts the database down. The database is started by the first
// Connect.
type Connector struct {
	cfg config

	// ctx ends when the Connector is closed: it interrupts statements
	// still running on connections database/sql did not close first
	// (DB.Close does not wait for connections in use).
	ctx    context.Context
	cancel context.CancelFunc

	// handler, if set (tests), replaces the database's sessions.
	handler func(mysqlserver.ConnInfo) mysqlserver.Handler

	mu     sync.Mutex
	ent    *entry // the database, once started
	conns  map[*conn]struct{}
	closed bool
}

// NewConnector returns a Connector for a data source name (see the package
// documentation), for sql.OpenDB.
func NewConnector(dsn string) (*Connector, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Connector{cfg: cfg, ctx: ctx, cancel: cancel, conns: map[*conn]struct{}{}}, nil
}

// Driver implements driver.Connector.
func (cn *Connector) Driver() driver.Driver { return &Driver{} }

// Connect implements driver.Connector: it starts the database on first
// use and opens a session on it.
func (cn *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.closed {
		return nil, errors.New("polar: database is closed")
	}
	if cn.ent == nil && cn.handler == nil {
		// Holding mu while the database starts makes concurrent first
		// Connects wait for it instead of starting it twice.
		ent, err := acquire(ctx, cn.cfg)
		if err != nil {
			return nil, err
		}
		cn.ent = ent
	}
	info := mysqlserver.ConnInfo{
		User:       "root",
		Collation:  45, // utf8mb4_general_ci, go-sql-driver/mysql's default
		Caps:       cn.cfg.caps,
		AuthPlugin: "embedded",
		Attributes: map[string]string{"_client_name": "polar-embedded"},
	}
	var sess mysqlserver.Handler
	if cn.handler != nil {
		sess = cn.handler(info)
	} else {
		sess = cn.ent.inst.DB().NewSession(info)
	}
	c := &conn{cn: cn, sess: sess, open: map[*rows]struct{}{}}
	cn.conns[c] = struct{}{}
	return c, nil
}

// Instance returns the running database, or nil before the first
// connection and after Close.
func (cn *Connector) Instance() *instance.Instance {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.ent == nil || cn.closed {
		return nil
	}
	return cn.ent.inst
}

// Close closes every connection still open (interrupting their statements;
// open transactions roll back) and shuts the database down unless another
// Connector of the process still uses it. database/sql calls it from
// DB.Close. It is idempotent.
func (cn *Connector) Close() error {
	cn.mu.Lock()
	if cn.closed {
		cn.mu.Unlock()
		return nil
	}
	cn.closed = true
	cn.cancel()
	conns := make([]*conn, 0, len(cn.conns))
	for c := range cn.conns {
		conns = append(conns, c)
	}
	ent := cn.ent
	cn.mu.Unlock()
	for _, c := range conns {
		c.shutdown()
	}
	if ent == nil {
		return nil
	}
	return release(ent)
}

// forget drops a closed connection.
func (cn *Connector) forget(c *conn) {
	cn.mu.Lock()
	delete(cn.conns, c)
	cn.mu.Unlock()
}

// entry is a running database, shared by the Connectors of the same
// file: path or mem:NAME.
type entry struct {
	key  string
	inst *instance.Instance
	refs int           // guarded by registry.mu
	done chan struct{} // closed once a shut-down entry's instance is closed
}

// registry holds the shared databases of the process.
var registry = struct {
	sync.Mutex
	m map[string]*entry
	// closing are entries being shut down: a new open of the same key
	// waits for them, since the directory stays locked until then.
	closing map[string]*entry
}{m: map[string]*entry{}, closing: map[string]*entry{}}

// acquire returns the running database for cfg, starting it if needed.
func acquire(ctx context.Context, cfg config) (*entry, error) {
	if cfg.key == "" {
		inst, err := start(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return &entry{inst: inst, refs: 1}, nil
	}
	// The registry lock is held while a database starts (a fraction of a
	// second), which keeps two starts of the same directory apart.
	registry.Lock()
	defer registry.Unlock()
	if e := registry.m[cfg.key]; e != nil {
		e.refs++
		return e, nil
	}
	if old := registry.closing[cfg.key]; old != nil {
		select {
		case <-old.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("polar: wait for the previous close of %s: %w", cfg.key, ctx.Err())
		}
	}
	inst, err := start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	e := &entry{key: cfg.key, inst: inst, refs: 1}
	registry.m[cfg.key] = e
	return e, nil
}

// release drops a reference and shuts the database down with the last.
func release(e *entry) error {
	if e.key == "" {
		return e.inst.Close()
	}
	registry.Lock()
	e.refs--
	last := e.refs == 0
	if last {
		delete(registry.m, e.key)
		e.done = make(chan struct{})
		registry.closing[e.key] = e
	}
	registry.Unlock()
	if !last {
		return nil
	}
	err := e.inst.Close()
	registry.Lock()
	if registry.closing[e.key] == e {
		delete(registry.closing, e.key)
	}
	registry.Unlock()
	close(e.done)
	return err
}

// start opens the database of cfg.
func start(ctx context.Context, cfg config) (*instance.Instance, error) {
	log := slog.New(minLevel{slog.Default().Handler(), cfg.logLevel})
	icfg := instance.Config{Dir: cfg.dir, InMemory: cfg.inMemory, Logger: log}
	inst, err := instance.Open(ctx, icfg)
	if err != nil {
		return nil, fmt.Errorf("polar: open %s: %w", cfg.dsn, err)
	}
	return inst, nil
}

// minLevel filters a handler's records by level: an embedded database
// should not fill its application's log with start-up chatter.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
