package expr

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/keycodec"
)

func decV(s string) Value {
	d, err := keycodec.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return keycodec.DecimalValue(d)
}

func TestAggregates(t *testing.T) {
	ints := []Value{keycodec.IntValue(1), keycodec.IntValue(2), {}, keycodec.IntValue(2), keycodec.IntValue(4)}
	decs := []Value{decV("1.50"), decV("2.25"), {}, decV("1.50")}
	flts := []Value{keycodec.FloatValue(0.5), keycodec.FloatValue(1.25), {}}
	strs := []Value{keycodec.StringValue("b"), keycodec.StringValue("A"), keycodec.StringValue("a"), keycodec.StringValue("C")}
	cases := []struct {
		name     string
		distinct bool
		arg      Type
		in       []Value
		want     string
		typeName string
	}{
		{"count", false, tInt, ints, "4", "bigint"},
		{"COUNT", true, tInt, ints, "3", "bigint"},
		{"count", false, tInt, nil, "0", "bigint"},
		{"sum", false, tInt, ints, "9", "decimal"},
		{"sum", true, tInt, ints, "7", "decimal"},
		{"sum", false, tInt, nil, "NULL", "decimal"},
		{"sum", false, tInt, []Value{keycodec.IntValue(math.MaxInt64), keycodec.IntValue(math.MaxInt64)}, "18446744073709551614", "decimal"},
		{"sum", false, tDec(10, 2), decs, "5.25", "decimal"},
		{"sum", false, tDouble, flts, "1.75", "double"},
		{"sum", false, tString(10), []Value{keycodec.StringValue("1.5"), keycodec.StringValue("2")}, "3.5", "double"},
		{"avg", false, tInt, ints, "2.2500", "decimal"},
		{"avg", false, tInt, []Value{keycodec.IntValue(1), keycodec.IntValue(2)}, "1.5000", "decimal"},
		{"avg", false, tInt, []Value{keycodec.IntValue(2), keycodec.IntValue(2), keycodec.IntValue(3)}, "2.3333", "decimal"},
		{"avg", false, tDec(10, 2), decs, "1.750000", "decimal"},
		{"avg", true, tDec(10, 2), decs, "1.875000", "decimal"},
		{"avg", false, tDouble, flts, "0.875", "double"},
		{"avg", false, tInt, nil, "NULL", "decimal"},
		{"min", false, tInt, ints, "1", "bigint"},
		{"max", false, tInt, ints, "4", "bigint"},
		{"max", false, tInt, []Value{{}, {}}, "NULL", "bigint"},
		{"min", false, tString(5), strs, "A", "varchar"},
		{"max", false, tString(5), strs, "C", "varchar"},
		{"max", false, tBinary(5), strs, "b", "varbinary"},
		{"min", false, tDec(10, 2), decs, "1.50", "decimal"},
		{"count", true, tString(5), strs, "3", "bigint"},
		{"bit_or", false, tInt, ints, "7", "bigint"},
		{"bit_and", false, tInt, ints, "0", "bigint"},
		{"group_concat", false, tInt, ints, "1,2,2,4", "varchar"},
	}
	for _, c := range cases {
		newFn, rt, err := NewAggregate(c.name, c.distinct, c.arg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		a := newFn()
		ctx := &Context{}
		for _, v := range c.in {
			if err := a.Add(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if got := Format(a.Result(), rt); got != c.want {
			t.Errorf("%s(distinct=%v) over %v = %q, want %q", c.name, c.distinct, c.in, got, c.want)
		}
		if rt.Column.Name != c.typeName {
			t.Errorf("%s: result type %s, want %s", c.name, rt.Column.Name, c.typeName)
		}
		if r := a.Result(); r.Kind != keycodec.KindNull && r.Kind != rt.Kind {
			t.Errorf("%s: result kind %s, type kind %s", c.name, r.Kind, rt.Kind)
		}
	}
	if _, _, err := NewAggregate("median", false, tInt); err == nil {
		t.Error("unknown aggregate accepted")
	}
	_, rt, _ := NewAggregate("sum", false, tInt)
	if rt.Column.Precision != 32 || rt.Column.Scale != 0 {
		t.Errorf("SUM(int) type %+v, want decimal(32,0)", rt.Column)
	}
}

// randValue returns a random value of the given family: 0 numbers of
// every kind, 1 strings, 2 temporals.
func randValue(r *rand.Rand, family int) Value {
	switch family {
	case 0:
		switch r.IntN(4) {
		case 0:
			return keycodec.IntValue(int64(r.IntN(21)-10) * []int64{1, 1000, math.MaxInt64 / 10}[r.IntN(3)])
		case 1:
			return keycodec.UintValue(uint64(r.IntN(11)) * []uint64{1, 1000, math.MaxUint64 / 10}[r.IntN(3)])
		case 2:
			return keycodec.FloatValue(float64(r.IntN(41)-20) / []float64{1, 4, 10, 3}[r.IntN(4)])
		default:
			d, _ := decFromFloat(float64(r.IntN(41)-20) / []float64{1, 4, 10, 8}[r.IntN(4)])
			if r.IntN(5) == 0 {
				d = decFromUint(math.MaxUint64)
				d.Digits += "1"
				d.Exp -= 1
			}
			return keycodec.DecimalValue(d)
		}
	case 1:
		const alphabet = "aAbB é É"
		n := r.IntN(4)
		var b []byte
		for i := 0; i < n; i++ {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		return keycodec.BytesValue(b)
	}
	t := keycodec.DateTime{Year: uint16(2020 + r.IntN(3)), Month: uint8(1 + r.IntN(2)), Day: uint8(1 + r.IntN(2))}
	switch r.IntN(3) {
	case 0:
		return keycodec.TimeValue(keycodec.KindDate, t)
	case 1:
		t.Hour = uint8(r.IntN(2))
		return keycodec.TimeValue(keycodec.KindDateTime, t)
	}
	t.Microsecond = uint32(r.IntN(2))
	return keycodec.TimeValue(keycodec.KindTimestamp, t)
}

func TestCompareTotalOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	colls := []keycodec.Collation{keycodec.CollationBinary, keycodec.CollationUTF8MB4Bin, keycodec.CollationUTF8MB4GeneralCI}
	for iter := 0; iter < 20000; iter++ {
		family := r.IntN(3)
		coll := colls[r.IntN(3)]
		var vs [3]Value
		for i := range vs {
			if r.IntN(20) == 0 {
				continue // NULL
			}
			vs[i] = randValue(r, family)
		}
		a, b, c := vs[0], vs[1], vs[2]
		ab, ba := Compare(a, b, coll), Compare(b, a, coll)
		if ab != -ba {
			t.Fatalf("not antisymmetric: %v vs %v: %d, %d", a, b, ab, ba)
		}
		if Compare(a, a, coll) != 0 {
			t.Fatalf("not reflexive: %v", a)
		}
		bc, ac := Compare(b, c, coll), Compare(a, c, coll)
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("not transitive: %v <= %v <= %v but a > c", a, b, c)
		}
		if ab == 0 && bc == 0 && ac != 0 {
			t.Fatalf("equality not transitive: %v = %v = %v", a, b, c)
		}
	}
}

func TestCompare(t *testing.T) {
	ci := keycodec.CollationUTF8MB4GeneralCI
	cases := []struct {
		a, b Value
		want int
	}{
		{Value{}, keycodec.IntValue(1), -1},
		{Value{}, Value{}, 0},
		{keycodec.IntValue(-1), keycodec.UintValue(0), -1},
		{keycodec.UintValue(math.MaxUint64), keycodec.IntValue(math.MaxInt64), 1},
		{keycodec.IntValue(1), keycodec.FloatValue(1.5), -1},
		{keycodec.IntValue(math.MaxInt64), keycodec.FloatValue(9.223372036854775807e18), -1},
		{decV("0.1"), keycodec.FloatValue(0.1), -1}, // exact: the double is 0.1000000000000000055…
		{decV("1.5"), keycodec.FloatValue(1.5), 0},
		{decV("1.50"), keycodec.IntValue(2), -1},
		{decV("-2"), decV("-10"), 1},
		{decV("0.12"), decV("0.2"), -1},
		{keycodec.StringValue("abc"), keycodec.StringValue("ABC"), 0},
		{keycodec.StringValue("a"), keycodec.StringValue("a "), 0},
		{keycodec.StringValue("10"), keycodec.IntValue(9), 1},
		{keycodec.TimeValue(keycodec.KindDate, keycodec.DateTime{Year: 2024, Month: 1, Day: 2}), keycodec.StringValue("2024-01-02 00:00:00"), 0},
		{keycodec.TimeValue(keycodec.KindDate, keycodec.DateTime{Year: 2024, Month: 1, Day: 2}), keycodec.TimeValue(keycodec.KindDateTime, keycodec.DateTime{Year: 2024, Month: 1, Day: 2, Second: 1}), -1},
	}
	for _, c := range cases {
		if got := Compare(c.a, c.b, ci); got != c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", Text(c.a), Text(c.b), got, c.want)
		}
	}
	if Compare(keycodec.StringValue("abc"), keycodec.StringValue("ABC"), keycodec.CollationBinary) == 0 {
		t.Error("binary collation ignored case")
	}
}

func TestTruth(t *testing.T) {
	for _, c := range []struct {
		v    Value
		want bool
	}{
		{Value{}, false}, {keycodec.IntValue(0), false}, {keycodec.IntValue(-1), true},
		{keycodec.FloatValue(0.1), true}, {decV("0"), false}, {decV("0.01"), true},
		{keycodec.StringValue("abc"), false}, {keycodec.StringValue("1abc"), true}, {keycodec.StringValue("0.0"), false},
		{keycodec.TimeValue(keycodec.KindDate, keycodec.DateTime{}), false},
		{keycodec.TimeValue(keycodec.KindDate, keycodec.DateTime{Year: 2024, Month: 1, Day: 1}), true},
	} {
		if Truth(c.v) != c.want {
			t.Errorf("Truth(%s) = %v", Text(c.v), !c.want)
		}
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		v    Value
		want string
	}{
		{keycodec.IntValue(-5), "-5"},
		{keycodec.UintValue(math.MaxUint64), "18446744073709551615"},
		{decV("1.50"), "1.5"},
		{decV("-0.001"), "-0.001"},
		{decV("1200"), "1200"},
		{keycodec.FloatValue(0.1), "0.1"},
		{keycodec.FloatValue(1e20), "1e20"},
		{keycodec.FloatValue(-1.5e-7), "-0.00000015"},
		{keycodec.FloatValue(1.5e-20), "1.5e-20"},
		{keycodec.FloatValue(123.456), "123.456"},
		{keycodec.FloatValue(1e15), "1e15"},
		{keycodec.FloatValue(123456789012345678), "1.2345678901234568e17"},
		{keycodec.FloatValue(1234567890123456.7), "1234567890123456.8"},
		{keycodec.FloatValue(-0.0), "0"},
		{keycodec.StringValue("x"), "x"},
		{keycodec.TimeValue(keycodec.KindDate, keycodec.DateTime{Year: 2024, Month: 1, Day: 2}), "2024-01-02"},
		{keycodec.TimeValue(keycodec.KindDateTime, keycodec.DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, Second: 5}), "2024-01-02 03:04:05"},
		{keycodec.TimeValue(keycodec.KindDateTime, keycodec.DateTime{Year: 2024, Month: 1, Day: 2, Microsecond: 500}), "2024-01-02 00:00:00.000500"},
		{Value{}, "NULL"},
	} {
		if got := Text(c.v); got != c.want {
			t.Errorf("Text(%#v) = %q, want %q", c.v, got, c.want)
		}
	}
	dt3 := tDateTime(3)
	v := keycodec.TimeValue(keycodec.KindDateTime, keycodec.DateTime{Year: 2024, Month: 1, Day: 2, Microsecond: 120000})
	if got := Format(v, dt3); got != "2024-01-02 00:00:00.120" {
		t.Errorf("Format datetime(3) = %q", got)
	}
	if got := Format(decV("1.5"), tDec(10, 3)); got != "1.500" {
		t.Errorf("Format decimal(10,3) = %q", got)
	}
	if got := string(AppendFormat([]byte("x="), decV("2"), tDec(5, 2))); got != "x=2.00" {
		t.Errorf("AppendFormat = %q", got)
	}
}

