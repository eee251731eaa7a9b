package sql

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/compute/table"
	"github.com/polarsql/polar/sql/expr"
)

// targetTable resolves the single table a DML statement changes.
func (s *Session) targetTable(ctx context.Context, refs *ast.TableRefsClause) (*source, error) {
	if refs == nil || refs.TableRefs == nil || refs.TableRefs.Right != nil {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "multi-table DML")
	}
	ts, ok := refs.TableRefs.Left.(*ast.TableSource)
	if !ok {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "multi-table DML")
	}
	tn, ok := ts.Source.(*ast.TableName)
	if !ok {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "DML on a subquery")
	}
	src, err := s.openSource(ctx, tn, ts.AsName.O)
	if err == nil && src.def == nil {
		return nil, errorf(mysql.ER_DBACCESS_DENIED_ERROR, "Access denied for user '%s'@'%%' to database '%s'", s.info.User, infoSchema)
	}
	return src, err
}

// insertPlan is a compiled INSERT / REPLACE.
type insertPlan struct {
	src     *source
	cols    []int         // target column of each value position
	rows    [][]expr.Expr // VALUES rows (nil entry = DEFAULT)
	sel     *selectPlan   // INSERT ... SELECT
	replace bool
	ignore  bool
	dupCols []int       // ON DUPLICATE KEY UPDATE targets
	dupVals []expr.Expr // over [old row..., new row...]
}

// dupResolver resolves ON DUPLICATE KEY UPDATE expressions: columns read
// the existing row, VALUES(col) the row that failed to insert.
type dupResolver struct {
	sc  *scope
	src *source
}

func (r *dupResolver) Resolve(n ast.ExprNode) (int, expr.Type, bool, error) {
	if v, ok := n.(*ast.ValuesExpr); ok {
		i := r.src.column(v.Column.Name.Name.O)
		if i < 0 {
			return 0, expr.Type{}, false, errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%s' in 'field list'", v.Column.Name.Name.O)
		}
		return r.src.width() + i, r.src.colType(i), true, nil
	}
	return r.sc.Resolve(n)
}

func (s *Session) planInsert(ctx context.Context, n *ast.InsertStmt) (*insertPlan, error) {
	src, err := s.targetTable(ctx, n.Table)
	if err != nil {
		return nil, err
	}
	p := &insertPlan{src: src, replace: n.IsReplace, ignore: n.IgnoreErr}
	def := src.def
	if len(n.Columns) == 0 && !n.Setlist {
		for i := range def.Columns {
			p.cols = append(p.cols, i)
		}
	}
	seen := map[int]bool{}
	for _, c := range n.Columns {
		i := def.Column(c.Name.O)
		if i < 0 {
			return nil, errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%s' in 'field list'", c.Name.O)
		}
		if seen[i] {
			return nil, errorf(mysql.ER_FIELD_SPECIFIED_TWICE, "Column '%s' specified twice", c.Name.O)
		}
		seen[i] = true
		p.cols = append(p.cols, i)
	}
	empty := &scope{}
	for ri, list := range n.Lists {
		if len(list) != len(p.cols) && !(len(list) == 0 && len(n.Columns) == 0) {
			return nil, errorf(mysql.ER_WRONG_VALUE_COUNT_ON_ROW, "Column count doesn't match value count at row %d", ri+1)
		}
		row := make([]expr.Expr, len(list))
		for j, e := range list {
			if _, ok := e.(*ast.DefaultExpr); ok {
				continue
			}
			if row[j], err = empty.compile(e, "field list"); err != nil {
				return nil, err
			}
		}
		p.rows = append(p.rows, row)
	}
	if n.Select != nil {
		sel, ok := n.Select.(*ast.SelectStmt)
		if !ok {
			return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "INSERT ... UNION")
		}
		if p.sel, err = s.planSelect(ctx, sel); err != nil {
			return nil, err
		}
		if len(p.sel.cols) != len(p.cols) {
			return nil, errorf(mysql.ER_WRONG_VALUE_COUNT_ON_ROW, "Column count doesn't match value count at row 1")
		}
	}
	if len(n.OnDuplicate) > 0 {
		sc := &scope{}
		sc.add(&source{alias: src.alias, db: src.db, def: def, tbl: src.tbl})
		r := &dupResolver{sc: sc, src: sc.sources[0]}
		for _, a := range n.OnDuplicate {
			i := def.Column(a.Column.Name.O)
			if i < 0 {
				return nil, errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%s' in 'field list'", a.Column.Name.O)
			}
			sc.clause = "field list"
			e, err := expr.Compile(a.Expr, r)
			if err != nil {
				return nil, err
			}
			p.dupCols = append(p.dupCols, i)
			p.dupVals = append(p.dupVals, e)
		}
	}
	return p, nil
}

