package sql

import (
	"context"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/table"
	"github.com/polarsql/polar/sql/expr"
)

// access is how one source's rows are read: a point get, index range
// scans, or a full scan of the clustered index. Bound expressions are
// evaluated at execution time (they may hold parameters or, for an index
// lookup join, columns of the sources joined before this one), so one
// access serves every execution of a prepared statement. Whatever the path,
// the WHERE/ON condition is evaluated on every row returned: an access
// only has to return a superset of the matching rows. The one exception:
// a single-table SELECT skips the conjuncts the access consumed (see
// consumed) when its bounds came out exact.
type access struct {
	src   *source
	index int         // position in def.Indexes
	eq    []expr.Expr // values of the first len(eq) index columns
	in    []expr.Expr // alternatives for column len(eq) (an IN list)
	lo    expr.Expr   // range on column len(eq)
	hi    expr.Expr
	loInc bool
	hiInc bool
	// point: eq covers a unique key, so at most one row matches.
	point   bool
	keyOnly bool
	reverse bool
	lock    engine.LockMode
	cols    []int // the index's key columns (computed once)
	// consumed lists the conjuncts (positions in the list chooseAccess
	// was given) that the bounds express exactly when their values
	// convert to the key without change: equalities and ranges on integer
	// columns. When open finds every bound exact, those conjuncts hold for
	// every row it returns and need no evaluation.
	consumed []int
}

// full reports a full scan (no bounds).
func (a *access) full() bool {
	return len(a.eq) == 0 && a.in == nil && a.lo == nil && a.hi == nil
}

// describe renders the access for EXPLAIN: type, key, key_len-ish, extra.
func (a *access) describe() (typ, key, extra string) {
	if a.src.def == nil {
		return "ALL", "", ""
	}
	ix := &a.src.def.Indexes[a.index]
	key = ix.Name
	if ix.Primary {
		key = "PRIMARY"
	}
	switch {
	case a.full():
		typ, key = "ALL", ""
	case a.point && a.in == nil && ix.Primary:
		typ = "const"
	case a.point && a.in == nil:
		typ = "eq_ref"
	case a.lo == nil && a.hi == nil && a.in == nil:
		typ = "ref"
	default:
		typ = "range"
	}
	if a.keyOnly {
		extra = "Using index"
	}
	return typ, key, extra
}

// cond is one conjunct usable for an index bound on column col of a
// source: col = val, col IN (vals), or a one-sided range.
type cond struct {
	col  int
	op   opcode.Op // EQ, LT, LE, GT, GE; In for IN lists
	val  ast.ExprNode
	vals []ast.ExprNode
	from int // the conjunct it came from
}

