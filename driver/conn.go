package driver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polarsql/polar/compute/mysqlserver"
)

// conn is one database/sql connection: one SQL session.
type conn struct {
	cn           *Connector
	ownConnector bool // opened by Driver.Open: Close closes cn too

	// mu serialises the session's use. database/sql already uses a
	// connection from one goroutine at a time, but Connector.Close may
	// shut it down from another while rows are being read.
	mu       sync.Mutex
	sess     mysqlserver.Handler // a *sql.Session; nil once closed
	open     map[*rows]struct{}
	nextStmt uint32
	closed   atomic.Bool // sess == nil, readable without mu (IsValid)
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

// lock takes the session for one call: it fails with driver.ErrBadConn
// once the connection is closed (database/sql then retries on another),
// reads the rest of any result still streaming into memory (a session runs
// one statement at a time, as a MySQL connection does), and returns a
// context that also ends when the Connector closes. The caller unlocks
// c.mu and calls done (or hands done to the rows that outlive the call).
func (c *conn) lock(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	if c.sess == nil {
		c.mu.Unlock()
		return nil, nil, driver.ErrBadConn
	}
	for r := range c.open {
		r.bufferLocked()
	}
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.cn.ctx, cancel)
	return cctx, func() { stop(); cancel() }, nil
}

// Prepare implements driver.Conn.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext implements driver.ConnPrepareContext.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	cctx, done, err := c.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	defer done()
	st, err := c.prepareLocked(cctx, query)
	if err != nil {
		return nil, err
	}
	return &stmt{c: c, st: st}, nil
}

// prepareLocked prepares query on the session and builds the Stmt the
// MySQL server would keep for it.
func (c *conn) prepareLocked(ctx context.Context, query string) (*mysqlserver.Stmt, error) {
	p, err := c.sess.Prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	if p == nil {
		p = &mysqlserver.Prepared{}
	}
	c.nextStmt++
	return &mysqlserver.Stmt{ID: c.nextStmt, SQL: query, NumParams: p.NumParams, Columns: p.Columns, Context: p.Context}, nil
}

// ExecContext implements driver.ExecerContext: a text query without
// arguments, prepare-execute-close with them.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	vals, err := sessionArgs(args)
	if err != nil {
		return nil, err
	}
	cctx, done, err := c.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	defer done()
	if len(args) == 0 {
		res, err := c.sess.Query(cctx, query)
		closeStreams(res)
		if err != nil {
			return nil, err
		}
		return execResult(res), nil
	}
	st, err := c.prepareLocked(cctx, query)
	if err != nil {
		return nil, err
	}
	defer c.sess.CloseStmt(st)
	res, err := c.executeLocked(cctx, st, vals)
	closeStreams([]*mysqlserver.Result{res})
	if err != nil {
		return nil, err
	}
	return execResult([]*mysqlserver.Result{res}), nil
}

// QueryContext implements driver.QueryerContext.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	vals, err := sessionArgs(args)
	if err != nil {
		return nil, err
	}
	cctx, done, err := c.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if len(args) == 0 {
		res, err := c.sess.Query(cctx, query)
		if err != nil {
			closeStreams(res)
			done()
			return nil, err
		}
		// The rows keep cctx: a streaming result reads with it.
		return c.newRowsLocked(res, nil, done), nil
	}
	st, err := c.prepareLocked(cctx, query)
	if err != nil {
		done()
		return nil, err
	}
	res, err := c.executeLocked(cctx, st, vals)
	if err != nil {
		c.sess.CloseStmt(st)
		done()
		return nil, err
	}
	return c.newRowsLocked([]*mysqlserver.Result{res}, st.Columns, func() { c.sess.CloseStmt(st); done() }), nil
}

// executeLocked runs a prepared statement after checking the argument
// count (the server's COM_STMT_EXECUTE decoder guarantees it to handlers).
func (c *conn) executeLocked(ctx context.Context, st *mysqlserver.Stmt, args []any) (*mysqlserver.Result, error) {
	if len(args) != st.NumParams {
		return nil, fmt.Errorf("polar: statement has %d placeholders, got %d arguments", st.NumParams, len(args))
	}
	res, err := c.sess.Execute(ctx, st, args)
	if err != nil {
		closeStreams([]*mysqlserver.Result{res})
		return nil, err
	}
	if res == nil {
		res = &mysqlserver.Result{}
	}
	return res, nil
}

// Begin implements driver.Conn.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx implements driver.ConnBeginTx with MySQL's statements.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var level string
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		level = "READ UNCOMMITTED"
	case sql.LevelReadCommitted:
		level = "READ COMMITTED"
	case sql.LevelRepeatableRead:
		level = "REPEATABLE READ"
	case sql.LevelSerializable:
		level = "SERIALIZABLE"
	default:
		return nil, fmt.Errorf("polar: isolation level %v is not supported", sql.IsolationLevel(opts.Isolation))
	}
	if level != "" {
		if err := c.internal(ctx, "SET TRANSACTION ISOLATION LEVEL "+level); err != nil {
			return nil, err
		}
	}
	begin := "START TRANSACTION"
	if opts.ReadOnly {
		begin = "START TRANSACTION READ ONLY"
	}
	if err := c.internal(ctx, begin); err != nil {
		return nil, err
	}
	return tx{c}, nil
}

