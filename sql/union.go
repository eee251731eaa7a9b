package sql

import (
	"context"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/sql/expr"
)

// unionPlan is SELECT ... UNION [ALL | DISTINCT] SELECT ... with an
// optional ORDER BY / LIMIT over the combined rows.
type unionPlan struct {
	parts    []queryPlan
	distinct []bool // distinct[i]: the operator before part i removes duplicates
	cols     []resultCol
	sc       *scope // outer references of all parts (shared)
	order    []orderKey
	limit    expr.Expr
	offset   expr.Expr
}

func (u *unionPlan) columns() []resultCol { return u.cols }

func (s *Session) planUnion(ctx context.Context, n *ast.SetOprStmt, outer *scope) (*unionPlan, error) {
	if n.With != nil {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "WITH")
	}
	u := &unionPlan{sc: &scope{outer: outer, env: envOf(outer, ctx, s)}}
	var add func(list *ast.SetOprSelectList) error
	add = func(list *ast.SetOprSelectList) error {
		for i, node := range list.Selects {
			var op *ast.SetOprType
			var p queryPlan
			var err error
			switch x := node.(type) {
			case *ast.SelectStmt:
				op = x.AfterSetOperator
				p, err = s.planSelectIn(ctx, x, u.sc)
			case *ast.SetOprSelectList:
				op = x.AfterSetOperator
				if x.OrderBy != nil || x.Limit != nil {
					return codeError(mysql.ER_NOT_SUPPORTED_YET, "ORDER BY or LIMIT in a nested UNION")
				}
				before := len(u.parts)
				if err := add(x); err != nil {
					return err
				}
				if before > 0 && op != nil {
					u.distinct[before] = *op == ast.Union
				}
				continue
			default:
				return codeError(mysql.ER_NOT_SUPPORTED_YET, "this UNION form")
			}
			if err != nil {
				return err
			}
			d := false
			if len(u.parts) > 0 && i >= 0 {
				if op == nil {
					return codeError(mysql.ER_NOT_SUPPORTED_YET, "this set operation")
				}
				switch *op {
				case ast.Union:
					d = true
				case ast.UnionAll:
				default:
					return codeError(mysql.ER_NOT_SUPPORTED_YET, "EXCEPT and INTERSECT")
				}
			}
			if len(u.parts) > 0 && len(p.columns()) != len(u.cols) {
				return codeError(mysql.ER_WRONG_NUMBER_OF_COLUMNS_IN_SELECT)
			}
			if len(u.parts) == 0 {
				u.cols = append([]resultCol(nil), p.columns()...)
				for i := range u.cols {
					u.cols[i].orgName, u.cols[i].table, u.cols[i].orgTable, u.cols[i].schema, u.cols[i].flags = "", "", "", "", 0
				}
			} else {
				for i, c := range p.columns() {
					if !c.typ.NotNull {
						u.cols[i].typ.NotNull = false
					}
				}
			}
			u.parts = append(u.parts, p)
			u.distinct = append(u.distinct, d)
		}
		return nil
	}
	if err := add(n.SelectList); err != nil {
		return nil, err
	}
	// ORDER BY and LIMIT see the result columns by name or position.
	rs := &scope{env: u.sc.env}
	rs.add(&source{alias: "", cols: u.cols})
	if n.OrderBy != nil {
		for _, it := range n.OrderBy.Items {
			var e expr.Expr
			var err error
			if pos, ok := it.Expr.(*ast.PositionExpr); ok {
				if pos.N < 1 || pos.N > len(u.cols) {
					return nil, errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%d' in 'order clause'", pos.N)
				}
				e = expr.Column(pos.N-1, u.cols[pos.N-1].typ)
			} else if e, err = rs.compile(it.Expr, "order clause"); err != nil {
				return nil, err
			}
			u.order = append(u.order, orderKey{e: e, desc: it.Desc, coll: e.Type().Collation()})
		}
	}
	if n.Limit != nil {
		var err error
		if u.limit, err = rs.compile(n.Limit.Count, "limit clause"); err != nil {
			return nil, err
		}
		if n.Limit.Offset != nil {
			if u.offset, err = rs.compile(n.Limit.Offset, "limit clause"); err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

func (u *unionPlan) exec(ctx context.Context, s *Session, tx *engine.Txn, ec *expr.Context, outer []expr.Value, max int) ([][]expr.Value, error) {
	var out [][]expr.Value
	for i, p := range u.parts {
		rows, err := p.exec(ctx, s, tx, ec, outer, -1)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if u.distinct[i] {
			out = dedupe(out, u.cols)
		}
	}
	if u.order != nil {
		keys := make([][]expr.Value, len(out))
		for i, r := range out {
			keys[i] = make([]expr.Value, len(u.order))
			for j, o := range u.order {
				v, err := o.e.Eval(ec, r)
				if err != nil {
					return nil, err
				}
				keys[i][j] = v
			}
		}
		sortByKeys(out, keys, u.order)
	}
	limit, offset := int64(-1), int64(0)
	var err error
	if u.limit != nil {
		if limit, err = evalCount(ec, u.limit); err != nil {
			return nil, err
		}
	}
	if u.offset != nil {
		if offset, err = evalCount(ec, u.offset); err != nil {
			return nil, err
		}
	}
	if max > 0 && (limit < 0 || int64(max) < limit) {
		limit = int64(max)
	}
	return window(out, offset, limit), nil
}

// window applies OFFSET and LIMIT (-1 = none).
func window(rows [][]expr.Value, offset, limit int64) [][]expr.Value {
	if offset > 0 {
		if offset >= int64(len(rows)) {
			return nil
		}
		rows = rows[offset:]
	}
	if limit >= 0 && int64(len(rows)) > limit {
		rows = rows[:limit]
	}
	return rows
}

// dedupe keeps the first of rows equal under their columns' collations.
func dedupe(rows [][]expr.Value, cols []resultCol) [][]expr.Value {
	seen := make(map[string]bool, len(rows))
	out := rows[:0]
	var key []byte
	for _, r := range rows {
		key = rowKey(key[:0], r, cols)
		if seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		out = append(out, r)
	}
	return out
}

// envOf returns the execution environment a nested plan shares with its
// enclosing scope, or a new one for a top-level statement.
func envOf(outer *scope, ctx context.Context, s *Session) *execEnv {
	if outer != nil && outer.env != nil {
		return outer.env
	}
	return &execEnv{planCtx: ctx, s: s}
}