// chooseAccess picks the access path for src from the conjuncts, of which
// those whose other side refers only to sources in avail (and constants)
// can bound an index.
func chooseAccess(sc *scope, src *source, conjuncts []ast.ExprNode, avail map[*source]bool, used []bool) (*access, error) {
	def := src.def
	if def == nil {
		return &access{src: src}, nil // virtual: its rows are all there is
	}
	var conds []cond
	parts := make([]int, len(conjuncts)) // conds per conjunct
	for i, c := range conjuncts {
		cs := boundConds(sc, src, c, avail)
		for j := range cs {
			cs[j].from = i
		}
		parts[i] = len(cs)
		conds = append(conds, cs...)
	}
	best := &access{src: src, index: 0}
	bestScore := -1
	for i := range def.Indexes {
		ix := &def.Indexes[i]
		cols := indexColumns(def, i)
		a := &access{src: src, index: i}
		score := 0
		var eqNodes []ast.ExprNode
		var usedConds []*cond // the conds the bounds use, but IN lists
		k := 0
		for ; k < len(cols); k++ {
			c := findCond(conds, cols[k], opcode.EQ)
			if c == nil {
				break
			}
			eqNodes = append(eqNodes, c.val)
			usedConds = append(usedConds, c)
		}
		var inNodes []ast.ExprNode
		var loNode, hiNode ast.ExprNode
		if k < len(cols) {
			if c := findCond(conds, cols[k], opcode.In); c != nil {
				inNodes = c.vals
			} else {
				for _, op := range []opcode.Op{opcode.GE, opcode.GT} {
					if c := findCond(conds, cols[k], op); c != nil && loNode == nil {
						loNode, a.loInc = c.val, op == opcode.GE
						usedConds = append(usedConds, c)
					}
				}
				for _, op := range []opcode.Op{opcode.LE, opcode.LT} {
					if c := findCond(conds, cols[k], op); c != nil && hiNode == nil {
						hiNode, a.hiInc = c.val, op == opcode.LE
						usedConds = append(usedConds, c)
					}
				}
			}
		}
		unique := (ix.Primary || ix.Unique) && !(i == 0 && def.HiddenPK)
		switch {
		case unique && k == len(indexKeyColumns(def, i)) && k > 0:
			a.point = true
			score = 1000
		case unique && inNodes != nil && k+1 == len(indexKeyColumns(def, i)):
			a.point = true
			score = 900
		case k > 0 || inNodes != nil || loNode != nil || hiNode != nil:
			score = 10 * k
			if inNodes != nil {
				score += 8
			}
			if loNode != nil {
				score += 4
			}
			if hiNode != nil {
				score += 4
			}
		default:
			score = 0
		}
		if score > 0 && i == 0 {
			score++ // the clustered index needs no second lookup
		}
		if score <= bestScore {
			continue
		}
		var err error
		sc.clause = "where clause"
		for _, n := range eqNodes {
			e, err := expr.Compile(n, sc)
			if err != nil {
				return nil, err
			}
			a.eq = append(a.eq, e)
		}
		for _, n := range inNodes {
			e, err := expr.Compile(n, sc)
			if err != nil {
				return nil, err
			}
			a.in = append(a.in, e)
		}
		if loNode != nil {
			if a.lo, err = expr.Compile(loNode, sc); err != nil {
				return nil, err
			}
		}
		if hiNode != nil {
			if a.hi, err = expr.Compile(hiNode, sc); err != nil {
				return nil, err
			}
		}
		if inNodes == nil {
			a.consumed = consumedConjuncts(def, usedConds, parts)
		}
		best, bestScore = a, score
	}
	if best.index > 0 && used != nil {
		best.keyOnly = coversColumns(def, best.index, used)
	}
	return best, nil
}

// consumedConjuncts returns the conjuncts all of whose conds are in used
// and bound integer columns: with exact bound values, the index range is
// exactly the rows that satisfy them. (Strings are left to the filter:
// collations and trailing spaces make "exact" subtler there.)
func consumedConjuncts(def *catalog.Table, used []*cond, parts []int) []int {
	n := map[int]int{}
	for _, c := range used {
		switch def.Columns[c.col].Type.Kind() {
		case keycodec.KindInt, keycodec.KindUint:
			n[c.from]++
		}
	}
	var out []int
	for from, k := range n {
		if k == parts[from] {
			out = append(out, from)
		}
	}
	slices.Sort(out)
	return out
}

// indexKeyColumns returns the column ordinals of index i's own columns.
func indexKeyColumns(def *catalog.Table, i int) []int {
	ix := &def.Indexes[i]
	out := make([]int, 0, len(ix.Columns))
	for _, c := range ix.Columns {
		out = append(out, def.Column(c))
	}
	return out
}

// indexColumns returns the column ordinals of index i's key in order: its
// own columns then, for a secondary index, the primary key's (not the
// hidden row id).
func indexColumns(def *catalog.Table, i int) []int {
	out := indexKeyColumns(def, i)
	if i > 0 && !def.HiddenPK {
		out = append(out, indexKeyColumns(def, 0)...)
	}
	return out
}

// coversColumns reports whether a secondary index holds every used column.
func coversColumns(def *catalog.Table, i int, used []bool) bool {
	have := make([]bool, len(def.Columns))
	for _, c := range indexColumns(def, i) {
		have[c] = true
	}
	for c, u := range used {
		if u && !have[c] {
			return false
		}
	}
	return true
}

func findCond(conds []cond, col int, op opcode.Op) *cond {
	for i := range conds {
		if conds[i].col == col && conds[i].op == op {
			return &conds[i]
		}
	}
	return nil
}

