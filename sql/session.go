package sql

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/sql/expr"
)

// Session is one client connection's SQL state: default database,
// autocommit, the open transaction, session variables, prepared plans. It
// implements mysqlserver.Handler; like every Handler it is used by one
// goroutine at a time (KILL from another session only cancels).
type Session struct {
	mysqlserver.BaseHandler
	db   *DB
	info mysqlserver.ConnInfo

	curDB      string
	autocommit bool
	txn        *engine.Txn // open explicit transaction (BEGIN, or autocommit=0)
	isolation  engine.Isolation
	nextIso    *engine.Isolation // SET TRANSACTION: the next transaction only
	readOnly   bool              // the open transaction is READ ONLY

	lastInsertID uint64
	foundRows    uint64
	warnings     []expr.Warning
	vars         map[string]expr.Value // session system variables set with SET
	userVars     map[string]expr.Value
	lockWait     time.Duration

	// Per connection, built once rather than per statement.
	userHost string                                             // USER()
	sysVarFn func(name string, global bool) (expr.Value, error) // s.sysVar

	// mu guards running, which other sessions read (KILL, PROCESSLIST).
	mu      sync.Mutex
	running *stmtCancel
	startAt time.Time
}

// stmtCancel lets KILL from another connection stop a statement.
type stmtCancel struct {
	cancel context.CancelFunc
	text   string
	start  time.Time
}

func newSession(db *DB, info mysqlserver.ConnInfo) *Session {
	s := &Session{db: db, info: info, autocommit: true, isolation: engine.RepeatableRead,
		vars: map[string]expr.Value{}, userVars: map[string]expr.Value{}, startAt: time.Now(),
		userHost: info.User + "@" + hostOf(info.RemoteAddr)}
	s.sysVarFn = s.sysVar
	return s
}

// ConnID is the connection id (CONNECTION_ID()).
func (s *Session) ConnID() uint32 { return s.info.ID }

// UseDB selects the default database (COM_INIT_DB, login database).
func (s *Session) UseDB(ctx context.Context, name string) error {
	if strings.EqualFold(name, infoSchema) {
		s.setDB(infoSchema)
		return nil
	}
	if _, err := s.db.cat.Database(ctx, name); err != nil {
		return errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", name)
	}
	s.setDB(name)
	return nil
}

// setDB changes the current database; under mu because SHOW PROCESSLIST
// reads it from other sessions.
func (s *Session) setDB(name string) {
	s.mu.Lock()
	s.curDB = name
	s.mu.Unlock()
}

// Status reports the transaction state flags.
func (s *Session) Status() mysqlserver.ServerStatus {
	var st mysqlserver.ServerStatus
	if s.autocommit {
		st |= mysqlserver.StatusAutocommit
	}
	if s.txn != nil {
		st |= mysqlserver.StatusInTrans
		if s.readOnly {
			st |= mysqlserver.StatusInTransReadonly
		}
	}
	return st
}

// Close rolls back an open transaction and forgets the session.
func (s *Session) Close() {
	s.endTxn(false)
	s.db.sessions.Delete(s.info.ID)
}

// ResetConnection implements COM_RESET_CONNECTION.
func (s *Session) ResetConnection(ctx context.Context) error {
	s.endTxn(false)
	s.autocommit, s.isolation, s.nextIso = true, engine.RepeatableRead, nil
	s.vars, s.userVars, s.warnings = map[string]expr.Value{}, map[string]expr.Value{}, nil
	s.lastInsertID = 0
	return nil
}

