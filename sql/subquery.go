package sql

import (
	"context"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/sql/expr"
)

// execEnv is what subqueries need at evaluation time besides the row: one
// per statement plan, shared by its nested queries, set when the
// statement starts executing.
type execEnv struct {
	planCtx context.Context
	ctx     context.Context
	s       *Session
	tx      *engine.Txn
	gen     uint64 // bumped per execution: invalidates cached subquery results
}

func (e *execEnv) enter(ctx context.Context, s *Session, tx *engine.Txn) {
	if e == nil {
		return
	}
	e.ctx, e.s, e.tx = ctx, s, tx
	e.gen++
}

// queryPlan is a compiled query: a SELECT block or a UNION of them.
type queryPlan interface {
	columns() []resultCol
	// exec runs the query; outer holds the enclosing query's row (for
	// correlated references) and max > 0 stops after that many rows.
	exec(ctx context.Context, s *Session, tx *engine.Txn, ec *expr.Context, outer []expr.Value, max int) ([][]expr.Value, error)
}

// planQuery compiles a query (SELECT, UNION) nested in scope outer (nil at
// top level).
func (s *Session) planQuery(ctx context.Context, n ast.Node, outer *scope) (queryPlan, error) {
	switch x := n.(type) {
	case *ast.SelectStmt:
		return s.planSelectIn(ctx, x, outer)
	case *ast.SetOprStmt:
		return s.planUnion(ctx, x, outer)
	case *ast.SubqueryExpr:
		return s.planQuery(ctx, x.Query, outer)
	}
	return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "this query form")
}

// subquery evaluates a nested query for the enclosing row.
type subquery struct {
	plan  queryPlan
	sc    *scope // the nested query's scope: its outerRefs
	env   *execEnv
	shift int // the enclosing row starts at row[shift] (HAVING/ORDER BY rows)

	cacheGen uint64
	cache    [][]expr.Value
}

// rows runs the subquery for one enclosing row, caching the result when
// it does not depend on that row.
func (q *subquery) rows(ec *expr.Context, row []expr.Value, max int) ([][]expr.Value, error) {
	correlated := len(q.sc.outerRefs) > 0
	if !correlated && q.cache != nil && q.cacheGen == q.env.gen {
		return q.cache, nil
	}
	if q.env.s == nil {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "a subquery here")
	}
	if q.shift > 0 && len(row) >= q.shift {
		row = row[q.shift:]
	}
	if !correlated {
		max = -1 // cache the whole result
	}
	rows, err := q.plan.exec(q.env.ctx, q.env.s, q.env.tx, ec, row, max)
	if err != nil {
		return nil, err
	}
	if !correlated {
		q.cache, q.cacheGen = rows, q.env.gen
		if q.cache == nil {
			q.cache = [][]expr.Value{}
		}
	}
	return rows, nil
}

var boolType = expr.Type{Kind: keycodec.KindInt, Column: catalog.ColumnType{Name: "bigint", Length: 1}}

// scalarSub is (SELECT x ...) as a value.
type scalarSub struct {
	q *subquery
	t expr.Type
}

func (e *scalarSub) Type() expr.Type { return e.t }

func (e *scalarSub) Eval(ec *expr.Context, row []expr.Value) (expr.Value, error) {
	rows, err := e.q.rows(ec, row, 2)
	if err != nil {
		return expr.Value{}, err
	}
	switch len(rows) {
	case 0:
		return expr.Value{}, nil
	case 1:
		return rows[0][0], nil
	}
	return expr.Value{}, codeError(mysql.ER_SUBQUERY_NO_1_ROW)
}

// existsSub is [NOT] EXISTS (SELECT ...).
type existsSub struct {
	q   *subquery
	not bool
}

func (e *existsSub) Type() expr.Type { return boolType }

func (e *existsSub) Eval(ec *expr.Context, row []expr.Value) (expr.Value, error) {
	rows, err := e.q.rows(ec, row, 1)
	if err != nil {
		return expr.Value{}, err
	}
	return boolValue((len(rows) > 0) != e.not), nil
}

// compareSub is x op ANY|ALL (SELECT ...); IN is = ANY, NOT IN is <> ALL.
type compareSub struct {
	x    expr.Expr
	q    *subquery
	op   opcode.Op
	all  bool
	coll keycodec.Collation
}

func (e *compareSub) Type() expr.Type { return boolType }

func (e *compareSub) Eval(ec *expr.Context, row []expr.Value) (expr.Value, error) {
	rows, err := e.q.rows(ec, row, -1)
	if err != nil {
		return expr.Value{}, err
	}
	if len(rows) == 0 {
		return boolValue(e.all), nil // ANY of nothing is false, ALL of nothing true
	}
	x, err := e.x.Eval(ec, row)
	if err != nil {
		return expr.Value{}, err
	}
	if x.Kind == keycodec.KindNull {
		return expr.Value{}, nil
	}
	sawNull := false
	for _, r := range rows {
		v := r[0]
		if v.Kind == keycodec.KindNull {
			sawNull = true
			continue
		}
		c := expr.Compare(x, v, e.coll)
		var ok bool
		switch e.op {
		case opcode.EQ:
			ok = c == 0
		case opcode.NE:
			ok = c != 0
		case opcode.LT:
			ok = c < 0
		case opcode.LE:
			ok = c <= 0
		case opcode.GT:
			ok = c > 0
		case opcode.GE:
			ok = c >= 0
		}
		if ok && !e.all {
			return boolValue(true), nil
		}
		if !ok && e.all {
			return boolValue(false), nil
		}
	}
	if sawNull {
		return expr.Value{}, nil
	}
	return boolValue(e.all), nil
}