func (s *Session) runInsert(ctx context.Context, n *ast.InsertStmt, params []expr.Value) (*mysqlserver.Result, error) {
	p, err := s.planInsert(ctx, n)
	if err != nil {
		return nil, err
	}
	return s.execInsert(ctx, p, params)
}

func (s *Session) execInsert(ctx context.Context, p *insertPlan, params []expr.Value) (*mysqlserver.Result, error) {
	ec := s.exprContext(params)
	var affected, firstAuto, insertID uint64
	err := s.inTxn(ctx, true, func(tx *engine.Txn) error {
		affected, firstAuto, insertID = 0, 0, 0
		var input [][]expr.Value
		if p.sel != nil {
			rows, err := p.sel.run(ctx, s, tx, ec)
			if err != nil {
				return err
			}
			input = rows
		} else {
			input = make([][]expr.Value, len(p.rows))
			ec.DivZeroError = s.divZeroError()
			defer func() { ec.DivZeroError = false }()
			for i, r := range p.rows {
				vals := make([]expr.Value, len(r))
				for j, e := range r {
					if e == nil {
						vals[j] = defaultMarker
						continue
					}
					v, err := e.Eval(ec, nil)
					if err != nil {
						return err
					}
					vals[j] = v
				}
				input[i] = vals
			}
		}
		rows, err := s.buildRows(ctx, ec, p, input)
		if err != nil {
			return err
		}
		def := p.src.def
		ai := def.AutoIncrementColumn()
		var block autoBlock
		if n := countTrue(rows.needAuto); n > 0 {
			first, err := s.db.cat.NextAutoIncrement(ctx, def, uint64(n))
			if err != nil {
				return err
			}
			block = autoBlock{next: first}
		}
		for i, row := range rows.rows {
			auto := rows.needAuto[i]
			if auto {
				cv, err := expr.Cast(ec, keycodec.UintValue(block.take()), &def.Columns[ai], i+1)
				if err != nil {
					return err
				}
				row[ai] = cv
			}
			n, id, err := s.insertRow(ctx, ec, tx, p, row, i+1)
			if err != nil {
				return err
			}
			switch {
			case auto && n == 1:
				if firstAuto == 0 {
					firstAuto = autoValue(row[ai])
				}
			case auto:
				// Skipped or turned into an update: the next row reuses
				// the value (InnoDB's restore_auto_increment); a value
				// left unused at the end stays consumed, as in InnoDB.
				block.untake()
			case n >= 1 && id == 0 && ai >= 0:
				if u := autoValue(row[ai]); u != 0 {
					insertID = u // an explicit value is reported too
				}
			}
			if id != 0 {
				insertID = id
			}
			affected += n
		}
		if ai >= 0 && rows.maxExplicit > 0 {
			if err := s.db.cat.ObserveAutoIncrement(ctx, def, rows.maxExplicit); err != nil {
				return err
			}
		}
		return nil
	})
	s.warnings = append(s.warnings, ec.Warnings...)
	if err != nil {
		return nil, err
	}
	if firstAuto != 0 {
		s.lastInsertID = firstAuto
		insertID = firstAuto
	}
	res := &mysqlserver.Result{AffectedRows: affected, LastInsertID: insertID}
	if len(p.rows) > 1 || p.sel != nil {
		res.Info = fmt.Sprintf("Records: %d  Duplicates: %d  Warnings: %d", len(p.rows), 0, len(s.warnings))
	}
	return res, nil
}

// defaultMarker stands for the DEFAULT keyword in a VALUES list: a value
// of a kind no expression produces.
var defaultMarker = expr.Value{Kind: 255}

