package sql

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/sql/expr"
)

// resultCol describes one column of a result set.
type resultCol struct {
	name     string
	orgName  string
	table    string
	orgTable string
	schema   string
	typ      expr.Type
	flags    uint16 // PRI/UNI/MUL/auto_increment flags of a base column
}

// joinStep reads one source in a nested-loop join.
type joinStep struct {
	src  *source
	acc  *access
	left bool      // LEFT JOIN: a row with no match is NULL-extended
	on   expr.Expr // join condition, nil = none
}

// aggSlot is one aggregate of a grouped query.
type aggSlot struct {
	args   []expr.Expr
	newAgg func() expr.Aggregate
	first  bool        // not an aggregate: the value of the group's first row
	concat *concatSpec // GROUP_CONCAT
}

// concatSpec is GROUP_CONCAT([DISTINCT] args ORDER BY ... SEPARATOR sep).
type concatSpec struct {
	sep      string
	order    []orderKey
	distinct bool
}

// concatItem is one row's GROUP_CONCAT contribution.
type concatItem struct {
	val  string
	keys []expr.Value
}

// groupConcatMaxLen is group_concat_max_len's default (MySQL's).
const groupConcatMaxLen = 1024

// groupConcat registers a GROUP_CONCAT aggregate. The parser passes the
// separator as the last argument.
func (r *aggResolver) groupConcat(x *ast.AggregateFuncExpr, args []expr.Expr) (int, expr.Type, bool, error) {
	p := r.p
	spec := &concatSpec{sep: ",", distinct: x.Distinct}
	if len(args) > 1 {
		sv, err := args[len(args)-1].Eval(&expr.Context{}, nil)
		if err != nil {
			return 0, expr.Type{}, false, err
		}
		spec.sep = expr.Text(sv)
		args = args[:len(args)-1]
	}
	if x.Order != nil {
		for _, it := range x.Order.Items {
			e, err := r.sc.compile(it.Expr, "order clause")
			if err != nil {
				return 0, expr.Type{}, false, err
			}
			spec.order = append(spec.order, orderKey{e: e, desc: it.Desc, coll: e.Type().Collation()})
		}
	}
	p.aggs = append(p.aggs, aggSlot{args: args, concat: spec})
	t := expr.Type{Kind: keycodec.KindString, Column: catalog.ColumnType{Name: "text", Collation: "utf8mb4_general_ci"}}
	return len(p.groupBy) + len(p.aggs) - 1, t, true, nil
}

// selectPlan is a compiled SELECT, re-executable with new parameters.
type selectPlan struct {
	sc    *scope
	steps []*joinStep
	where expr.Expr
	// residual is the WHERE without the conjuncts the single step's
	// access consumes (nil: all of them); used, instead of where, when
	// that access's bounds came out exact. hasResidual says it applies.
	residual    []expr.Expr
	hasResidual bool

	grouped bool
	groupBy []expr.Expr
	aggs    []aggSlot
	having  expr.Expr // over [agg row, fields]

	fields   []expr.Expr // over the input row (joined row or agg row)
	cols     []resultCol // visible columns
	wire     []mysqlserver.Column
	distinct bool
	order    []orderKey // over [input row, fields]
	limit    expr.Expr
	offset   expr.Expr
	lock     engine.LockMode
	noFrom   bool
}

type orderKey struct {
	e    expr.Expr
	desc bool
	coll keycodec.Collation
}

// errStop ends a scan early (LIMIT reached).
var errStop = errors.New("stop")

// planSelect compiles a top-level SELECT of one query block.
func (s *Session) planSelect(ctx context.Context, n *ast.SelectStmt) (*selectPlan, error) {
	return s.planSelectIn(ctx, n, nil)
}