// notExpr negates a boolean (NULL stays NULL).
type notExpr struct{ x expr.Expr }

func (e *notExpr) Type() expr.Type { return boolType }

func (e *notExpr) Eval(ec *expr.Context, row []expr.Value) (expr.Value, error) {
	v, err := e.x.Eval(ec, row)
	if err != nil || v.Kind == keycodec.KindNull {
		return v, err
	}
	return boolValue(!expr.Truth(v)), nil
}

// ResolveExpr compiles subqueries (expr.ExprResolver).
func (sc *scope) ResolveExpr(n ast.ExprNode, compile func(ast.ExprNode) (expr.Expr, error)) (expr.Expr, bool, error) {
	switch x := n.(type) {
	case *ast.SubqueryExpr:
		q, err := sc.subquery(x)
		if err != nil {
			return nil, false, err
		}
		cols := q.plan.columns()
		if len(cols) != 1 {
			return nil, false, errorf(mysql.ER_OPERAND_COLUMNS, "Operand should contain 1 column(s)")
		}
		t := cols[0].typ
		t.NotNull = false
		return &scalarSub{q: q, t: t}, true, nil
	case *ast.ExistsSubqueryExpr:
		sq, ok := x.Sel.(*ast.SubqueryExpr)
		if !ok {
			return nil, false, nil
		}
		q, err := sc.subquery(sq)
		if err != nil {
			return nil, false, err
		}
		return &existsSub{q: q, not: x.Not}, true, nil
	case *ast.PatternInExpr:
		if x.Sel == nil {
			return nil, false, nil
		}
		e, err := sc.compareSub(x.Expr, x.Sel, opcode.EQ, false, compile)
		if err != nil {
			return nil, false, err
		}
		if x.Not {
			return &notExpr{x: e}, true, nil
		}
		return e, true, nil
	case *ast.CompareSubqueryExpr:
		e, err := sc.compareSub(x.L, x.R, x.Op, x.All, compile)
		return e, err == nil, err
	}
	return nil, false, nil
}

func (sc *scope) compareSub(l, r ast.ExprNode, op opcode.Op, all bool, compile func(ast.ExprNode) (expr.Expr, error)) (expr.Expr, error) {
	sq, ok := r.(*ast.SubqueryExpr)
	if !ok {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "this subquery form")
	}
	if _, isRow := l.(*ast.RowExpr); isRow {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "row subqueries")
	}
	x, err := compile(l)
	if err != nil {
		return nil, err
	}
	q, err := sc.subquery(sq)
	if err != nil {
		return nil, err
	}
	cols := q.plan.columns()
	if len(cols) != 1 {
		return nil, errorf(mysql.ER_OPERAND_COLUMNS, "Operand should contain 1 column(s)")
	}
	coll := x.Type().Collation()
	if cols[0].typ.Kind == keycodec.KindString && x.Type().Kind == keycodec.KindString {
		coll = cols[0].typ.Collation()
	}
	return &compareSub{x: x, q: q, op: op, all: all, coll: coll}, nil
}

// subquery plans a nested query in this scope.
func (sc *scope) subquery(n *ast.SubqueryExpr) (*subquery, error) {
	if sc.env == nil || sc.env.s == nil {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "a subquery here")
	}
	saved := sc.clause
	plan, err := sc.env.s.planQuery(sc.env.planCtx, n.Query, sc)
	sc.clause = saved
	if err != nil {
		return nil, err
	}
	return &subquery{plan: plan, sc: planScope(plan), env: sc.env}, nil
}

// planScope returns the scope whose outer references a plan's rows need.
func planScope(p queryPlan) *scope {
	switch x := p.(type) {
	case *selectPlan:
		return x.sc
	case *unionPlan:
		return x.sc
	}
	return &scope{}
}

// subOf returns the subquery an expression from ResolveExpr evaluates.
func subOf(e expr.Expr) *subquery {
	switch x := e.(type) {
	case *scalarSub:
		return x.q
	case *existsSub:
		return x.q
	case *compareSub:
		return x.q
	case *notExpr:
		return subOf(x.x)
	}
	return nil
}

// correlated reports whether a subquery expression reads the enclosing row.
func correlated(e expr.Expr) bool {
	q := subOf(e)
	return q != nil && len(q.sc.outerRefs) > 0
}

func setShift(e expr.Expr, n int) {
	if q := subOf(e); q != nil {
		q.shift = n
	}
}