// internal runs a statement of the driver's own.
func (c *conn) internal(ctx context.Context, query string) error {
	cctx, done, err := c.lock(ctx)
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	defer done()
	res, err := c.sess.Query(cctx, query)
	closeStreams(res)
	return err
}

// tx is a transaction begun by BeginTx.
type tx struct{ c *conn }

// Commit implements driver.Tx.
func (t tx) Commit() error { return t.c.internal(context.Background(), "COMMIT") }

// Rollback implements driver.Tx.
func (t tx) Rollback() error { return t.c.internal(context.Background(), "ROLLBACK") }

// Ping implements driver.Pinger: the session is alive while the connection
// is open.
func (c *conn) Ping(ctx context.Context) error {
	_, done, err := c.lock(ctx)
	if err != nil {
		return err
	}
	done()
	c.mu.Unlock()
	return nil
}

// ResetSession implements driver.SessionResetter. Like go-sql-driver/mysql
// it keeps the session's state (variables, USE) across pool reuse.
func (c *conn) ResetSession(ctx context.Context) error {
	if c.closed.Load() {
		return driver.ErrBadConn
	}
	return nil
}

// IsValid implements driver.Validator.
func (c *conn) IsValid() bool { return !c.closed.Load() }

// CheckNamedValue implements driver.NamedValueChecker: it passes the
// types the session takes as they are (uint64 above math.MaxInt64 and
// time.Duration included, which database/sql's default conversion
// refuses) and leaves the rest (driver.Valuer, named types) to
// database/sql.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if nv.Name != "" {
		return fmt.Errorf("polar: named parameter %q: only positional (?) parameters are supported", nv.Name)
	}
	switch v := nv.Value.(type) {
	case nil, int64, uint64, float64, bool, string, []byte, time.Time, time.Duration:
	case int:
		nv.Value = int64(v)
	case int32:
		nv.Value = int64(v)
	case int16:
		nv.Value = int64(v)
	case int8:
		nv.Value = int64(v)
	case uint:
		nv.Value = uint64(v)
	case uint32:
		nv.Value = uint64(v)
	case uint16:
		nv.Value = uint64(v)
	case uint8:
		nv.Value = uint64(v)
	case float32:
		nv.Value = float64(v)
	default:
		return driver.ErrSkip
	}
	return nil
}

// sessionArgs converts checked arguments to the Go types Session.Execute
// takes (those of the binary protocol's decoder).
func sessionArgs(args []driver.NamedValue) ([]any, error) {
	if len(args) == 0 {
		return nil, nil
	}
	vals := make([]any, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, fmt.Errorf("polar: named parameter %q: only positional (?) parameters are supported", a.Name)
		}
		switch v := a.Value.(type) {
		case bool:
			// MySQL has no boolean parameter type; BOOL is TINYINT(1).
			if v {
				vals[i] = int64(1)
			} else {
				vals[i] = int64(0)
			}
		case time.Time:
			// DATETIME has no zone: send the UTC wall clock, as
			// go-sql-driver/mysql does with its default loc=UTC.
			vals[i] = v.UTC()
		case []byte:
			// database/sql lets the caller reuse the slice after the call.
			vals[i] = append([]byte(nil), v...)
		default:
			vals[i] = v
		}
	}
	return vals, nil
}

// closeStreams closes the streams of results nobody will read.
func closeStreams(res []*mysqlserver.Result) {
	for _, r := range res {
		if r != nil && r.Stream != nil {
			_ = r.Stream.Close()
		}
	}
}

// execResult is the driver.Result of the last statement, as
// go-sql-driver/mysql reports it for a multi-statement Exec.
func execResult(res []*mysqlserver.Result) driver.Result {
	for i := len(res) - 1; i >= 0; i-- {
		if r := res[i]; r != nil {
			return result{affected: int64(r.AffectedRows), lastID: int64(r.LastInsertID)}
		}
	}
	return result{}
}

type result struct{ affected, lastID int64 }

// LastInsertId implements driver.Result.
func (r result) LastInsertId() (int64, error) { return r.lastID, nil }

// RowsAffected implements driver.Result.
func (r result) RowsAffected() (int64, error) { return r.affected, nil }

// Close implements driver.Conn: open rows are closed, an open transaction
// rolls back and the session ends.
func (c *conn) Close() error {
	c.shutdown()
	c.cn.forget(c)
	if c.ownConnector {
		return c.cn.Close()
	}
	return nil
}

// shutdown ends the session; later calls fail with driver.ErrBadConn.
func (c *conn) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return
	}
	for r := range c.open {
		r.closeLocked(errClosed)
	}
	c.sess.Close()
	c.sess = nil
	c.closed.Store(true)
}

// errClosed reports use of rows or statements after their connection
// closed (or the database: db.Close closes every connection).
var errClosed = errors.New("polar: connection is closed")
