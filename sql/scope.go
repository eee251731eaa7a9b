package sql

import (
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/table"
	"github.com/polarsql/polar/sql/expr"
)

// source is one table of a FROM clause. Its columns occupy
// row[offset:offset+len(def.Columns)] of the joined row.
type source struct {
	alias  string // name columns are qualified with (alias or table name)
	db     string
	def    *catalog.Table
	tbl    *table.Table
	offset int
	entry  *tableEntry
	// cols names the columns and rows holds the rows of a virtual source
	// (an information_schema view), which is not a stored table.
	cols []resultCol
	rows [][]expr.Value
	// derived is the query of a derived table (FROM (SELECT ...) AS t),
	// run when the statement executes.
	derived queryPlan
	env     *execEnv
}

// colName returns the name of column i.
func (s *source) colName(i int) string {
	if s.def != nil {
		return s.def.Columns[i].Name
	}
	return s.cols[i].name
}

// width is the number of slots the source takes.
func (s *source) width() int {
	if s.def != nil {
		return len(s.def.Columns)
	}
	return len(s.cols)
}

// column finds a column by name, or -1.
func (s *source) column(name string) int {
	if s.def != nil {
		return s.def.Column(name)
	}
	for i := range s.cols {
		if strings.EqualFold(s.cols[i].name, name) {
			return i
		}
	}
	return -1
}

func (s *source) colType(i int) expr.Type {
	if s.def != nil {
		return expr.TypeOfColumn(&s.def.Columns[i])
	}
	return s.cols[i].typ
}

// scope resolves column names against the sources of a query block. It
// implements expr.Resolver.
type scope struct {
	sources []*source
	width   int
	// outer is the enclosing query's scope: a name not found here is
	// looked up there and becomes an outer reference, read from slot
	// width+k of this scope's rows (copied from the enclosing row).
	outer     *scope
	outerRefs []int // enclosing-row slots of the outer references
	env       *execEnv
	clause    string // "field list", "where clause", ... for 1054 messages
	// nullable marks sources on the inner side of a LEFT JOIN: their
	// columns can be NULL whatever the schema says.
	nullable map[*source]bool
}

func (sc *scope) add(src *source) {
	src.offset = sc.width
	sc.width += src.width()
	sc.sources = append(sc.sources, src)
}

// Resolve claims column references.
func (sc *scope) Resolve(n ast.ExprNode) (int, expr.Type, bool, error) {
	c, ok := n.(*ast.ColumnNameExpr)
	if !ok {
		return 0, expr.Type{}, false, nil
	}
	idx, t, err := sc.lookup(c.Name)
	if err != nil {
		return 0, expr.Type{}, false, err
	}
	return idx, t, true, nil
}

// lookup finds a (possibly qualified) column.
func (sc *scope) lookup(cn *ast.ColumnName) (int, expr.Type, error) {
	found := -1
	var typ expr.Type
	for _, src := range sc.sources {
		if cn.Table.L != "" && !strings.EqualFold(cn.Table.O, src.alias) {
			continue
		}
		if cn.Schema.L != "" && !strings.EqualFold(cn.Schema.O, src.db) {
			continue
		}
		i := src.column(cn.Name.O)
		if i < 0 {
			continue
		}
		if found >= 0 {
			return 0, typ, errorf(mysql.ER_NON_UNIQ_ERROR, "Column '%s' in %s is ambiguous", cn.Name.O, sc.clauseName())
		}
		found = src.offset + i
		typ = src.colType(i)
		if sc.nullable[src] {
			typ.NotNull = false
		}
	}
	if found < 0 && sc.outer != nil {
		oi, ot, err := sc.outer.lookup(cn)
		if err == nil {
			for k, r := range sc.outerRefs {
				if r == oi {
					return sc.width + k, ot, nil
				}
			}
			sc.outerRefs = append(sc.outerRefs, oi)
			return sc.width + len(sc.outerRefs) - 1, ot, nil
		}
	}
	if found < 0 {
		return 0, typ, errorf(mysql.ER_BAD_FIELD_ERROR, "Unknown column '%s' in '%s'", columnText(cn), sc.clauseName())
	}
	return found, typ, nil
}

func (sc *scope) clauseName() string {
	if sc.clause == "" {
		return "field list"
	}
	return sc.clause
}

func columnText(cn *ast.ColumnName) string {
	s := cn.Name.O
	if cn.Table.O != "" {
		s = cn.Table.O + "." + s
	}
	if cn.Schema.O != "" {
		s = cn.Schema.O + "." + s
	}
	return s
}

// compile compiles an expression in the scope for a clause.
func (sc *scope) compile(e ast.ExprNode, clause string) (expr.Expr, error) {
	sc.clause = clause
	return expr.Compile(e, sc)
}

// sourceOf returns the source whose slots hold row index i.
func (sc *scope) sourceOf(i int) *source {
	for _, s := range sc.sources {
		if i >= s.offset && i < s.offset+s.width() {
			return s
		}
	}
	return nil
}