func TestFromGoToGo(t *testing.T) {
	tm := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	cases := []struct {
		in   any
		kind keycodec.Kind
		text string
		back any
	}{
		{nil, keycodec.KindNull, "NULL", nil},
		{int64(-3), keycodec.KindInt, "-3", int64(-3)},
		{int(4), keycodec.KindInt, "4", int64(4)},
		{uint64(math.MaxUint64), keycodec.KindUint, "18446744073709551615", uint64(math.MaxUint64)},
		{1.5, keycodec.KindFloat, "1.5", 1.5},
		{float32(0.5), keycodec.KindFloat, "0.5", 0.5},
		{true, keycodec.KindInt, "1", int64(1)},
		{"héllo", keycodec.KindString, "héllo", []byte("héllo")},
		{[]byte("raw"), keycodec.KindString, "raw", []byte("raw")},
		{tm, keycodec.KindDateTime, "2024-01-02 03:04:05.000006", tm},
		{90*time.Minute + 5*time.Second, keycodec.KindString, "01:30:05", []byte("01:30:05")},
	}
	for _, c := range cases {
		v, err := FromGo(c.in)
		if err != nil {
			t.Fatalf("FromGo(%v): %v", c.in, err)
		}
		if v.Kind != c.kind || Text(v) != c.text {
			t.Errorf("FromGo(%v) = %s %q, want %s %q", c.in, v.Kind, Text(v), c.kind, c.text)
		}
		back := ToGo(v)
		switch b := back.(type) {
		case []byte:
			if !bytes.Equal(b, c.back.([]byte)) {
				t.Errorf("ToGo(%v) = %q", c.in, b)
			}
		case time.Time:
			if !b.Equal(c.back.(time.Time)) || b.Location() != time.UTC {
				t.Errorf("ToGo(%v) = %v", c.in, b)
			}
		default:
			if back != c.back {
				t.Errorf("ToGo(%v) = %#v, want %#v", c.in, back, c.back)
			}
		}
	}
	if got := ToGo(decV("1.25")); got != "1.25" {
		t.Errorf("ToGo(decimal) = %#v", got)
	}
	if _, err := FromGo(struct{}{}); err == nil {
		t.Error("FromGo accepted a struct")
	}
}