type builtRows struct {
	rows        [][]expr.Value
	needAuto    []bool // the row takes the next AUTO_INCREMENT value
	maxExplicit uint64
}

// buildRows turns input value lists into full table rows: values cast to
// their columns, defaults filled, AUTO_INCREMENT values assigned (one
// consecutive block per statement, so a bulk load gets ids 1..N).
func (s *Session) buildRows(ctx context.Context, ec *expr.Context, p *insertPlan, input [][]expr.Value) (*builtRows, error) {
	def := p.src.def
	defaults, err := p.src.entry.defaultExprs()
	if err != nil {
		return nil, err
	}
	ai := def.AutoIncrementColumn()
	out := &builtRows{rows: make([][]expr.Value, len(input)), needAuto: make([]bool, len(input))}
	given := make([]bool, len(def.Columns))
	for ri, in := range input {
		row := make([]expr.Value, len(def.Columns))
		for i := range given {
			given[i] = false
		}
		for j, v := range in {
			ci := p.cols[j]
			if v.Kind == defaultMarker.Kind {
				continue
			}
			col := &def.Columns[ci]
			if ci == ai && (v.Kind == keycodec.KindNull || isZero(v)) {
				continue
			}
			cv, err := expr.Cast(ec, v, col, ri+1)
			if err != nil {
				return nil, err
			}
			if cv.Kind == keycodec.KindNull && col.NotNull {
				if ec.Strict {
					return nil, errorf(mysql.ER_BAD_NULL_ERROR, "Column '%s' cannot be null", col.Name)
				}
				// Non-strict mode stores the implicit default with a
				// warning.
				ec.Warn(mysql.ER_BAD_NULL_ERROR, "Column '%s' cannot be null", col.Name)
				cv = implicitDefault(col)
			}
			row[ci] = cv
			given[ci] = true
		}
		for ci := range def.Columns {
			if given[ci] {
				continue
			}
			col := &def.Columns[ci]
			if ci == ai {
				out.needAuto[ri] = true
				continue
			}
			switch {
			case defaults[ci] != nil:
				v, err := defaults[ci].Eval(ec, nil)
				if err != nil {
					return nil, err
				}
				if row[ci], err = expr.Cast(ec, v, col, ri+1); err != nil {
					return nil, err
				}
			case col.HasDefault || !col.NotNull:
				row[ci] = expr.Value{}
			default:
				if ec.Strict {
					return nil, errorf(mysql.ER_NO_DEFAULT_FOR_FIELD, "Field '%s' doesn't have a default value", col.Name)
				}
				ec.Warn(mysql.ER_NO_DEFAULT_FOR_FIELD, "Field '%s' doesn't have a default value", col.Name)
				row[ci] = implicitDefault(col)
			}
		}
		if ai >= 0 && given[ai] {
			if u := autoValue(row[ai]); u > out.maxExplicit {
				out.maxExplicit = u
			}
		}
		out.rows[ri] = row
	}
	return out, nil
}

// autoBlock hands out one statement's AUTO_INCREMENT values: a block
// reserved at once (so one statement's ids are consecutive) and taken row
// by row as rows are inserted.
type autoBlock struct {
	next uint64
}

func (b *autoBlock) take() uint64 {
	v := b.next
	b.next++
	return v
}

func (b *autoBlock) untake() { b.next-- }

func isZero(v expr.Value) bool {
	switch v.Kind {
	case keycodec.KindInt:
		return v.Int == 0
	case keycodec.KindUint:
		return v.Uint == 0
	}
	return false
}

func autoValue(v expr.Value) uint64 {
	switch v.Kind {
	case keycodec.KindInt:
		if v.Int > 0 {
			return uint64(v.Int)
		}
	case keycodec.KindUint:
		return v.Uint
	case keycodec.KindFloat:
		if v.Float > 0 {
			return uint64(v.Float)
		}
	}
	return 0
}