// boundConds extracts index-usable conditions on src's columns from one
// conjunct.
func boundConds(sc *scope, src *source, n ast.ExprNode, avail map[*source]bool) []cond {
	colOf := func(e ast.ExprNode) int {
		c, ok := unparen(e).(*ast.ColumnNameExpr)
		if !ok {
			return -1
		}
		idx, _, err := sc.lookup(c.Name)
		if err != nil || sc.sourceOf(idx) != src {
			return -1
		}
		return idx - src.offset
	}
	free := func(e ast.ExprNode) bool { return refersOnly(sc, e, avail) }
	switch x := unparen(n).(type) {
	case *ast.BinaryOperationExpr:
		op := x.Op
		switch op {
		case opcode.EQ, opcode.LT, opcode.LE, opcode.GT, opcode.GE:
		default:
			return nil
		}
		if c := colOf(x.L); c >= 0 && free(x.R) {
			return []cond{{col: c, op: op, val: x.R}}
		}
		if c := colOf(x.R); c >= 0 && free(x.L) {
			return []cond{{col: c, op: flip(op), val: x.L}}
		}
	case *ast.BetweenExpr:
		if x.Not {
			return nil
		}
		if c := colOf(x.Expr); c >= 0 && free(x.Left) && free(x.Right) {
			return []cond{{col: c, op: opcode.GE, val: x.Left}, {col: c, op: opcode.LE, val: x.Right}}
		}
	case *ast.PatternInExpr:
		if x.Not || x.Sel != nil {
			return nil
		}
		c := colOf(x.Expr)
		if c < 0 {
			return nil
		}
		for _, v := range x.List {
			if !free(v) {
				return nil
			}
		}
		if len(x.List) == 1 {
			return []cond{{col: c, op: opcode.EQ, val: x.List[0]}}
		}
		return []cond{{col: c, op: opcode.In, vals: x.List}}
	}
	return nil
}

func flip(op opcode.Op) opcode.Op {
	switch op {
	case opcode.LT:
		return opcode.GT
	case opcode.LE:
		return opcode.GE
	case opcode.GT:
		return opcode.LT
	case opcode.GE:
		return opcode.LE
	}
	return op
}

func unparen(e ast.ExprNode) ast.ExprNode {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// splitAnd flattens a condition into its AND-ed conjuncts.
func splitAnd(e ast.ExprNode, out []ast.ExprNode) []ast.ExprNode {
	if e == nil {
		return out
	}
	if b, ok := unparen(e).(*ast.BinaryOperationExpr); ok && b.Op == opcode.LogicAnd {
		out = splitAnd(b.L, out)
		return splitAnd(b.R, out)
	}
	return append(out, e)
}

// refVisitor collects the sources an expression refers to.
type refVisitor struct {
	sc      *scope
	sources map[*source]bool
	bad     bool // refers to something not resolvable here, or not deterministic
}

func (v *refVisitor) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.ColumnNameExpr:
		idx, _, err := v.sc.lookup(x.Name)
		if err != nil {
			v.bad = true
		} else if src := v.sc.sourceOf(idx); src != nil {
			v.sources[src] = true
		}
		// An outer reference is a constant for this query block.
		return n, true
	case *ast.SubqueryExpr, *ast.AggregateFuncExpr, *ast.WindowFuncExpr, *ast.VariableExpr:
		v.bad = true
		return n, true
	case *ast.FuncCallExpr:
		switch x.FnName.L {
		case "rand", "uuid", "sleep", "last_insert_id", "row_count", "found_rows":
			v.bad = true
		}
	}
	return n, false
}