func TestWarnings(t *testing.T) {
	cases := []struct {
		expr string
		code uint16
		msg  string
	}{
		{"'1a' + 1", 1292, "Truncated incorrect DOUBLE value: '1a'"},
		{"1/0", 1365, "Division by 0"},
		{"'x' = 0", 1292, "Truncated incorrect DOUBLE value: 'x'"},
		{"CAST('12abc' AS SIGNED)", 1292, "Truncated incorrect INTEGER value: '12abc'"},
	}
	for _, c := range cases {
		_, _, ctx := evalText(t, c.expr)
		if len(ctx.Warnings) != 1 || ctx.Warnings[0].Code != c.code || ctx.Warnings[0].Message != c.msg {
			t.Errorf("%s: warnings %+v, want %d %q", c.expr, ctx.Warnings, c.code, c.msg)
		}
	}
	if _, _, ctx := evalText(t, "'10' + 1"); len(ctx.Warnings) != 0 {
		t.Errorf("'10' + 1 warned: %v", ctx.Warnings)
	}
}

func TestErrorMessages(t *testing.T) {
	cases := []struct{ expr, msg string }{
		{"9223372036854775807 + 1", "BIGINT value is out of range in '(9223372036854775807 + 1)'"},
		{"nosuchfn(1)", "FUNCTION nosuchfn does not exist"},
		{"LENGTH(1, 2)", "Incorrect parameter count in the call to native function 'LENGTH'"},
		{"nosuchcol", "Unknown column 'nosuchcol' in 'field list'"},
	}
	for _, c := range cases {
		e, err := Compile(parseExpr(t, c.expr), testResolver{})
		if err == nil {
			_, err = e.Eval(testCtx(), testRow)
		}
		if err == nil || err.Error() != c.msg && !bytes.Contains([]byte(err.Error()), []byte(c.msg)) {
			t.Errorf("%s: error %v, want %q", c.expr, err, c.msg)
		}
	}
}

