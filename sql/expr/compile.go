package expr

import (
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	pmysql "github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
)

// Compile compiles an expression of the TiDB parser's AST. Every node is
// first offered to r (which may be nil): a node r claims becomes a
// reference to a slot of the input row.
//
// Static types are exact except for expressions over '?' markers and
// variables, whose kinds are only known at execution: such operands have
// a string Type, and operators on them (arithmetic, comparison) follow
// the kinds of the values at run time.
func Compile(n ast.ExprNode, r Resolver) (Expr, error) {
	c := compiler{r: r}
	return c.compile(n)
}

type compiler struct {
	r Resolver
}

// Column returns an expression reading row[idx], of type t.
func Column(idx int, t Type) Expr { return &colExpr{idx: idx, t: t} }

// Const returns an expression yielding v, of type t.
func Const(v Value, t Type) Expr { return &constExpr{v: v, t: t} }

type colExpr struct {
	idx int
	t   Type
}

func (e *colExpr) Eval(_ *Context, row []Value) (Value, error) { return row[e.idx], nil }
func (e *colExpr) Type() Type                                  { return e.t }

type constExpr struct {
	v Value
	t Type
	// hex marks a hexadecimal or bit literal, a binary string that is a
	// number in numeric context (0x41 + 0 = 65).
	hex bool
}

func (e *constExpr) Eval(*Context, []Value) (Value, error) { return e.v, nil }
func (e *constExpr) Type() Type                            { return e.t }

type paramExpr struct{ order int }

func (e *paramExpr) Eval(ctx *Context, _ []Value) (Value, error) {
	if e.order >= len(ctx.Params) {
		return Value{}, mysqlserver.CodeError(mysql.ER_WRONG_ARGUMENTS, "mysqld_stmt_execute")
	}
	return ctx.Params[e.order], nil
}
func (e *paramExpr) Type() Type { return tDyn }

// isDyn reports whether e's kind is only known at execution.
func isDyn(e Expr) bool {
	switch x := e.(type) {
	case *paramExpr, *varExpr:
		return true
	case *constExpr:
		return x.t.Kind == kNull
	}
	return false
}

func errUnsupported(what string) error {
	return mysqlserver.CodeError(mysql.ER_NOT_SUPPORTED_YET, what)
}

// restore renders a node as SQL text (for error messages).
func restore(n ast.Node) string {
	var sb strings.Builder
	if err := n.Restore(format.NewRestoreCtx(format.RestoreStringSingleQuotes|format.RestoreKeyWordLowercase|format.RestoreNameBackQuotes, &sb)); err != nil {
		return "?"
	}
	return sb.String()
}

func (c *compiler) compile(n ast.ExprNode) (Expr, error) {
	if er, ok := c.r.(ExprResolver); ok {
		e, ok, err := er.ResolveExpr(n, c.compile)
		if err != nil {
			return nil, err
		}
		if ok {
			return e, nil
		}
	}
	if c.r != nil {
		idx, t, ok, err := c.r.Resolve(n)
		if err != nil {
			return nil, err
		}
		if ok {
			return Column(idx, t), nil
		}
	}
	switch n := n.(type) {
	case *test_driver.ParamMarkerExpr:
		return &paramExpr{order: n.Order}, nil
	case *test_driver.ValueExpr:
		return literal(n)
	case *ast.ParenthesesExpr:
		return c.compile(n.Expr)
	case *ast.ColumnNameExpr:
		return nil, mysqlserver.CodeError(mysql.ER_BAD_FIELD_ERROR, n.Name.OrigColName(), "field list")
	case *ast.AggregateFuncExpr:
		return nil, mysqlserver.CodeError(mysql.ER_INVALID_GROUP_FUNC_USE)
	case *ast.BinaryOperationExpr:
		return c.binary(n)
	case *ast.UnaryOperationExpr:
		return c.unary(n)
	case *ast.IsNullExpr:
		x, err := c.compile(n.Expr)
		if err != nil {
			return nil, err
		}
		return &isNullExpr{x: x, not: n.Not}, nil
	case *ast.IsTruthExpr:
		x, err := c.compile(n.Expr)
		if err != nil {
			return nil, err
		}
		return &isTruthExpr{x: x, not: n.Not, want: n.True != 0}, nil
	case *ast.BetweenExpr:
		return c.between(n)
	case *ast.PatternInExpr:
		return c.in(n)
	case *ast.PatternLikeOrIlikeExpr:
		return c.like(n)
	case *ast.PatternRegexpExpr:
		return c.regexp(n)
	case *ast.CaseExpr:
		return c.caseExpr(n)
	case *ast.FuncCallExpr:
		return c.call(n)
	case *ast.FuncCastExpr:
		return c.cast(n)
	case *ast.VariableExpr:
		return c.variable(n)
	case *ast.SetCollationExpr:
		x, err := c.compile(n.Expr)
		if err != nil {
			return nil, err
		}
		return collate(x, n.Collate)
	case *ast.RowExpr:
		return nil, mysqlserver.CodeError(mysql.ER_OPERAND_COLUMNS, 1)
	case *ast.DefaultExpr:
		return nil, errUnsupported("DEFAULT in this context")
	case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr, *ast.CompareSubqueryExpr:
		return nil, errUnsupported("subqueries")
	}
	return nil, errUnsupported(strings.TrimPrefix(strings.TrimPrefix(typeName(n), "*ast."), "*"))
}