// planSelectIn compiles a SELECT nested in scope outer (nil at top level).
func (s *Session) planSelectIn(ctx context.Context, n *ast.SelectStmt, outer *scope) (*selectPlan, error) {
	if n.With != nil || len(n.WindowSpecs) > 0 || n.SelectIntoOpt != nil {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "this SELECT form")
	}
	if n.Kind != ast.SelectStmtKindSelect {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "TABLE and VALUES statements")
	}
	p := &selectPlan{sc: &scope{nullable: map[*source]bool{}, outer: outer, env: envOf(outer, ctx, s)}, distinct: n.Distinct}
	sc := p.sc
	type joinSpec struct {
		src  *source
		left bool
		on   ast.ExprNode
	}
	var specs []joinSpec
	if n.From == nil {
		p.noFrom = true
	} else {
		var walk func(rs ast.ResultSetNode, left bool, on ast.ExprNode) error
		walk = func(rs ast.ResultSetNode, left bool, on ast.ExprNode) error {
			switch x := rs.(type) {
			case *ast.Join:
				if x.Right == nil {
					return walk(x.Left, left, on)
				}
				if x.NaturalJoin || len(x.Using) > 0 {
					return codeError(mysql.ER_NOT_SUPPORTED_YET, "NATURAL JOIN and USING")
				}
				var cond ast.ExprNode
				if x.On != nil {
					cond = x.On.Expr
				}
				switch x.Tp {
				case ast.RightJoin:
					if _, ok := x.Left.(*ast.Join); ok {
						return codeError(mysql.ER_NOT_SUPPORTED_YET, "RIGHT JOIN of a join")
					}
					if err := walk(x.Right, left, on); err != nil {
						return err
					}
					return walk(x.Left, true, cond)
				case ast.LeftJoin:
					if _, ok := x.Right.(*ast.Join); ok {
						return codeError(mysql.ER_NOT_SUPPORTED_YET, "LEFT JOIN of a join")
					}
					if err := walk(x.Left, left, on); err != nil {
						return err
					}
					return walk(x.Right, true, cond)
				default:
					if err := walk(x.Left, left, on); err != nil {
						return err
					}
					return walk(x.Right, false, cond)
				}
			case *ast.TableSource:
				var src *source
				switch q := x.Source.(type) {
				case *ast.TableName:
					var err error
					if src, err = s.openSource(ctx, q, x.AsName.O); err != nil {
						return err
					}
				case *ast.SelectStmt, *ast.SetOprStmt:
					if x.AsName.O == "" {
						return codeError(mysql.ER_DERIVED_MUST_HAVE_ALIAS)
					}
					dp, err := s.planQuery(ctx, q, &scope{env: sc.env})
					if err != nil {
						return err
					}
					cols := append([]resultCol(nil), dp.columns()...)
					for i := range cols {
						cols[i].table, cols[i].orgTable, cols[i].orgName, cols[i].schema, cols[i].flags = x.AsName.O, "", "", "", 0
					}
					src = &source{alias: x.AsName.O, cols: cols, derived: dp, env: sc.env}
				default:
					return codeError(mysql.ER_NOT_SUPPORTED_YET, "this FROM clause")
				}
				for _, o := range sc.sources {
					if strings.EqualFold(o.alias, src.alias) {
						return errorf(mysql.ER_NONUNIQ_TABLE, "Not unique table/alias: '%s'", src.alias)
					}
				}
				sc.add(src)
				specs = append(specs, joinSpec{src: src, left: left, on: on})
				if left {
					sc.nullable[src] = true
				}
				return nil
			}
			return codeError(mysql.ER_NOT_SUPPORTED_YET, "this FROM clause")
		}
		if err := walk(n.From.TableRefs, false, nil); err != nil {
			return nil, err
		}
	}
	if n.LockInfo != nil {
		switch n.LockInfo.LockType {
		case ast.SelectLockForUpdate, ast.SelectLockForUpdateNoWait, ast.SelectLockForUpdateWaitN:
			p.lock = engine.LockExclusive
		case ast.SelectLockForShare, ast.SelectLockForShareNoWait:
			p.lock = engine.LockShared
		}
	}

	// Which columns the query reads, for index-only scans.
	used := map[*source][]bool{}
	for _, src := range sc.sources {
		used[src] = make([]bool, src.width())
	}
	for _, f := range n.Fields.Fields {
		if f.WildCard != nil {
			for _, src := range sc.sources {
				if f.WildCard.Table.L == "" || strings.EqualFold(f.WildCard.Table.O, src.alias) {
					for i := range used[src] {
						used[src][i] = true
					}
				}
			}
			continue
		}
		markUsed(sc, f.Expr, used)
	}
	markUsed(sc, n.Where, used)
	if n.GroupBy != nil {
		markUsed(sc, n.GroupBy, used)
	}
	if n.Having != nil {
		markUsed(sc, n.Having.Expr, used)
	}
	if n.OrderBy != nil {
		markUsed(sc, n.OrderBy, used)
	}
	for _, sp := range specs {
		markUsed(sc, sp.on, used)
	}

	// Access paths: each source may be bounded by conditions on sources
	// joined before it (an index lookup join).
	whereConj := splitAnd(n.Where, nil)
	avail := map[*source]bool{}
	for _, sp := range specs {
		conj := splitAnd(sp.on, nil)
		if !sp.left {
			conj = append(conj, whereConj...)
		}
		acc, err := chooseAccess(sc, sp.src, conj, avail, used[sp.src])
		if err != nil {
			return nil, err
		}
		acc.lock = p.lock
		step := &joinStep{src: sp.src, acc: acc, left: sp.left}
		if sp.on != nil {
			if step.on, err = sc.compile(sp.on, "on clause"); err != nil {
				return nil, err
			}
		}
		p.steps = append(p.steps, step)
		avail[sp.src] = true
	}
	var err error
	if n.Where != nil {
		if hasAggregate(n.Where) {
			return nil, codeError(mysql.ER_INVALID_GROUP_FUNC_USE)
		}
		if p.where, err = sc.compile(n.Where, "where clause"); err != nil {
			return nil, err
		}
		if len(specs) == 1 && specs[0].on == nil && !specs[0].left && len(p.steps[0].acc.consumed) > 0 {
			// The access saw exactly the WHERE's conjuncts, in order.
			consumed := p.steps[0].acc.consumed
			for i, c := range whereConj {
				if slices.Contains(consumed, i) {
					continue
				}
				e, err := sc.compile(c, "where clause")
				if err != nil {
					return nil, err
				}
				p.residual = append(p.residual, e)
			}
			p.hasResidual = true
		}
	}

	// Grouping.
	var fieldRes expr.Resolver = sc
	grouped := n.GroupBy != nil || (n.Having != nil && hasAggregate(n.Having.Expr))
	for _, f := range n.Fields.Fields {
		if f.Expr != nil && hasAggregate(f.Expr) {
			grouped = true
		}
	}
	if n.OrderBy != nil {
		for _, it := range n.OrderBy.Items {
			if hasAggregate(it.Expr) {
				grouped = true
			}
		}
	}
	var ar *aggResolver
	if grouped {
		p.grouped = true
		ar = &aggResolver{p: p, sc: sc}
		if n.GroupBy != nil {
			for _, it := range n.GroupBy.Items {
				ge := it.Expr
				if pos, ok := ge.(*ast.PositionExpr); ok {
					if pos.N < 1 || pos.N > len(n.Fields.Fields) || n.Fields.Fields[pos.N-1].Expr == nil {
						return nil, errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%d' in 'group statement'", pos.N)
					}
					ge = n.Fields.Fields[pos.N-1].Expr
				} else if c, ok := ge.(*ast.ColumnNameExpr); ok && c.Name.Table.L == "" {
					if f := aliasField(n.Fields.Fields, c.Name.Name.L); f != nil && !isColumn(f.Expr, c.Name.Name.L) {
						ge = f.Expr
					}
				}
				if hasAggregate(ge) {
					return nil, errorf(mysql.ER_WRONG_GROUP_FIELD, "Can't group on '%s'", restore(ge))
				}
				e, err := sc.compile(ge, "group statement")
				if err != nil {
					return nil, err
				}
				p.groupBy = append(p.groupBy, e)
				ar.groupText = append(ar.groupText, restore(ge))
			}
		}
		fieldRes = ar
	}

	// Projection.
	fieldPos := make([]int, len(n.Fields.Fields))
	for fi, f := range n.Fields.Fields {
		fieldPos[fi] = len(p.fields)
		if f.WildCard != nil {
			matched := false
			for _, src := range sc.sources {
				if f.WildCard.Table.L != "" && !strings.EqualFold(f.WildCard.Table.O, src.alias) {
					continue
				}
				matched = true
				for i := 0; i < src.width(); i++ {
					cn := &ast.ColumnNameExpr{Name: &ast.ColumnName{Table: ast.NewCIStr(src.alias), Name: ast.NewCIStr(src.colName(i))}}
					e, err := expr.Compile(cn, fieldRes)
					if err != nil {
						return nil, err
					}
					p.fields = append(p.fields, e)
					p.cols = append(p.cols, baseCol(src, i, "", e.Type()))
				}
			}
			if !matched {
				if p.noFrom {
					return nil, codeError(mysql.ER_NO_TABLES_USED)
				}
				return nil, errorf(mysql.ER_BAD_TABLE_ERROR, "Unknown table '%s'", f.WildCard.Table.O)
			}
			continue
		}
		sc.clause = "field list"
		e, err := expr.Compile(f.Expr, fieldRes)
		if err != nil {
			return nil, err
		}
		p.fields = append(p.fields, e)
		col := resultCol{name: f.AsName.O, typ: e.Type()}
		if c, ok := unparen(f.Expr).(*ast.ColumnNameExpr); ok {
			if idx, _, err := sc.lookup(c.Name); err == nil {
				src := sc.sourceOf(idx)
				col = baseCol(src, idx-src.offset, f.AsName.O, e.Type())
			}
		}
		if col.name == "" {
			col.name = fieldName(f)
		}
		p.cols = append(p.cols, col)
	}

	// HAVING and ORDER BY see the select list's aliases.
	post := &postResolver{base: fieldRes, fields: n.Fields.Fields, pos: fieldPos, nf: len(p.fields), p: p}
	if n.Having != nil {
		sc.clause = "having clause"
		if p.having, err = expr.Compile(n.Having.Expr, post); err != nil {
			return nil, err
		}
	}
	orderSlot := -1
	if n.OrderBy != nil {
		sc.clause = "order clause"
		for _, it := range n.OrderBy.Items {
			var e expr.Expr
			if pos, ok := it.Expr.(*ast.PositionExpr); ok {
				if pos.N < 1 || pos.N > len(p.cols) {
					return nil, errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%d' in 'order clause'", pos.N)
				}
				e = expr.Column(pos.N-1, p.fields[pos.N-1].Type())
			} else if e, err = expr.Compile(it.Expr, post); err != nil {
				return nil, err
			}
			p.order = append(p.order, orderKey{e: e, desc: it.Desc, coll: e.Type().Collation()})
		}
		if len(n.OrderBy.Items) == 1 {
			orderSlot = columnSlot(sc, n.Fields.Fields, n.OrderBy.Items[0].Expr)
		}
	}
	if n.Limit != nil {
		if p.limit, err = expr.Compile(n.Limit.Count, sc); err != nil {
			return nil, err
		}
		if n.Limit.Offset != nil {
			if p.offset, err = expr.Compile(n.Limit.Offset, sc); err != nil {
				return nil, err
			}
		}
	}
	// A range scan in key order can stop early: ORDER BY on the access
	// index's leading column needs no sort then (for one table).
	p.useIndexOrder(orderSlot)
	return p, nil
}