func TestTypes(t *testing.T) {
	cases := []struct {
		expr  string
		kind  keycodec.Kind
		name  string
		scale int
	}{
		{"1", keycodec.KindInt, "bigint", 0},
		{"1.50", keycodec.KindDecimal, "decimal", 2},
		{"1/3", keycodec.KindDecimal, "decimal", 4},
		{"1e0", keycodec.KindFloat, "double", 0},
		{"'a'", keycodec.KindString, "varchar", 0},
		{"i = 1", keycodec.KindInt, "int", 0},
		{"d + 1", keycodec.KindDecimal, "decimal", 2},
		{"d * d", keycodec.KindDecimal, "decimal", 4},
		{"NOW()", keycodec.KindDateTime, "datetime", 0},
		{"CURDATE()", keycodec.KindDate, "date", 0},
		{"CONCAT('a', 1)", keycodec.KindString, "varchar", 0},
		{"CAST(1 AS DECIMAL(10,3))", keycodec.KindDecimal, "decimal", 3},
	}
	for _, c := range cases {
		e, err := Compile(parseExpr(t, c.expr), testResolver{})
		if err != nil {
			t.Fatal(err)
		}
		ty := e.Type()
		if ty.Kind != c.kind || ty.Column.Name != c.name || ty.Column.Scale != c.scale {
			t.Errorf("%s: type %s %+v, want %s %s scale %d", c.expr, ty.Kind, ty.Column, c.kind, c.name, c.scale)
		}
	}
	tc := TypeOfColumn(&catalog.Column{Name: "c", Type: catalog.ColumnType{Name: "varchar", Length: 10}, NotNull: true})
	if tc.Kind != keycodec.KindString || !tc.NotNull || tc.Collation() != keycodec.CollationUTF8MB4GeneralCI {
		t.Errorf("TypeOfColumn: %+v", tc)
	}
	if TypeOfValue(decV("1.25")).Column.Scale != 2 {
		t.Error("TypeOfValue decimal scale")
	}
}

