package driver

import (
	"context"
	"database/sql/driver"

	"github.com/polarsql/polar/compute/mysqlserver"
)

// stmt is a statement prepared on a session.
type stmt struct {
	c      *conn
	st     *mysqlserver.Stmt
	closed bool // guarded by c.mu
}

var (
	_ driver.Stmt              = (*stmt)(nil)
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
)

// Close implements driver.Stmt.
func (s *stmt) Close() error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if !s.closed && s.c.sess != nil {
		s.c.sess.CloseStmt(s.st)
	}
	s.closed = true
	return nil
}

// NumInput implements driver.Stmt: database/sql checks the argument count.
func (s *stmt) NumInput() int { return s.st.NumParams }

// CheckNamedValue implements driver.NamedValueChecker.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error { return s.c.CheckNamedValue(nv) }

// Exec implements driver.Stmt.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

// Query implements driver.Stmt.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

// ExecContext implements driver.StmtExecContext.
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	vals, err := sessionArgs(args)
	if err != nil {
		return nil, err
	}
	cctx, done, err := s.c.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer s.c.mu.Unlock()
	defer done()
	if s.closed {
		return nil, errClosed
	}
	res, err := s.c.executeLocked(cctx, s.st, vals)
	if err != nil {
		return nil, err
	}
	closeStreams([]*mysqlserver.Result{res})
	return execResult([]*mysqlserver.Result{res}), nil
}

// QueryContext implements driver.StmtQueryContext.
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	vals, err := sessionArgs(args)
	if err != nil {
		return nil, err
	}
	cctx, done, err := s.c.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer s.c.mu.Unlock()
	if s.closed {
		done()
		return nil, errClosed
	}
	res, err := s.c.executeLocked(cctx, s.st, vals)
	if err != nil {
		done()
		return nil, err
	}
	return s.c.newRowsLocked([]*mysqlserver.Result{res}, s.st.Columns, done), nil
}

func named(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}