func typeName(n ast.Node) string {
	var sb strings.Builder
	_ = n.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, &sb))
	if sb.Len() > 0 {
		return sb.String()
	}
	return "expression"
}

func (c *compiler) compileAll(ns []ast.ExprNode) ([]Expr, error) {
	out := make([]Expr, len(ns))
	for i, n := range ns {
		e, err := c.compile(n)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// literal converts a parser value to a constant.
func literal(n *test_driver.ValueExpr) (Expr, error) {
	switch n.Kind() {
	case test_driver.KindNull:
		return &constExpr{t: tNull}, nil
	case test_driver.KindInt64:
		if n.Type.GetFlag()&pmysql.IsBooleanFlag != 0 {
			return &constExpr{v: keycodec.IntValue(n.GetInt64()), t: tBool}, nil
		}
		return &constExpr{v: keycodec.IntValue(n.GetInt64()), t: tInt}, nil
	case test_driver.KindUint64:
		return &constExpr{v: keycodec.UintValue(n.GetUint64()), t: tUint}, nil
	case test_driver.KindFloat32, test_driver.KindFloat64:
		return &constExpr{v: keycodec.FloatValue(n.GetFloat64()), t: tDouble}, nil
	case test_driver.KindString, test_driver.KindBytes:
		s := n.GetString()
		t := tString(len([]rune(s)))
		if n.Type.GetCharset() == "binary" {
			t = tBinary(len(s))
		}
		return &constExpr{v: keycodec.StringValue(s), t: t}, nil
	case test_driver.KindMysqlDecimal:
		s := n.GetMysqlDecimal().String()
		d, err := keycodec.ParseDecimal(s)
		if err != nil {
			return nil, mysqlserver.CodeError(mysql.ER_DATA_OUT_OF_RANGE, "DECIMAL", s)
		}
		scale := 0
		if i := strings.IndexByte(s, '.'); i >= 0 {
			scale = len(s) - i - 1
		}
		prec := 0
		for _, ch := range s {
			if ch >= '0' && ch <= '9' {
				prec++
			}
		}
		return &constExpr{v: keycodec.DecimalValue(d), t: tDec(prec, scale)}, nil
	case test_driver.KindBinaryLiteral:
		b := []byte(n.GetBinaryLiteral())
		return &constExpr{v: keycodec.BytesValue(b), t: tBinary(len(b)), hex: true}, nil
	}
	return nil, errUnsupported("literal")
}

// hexNumber returns e as an unsigned integer constant when it is a hex or
// bit literal (numeric context), else e.
func hexNumber(e Expr) Expr {
	c, ok := e.(*constExpr)
	if !ok || !c.hex {
		return e
	}
	var u uint64
	for _, b := range c.v.Str {
		u = u<<8 | uint64(b)
	}
	return &constExpr{v: keycodec.UintValue(u), t: tUint}
}

// strColl is the collation of a string type, CollationInvalid otherwise.
func strColl(t Type) keycodec.Collation {
	if t.Kind != kStr {
		return keycodec.CollationInvalid
	}
	return t.Column.KeyType().Collation
}

// commonColl is the collation two operands compare under: binary if
// either is a binary string, else utf8mb4_bin if either is, else
// utf8mb4_general_ci (the default of literals and parameters).
func commonColl(ts ...Type) keycodec.Collation {
	best := keycodec.CollationUTF8MB4GeneralCI
	for _, t := range ts {
		switch strColl(t) {
		case keycodec.CollationBinary:
			return keycodec.CollationBinary
		case keycodec.CollationUTF8MB4Bin:
			best = keycodec.CollationUTF8MB4Bin
		}
	}
	return best
}

func (c *compiler) binary(n *ast.BinaryOperationExpr) (Expr, error) {
	l, err := c.compile(n.L)
	if err != nil {
		return nil, err
	}
	r, err := c.compile(n.R)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case opcode.LogicAnd, opcode.LogicOr, opcode.LogicXor:
		return &logicExpr{op: n.Op, l: l, r: r}, nil
	case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE, opcode.NullEQ:
		return newCmp(n.Op, l, r), nil
	case opcode.Plus, opcode.Minus, opcode.Mul, opcode.Div, opcode.IntDiv, opcode.Mod:
		return newArith(n.Op, hexNumber(l), hexNumber(r), "("+restore(n.L)+" "+opText(n.Op)+" "+restore(n.R)+")"), nil
	case opcode.And, opcode.Or, opcode.Xor, opcode.LeftShift, opcode.RightShift:
		return &bitExpr{op: n.Op, l: hexNumber(l), r: hexNumber(r)}, nil
	}
	return nil, errUnsupported("operator " + n.Op.String())
}

func opText(op opcode.Op) string {
	switch op {
	case opcode.Plus:
		return "+"
	case opcode.Minus:
		return "-"
	case opcode.Mul:
		return "*"
	case opcode.Div:
		return "/"
	case opcode.IntDiv:
		return "DIV"
	case opcode.Mod:
		return "%"
	}
	return op.String()
}

func newCmp(op opcode.Op, l, r Expr) Expr {
	lt, rt := l.Type(), r.Type()
	// A hex literal compared with a number is a number.
	if isNumeric(rt.Kind) {
		l = hexNumber(l)
	}
	if isNumeric(lt.Kind) {
		r = hexNumber(r)
	}
	return &cmpExpr{op: op, l: l, r: r, coll: commonColl(lt, rt)}
}

func (c *compiler) unary(n *ast.UnaryOperationExpr) (Expr, error) {
	x, err := c.compile(n.V)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case opcode.Not, opcode.Not2:
		return &notExpr{x: x}, nil
	case opcode.Minus:
		return &negExpr{x: hexNumber(x), text: "-(" + restore(n.V) + ")"}, nil
	case opcode.Plus:
		return x, nil
	case opcode.BitNeg:
		return &bitExpr{op: opcode.BitNeg, l: hexNumber(x)}, nil
	}
	return nil, errUnsupported("operator " + n.Op.String())
}

