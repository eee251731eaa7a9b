package expr

import (
	"errors"
	"testing"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
)

func col(name string, t catalog.ColumnType) *catalog.Column {
	return &catalog.Column{Name: name, Type: t}
}

func TestCast(t *testing.T) {
	str := keycodec.StringValue
	i := keycodec.IntValue
	dec := func(s string) Value {
		d, err := keycodec.ParseDecimal(s)
		if err != nil {
			t.Fatal(err)
		}
		return keycodec.DecimalValue(d)
	}
	tiny := catalog.ColumnType{Name: "tinyint"}
	utiny := catalog.ColumnType{Name: "tinyint", Unsigned: true}
	small := catalog.ColumnType{Name: "smallint"}
	medium := catalog.ColumnType{Name: "mediumint"}
	integer := catalog.ColumnType{Name: "int"}
	uinteger := catalog.ColumnType{Name: "int", Unsigned: true}
	bigint := catalog.ColumnType{Name: "bigint"}
	ubig := catalog.ColumnType{Name: "bigint", Unsigned: true}
	d52 := catalog.ColumnType{Name: "decimal", Precision: 5, Scale: 2}
	dbl := catalog.ColumnType{Name: "double"}
	flt := catalog.ColumnType{Name: "float"}
	vc3 := catalog.ColumnType{Name: "varchar", Length: 3, Collation: "utf8mb4_general_ci"}
	ch3 := catalog.ColumnType{Name: "char", Length: 3}
	bin3 := catalog.ColumnType{Name: "binary", Length: 3}
	vb2 := catalog.ColumnType{Name: "varbinary", Length: 2}
	text := catalog.ColumnType{Name: "text"}
	date := catalog.ColumnType{Name: "date"}
	dt := catalog.ColumnType{Name: "datetime"}
	dt3 := catalog.ColumnType{Name: "datetime", Fsp: 3}
	ts := catalog.ColumnType{Name: "timestamp"}

	cases := []struct {
		t     catalog.ColumnType
		in    Value
		want  string // Format of the result in strict mode; "" when an error
		code  uint16 // strict-mode error
		msg   string
		loose string // result in non-strict mode (when code != 0)
		wcode uint16 // non-strict warning
	}{
		{t: tiny, in: i(127), want: "127"},
		{t: tiny, in: i(-128), want: "-128"},
		{t: tiny, in: i(128), code: 1264, msg: "Out of range value for column 'x' at row 1", loose: "127", wcode: 1264},
		{t: tiny, in: i(-129), code: 1264, loose: "-128", wcode: 1264},
		{t: utiny, in: i(255), want: "255"},
		{t: utiny, in: i(256), code: 1264, loose: "255", wcode: 1264},
		{t: utiny, in: i(-1), code: 1264, loose: "0", wcode: 1264},
		{t: small, in: i(32767), want: "32767"},
		{t: small, in: i(32768), code: 1264, loose: "32767", wcode: 1264},
		{t: medium, in: i(-8388608), want: "-8388608"},
		{t: medium, in: i(8388608), code: 1264, loose: "8388607", wcode: 1264},
		{t: integer, in: i(2147483647), want: "2147483647"},
		{t: integer, in: i(2147483648), code: 1264, loose: "2147483647", wcode: 1264},
		{t: uinteger, in: i(4294967295), want: "4294967295"},
		{t: uinteger, in: i(4294967296), code: 1264, loose: "4294967295", wcode: 1264},
		{t: bigint, in: keycodec.UintValue(1 << 63), code: 1264, loose: "9223372036854775807", wcode: 1264},
		{t: ubig, in: keycodec.UintValue(1<<64 - 1), want: "18446744073709551615"},
		{t: ubig, in: str("18446744073709551615"), want: "18446744073709551615"},
		{t: integer, in: str("12"), want: "12"},
		{t: integer, in: str(" 12 "), want: "12"},
		{t: integer, in: str("1.5"), want: "2"},
		{t: integer, in: str("-2.5"), want: "-3"},
		{t: integer, in: str("1e3"), want: "1000"},
		{t: integer, in: dec("2.5"), want: "3"},
		{t: integer, in: keycodec.FloatValue(2.4), want: "2"},
		{t: integer, in: str("abc"), code: 1366, msg: "Incorrect integer value: 'abc' for column 'x' at row 1", loose: "0", wcode: 1366},
		{t: integer, in: str("12abc"), code: 1265, msg: "Data truncated for column 'x' at row 1", loose: "12", wcode: 1265},
		{t: integer, in: str(""), code: 1366, loose: "0", wcode: 1366},
		{t: d52, in: dec("1.235"), want: "1.24"},
		{t: d52, in: dec("-1.235"), want: "-1.24"},
		{t: d52, in: i(999), want: "999.00"},
		{t: d52, in: str("12.5"), want: "12.50"},
		{t: d52, in: keycodec.FloatValue(0.1), want: "0.10"},
		{t: d52, in: i(1000), code: 1264, loose: "999.99", wcode: 1264},
		{t: d52, in: dec("999.995"), code: 1264, loose: "999.99", wcode: 1264},
		{t: d52, in: dec("-1000"), code: 1264, loose: "-999.99", wcode: 1264},
		{t: d52, in: str("x"), code: 1366, msg: "Incorrect decimal value: 'x' for column 'x' at row 1", loose: "0.00", wcode: 1366},
		{t: dbl, in: str("1.5"), want: "1.5"},
		{t: dbl, in: i(3), want: "3"},
		{t: dbl, in: str("x"), code: 1366, msg: "Incorrect double value: 'x' for column 'x' at row 1", loose: "0", wcode: 1366},
		{t: flt, in: keycodec.FloatValue(0.1), want: "0.1"},
		{t: flt, in: keycodec.FloatValue(1e39), code: 1264, loose: "3.40282e38", wcode: 1264},
		{t: vc3, in: str("abc"), want: "abc"},
		{t: vc3, in: str("日本語"), want: "日本語"},
		{t: vc3, in: str("abcd"), code: 1406, msg: "Data too long for column 'x' at row 1", loose: "abc", wcode: 1265},
		{t: vc3, in: str("ab    "), want: "ab "},
		{t: vc3, in: i(12), want: "12"},
		{t: vc3, in: i(1234), code: 1406, loose: "123", wcode: 1265},
		{t: ch3, in: str("abcd"), code: 1406, loose: "abc", wcode: 1265},
		{t: ch3, in: str("ab  "), want: "ab"},
		{t: ch3, in: str("a "), want: "a"},
		{t: ch3, in: str(" a"), want: " a"},
		{t: vc3, in: str("a  "), want: "a  "},
		{t: bin3, in: str("ab"), want: "ab\x00"},
		{t: vb2, in: str("日"), code: 1406, loose: "\xe6\x97", wcode: 1265},
		{t: text, in: str("short"), want: "short"},
		{t: date, in: str("2024-01-02"), want: "2024-01-02"},
		{t: date, in: str("2024-01-02 03:04:05"), want: "2024-01-02"},
		{t: date, in: i(20240102), want: "2024-01-02"},
		{t: date, in: str("20240102"), want: "2024-01-02"},
		{t: date, in: str("2024-13-01"), code: 1292, msg: "Incorrect date value: '2024-13-01' for column 'x' at row 1", loose: "0000-00-00", wcode: 1292},
		{t: date, in: str("2023-02-29"), code: 1292, loose: "0000-00-00", wcode: 1292},
		{t: dt, in: str("2024-01-02 03:04:05"), want: "2024-01-02 03:04:05"},
		{t: dt, in: str("2024-01-02 03:04:05.6"), want: "2024-01-02 03:04:06"},
		{t: dt, in: str("2024-01-02"), want: "2024-01-02 00:00:00"},
		{t: dt, in: i(20240102030405), want: "2024-01-02 03:04:05"},
		{t: dt, in: keycodec.TimeValue(keycodec.KindDate, keycodec.DateTime{Year: 2024, Month: 1, Day: 2}), want: "2024-01-02 00:00:00"},
		{t: dt, in: str("garbage"), code: 1292, msg: "Incorrect datetime value: 'garbage' for column 'x' at row 1", loose: "0000-00-00 00:00:00", wcode: 1292},
		{t: dt3, in: str("2024-01-02 03:04:05.123"), want: "2024-01-02 03:04:05.123"},
		{t: dt3, in: str("2024-01-02 03:04:05.1235"), want: "2024-01-02 03:04:05.124"},
		{t: ts, in: str("2024-01-02T03:04:05"), want: "2024-01-02 03:04:05"},
		{t: integer, in: Value{}, want: "NULL"},
	}
	for _, c := range cases {
		column := col("x", c.t)
		ctx := &Context{Strict: true}
		v, err := Cast(ctx, c.in, column, 1)
		ct := TypeOfColumn(column)
		if c.code != 0 {
			var me *mysqlserver.Error
			if !errors.As(err, &me) || me.Code != c.code {
				t.Errorf("%s ← %q: err %v, want code %d", c.t.Name, Text(c.in), err, c.code)
				continue
			}
			if c.msg != "" && me.Message != c.msg {
				t.Errorf("%s ← %q: message %q, want %q", c.t.Name, Text(c.in), me.Message, c.msg)
			}
			ctx = &Context{}
			v, err = Cast(ctx, c.in, column, 1)
			if err != nil {
				t.Errorf("%s ← %q non-strict: %v", c.t.Name, Text(c.in), err)
				continue
			}
			if got := Format(v, ct); got != c.loose {
				t.Errorf("%s ← %q non-strict = %q, want %q", c.t.Name, Text(c.in), got, c.loose)
			}
			if len(ctx.Warnings) != 1 || ctx.Warnings[0].Code != c.wcode {
				t.Errorf("%s ← %q non-strict warnings %v, want code %d", c.t.Name, Text(c.in), ctx.Warnings, c.wcode)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s ← %q: %v", c.t.Name, Text(c.in), err)
			continue
		}
		if got := Format(v, ct); got != c.want {
			t.Errorf("%s ← %q = %q, want %q", c.t.Name, Text(c.in), got, c.want)
		}
		if v.Kind != keycodec.KindNull && v.Kind != ct.Kind {
			t.Errorf("%s ← %q: kind %s, want %s", c.t.Name, Text(c.in), v.Kind, ct.Kind)
		}
		if len(ctx.Warnings) != 0 {
			t.Errorf("%s ← %q: unexpected warnings %v", c.t.Name, Text(c.in), ctx.Warnings)
		}
	}
}

func TestCastRowNumber(t *testing.T) {
	_, err := Cast(&Context{Strict: true}, keycodec.IntValue(300), col("c1", catalog.ColumnType{Name: "tinyint"}), 7)
	var me *mysqlserver.Error
	if !errors.As(err, &me) || me.Message != "Out of range value for column 'c1' at row 7" || me.State != "22003" {
		t.Fatalf("got %v", err)
	}
}