// Query runs the statements of one COM_QUERY.
func (s *Session) Query(ctx context.Context, text string) ([]*mysqlserver.Result, error) {
	stmts, err := parse(text)
	if err != nil {
		return nil, err
	}
	if len(stmts) > 1 && !s.info.MultiStatements() && s.info.Caps != 0 {
		return nil, syntaxError(errors.New("near '" + stmts[1].Text() + "'"))
	}
	results := make([]*mysqlserver.Result, 0, len(stmts))
	for _, st := range stmts {
		r, err := s.execute(ctx, st, nil, st.Text())
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	return results, nil
}

// execute runs one statement with parameter values (prepared) or none.
func (s *Session) execute(ctx context.Context, st ast.StmtNode, params []expr.Value, text string) (res *mysqlserver.Result, err error) {
	ctx, done := s.track(ctx, text)
	defer done()
	if _, ok := st.(*ast.ShowStmt); !ok {
		s.warnings = s.warnings[:0]
	}
	res, err = s.dispatch(ctx, st, params)
	if err != nil {
		err = toMySQLError(err)
		if me, ok := err.(*mysqlserver.Error); ok {
			s.warnings = append(s.warnings[:0], expr.Warning{Level: "Error", Code: me.Code, Message: me.Message})
		}
		return nil, err
	}
	if res == nil {
		res = &mysqlserver.Result{}
	}
	if len(res.Columns) == 0 {
		res.Warnings = uint16(min(len(s.warnings), 65535))
	}
	return res, nil
}

// track registers a running statement so that KILL QUERY from another
// session can cancel it and SHOW PROCESSLIST can show it.
func (s *Session) track(ctx context.Context, text string) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.running = &stmtCancel{cancel: cancel, text: text, start: time.Now()}
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		s.running = nil
		s.mu.Unlock()
		cancel()
	}
}

// exprContext returns a fresh evaluation context for one statement.
func (s *Session) exprContext(params []expr.Value) *expr.Context {
	return &expr.Context{
		Params:       params,
		Now:          time.Now().UTC(),
		DB:           s.curDB,
		User:         s.userHost,
		ConnID:       s.info.ID,
		LastInsertID: s.lastInsertID,
		Version:      Version,
		Strict:       s.strict(),
		SysVar:       s.sysVarFn,
		UserVars:     s.userVars,
	}
}

func hostOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i]
		}
	}
	if addr == "" {
		return "localhost"
	}
	return addr
}

// dispatch runs one statement.
func (s *Session) dispatch(ctx context.Context, st ast.StmtNode, params []expr.Value) (*mysqlserver.Result, error) {
	s.db.questions.Add(1)
	switch n := st.(type) {
	case *ast.SelectStmt:
		s.db.ddlMu.RLock()
		defer s.db.ddlMu.RUnlock()
		return s.runSelect(ctx, n, params)
	case *ast.InsertStmt:
		s.db.ddlMu.RLock()
		defer s.db.ddlMu.RUnlock()
		return s.runInsert(ctx, n, params)
	case *ast.UpdateStmt:
		s.db.ddlMu.RLock()
		defer s.db.ddlMu.RUnlock()
		return s.runUpdate(ctx, n, params)
	case *ast.DeleteStmt:
		s.db.ddlMu.RLock()
		defer s.db.ddlMu.RUnlock()
		return s.runDelete(ctx, n, params)
	case *ast.BeginStmt:
		if err := s.commitOpen(ctx); err != nil {
			return nil, err
		}
		return nil, s.begin(n.ReadOnly)
	case *ast.CommitStmt:
		return nil, s.commitOpen(ctx)
	case *ast.RollbackStmt:
		if n.SavepointName != "" {
			return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "SAVEPOINT")
		}
		s.endTxn(false)
		return nil, nil
	case *ast.SavepointStmt, *ast.ReleaseSavepointStmt:
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "SAVEPOINT")
	case *ast.UseStmt:
		return nil, s.UseDB(ctx, n.DBName)
	case *ast.SetStmt:
		return nil, s.runSet(ctx, n, params)
	case *ast.ShowStmt:
		return s.runShow(ctx, n)
	case *ast.ExplainStmt:
		return s.runExplain(ctx, n)
	case *ast.KillStmt:
		return nil, s.runKill(n)
	case *ast.DoStmt:
		ec := s.exprContext(params)
		for _, e := range n.Exprs {
			c, err := expr.Compile(e, &scope{})
			if err != nil {
				return nil, err
			}
			if _, err := c.Eval(ec, nil); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case *ast.CreateDatabaseStmt, *ast.DropDatabaseStmt, *ast.CreateTableStmt, *ast.DropTableStmt,
		*ast.CreateIndexStmt, *ast.DropIndexStmt, *ast.TruncateTableStmt, *ast.AlterTableStmt, *ast.RenameTableStmt:
		// DDL commits the open transaction first, as in MySQL.
		if err := s.commitOpen(ctx); err != nil {
			return nil, err
		}
		return s.runDDL(ctx, n)
	case *ast.AnalyzeTableStmt, *ast.FlushStmt:
		return nil, nil
	case *ast.SetOprStmt:
		s.db.ddlMu.RLock()
		defer s.db.ddlMu.RUnlock()
		u, err := s.planUnion(ctx, n, nil)
		if err != nil {
			return nil, err
		}
		return s.execQuery(ctx, u, u.sc.env, params)
	}
	return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "this statement")
}