func (c *compiler) between(n *ast.BetweenExpr) (Expr, error) {
	x, err := c.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	lo, err := c.compile(n.Left)
	if err != nil {
		return nil, err
	}
	hi, err := c.compile(n.Right)
	if err != nil {
		return nil, err
	}
	return &betweenExpr{x: x, lo: lo, hi: hi, not: n.Not, coll: commonColl(x.Type(), lo.Type(), hi.Type())}, nil
}

func (c *compiler) in(n *ast.PatternInExpr) (Expr, error) {
	if n.Sel != nil {
		return nil, errUnsupported("IN (subquery)")
	}
	x, err := c.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	list, err := c.compileAll(n.List)
	if err != nil {
		return nil, err
	}
	ts := []Type{x.Type()}
	for i, e := range list {
		ts = append(ts, e.Type())
		if isNumeric(x.Type().Kind) {
			list[i] = hexNumber(e)
		}
	}
	return &inExpr{x: x, list: list, not: n.Not, coll: commonColl(ts...)}, nil
}

// variable compiles @@system and @user variables (and @x := v).
func (c *compiler) variable(n *ast.VariableExpr) (Expr, error) {
	e := &varExpr{name: strings.ToLower(n.Name), system: n.IsSystem, global: n.IsGlobal}
	if n.Value != nil {
		v, err := c.compile(n.Value)
		if err != nil {
			return nil, err
		}
		e.assign = v
	}
	return e, nil
}