// columnSlot returns the joined-row slot of an ORDER BY item that is a
// plain column (directly, through an alias or a position), or -1.
func columnSlot(sc *scope, fields []*ast.SelectField, e ast.ExprNode) int {
	if pos, ok := e.(*ast.PositionExpr); ok {
		if pos.N < 1 || pos.N > len(fields) || fields[pos.N-1].Expr == nil {
			return -1
		}
		e = fields[pos.N-1].Expr
	} else if c, ok := e.(*ast.ColumnNameExpr); ok && c.Name.Table.L == "" {
		if f := aliasField(fields, c.Name.Name.L); f != nil {
			e = f.Expr
		}
	}
	c, ok := unparen(e).(*ast.ColumnNameExpr)
	if !ok {
		return -1
	}
	idx, _, err := sc.lookup(c.Name)
	if err != nil {
		return -1
	}
	return idx
}

// useIndexOrder drops the sort when the single source is read in the
// ORDER BY's order (ORDER BY pk [DESC] on a clustered scan, or the next
// column of an index bounded by equalities).
func (p *selectPlan) useIndexOrder(slot int) {
	if slot < 0 || len(p.steps) != 1 || len(p.order) != 1 || p.grouped || p.distinct {
		return
	}
	st := p.steps[0]
	def := st.src.def
	if def == nil {
		return
	}
	cols := indexColumns(def, st.acc.index)
	pos := len(st.acc.eq)
	if st.acc.in != nil || pos >= len(cols) || cols[pos] != slot-st.src.offset {
		return
	}
	if def.Columns[cols[pos]].Type.Kind() == keycodec.KindString {
		return // key order is the collation's, which may differ from Compare's tie order
	}
	st.acc.reverse = p.order[0].desc
	p.order = nil
}

