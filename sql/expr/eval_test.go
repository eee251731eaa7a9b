package expr

import (
	"errors"
	"testing"
	"time"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
)

// parseExpr parses one expression through a SELECT.
func parseExpr(t testing.TB, s string) ast.ExprNode {
	t.Helper()
	stmt, err := parser.New().ParseOneStmt("SELECT "+s, "", "")
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return stmt.(*ast.SelectStmt).Fields.Fields[0].Expr
}

func testCtx() *Context {
	return &Context{
		Now:          time.Date(2024, 1, 2, 3, 4, 5, 678901000, time.UTC),
		DB:           "test",
		User:         "root@localhost",
		Version:      "8.0.36-polar",
		ConnID:       7,
		LastInsertID: 42,
		SysVar: func(name string, global bool) (Value, error) {
			switch name {
			case "autocommit":
				return keycodec.IntValue(1), nil
			case "sql_mode":
				return keycodec.StringValue("STRICT_TRANS_TABLES"), nil
			}
			return Value{}, errors.New("unknown")
		},
		UserVars: map[string]Value{"x": keycodec.IntValue(5), "s": keycodec.StringValue("hello")},
		Params:   []Value{keycodec.IntValue(10), keycodec.StringValue("abc"), {}, keycodec.FloatValue(2.5)},
	}
}

// evalText compiles and evaluates s, returning Format's text ("NULL" for
// NULL) or the MySQL error code.
func evalText(t testing.TB, s string) (string, uint16, *Context) {
	t.Helper()
	ctx := testCtx()
	e, err := Compile(parseExpr(t, s), testResolver{})
	if err == nil {
		var v Value
		v, err = e.Eval(ctx, testRow)
		if err == nil {
			if v.Kind == keycodec.KindNull {
				return "NULL", 0, ctx
			}
			return Format(v, e.Type()), 0, ctx
		}
	}
	var me *mysqlserver.Error
	if errors.As(err, &me) {
		return "", me.Code, ctx
	}
	t.Fatalf("%s: non-MySQL error %v", s, err)
	return "", 0, ctx
}

// testResolver maps columns i (int 7), u (bigint unsigned 3), d
// (decimal(10,2) 12.50), f (double 1.5), s (varchar 'Hello'), b
// (varbinary 'Hello'), dt (datetime '2024-03-04 05:06:07'), dd (date
// '2024-02-29'), n (NULL int), sb (varchar utf8mb4_bin 'Hello').
type testResolver struct{}

var testCols = map[string]Type{
	"i":  {Kind: keycodec.KindInt, Column: tInt.Column},
	"u":  tUint,
	"d":  tDec(10, 2),
	"f":  tDouble,
	"s":  tString(20),
	"b":  tBinary(20),
	"dt": tDateTime(0),
	"dd": tDate,
	"n":  tInt,
	"sb": func() Type { t := tString(20); t.Column.Collation = "utf8mb4_bin"; return t }(),
}

var testIdx = map[string]int{"i": 0, "u": 1, "d": 2, "f": 3, "s": 4, "b": 5, "dt": 6, "dd": 7, "n": 8, "sb": 9}

var testRow = []Value{
	keycodec.IntValue(7),
	keycodec.UintValue(3),
	keycodec.DecimalValue(keycodec.Decimal{Digits: "125", Exp: -1}),
	keycodec.FloatValue(1.5),
	keycodec.StringValue("Hello"),
	keycodec.StringValue("Hello"),
	keycodec.TimeValue(keycodec.KindDateTime, keycodec.DateTime{Year: 2024, Month: 3, Day: 4, Hour: 5, Minute: 6, Second: 7}),
	keycodec.TimeValue(keycodec.KindDate, keycodec.DateTime{Year: 2024, Month: 2, Day: 29}),
	{},
	keycodec.StringValue("Hello"),
}

func (testResolver) Resolve(n ast.ExprNode) (int, Type, bool, error) {
	c, ok := n.(*ast.ColumnNameExpr)
	if !ok {
		return 0, Type{}, false, nil
	}
	idx, ok := testIdx[c.Name.Name.L]
	if !ok {
		return 0, Type{}, false, nil
	}
	return idx, testCols[c.Name.Name.L], true, nil
}
