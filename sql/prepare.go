package sql

import (
	"context"
	"sort"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/sql/expr"
)

// prepared is a statement prepared by COM_STMT_PREPARE: its AST and, for
// DML, the compiled plan, valid while the catalog generation is unchanged.
type prepared struct {
	stmt ast.StmtNode
	text string
	gen  uint64
	plan any // *selectPlan, *insertPlan, *changePlan, or nil
}

// paramCounter finds the '?' markers.
type paramCounter struct {
	marks []*test_driver.ParamMarkerExpr
}

func (v *paramCounter) Enter(n ast.Node) (ast.Node, bool) {
	if m, ok := n.(*test_driver.ParamMarkerExpr); ok {
		v.marks = append(v.marks, m)
	}
	return n, false
}

// number gives the markers their positions in the text: the parser leaves
// Order zero, and the protocol sends values in text order.
func (v *paramCounter) number() int {
	sort.Slice(v.marks, func(i, j int) bool { return v.marks[i].Offset < v.marks[j].Offset })
	for i, m := range v.marks {
		m.Order = i
	}
	return len(v.marks)
}

func (v *paramCounter) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// Prepare handles COM_STMT_PREPARE.
func (s *Session) Prepare(ctx context.Context, text string) (*mysqlserver.Prepared, error) {
	stmts, err := parse(text)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, codeError(mysql.ER_UNSUPPORTED_PS)
	}
	st := stmts[0]
	pc := &paramCounter{}
	st.Accept(pc)
	p := &prepared{stmt: st, text: text}
	out := &mysqlserver.Prepared{NumParams: pc.number(), Context: p}
	switch st.(type) {
	case *ast.SelectStmt, *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		s.db.ddlMu.RLock()
		err := s.planPrepared(ctx, p)
		s.db.ddlMu.RUnlock()
		if err != nil {
			return nil, toMySQLError(err)
		}
		if sp, ok := p.plan.(*selectPlan); ok {
			out.Columns = make([]mysqlserver.Column, len(sp.cols))
			for i := range sp.cols {
				out.Columns[i] = wireColumn(&sp.cols[i])
			}
		}
	case *ast.ShowStmt, *ast.ExplainStmt:
		// Result columns depend on execution; sent with the result.
	}
	return out, nil
}

// planPrepared (re)compiles a prepared DML statement.
func (s *Session) planPrepared(ctx context.Context, p *prepared) error {
	p.gen = s.db.cat.Generation()
	var err error
	switch n := p.stmt.(type) {
	case *ast.SelectStmt:
		p.plan, err = s.planSelect(ctx, n)
	case *ast.InsertStmt:
		p.plan, err = s.planInsert(ctx, n)
	case *ast.UpdateStmt:
		if n.MultipleTable {
			return codeError(mysql.ER_NOT_SUPPORTED_YET, "multi-table UPDATE")
		}
		p.plan, err = s.planChange(ctx, n.TableRefs, n.Where, n.Order, n.Limit, n.List)
	case *ast.DeleteStmt:
		if n.IsMultiTable {
			return codeError(mysql.ER_NOT_SUPPORTED_YET, "multi-table DELETE")
		}
		p.plan, err = s.planChange(ctx, n.TableRefs, n.Where, n.Order, n.Limit, nil)
	}
	return err
}

// Execute handles COM_STMT_EXECUTE.
func (s *Session) Execute(ctx context.Context, stmt *mysqlserver.Stmt, args []any) (*mysqlserver.Result, error) {
	p, ok := stmt.Context.(*prepared)
	if !ok {
		return nil, codeError(mysql.ER_UNKNOWN_STMT_HANDLER, stmt.ID, "EXECUTE")
	}
	params := make([]expr.Value, len(args))
	for i, a := range args {
		v, err := expr.FromGo(a)
		if err != nil {
			return nil, errorf(mysql.ER_WRONG_ARGUMENTS, "Incorrect arguments to EXECUTE: %v", err)
		}
		params[i] = v
	}
	if p.plan == nil {
		return s.execute(ctx, p.stmt, params, p.text)
	}
	return s.executePlan(ctx, p, params)
}

// executePlan runs a prepared DML plan, re-planning after DDL.
func (s *Session) executePlan(ctx context.Context, p *prepared, params []expr.Value) (*mysqlserver.Result, error) {
	s.warnings = s.warnings[:0]
	s.db.questions.Add(1)
	ctx, done := s.track(ctx, p.text)
	defer done()
	s.db.ddlMu.RLock()
	defer s.db.ddlMu.RUnlock()
	if p.gen != s.db.cat.Generation() {
		if err := s.planPrepared(ctx, p); err != nil {
			return nil, toMySQLError(err)
		}
	}
	var res *mysqlserver.Result
	var err error
	switch pl := p.plan.(type) {
	case *selectPlan:
		res, err = s.execSelect(ctx, pl, params)
	case *insertPlan:
		res, err = s.execInsert(ctx, pl, params)
	case *changePlan:
		res, err = s.execChange(ctx, pl, params)
	}
	if err != nil {
		err = toMySQLError(err)
		if me, ok := err.(*mysqlserver.Error); ok {
			s.warnings = append(s.warnings[:0], expr.Warning{Level: "Error", Code: me.Code, Message: me.Message})
		}
		return nil, err
	}
	if len(res.Columns) == 0 {
		res.Warnings = uint16(min(len(s.warnings), 65535))
	}
	return res, nil
}

// CloseStmt forgets a prepared statement (nothing is held per statement).
func (s *Session) CloseStmt(*mysqlserver.Stmt) {}

// FieldList handles COM_FIELD_LIST.
func (s *Session) FieldList(ctx context.Context, tableName, wildcard string) ([]mysqlserver.Column, error) {
	if s.curDB == "" {
		return nil, codeError(mysql.ER_NO_DB_ERROR)
	}
	te, err := s.db.table(ctx, s.curDB, tableName)
	if err != nil {
		return nil, err
	}
	src := &source{alias: tableName, db: s.curDB, def: te.def, tbl: te.tbl}
	var out []mysqlserver.Column
	for i := range te.def.Columns {
		rc := baseCol(src, i, "", expr.TypeOfColumn(&te.def.Columns[i]))
		c := wireColumn(&rc)
		if d := te.def.Columns[i].Default; d != nil {
			if t, ok := defaultText(&te.def.Columns[i]).(string); ok {
				c.Default = []byte(t)
			}
		}
		out = append(out, c)
	}
	return out, nil
}