// aggResolver compiles expressions of a grouped query: aggregates and
// GROUP BY expressions become slots of the aggregate row
// [group values..., aggregate results...]; other column references take
// the group's first row's value (MariaDB's default, no ONLY_FULL_GROUP_BY).
type aggResolver struct {
	p         *selectPlan
	sc        *scope
	groupText []string
}

func (r *aggResolver) Resolve(n ast.ExprNode) (int, expr.Type, bool, error) {
	p := r.p
	if len(r.groupText) > 0 {
		if _, isLit := n.(ast.ValueExpr); !isLit {
			txt := restore(n)
			for i, g := range r.groupText {
				if g == txt {
					return i, p.groupBy[i].Type(), true, nil
				}
			}
		}
	}
	switch x := n.(type) {
	case *ast.AggregateFuncExpr:
		name := strings.ToLower(x.F)
		var args []expr.Expr
		var argType expr.Type
		for _, a := range x.Args {
			if hasAggregate(a) {
				return 0, expr.Type{}, false, codeError(mysql.ER_INVALID_GROUP_FUNC_USE)
			}
			e, err := r.sc.compile(a, "field list")
			if err != nil {
				return 0, expr.Type{}, false, err
			}
			args = append(args, e)
			argType = e.Type()
		}
		if name == "group_concat" {
			return r.groupConcat(x, args)
		}
		if len(args) > 1 {
			if name != "count" || !x.Distinct {
				return 0, expr.Type{}, false, errorf(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax near '%s'", restore(x))
			}
			argType = expr.Type{Kind: keycodec.KindString, Column: catalog.ColumnType{Name: "varbinary", Collation: "binary"}}
		}
		newAgg, t, err := expr.NewAggregate(name, x.Distinct, argType)
		if err != nil {
			return 0, expr.Type{}, false, err
		}
		p.aggs = append(p.aggs, aggSlot{args: args, newAgg: newAgg})
		return len(p.groupBy) + len(p.aggs) - 1, t, true, nil
	case *ast.ColumnNameExpr:
		e, err := r.sc.compile(x, "field list")
		if err != nil {
			return 0, expr.Type{}, false, err
		}
		p.aggs = append(p.aggs, aggSlot{args: []expr.Expr{e}, first: true})
		return len(p.groupBy) + len(p.aggs) - 1, e.Type(), true, nil
	}
	return 0, expr.Type{}, false, nil
}

// ResolveExpr compiles subqueries of a grouped query; they cannot refer
// to the grouped rows' columns.
func (r *aggResolver) ResolveExpr(n ast.ExprNode, compile func(ast.ExprNode) (expr.Expr, error)) (expr.Expr, bool, error) {
	e, ok, err := r.sc.ResolveExpr(n, compile)
	if ok && correlated(e) {
		return nil, false, codeError(mysql.ER_NOT_SUPPORTED_YET, "correlated subqueries in a grouped query")
	}
	return e, ok, err
}

// ResolveExpr compiles subqueries in HAVING and ORDER BY, whose rows
// start with the fields.
func (r *postResolver) ResolveExpr(n ast.ExprNode, compile func(ast.ExprNode) (expr.Expr, error)) (expr.Expr, bool, error) {
	e, ok, err := r.p.sc.ResolveExpr(n, compile)
	if !ok || err != nil {
		return e, ok, err
	}
	if correlated(e) {
		if r.p.grouped {
			return nil, false, codeError(mysql.ER_NOT_SUPPORTED_YET, "correlated subqueries in a grouped query")
		}
		setShift(e, r.nf)
	}
	return e, true, nil
}

// postResolver resolves HAVING and ORDER BY over the row
// [fields..., input row...]: select-list aliases first, then the base
// resolver with its slots shifted past the fields.
type postResolver struct {
	base   expr.Resolver
	fields []*ast.SelectField
	pos    []int // select field i → index in p.fields
	nf     int
	p      *selectPlan
}

func (r *postResolver) Resolve(n ast.ExprNode) (int, expr.Type, bool, error) {
	if c, ok := n.(*ast.ColumnNameExpr); ok && c.Name.Table.L == "" {
		for i, f := range r.fields {
			if f.AsName.L != "" && f.AsName.L == c.Name.Name.L {
				idx := r.pos[i]
				return idx, r.p.fields[idx].Type(), true, nil
			}
		}
	}
	idx, t, ok, err := r.base.Resolve(n)
	return idx + r.nf, t, ok, err
}

// hasAggregate reports whether an expression holds an aggregate function.
func hasAggregate(n ast.Node) bool {
	if n == nil {
		return false
	}
	v := &aggFinder{}
	n.Accept(v)
	return v.found
}

type aggFinder struct{ found bool }

func (v *aggFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.AggregateFuncExpr:
		v.found = true
		return n, true
	case *ast.SubqueryExpr:
		return n, true
	}
	return n, false
}