// implicitDefault is MySQL's implicit default of a NOT NULL column without
// a DEFAULT clause (non-strict mode).
func implicitDefault(col *catalog.Column) expr.Value {
	switch col.Type.Kind() {
	case keycodec.KindInt:
		return keycodec.IntValue(0)
	case keycodec.KindUint:
		return keycodec.UintValue(0)
	case keycodec.KindFloat:
		return keycodec.FloatValue(0)
	case keycodec.KindDecimal:
		return keycodec.DecimalValue(keycodec.Decimal{})
	case keycodec.KindDate, keycodec.KindDateTime, keycodec.KindTimestamp:
		return keycodec.TimeValue(col.Type.Kind(), keycodec.DateTime{})
	}
	return keycodec.BytesValue([]byte{})
}

// insertRow inserts one row, handling IGNORE, REPLACE and ON DUPLICATE KEY
// UPDATE; it returns the affected-rows count MySQL reports for it and,
// for a row that became an update, the AUTO_INCREMENT value of the row
// updated (the OK packet's insert id).
func (s *Session) insertRow(ctx context.Context, ec *expr.Context, tx *engine.Txn, p *insertPlan, row []expr.Value, rowNum int) (uint64, uint64, error) {
	tbl := p.src.tbl
	ai := p.src.def.AutoIncrementColumn()
	var deleted uint64
	for attempt := 0; ; attempt++ {
		err := tbl.Insert(ctx, tx, row)
		if err == nil {
			return 1 + deleted, 0, nil
		}
		var dup *table.DuplicateKeyError
		if !errors.As(err, &dup) {
			return 0, 0, err
		}
		switch {
		case p.dupCols != nil:
			old, rowID, err := s.conflictRow(ctx, tx, p.src, dup.Index, row)
			if err != nil || old == nil {
				return 0, 0, err
			}
			both := append(append(make([]expr.Value, 0, 2*len(row)), old...), row...)
			upd := append([]expr.Value(nil), old...)
			for k, ci := range p.dupCols {
				v, err := p.dupVals[k].Eval(ec, both)
				if err != nil {
					return 0, 0, err
				}
				cv, err := expr.Cast(ec, v, &p.src.def.Columns[ci], rowNum)
				if err != nil {
					return 0, 0, err
				}
				upd[ci] = cv
				both[ci] = cv
			}
			if sameRow(old, upd) {
				return 0, 0, nil
			}
			if p.src.def.HiddenPK {
				err = tbl.UpdateByRowID(ctx, tx, rowID, old, upd)
			} else {
				err = tbl.Update(ctx, tx, old, upd)
			}
			if err != nil {
				return 0, 0, err
			}
			var id uint64
			if ai >= 0 {
				id = autoValue(upd[ai])
			}
			return 2, id, nil
		case p.replace && attempt < 16:
			old, rowID, err := s.conflictRow(ctx, tx, p.src, dup.Index, row)
			if err != nil {
				return 0, 0, err
			}
			if old == nil {
				continue
			}
			if p.src.def.HiddenPK {
				err = tbl.DeleteByRowID(ctx, tx, rowID, old)
			} else {
				err = tbl.Delete(ctx, tx, old)
			}
			if err != nil {
				return 0, 0, err
			}
			deleted++
		case p.ignore:
			ec.Warn(mysql.ER_DUP_ENTRY, "%s", dup.Error())
			return 0, 0, nil
		default:
			return 0, 0, err
		}
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// conflictRow reads, with an exclusive lock, the row holding the key
// value of index name that row also has.
func (s *Session) conflictRow(ctx context.Context, tx *engine.Txn, src *source, name string, row []expr.Value) (table.Row, uint64, error) {
	def := src.def
	ixPos := -1
	for i := range def.Indexes {
		n := def.Indexes[i].Name
		if def.Indexes[i].Primary {
			n = "PRIMARY"
		}
		if strings.EqualFold(n, name) {
			ixPos = i
		}
	}
	if ixPos < 0 {
		return nil, 0, fmt.Errorf("duplicate on unknown index %q", name)
	}
	var vals []keycodec.Value
	for _, c := range indexKeyColumns(def, ixPos) {
		vals = append(vals, row[c])
	}
	if ixPos == 0 {
		r, ok, err := src.tbl.Get(ctx, tx, vals, engine.LockExclusive)
		if err != nil || !ok {
			return nil, 0, err
		}
		return r, 0, nil
	}
	b := &table.Bound{Values: vals, Inclusive: true}
	rows := src.tbl.Scan(ctx, tx, table.ScanOptions{Index: ixPos, Lo: b, Hi: b, Lock: engine.LockExclusive})
	if rows.Next(ctx) {
		return rows.Row(), rows.RowID(), nil
	}
	return nil, 0, rows.Err()
}

// sameRow reports whether an update changes nothing (byte-exact).
func sameRow(a, b []expr.Value) bool {
	for i := range a {
		if a[i].Kind != b[i].Kind {
			return false
		}
		if a[i].Kind == keycodec.KindNull {
			continue
		}
		if a[i].Kind == keycodec.KindString {
			if string(a[i].Str) != string(b[i].Str) {
				return false
			}
			continue
		}
		if expr.Compare(a[i], b[i], keycodec.CollationBinary) != 0 {
			return false
		}
	}
	return true
}

// changePlan is a compiled single-table UPDATE or DELETE.
type changePlan struct {
	src    *source
	sc     *scope
	acc    *access
	where  expr.Expr
	order  []orderKey
	limit  expr.Expr
	cols   []int       // UPDATE targets
	vals   []expr.Expr // over the row being updated
	delete bool
}

func (s *Session) planChange(ctx context.Context, refs *ast.TableRefsClause, where ast.ExprNode, order *ast.OrderByClause, limit *ast.Limit, list []*ast.Assignment) (*changePlan, error) {
	src, err := s.targetTable(ctx, refs)
	if err != nil {
		return nil, err
	}
	sc := &scope{env: envOf(nil, ctx, s)}
	sc.add(src)
	p := &changePlan{src: src, sc: sc, delete: list == nil}
	if p.acc, err = chooseAccess(sc, src, splitAnd(where, nil), map[*source]bool{}, nil); err != nil {
		return nil, err
	}
	p.acc.lock = engine.LockExclusive
	if where != nil {
		if p.where, err = sc.compile(where, "where clause"); err != nil {
			return nil, err
		}
	}
	for _, a := range list {
		i, _, err := sc.lookup(a.Column)
		if err != nil {
			return nil, err
		}
		var e expr.Expr
		if d, ok := a.Expr.(*ast.DefaultExpr); ok {
			if e, err = s.defaultOf(src, i, d); err != nil {
				return nil, err
			}
		} else if e, err = sc.compile(a.Expr, "field list"); err != nil {
			return nil, err
		}
		p.cols = append(p.cols, i)
		p.vals = append(p.vals, e)
	}
	if order != nil {
		for _, it := range order.Items {
			e, err := sc.compile(it.Expr, "order clause")
			if err != nil {
				return nil, err
			}
			p.order = append(p.order, orderKey{e: e, desc: it.Desc, coll: e.Type().Collation()})
		}
	}
	if limit != nil {
		if p.limit, err = sc.compile(limit.Count, "limit clause"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// defaultOf compiles SET col = DEFAULT [(col)]: the column's default, or
// NULL for a column without one.
func (s *Session) defaultOf(src *source, i int, d *ast.DefaultExpr) (expr.Expr, error) {
	if d.Name != nil {
		if i = src.column(d.Name.Name.O); i < 0 {
			return nil, errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%s' in 'field list'", d.Name.Name.O)
		}
	}
	defs, err := src.entry.defaultExprs()
	if err != nil {
		return nil, err
	}
	col := &src.def.Columns[i]
	if defs[i] != nil {
		return defs[i], nil
	}
	if col.NotNull && !col.HasDefault && !col.AutoIncrement {
		return nil, errorf(mysql.ER_NO_DEFAULT_FOR_FIELD, "Field '%s' doesn't have a default value", col.Name)
	}
	return expr.Const(expr.Value{}, expr.TypeOfColumn(col)), nil
}

func (s *Session) runUpdate(ctx context.Context, n *ast.UpdateStmt, params []expr.Value) (*mysqlserver.Result, error) {
	if n.MultipleTable {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "multi-table UPDATE")
	}
	p, err := s.planChange(ctx, n.TableRefs, n.Where, n.Order, n.Limit, n.List)
	if err != nil {
		return nil, err
	}
	return s.execChange(ctx, p, params)
}

func (s *Session) runDelete(ctx context.Context, n *ast.DeleteStmt, params []expr.Value) (*mysqlserver.Result, error) {
	if n.IsMultiTable {
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "multi-table DELETE")
	}
	p, err := s.planChange(ctx, n.TableRefs, n.Where, n.Order, n.Limit, nil)
	if err != nil {
		return nil, err
	}
	return s.execChange(ctx, p, params)
}

type matchedRow struct {
	row   table.Row
	rowID uint64
	keys  []expr.Value
}

func (s *Session) execChange(ctx context.Context, p *changePlan, params []expr.Value) (*mysqlserver.Result, error) {
	ec := s.exprContext(params)
	var matched, changed uint64
	err := s.inTxn(ctx, true, func(tx *engine.Txn) error {
		matched, changed = 0, 0
		p.sc.env.enter(ctx, s, tx)
		limit := int64(-1)
		if p.limit != nil {
			var err error
			if limit, err = evalCount(ec, p.limit); err != nil {
				return err
			}
		}
		if limit == 0 {
			return nil
		}
		// Collect first, then change: changing rows while scanning an
		// index the change moves them in could visit them twice.
		rs, err := p.acc.open(ctx, ec, tx, nil)
		if err != nil {
			return err
		}
		var rows []matchedRow
		for {
			r, rowID, err := rs.next(ctx)
			if err != nil {
				return err
			}
			if r == nil {
				break
			}
			if p.where != nil {
				v, err := p.where.Eval(ec, r)
				if err != nil {
					return err
				}
				if !expr.Truth(v) {
					continue
				}
			}
			m := matchedRow{row: r, rowID: rowID}
			if p.order != nil {
				for _, o := range p.order {
					v, err := o.e.Eval(ec, r)
					if err != nil {
						return err
					}
					m.keys = append(m.keys, v)
				}
			}
			rows = append(rows, m)
			if p.order == nil && limit >= 0 && int64(len(rows)) >= limit {
				break
			}
		}
		if p.order != nil {
			slices.SortStableFunc(rows, func(a, b matchedRow) int { return compareKeys(a.keys, b.keys, p.order) })
			if limit >= 0 && int64(len(rows)) > limit {
				rows = rows[:limit]
			}
		}
		def := p.src.def
		divZero := s.divZeroError()
		for _, m := range rows {
			matched++
			if p.delete {
				if def.HiddenPK {
					err = p.src.tbl.DeleteByRowID(ctx, tx, m.rowID, m.row)
				} else {
					err = p.src.tbl.Delete(ctx, tx, m.row)
				}
				if err != nil {
					return err
				}
				changed++
				continue
			}
			upd := append([]expr.Value(nil), m.row...)
			for k, ci := range p.cols {
				ec.DivZeroError = divZero
				v, err := p.vals[k].Eval(ec, upd)
				ec.DivZeroError = false
				if err != nil {
					return err
				}
				cv, err := expr.Cast(ec, v, &def.Columns[ci], int(matched))
				if err != nil {
					return err
				}
				if cv.Kind == keycodec.KindNull && def.Columns[ci].NotNull {
					if ec.Strict {
						return errorf(mysql.ER_BAD_NULL_ERROR, "Column '%s' cannot be null", def.Columns[ci].Name)
					}
					ec.Warn(mysql.ER_BAD_NULL_ERROR, "Column '%s' cannot be null", def.Columns[ci].Name)
					cv = implicitDefault(&def.Columns[ci])
				}
				upd[ci] = cv
			}
			if sameRow(m.row, upd) {
				continue
			}
			if def.HiddenPK {
				err = p.src.tbl.UpdateByRowID(ctx, tx, m.rowID, m.row, upd)
			} else {
				err = p.src.tbl.Update(ctx, tx, m.row, upd)
			}
			if err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	s.warnings = append(s.warnings, ec.Warnings...)
	if err != nil {
		return nil, err
	}
	res := &mysqlserver.Result{AffectedRows: changed}
	if !p.delete {
		if s.info.FoundRows() {
			res.AffectedRows = matched
		}
		res.Info = fmt.Sprintf("Rows matched: %d  Changed: %d  Warnings: %d", matched, changed, len(s.warnings))
	}
	return res, nil
}