func TestUserVarAssign(t *testing.T) {
	ctx := testCtx()
	e, err := Compile(parseExpr(t, "@y := 3 + 4"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.Eval(ctx, nil); err != nil || Text(v) != "7" || Text(ctx.UserVars["y"]) != "7" {
		t.Fatalf("assign: %v %v %v", v, err, ctx.UserVars)
	}
}

// TestNoAllocs checks the hot paths: column refs, constants, parameters,
// comparisons, BETWEEN, AND, integer arithmetic.
func TestNoAllocs(t *testing.T) {
	for _, s := range []string{"i", "7", "?", "i = ?", "i = 7", "s = 'hello'", "i BETWEEN 1 AND 10", "i > 1 AND i < 10", "i + 1", "i IN (1, 2, 7)", "s LIKE 'He%'", "dt > '2024-01-01'", "d > 1.5", "n IS NULL"} {
		e, err := Compile(parseExpr(t, s), testResolver{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := testCtx()
		n := testing.AllocsPerRun(100, func() {
			if _, err := e.Eval(ctx, testRow); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per Eval", s, n)
		}
	}
}

func BenchmarkEvalCompare(b *testing.B) {
	e, err := Compile(parseExpr(b, "i BETWEEN ? AND 10 AND s = 'hello'"), testResolver{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := testCtx()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := e.Eval(ctx, testRow); err != nil {
			b.Fatal(err)
		}
	}
}