func (v *aggFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func aliasField(fields []*ast.SelectField, name string) *ast.SelectField {
	for _, f := range fields {
		if f.AsName.L == name && f.Expr != nil {
			return f
		}
	}
	return nil
}

func isColumn(e ast.ExprNode, name string) bool {
	c, ok := unparen(e).(*ast.ColumnNameExpr)
	return ok && c.Name.Name.L == name
}

// restore renders an expression as SQL text (for matching GROUP BY
// expressions and naming result columns).
func restore(n ast.Node) string {
	var sb strings.Builder
	if err := n.Restore(format.NewRestoreCtx(format.RestoreStringSingleQuotes|format.RestoreStringWithoutCharset|format.RestoreKeyWordUppercase|format.RestoreNameBackQuotes, &sb)); err != nil {
		return ""
	}
	return sb.String()
}

// fieldName is the column name MySQL gives an unaliased expression: its
// text as written.
func fieldName(f *ast.SelectField) string {
	if v, ok := f.Expr.(ast.ValueExpr); ok {
		// A string literal is named by its value, unquoted.
		if str, ok := v.GetValue().(string); ok {
			return str
		}
	}
	if t := strings.TrimSpace(f.Text()); t != "" {
		return t
	}
	if t := strings.TrimSpace(f.Expr.OriginalText()); t != "" {
		return t
	}
	return restore(f.Expr)
}

func (p *selectPlan) columns() []resultCol { return p.cols }

// run executes a top-level plan and returns the visible rows.
func (p *selectPlan) run(ctx context.Context, s *Session, tx *engine.Txn, ec *expr.Context) ([][]expr.Value, error) {
	p.sc.env.enter(ctx, s, tx)
	return p.exec(ctx, s, tx, ec, nil, -1)
}

// exec runs the plan for one enclosing row (outer, for correlated
// references), returning at most max rows when max > 0.
func (p *selectPlan) exec(ctx context.Context, s *Session, tx *engine.Txn, ec *expr.Context, outer []expr.Value, maxRows int) ([][]expr.Value, error) {
	limit, offset := int64(-1), int64(0)
	var err error
	if p.limit != nil {
		if limit, err = evalCount(ec, p.limit); err != nil {
			return nil, err
		}
	}
	if p.offset != nil {
		if offset, err = evalCount(ec, p.offset); err != nil {
			return nil, err
		}
	}
	if maxRows > 0 && (limit < 0 || int64(maxRows) < limit) {
		limit = int64(maxRows)
	}
	if limit == 0 {
		return nil, nil
	}
	nf := len(p.fields)
	var out [][]expr.Value
	var keys [][]expr.Value // sort keys per out row
	var groups *groupTable
	if p.grouped {
		groups = newGroupTable(p)
	}
	var seen map[string]bool
	if p.distinct {
		seen = map[string]bool{}
	}
	early := !p.grouped && p.order == nil
	skipped := int64(0)
	// Rows kept are copied into arenas grown in chunks, so a 100-row
	// result costs a few allocations, not hundreds; post is scratch.
	var post, arena, keyArena []expr.Value
	var seenKey []byte
	ncols := len(p.cols)
	emit := func(in []expr.Value) error {
		if n := nf + len(in); cap(post) < n {
			post = make([]expr.Value, n)
		} else {
			post = post[:n]
		}
		copy(post[nf:], in)
		for i, f := range p.fields {
			v, err := f.Eval(ec, post[nf:])
			if err != nil {
				return err
			}
			post[i] = v
		}
		if p.having != nil {
			v, err := p.having.Eval(ec, post)
			if err != nil {
				return err
			}
			if !expr.Truth(v) {
				return nil
			}
		}
		if seen != nil {
			seenKey = rowKey(seenKey[:0], post[:nf], p.cols)
			if seen[string(seenKey)] { // no allocation to look up
				return nil
			}
			seen[string(seenKey)] = true
		}
		if p.order != nil {
			if len(keyArena)+len(p.order) > cap(keyArena) {
				keyArena = make([]expr.Value, 0, max(4*len(p.order), 2*cap(keyArena)))
			}
			start := len(keyArena)
			for _, o := range p.order {
				v, err := o.e.Eval(ec, post)
				if err != nil {
					return err
				}
				keyArena = append(keyArena, v)
			}
			keys = append(keys, keyArena[start:len(keyArena):len(keyArena)])
		} else if early && skipped < offset {
			skipped++
			return nil
		}
		if len(arena)+ncols > cap(arena) {
			arena = make([]expr.Value, 0, max(4*ncols, 2*cap(arena)))
		}
		start := len(arena)
		arena = append(arena, post[:ncols]...)
		out = append(out, arena[start:len(arena):len(arena)])
		if early && limit >= 0 && int64(len(out)) >= limit {
			return errStop
		}
		return nil
	}
	exact := false // set by join when the first step's bounds are exact
	joined := func(row []expr.Value) error {
		if exact {
			for _, e := range p.residual {
				v, err := e.Eval(ec, row)
				if err != nil {
					return err
				}
				if !expr.Truth(v) {
					return nil
				}
			}
		} else if p.where != nil {
			v, err := p.where.Eval(ec, row)
			if err != nil {
				return err
			}
			if !expr.Truth(v) {
				return nil
			}
		}
		if groups != nil {
			return groups.add(ec, row)
		}
		return emit(row)
	}
	row := make([]expr.Value, p.sc.width+len(p.sc.outerRefs))
	for k, oi := range p.sc.outerRefs {
		row[p.sc.width+k] = outer[oi]
	}
	if p.noFrom {
		err = joined(row)
	} else {
		err = p.join(ctx, ec, tx, 0, row, &exact, joined)
	}
	if err != nil && err != errStop {
		return nil, err
	}
	if groups != nil {
		err := groups.finish(ec, emit)
		if err != nil && err != errStop {
			return nil, err
		}
	}
	if p.order != nil {
		sortByKeys(out, keys, p.order)
	}
	if !early {
		if offset > 0 {
			if offset >= int64(len(out)) {
				return nil, nil
			}
			out = out[offset:]
		}
		if limit >= 0 && int64(len(out)) > limit {
			out = out[:limit]
		}
	}
	return out, nil
}

// join runs the nested loop from step i, calling f with each joined row.
func (p *selectPlan) join(ctx context.Context, ec *expr.Context, tx *engine.Txn, i int, row []expr.Value, exact *bool, f func([]expr.Value) error) error {
	if i == len(p.steps) {
		return f(row)
	}
	st := p.steps[i]
	rs, err := st.acc.open(ctx, ec, tx, row)
	if err != nil {
		return err
	}
	if i == 0 {
		*exact = p.hasResidual && rs.exact
	}
	rs.transient = true // each row is copied into row below
	w := st.src.width()
	matched := false
	for {
		r, _, err := rs.next(ctx)
		if err != nil {
			return err
		}
		if r == nil {
			break
		}
		copy(row[st.src.offset:st.src.offset+w], r)
		if st.on != nil {
			v, err := st.on.Eval(ec, row)
			if err != nil {
				return err
			}
			if !expr.Truth(v) {
				continue
			}
		}
		matched = true
		if err := p.join(ctx, ec, tx, i+1, row, exact, f); err != nil {
			return err
		}
	}
	if !matched && st.left {
		for j := st.src.offset; j < st.src.offset+w; j++ {
			row[j] = expr.Value{}
		}
		return p.join(ctx, ec, tx, i+1, row, exact, f)
	}
	return nil
}

// evalCount evaluates a LIMIT/OFFSET value.
func evalCount(ec *expr.Context, e expr.Expr) (int64, error) {
	v, err := e.Eval(ec, nil)
	if err != nil {
		return 0, err
	}
	switch v.Kind {
	case keycodec.KindInt:
		if v.Int >= 0 {
			return v.Int, nil
		}
	case keycodec.KindUint:
		if v.Uint < 1<<62 {
			return int64(v.Uint), nil
		}
		return 1 << 62, nil
	}
	return 0, errorf(mysql.ER_WRONG_ARGUMENTS, "Incorrect arguments to LIMIT")
}

// rowKey encodes values so that equal values (under their collations)
// give equal keys: DISTINCT and GROUP BY.
func rowKey(dst []byte, row []expr.Value, cols []resultCol) []byte {
	for i, v := range row {
		coll := keycodec.CollationBinary
		if i < len(cols) {
			coll = cols[i].typ.Collation()
		}
		dst = valueKey(dst, v, coll)
	}
	return dst
}

// valueKey appends a grouping key for one value.
func valueKey(dst []byte, v expr.Value, coll keycodec.Collation) []byte {
	if v.Kind == keycodec.KindNull {
		return keycodec.AppendNull(dst)
	}
	kind := v.Kind
	switch kind {
	case keycodec.KindInt:
		if v.Int >= 0 {
			// 1 (INT) and 1 (UNSIGNED) group together.
			v = keycodec.UintValue(uint64(v.Int))
			kind = keycodec.KindUint
		}
	case keycodec.KindString:
		if coll == keycodec.CollationInvalid {
			coll = keycodec.CollationBinary
		}
	}
	dst = append(dst, byte(kind))
	b, err := keycodec.AppendKey(dst, keycodec.ColumnType{Kind: kind, Collation: coll}, v)
	if err != nil {
		return append(dst, []byte(expr.Text(v))...)
	}
	return b
}

// groupTable is a hash aggregation.
type groupTable struct {
	p      *selectPlan
	groups map[string]*group
	order  []*group
	key    []byte
}

type group struct {
	vals    []expr.Value // group by values then first values
	aggs    []expr.Aggregate
	first   []expr.Value
	concats map[int][]concatItem
}

func newGroupTable(p *selectPlan) *groupTable {
	return &groupTable{p: p, groups: map[string]*group{}}
}

func (g *groupTable) add(ec *expr.Context, row []expr.Value) error {
	p := g.p
	g.key = g.key[:0]
	vals := make([]expr.Value, len(p.groupBy))
	for i, e := range p.groupBy {
		v, err := e.Eval(ec, row)
		if err != nil {
			return err
		}
		vals[i] = v
		g.key = valueKey(g.key, v, e.Type().Collation())
	}
	gr := g.groups[string(g.key)]
	if gr == nil {
		gr = &group{vals: vals, aggs: make([]expr.Aggregate, len(p.aggs)), first: make([]expr.Value, len(p.aggs))}
		for i, a := range p.aggs {
			if a.first {
				v, err := a.args[0].Eval(ec, row)
				if err != nil {
					return err
				}
				gr.first[i] = cloneValue(v)
			} else if a.concat == nil {
				gr.aggs[i] = a.newAgg()
			}
		}
		g.groups[string(g.key)] = gr
		g.order = append(g.order, gr)
	}
	for i, a := range p.aggs {
		if a.first {
			continue
		}
		if a.concat != nil {
			item, ok, err := concatRow(ec, a, row)
			if err != nil {
				return err
			}
			if ok {
				if gr.concats == nil {
					gr.concats = map[int][]concatItem{}
				}
				gr.concats[i] = append(gr.concats[i], item)
			}
			continue
		}
		var v expr.Value
		switch len(a.args) {
		case 0:
			v = keycodec.IntValue(1) // COUNT(*)
		case 1:
			var err error
			if v, err = a.args[0].Eval(ec, row); err != nil {
				return err
			}
		default:
			// COUNT(DISTINCT a, b): one binary key per tuple, NULL if any
			// value is NULL.
			var key []byte
			for _, e := range a.args {
				x, err := e.Eval(ec, row)
				if err != nil {
					return err
				}
				if x.Kind == keycodec.KindNull {
					key = nil
					break
				}
				key = valueKey(key, x, e.Type().Collation())
			}
			if key != nil {
				v = keycodec.BytesValue(key)
			}
		}
		if err := gr.aggs[i].Add(ec, v); err != nil {
			return err
		}
	}
	return nil
}

func (g *groupTable) finish(ec *expr.Context, emit func([]expr.Value) error) error {
	p := g.p
	if len(g.order) == 0 && len(p.groupBy) == 0 {
		// An aggregate over no rows still returns one row.
		gr := &group{aggs: make([]expr.Aggregate, len(p.aggs)), first: make([]expr.Value, len(p.aggs))}
		for i, a := range p.aggs {
			if !a.first && a.concat == nil {
				gr.aggs[i] = a.newAgg()
			}
		}
		g.order = append(g.order, gr)
	}
	for _, gr := range g.order {
		row := make([]expr.Value, 0, len(p.groupBy)+len(p.aggs))
		row = append(row, gr.vals...)
		for i, a := range p.aggs {
			switch {
			case a.first:
				row = append(row, gr.first[i])
			case a.concat != nil:
				row = append(row, a.concat.result(gr.concats[i]))
			default:
				row = append(row, gr.aggs[i].Result())
			}
		}
		if err := emit(row); err != nil {
			return err
		}
	}
	return nil
}

// cloneValue copies a value's bytes (rows handed out by scans may be
// reused).
func cloneValue(v expr.Value) expr.Value {
	if v.Kind == keycodec.KindString && v.Str != nil {
		v.Str = append([]byte(nil), v.Str...)
	}
	return v
}

// concatRow evaluates one row's GROUP_CONCAT value (skipped if any
// argument is NULL).
func concatRow(ec *expr.Context, a aggSlot, row []expr.Value) (concatItem, bool, error) {
	var b []byte
	for _, e := range a.args {
		v, err := e.Eval(ec, row)
		if err != nil {
			return concatItem{}, false, err
		}
		if v.Kind == keycodec.KindNull {
			return concatItem{}, false, nil
		}
		b = expr.AppendFormat(b, v, e.Type())
	}
	item := concatItem{val: string(b)}
	for _, o := range a.concat.order {
		v, err := o.e.Eval(ec, row)
		if err != nil {
			return concatItem{}, false, err
		}
		item.keys = append(item.keys, cloneValue(v))
	}
	return item, true, nil
}

// result joins a group's values.
func (c *concatSpec) result(items []concatItem) expr.Value {
	if len(items) == 0 {
		return expr.Value{}
	}
	if c.order != nil {
		slices.SortStableFunc(items, func(a, b concatItem) int { return compareKeys(a.keys, b.keys, c.order) })
	}
	var b []byte
	seen := map[string]bool{}
	for _, it := range items {
		if c.distinct {
			k := string(keycodec.AppendNull(nil)) + it.val
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		if len(b) > 0 {
			b = append(b, c.sep...)
		}
		b = append(b, it.val...)
		if len(b) >= groupConcatMaxLen {
			b = b[:groupConcatMaxLen]
			break
		}
	}
	return keycodec.BytesValue(b)
}