// begin opens an explicit transaction.
func (s *Session) begin(readOnly bool) error {
	iso := s.isolation
	if s.nextIso != nil {
		iso, s.nextIso = *s.nextIso, nil
	}
	s.txn = s.db.eng.Begin(engine.TxnOptions{Isolation: iso, ReadOnly: readOnly, LockWaitTimeout: s.lockWait})
	s.readOnly = readOnly
	return nil
}

// commitOpen commits the open transaction, if any.
func (s *Session) commitOpen(ctx context.Context) error {
	if s.txn == nil {
		return nil
	}
	tx := s.txn
	s.txn = nil
	s.readOnly = false
	if err := tx.Commit(ctx); err != nil {
		return toMySQLError(err)
	}
	return nil
}

// endTxn ends the open transaction without committing.
func (s *Session) endTxn(_ bool) {
	if s.txn != nil {
		s.txn.Rollback()
		s.txn = nil
		s.readOnly = false
	}
}

// inTxn runs a statement in the open transaction (as one statement that
// is undone on error) or, in autocommit mode, in its own transaction.
func (s *Session) inTxn(ctx context.Context, write bool, f func(tx *engine.Txn) error) error {
	if s.txn == nil && !s.autocommit {
		if err := s.begin(false); err != nil {
			return err
		}
	}
	if tx := s.txn; tx != nil {
		tx.StatementBegin()
		err := f(tx)
		if err != nil {
			if isTxnAbort(err) {
				// A deadlock victim's transaction is rolled back whole.
				s.endTxn(false)
			} else {
				tx.StatementRollback()
			}
		}
		return err
	}
	iso := s.isolation
	if s.nextIso != nil {
		iso, s.nextIso = *s.nextIso, nil
	}
	tx := s.db.eng.Begin(engine.TxnOptions{Isolation: iso, ReadOnly: !write, LockWaitTimeout: s.lockWait})
	tx.StatementBegin()
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if !write {
		tx.Rollback() // nothing to commit; releases the snapshot
		return nil
	}
	return tx.Commit(ctx)
}

// runSelect executes a SELECT.
func (s *Session) runSelect(ctx context.Context, n *ast.SelectStmt, params []expr.Value) (*mysqlserver.Result, error) {
	p, err := s.planSelect(ctx, n)
	if err != nil {
		return nil, err
	}
	return s.execSelect(ctx, p, params)
}

func (s *Session) execSelect(ctx context.Context, p *selectPlan, params []expr.Value) (*mysqlserver.Result, error) {
	return s.execQuery(ctx, p, p.sc.env, params)
}

// execQuery runs a query plan and returns its result set.
func (s *Session) execQuery(ctx context.Context, p queryPlan, env *execEnv, params []expr.Value) (*mysqlserver.Result, error) {
	ec := s.exprContext(params)
	var rows [][]expr.Value
	locking := false
	if sp, ok := p.(*selectPlan); ok {
		locking = sp.lock != engine.NoLock
	}
	err := s.inTxn(ctx, locking, func(tx *engine.Txn) error {
		env.enter(ctx, s, tx)
		var err error
		rows, err = p.exec(ctx, s, tx, ec, nil, -1)
		return err
	})
	s.warnings = append(s.warnings, ec.Warnings...)
	if err != nil {
		return nil, err
	}
	s.foundRows = uint64(len(rows))
	if sp, ok := p.(*selectPlan); ok {
		// A prepared plan runs many times: describe its columns once.
		if sp.wire == nil {
			sp.wire = wireColumns(sp.cols)
		}
		return resultRows(sp.wire, sp.cols, rows), nil
	}
	return resultSet(p.columns(), rows), nil
}