func (v *refVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// refersOnly reports whether e refers to no source outside avail.
func refersOnly(sc *scope, e ast.ExprNode, avail map[*source]bool) bool {
	v := &refVisitor{sc: sc, sources: map[*source]bool{}}
	e.Accept(v)
	if v.bad {
		return false
	}
	for s := range v.sources {
		if !avail[s] {
			return false
		}
	}
	return true
}

// markUsed records which columns of each source an expression reads.
func markUsed(sc *scope, e ast.Node, used map[*source][]bool) {
	if e == nil {
		return
	}
	v := &usedVisitor{sc: sc, used: used}
	e.Accept(v)
}

type usedVisitor struct {
	sc   *scope
	used map[*source][]bool
}

func (v *usedVisitor) Enter(n ast.Node) (ast.Node, bool) {
	if x, ok := n.(*ast.ColumnNameExpr); ok {
		if idx, _, err := v.sc.lookup(x.Name); err == nil {
			if src := v.sc.sourceOf(idx); src != nil {
				v.used[src][idx-src.offset] = true
			}
		}
		return n, true
	}
	return n, false
}

func (v *usedVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// rowSource yields the rows an access reads.
type rowSource struct {
	a    *access
	tx   *engine.Txn
	scan []table.ScanOptions // scans still to run, in order
	rows *table.Rows
	pts  []table.Row // point-get results still to return
	err  error
	// transient: the reader copies each row before the next call, so
	// scans may reuse one row (table.ScanOptions.Transient).
	transient bool
	// exact: every bound converted to the key unchanged, so the rows
	// returned satisfy the access's consumed conjuncts.
	exact bool
}

// open starts reading src's rows for one execution. row holds the
// values of the sources joined before (for lookup joins).
func (a *access) open(ctx context.Context, ec *expr.Context, tx *engine.Txn, row []expr.Value) (*rowSource, error) {
	rs := &rowSource{a: a, tx: tx}
	def := a.src.def
	if def == nil {
		if a.src.derived != nil {
			rows, err := a.src.derived.exec(ctx, a.src.env.s, tx, ec, nil, -1)
			if err != nil {
				return nil, err
			}
			rs.pts = rows
			return rs, nil
		}
		rs.pts = virtualRows(a.src)
		return rs, nil
	}
	if a.full() {
		rs.scan = []table.ScanOptions{{Index: 0, Lock: a.lock, Reverse: a.reverse}}
		return rs, nil
	}
	if a.cols == nil {
		a.cols = indexColumns(def, a.index)
	}
	cols := a.cols
	exact := len(a.consumed) > 0
	prefix := make([]keycodec.Value, 0, len(a.eq)+1)
	for i, e := range a.eq {
		v, err := e.Eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v.Kind == keycodec.KindNull {
			return rs, nil // col = NULL matches nothing
		}
		// An inexact conversion ('5abc' or 5.5 on an INT) still bounds a
		// superset: MySQL compares those as numbers, and the filter
		// decides.
		kv, ok, ex := keyValue(v, &def.Columns[cols[i]])
		if !ok {
			return a.fallback(rs), nil
		}
		exact = exact && ex
		prefix = append(prefix, kv)
	}
	if a.in != nil {
		col := &def.Columns[cols[len(a.eq)]]
		seen := map[string]bool{}
		for _, e := range a.in {
			v, err := e.Eval(ec, row)
			if err != nil {
				return nil, err
			}
			if v.Kind == keycodec.KindNull {
				continue
			}
			kv, ok, _ := keyValue(v, col)
			if !ok {
				return a.fallback(rs), nil
			}
			vals := append(append([]keycodec.Value(nil), prefix...), kv)
			k := string(mustKey(col, kv))
			if seen[k] {
				continue
			}
			seen[k] = true
			if a.point && a.index == 0 {
				r, found, err := a.src.tbl.Get(ctx, tx, vals, a.lock)
				if err != nil {
					return nil, err
				}
				if found {
					rs.pts = append(rs.pts, r)
				}
				continue
			}
			b := &table.Bound{Values: vals, Inclusive: true}
			rs.scan = append(rs.scan, table.ScanOptions{Index: a.index, Lo: b, Hi: b, Lock: a.lock, KeyOnly: a.keyOnly})
		}
		return rs, nil
	}
	if a.point && a.index == 0 {
		r, found, err := a.src.tbl.Get(ctx, tx, prefix, a.lock)
		if err != nil {
			return nil, err
		}
		if found {
			rs.pts = append(rs.pts, r)
		}
		rs.exact = exact
		return rs, nil
	}
	opts := table.ScanOptions{Index: a.index, Lock: a.lock, KeyOnly: a.keyOnly, Reverse: a.reverse}
	if len(prefix) > 0 {
		opts.Lo = &table.Bound{Values: prefix, Inclusive: true}
		opts.Hi = &table.Bound{Values: prefix, Inclusive: true}
	}
	col := &def.Columns[cols[min(len(a.eq), len(cols)-1)]]
	if a.lo != nil {
		b, st, ex, err := rangeBound(ec, row, a.lo, a.loInc, col, prefix)
		if err != nil || st != boundOK {
			return a.settleBound(rs, st), err
		}
		opts.Lo, exact = b, exact && ex
	} else if !col.NotNull && a.hi != nil {
		// col < x never matches NULL: start after the NULLs.
		opts.Lo = &table.Bound{Values: append(append([]keycodec.Value(nil), prefix...), keycodec.NullValue()), Inclusive: false}
	}
	if a.hi != nil {
		b, st, ex, err := rangeBound(ec, row, a.hi, a.hiInc, col, prefix)
		if err != nil || st != boundOK {
			return a.settleBound(rs, st), err
		}
		opts.Hi, exact = b, exact && ex
	}
	rs.scan = []table.ScanOptions{opts}
	rs.exact = exact
	return rs, nil
}

// boundState says what evaluating a range bound found.
type boundState uint8

const (
	boundOK       boundState = iota
	boundEmpty               // the bound is NULL: nothing matches
	boundFallback            // not an index comparison: scan everything
)

// rangeBound evaluates one side of a range on column col after the
// equality prefix. An inexact conversion makes the bound inclusive (the
// filter decides), and is reported.
func rangeBound(ec *expr.Context, row []expr.Value, e expr.Expr, inclusive bool, col *catalog.Column, prefix []keycodec.Value) (*table.Bound, boundState, bool, error) {
	v, err := e.Eval(ec, row)
	if err != nil {
		return nil, boundOK, false, err
	}
	if v.Kind == keycodec.KindNull {
		return nil, boundEmpty, false, nil
	}
	kv, ok, exact := keyValue(v, col)
	if !ok {
		return nil, boundFallback, false, nil
	}
	return &table.Bound{Values: append(append([]keycodec.Value(nil), prefix...), kv), Inclusive: inclusive || !exact}, boundOK, exact, nil
}

// settleBound returns rs for a bound that is not usable.
func (a *access) settleBound(rs *rowSource, st boundState) *rowSource {
	if st == boundFallback {
		return a.fallback(rs)
	}
	return rs // empty
}

// fallback turns rs into a full scan.
func (a *access) fallback(rs *rowSource) *rowSource {
	rs.scan = []table.ScanOptions{{Index: 0, Lock: a.lock}}
	rs.pts = nil
	return rs
}

func mustKey(col *catalog.Column, v keycodec.Value) []byte {
	b, _ := keycodec.AppendKey(nil, col.Type.KeyType(), v)
	return b
}

// next returns the next row and its hidden row id (HiddenPK tables), or
// nil at the end.
func (rs *rowSource) next(ctx context.Context) (table.Row, uint64, error) {
	if len(rs.pts) > 0 {
		r := rs.pts[0]
		rs.pts = rs.pts[1:]
		return r, 0, nil
	}
	for {
		if rs.rows != nil {
			if rs.rows.Next(ctx) {
				return rs.rows.Row(), rs.rows.RowID(), nil
			}
			if err := rs.rows.Err(); err != nil {
				return nil, 0, err
			}
			rs.rows = nil
		}
		if len(rs.scan) == 0 {
			return nil, 0, nil
		}
		opts := rs.scan[0]
		opts.Transient = rs.transient
		rs.rows = rs.a.src.tbl.Scan(ctx, rs.tx, opts)
		rs.scan = rs.scan[1:]
	}
}

// keyValue converts a bound value to the kind an index column stores.
// ok is false when the comparison is not an index comparison in MySQL (a
// number against a string column compares as numbers); exact is false
// when the conversion changed the value (the bound must then be
// inclusive, and the filter decides).
func keyValue(v expr.Value, col *catalog.Column) (kv expr.Value, ok, exact bool) {
	if v.Kind == keycodec.KindNull {
		return v, true, true
	}
	k := col.Type.Kind()
	switch k {
	case keycodec.KindString:
		if v.Kind != keycodec.KindString {
			return v, false, false
		}
	case keycodec.KindDate, keycodec.KindDateTime, keycodec.KindTimestamp:
		if v.Kind != keycodec.KindString && v.Kind != keycodec.KindDate && v.Kind != keycodec.KindDateTime && v.Kind != keycodec.KindTimestamp {
			return v, false, false
		}
	}
	if v.Kind == k && k != keycodec.KindString && k != keycodec.KindDecimal {
		return v, true, true
	}
	var ec expr.Context
	cv, err := expr.Cast(&ec, v, col, 1)
	if err != nil {
		return v, false, false
	}
	if cv.Kind != k {
		return v, false, false
	}
	exact = len(ec.Warnings) == 0 && expr.Compare(cv, v, col.Type.KeyType().Collation) == 0
	if k == keycodec.KindString && !exact && strings.TrimRight(string(cv.Str), " ") == strings.TrimRight(string(v.Str), " ") {
		exact = true
	}
	return cv, true, exact
}
