// Package sql runs MySQL statements on the compute engine: the TiDB parser
// gives the AST, this package binds names against the catalog, plans
// (point get, index range, index-only scan, table scan, index lookup and
// nested-loop joins, sort, hash aggregation, limit) and executes.
//
// A DB is one compute node's SQL front end; each client connection gets its
// own Session, which implements mysqlserver.Handler, so the same Session
// serves the MySQL protocol server and the embedded database/sql driver.
package sql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/compute/table"
	"github.com/polarsql/polar/sql/expr"
)

// Version is what SELECT VERSION() and the handshake report.
const Version = "8.0.36-Polar"

// Config tunes a DB.
type Config struct {
	// Logger receives the SQL layer's logs (default slog.Default()).
	Logger *slog.Logger
	// LogSyncs, if set, counts the storage log's fsyncs (an in-process
	// storage node's): SHOW STATUS then reports commits per fsync.
	LogSyncs func() uint64
}

// DB is the SQL front end of one compute node.
type DB struct {
	eng *engine.Engine
	cat *catalog.Catalog
	log *slog.Logger
	cfg Config

	// ddlMu is the schema lock: statements hold it shared, DDL
	// exclusively, so no statement runs with a definition a DDL changes.
	ddlMu sync.RWMutex

	mu     sync.Mutex
	tables map[string]*tableEntry // "db\x00name" → opened table
	gen    uint64                 // catalog generation the cache is valid for

	sessions  sync.Map // conn id → *Session (SHOW PROCESSLIST, KILL)
	nextConn  atomic.Uint32
	started   time.Time
	questions atomic.Uint64
}

type tableEntry struct {
	def *catalog.Table
	tbl *table.Table

	mu       sync.Mutex
	defaults []expr.Expr
}

// New returns the SQL front end over an open engine and its catalog.
func New(eng *engine.Engine, cat *catalog.Catalog, cfg Config) *DB {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &DB{eng: eng, cat: cat, log: cfg.Logger, cfg: cfg, tables: map[string]*tableEntry{}, started: time.Now()}
}

// Handler is the mysqlserver handler factory: one Session per connection.
func (db *DB) Handler(info mysqlserver.ConnInfo) mysqlserver.Handler {
	return db.NewSession(info)
}

// NewSession opens a session for a connection (the embedded driver passes
// a ConnInfo with ID 0: the DB then assigns one).
func (db *DB) NewSession(info mysqlserver.ConnInfo) *Session {
	if info.ID == 0 {
		info.ID = db.nextConn.Add(1) | 1<<31
	}
	if info.User == "" {
		info.User = "root"
	}
	s := newSession(db, info)
	db.sessions.Store(info.ID, s)
	return s
}

// table returns an opened table, cached until the definition changes.
func (db *DB) table(ctx context.Context, dbName, name string) (*tableEntry, error) {
	def, err := db.cat.Table(ctx, dbName, name)
	if err != nil {
		if errors.Is(err, catalog.ErrNoTable) || errors.Is(err, catalog.ErrNoDatabase) {
			return nil, errorf(mysql.ER_NO_SUCH_TABLE, "Table '%s.%s' doesn't exist", dbName, name)
		}
		return nil, err
	}
	key := dbName + "\x00" + name
	db.mu.Lock()
	te := db.tables[key]
	db.mu.Unlock()
	if te != nil && te.def == def {
		return te, nil
	}
	tbl, err := table.Open(db.eng, db.cat, def)
	if err != nil {
		return nil, fmt.Errorf("open table %s.%s: %w", dbName, name, err)
	}
	te = &tableEntry{def: def, tbl: tbl}
	db.mu.Lock()
	db.tables[key] = te
	db.mu.Unlock()
	return te, nil
}

// defaults returns the compiled DEFAULT expressions of a table's columns
// (nil entries: no default clause).
func (te *tableEntry) defaultExprs() ([]expr.Expr, error) {
	te.mu.Lock()
	defer te.mu.Unlock()
	if te.defaults != nil {
		return te.defaults, nil
	}
	out := make([]expr.Expr, len(te.def.Columns))
	for i := range te.def.Columns {
		c := &te.def.Columns[i]
		if c.Default == nil {
			continue
		}
		stmts, err := parse("SELECT " + *c.Default)
		if err != nil {
			return nil, fmt.Errorf("default of column %s: %w", c.Name, err)
		}
		sel, ok := stmts[0].(*ast.SelectStmt)
		if !ok || len(sel.Fields.Fields) != 1 {
			return nil, fmt.Errorf("default of column %s: not an expression", c.Name)
		}
		e, err := expr.Compile(sel.Fields.Fields[0].Expr, &scope{})
		if err != nil {
			return nil, fmt.Errorf("default of column %s: %w", c.Name, err)
		}
		out[i] = e
	}
	te.defaults = out
	return out, nil
}

// openSource resolves a table name of a FROM clause.
func (s *Session) openSource(ctx context.Context, tn *ast.TableName, alias string) (*source, error) {
	dbName := tn.Schema.O
	if dbName == "" {
		dbName = s.curDB
		if dbName == "" {
			return nil, codeError(mysql.ER_NO_DB_ERROR)
		}
	}
	if strings.EqualFold(dbName, infoSchema) {
		return s.infoSource(ctx, tn.Name.O, alias)
	}
	te, err := s.db.table(ctx, dbName, tn.Name.O)
	if err != nil {
		return nil, err
	}
	if alias == "" {
		alias = tn.Name.O
	}
	return &source{alias: alias, db: dbName, def: te.def, tbl: te.tbl, entry: te}, nil
}