type varExpr struct {
	name           string
	system, global bool
	assign         Expr
}

func (e *varExpr) Type() Type {
	if e.assign != nil {
		return e.assign.Type()
	}
	return tDyn
}

func (e *varExpr) Eval(ctx *Context, row []Value) (Value, error) {
	if e.system {
		if ctx.SysVar == nil {
			return Value{}, mysqlserver.CodeError(mysql.ER_UNKNOWN_SYSTEM_VARIABLE, e.name)
		}
		v, err := ctx.SysVar(e.name, e.global)
		if err != nil {
			var me *mysqlserver.Error
			if asErr(err, &me) {
				return Value{}, err
			}
			return Value{}, mysqlserver.CodeError(mysql.ER_UNKNOWN_SYSTEM_VARIABLE, e.name)
		}
		return v, nil
	}
	if e.assign != nil {
		v, err := e.assign.Eval(ctx, row)
		if err != nil {
			return Value{}, err
		}
		if v.Kind == kStr {
			v.Str = append([]byte(nil), v.Str...)
		}
		if ctx.UserVars == nil {
			ctx.UserVars = map[string]Value{}
		}
		ctx.UserVars[e.name] = v
		return v, nil
	}
	return ctx.UserVars[e.name], nil
}

// TypeOfColumn returns the static type of a column reference.
func TypeOfColumn(col *catalog.Column) Type {
	t := Type{Kind: col.Type.Kind(), Column: col.Type, NotNull: col.NotNull}
	if t.Kind == kStr && t.Column.Collation == "" {
		if col.Type.KeyType().Collation == keycodec.CollationBinary {
			t.Column.Collation = "binary"
		} else {
			t.Column.Collation = "utf8mb4_general_ci"
		}
	}
	return t
}

// TypeOfValue returns a static type describing a value (for constants the
// caller builds: parameters bound at compile time, defaults).
func TypeOfValue(v Value) Type {
	switch v.Kind {
	case kInt:
		return tInt
	case kUint:
		return tUint
	case kFlt:
		return tDouble
	case kDec:
		s := 0
		if v.Dec.Exp < 0 {
			s = int(-v.Dec.Exp)
		}
		return tDec(max(1, decIntDigits(v.Dec)+s), s)
	case kStr:
		return tString(len(v.Str))
	case kDate:
		return tDate
	case kDT:
		return tDateTime(fspOf(v, Type{}))
	case kTS:
		t := tDateTime(fspOf(v, Type{}))
		t.Kind, t.Column.Name = kTS, "timestamp"
		return t
	}
	return tNull
}

// collate applies `x COLLATE name`: the value is unchanged, comparisons
// use the named collation.
func collate(x Expr, name string) (Expr, error) {
	name = strings.ToLower(name)
	switch name {
	case "binary", "utf8mb4_bin", "utf8mb4_general_ci", "utf8mb4_0900_ai_ci", "utf8_general_ci", "utf8_bin":
	default:
		return nil, mysqlserver.CodeError(mysql.ER_UNKNOWN_COLLATION, name)
	}
	t := x.Type()
	if t.Kind != kStr {
		t = tString(max(t.Column.Length, 20))
	}
	switch name {
	case "binary":
		t.Column.Collation, t.Column.Charset = "binary", "binary"
	case "utf8mb4_bin", "utf8_bin":
		t.Column.Collation = "utf8mb4_bin"
	default:
		// utf8mb4_0900_ai_ci is approximated by utf8mb4_general_ci.
		t.Column.Collation = "utf8mb4_general_ci"
	}
	return &collateExpr{x: x, t: t}, nil
}

type collateExpr struct {
	x Expr
	t Type
}

func (e *collateExpr) Type() Type { return e.t }

func (e *collateExpr) Eval(ctx *Context, row []Value) (Value, error) {
	v, err := e.x.Eval(ctx, row)
	if err != nil || v.Kind == kStr || v.Kind == kNull {
		return v, err
	}
	return keycodec.BytesValue(bytesOf(v, e.x.Type())), nil
}
