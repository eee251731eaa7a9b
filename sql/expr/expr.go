// Package expr compiles expressions of the TiDB parser's AST into
// evaluators and evaluates them with MySQL's semantics: three-valued logic,
// type conversion for comparison and arithmetic, collations, and the common
// string, numeric and date functions. It also converts values for storing
// into a column (strict mode errors 1366/1264/1406/1292) and holds the
// aggregate accumulators (COUNT, SUM, AVG, MIN, MAX).
//
// The package is pure: no I/O, no locking. Column references and anything
// else the caller computes (aggregates, subqueries) are resolved through a
// Resolver into slots of the input row.
package expr

import (
	"fmt"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/keycodec"
)

// Value is one SQL value; the zero Value is NULL. Booleans are KindInt 0/1,
// as in MySQL.
type Value = keycodec.Value

// Type is the static type of an expression's result.
type Type struct {
	// Kind is the value kind results have (KindNull only for a NULL
	// literal).
	Kind keycodec.Kind
	// Column describes the result as a MySQL column type for result set
	// metadata: Name "bigint", "int", "decimal" (Precision, Scale),
	// "double", "varchar" (Length), "char", "text", "blob", "date",
	// "datetime" (Fsp), "timestamp"; Unsigned; Collation.
	Column catalog.ColumnType
	// NotNull: the expression never yields NULL.
	NotNull bool
}

// Collation returns the collation string comparisons of values of this
// type use.
func (t Type) Collation() keycodec.Collation {
	if t.Kind != keycodec.KindString {
		return keycodec.CollationBinary
	}
	return t.Column.KeyType().Collation
}

// Warning is a note or warning raised during evaluation (SHOW WARNINGS).
type Warning struct {
	Level   string // "Note", "Warning", "Error"
	Code    uint16
	Message string
}

// Context is what evaluation may read besides the input row. One Context
// serves one statement execution.
type Context struct {
	// Params are the values of the '?' markers, by position.
	Params []Value
	// Now is the statement's start time (NOW(), CURDATE(), ...), local
	// time zone of the session (UTC).
	Now time.Time
	// Session facts for DATABASE(), USER(), CONNECTION_ID(),
	// LAST_INSERT_ID(), VERSION().
	DB           string
	User         string
	ConnID       uint32
	LastInsertID uint64
	Version      string
	// Strict is sql_mode STRICT_TRANS_TABLES: bad values in Cast fail
	// instead of being adjusted with a warning.
	Strict bool
	// DivZeroError makes division by zero fail with 1365 instead of
	// yielding NULL with a warning: set while computing values to store
	// in strict mode with ERROR_FOR_DIVISION_BY_ZERO.
	DivZeroError bool
	// SysVar returns a system variable (@@name, @@session.name,
	// @@global.name); nil or an error fails with 1193 unknown variable.
	SysVar func(name string, global bool) (Value, error)
	// UserVars holds user variables (@name); nil reads as empty.
	UserVars map[string]Value
	// Warnings collects warnings raised by evaluation and Cast.
	Warnings []Warning
}

// Warn appends a warning.
func (c *Context) Warn(code uint16, format string, args ...any) {
	c.Warnings = append(c.Warnings, Warning{Level: "Warning", Code: code, Message: sprintf(format, args...)})
}

// Expr is a compiled expression.
type Expr interface {
	// Eval computes the value for one input row.
	Eval(ctx *Context, row []Value) (Value, error)
	// Type is the static result type.
	Type() Type
}

// Resolver maps AST nodes to slots of the input row. Compile calls Resolve
// on every node before compiling it (pre-order); when ok is true the node
// becomes a reference to row[idx] of type t and its children are not
// visited. An *ast.ColumnNameExpr that Resolve does not claim fails with
// MySQL error 1054 "Unknown column 'x' in 'field list'"; an aggregate
// function it does not claim fails with 1111 "Invalid use of group
// function".
type Resolver interface {
	Resolve(n ast.ExprNode) (idx int, t Type, ok bool, err error)
}

// sprintf formats warning messages; kept out of the evaluation fast paths.
func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// ExprResolver is an optional Resolver extension for nodes the caller
// evaluates itself (subqueries): Compile tries ResolveExpr on every node
// before Resolve, and uses the returned Expr when ok is true. compile
// compiles a child node with the same resolver.
type ExprResolver interface {
	ResolveExpr(n ast.ExprNode, compile func(ast.ExprNode) (Expr, error)) (e Expr, ok bool, err error)
}
