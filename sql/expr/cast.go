package expr

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	pmysql "github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
)

func (c *compiler) cast(n *ast.FuncCastExpr) (Expr, error) {
	x, err := c.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	e := &castExpr{x: x, xt: x.Type(), length: -1}
	tp := n.Tp
	switch tp.GetType() {
	case pmysql.TypeLonglong, pmysql.TypeLong, pmysql.TypeInt24, pmysql.TypeShort, pmysql.TypeTiny:
		e.x = hexNumber(x)
		e.t = tInt
		if tp.GetFlag()&pmysql.UnsignedFlag != 0 {
			e.t = tUint
		}
	case pmysql.TypeNewDecimal:
		p, s := tp.GetFlen(), tp.GetDecimal()
		if p <= 0 {
			p = 10
		}
		if s < 0 {
			s = 0
		}
		if p > keycodec.MaxDecimalDigits || s > maxScale || s > p {
			return nil, errUnsupported("DECIMAL precision")
		}
		e.t = tDec(p, s)
	case pmysql.TypeDouble, pmysql.TypeFloat:
		e.x = hexNumber(x)
		e.t = tDouble
	case pmysql.TypeDate:
		e.t = tDate
	case pmysql.TypeDatetime, pmysql.TypeTimestamp:
		fsp := tp.GetDecimal()
		if fsp < 0 {
			fsp = 0
		}
		e.t = tDateTime(fsp)
	case pmysql.TypeString, pmysql.TypeVarString, pmysql.TypeVarchar, pmysql.TypeBlob:
		e.length = tp.GetFlen()
		if tp.GetCharset() == "binary" {
			e.t = tBinary(max(e.length, 0))
			e.binary = true
		} else {
			e.t = tString(max(e.length, 0))
		}
	default:
		return nil, errUnsupported("CAST to " + tp.String())
	}
	e.t.NotNull = false
	return e, nil
}

type castExpr struct {
	x      Expr
	xt, t  Type
	length int // CHAR(N)/BINARY(N), -1 without a length
	binary bool
}

func (e *castExpr) Type() Type { return e.t }

func (e *castExpr) Eval(ctx *Context, row []Value) (Value, error) {
	v, err := e.x.Eval(ctx, row)
	if err != nil || v.Kind == kNull {
		return v, err
	}
	switch e.t.Kind {
	case kInt:
		return keycodec.IntValue(intOf(ctx, v)), nil
	case kUint:
		if v.Kind == kStr {
			if u, err := strconv.ParseUint(strings.TrimSpace(string(v.Str)), 10, 64); err == nil {
				return keycodec.UintValue(u), nil
			}
		}
		return keycodec.UintValue(uintOf(ctx, v)), nil
	case kFlt:
		return keycodec.FloatValue(floatOf(ctx, v)), nil
	case kDec:
		d := decRound(decOf(ctx, v), e.t.Column.Scale)
		if decIntDigits(d) > e.t.Column.Precision-e.t.Column.Scale {
			ctx.Warn(1264, "Out of range value for column '%s' at row 1", "cast")
			d = maxDecimal(e.t.Column.Precision, e.t.Column.Scale, d.Neg)
		}
		return keycodec.DecimalValue(d), nil
	case kStr:
		b := bytesOf(v, e.xt)
		if e.length >= 0 {
			n := len(b)
			if !e.binary {
				n = utf8.RuneCount(b)
			}
			if n > e.length {
				ctx.Warn(1292, "Truncated incorrect %s(%d) value: '%s'", map[bool]string{true: "BINARY", false: "CHAR"}[e.binary], e.length, string(b))
				if e.binary {
					b = b[:e.length]
				} else {
					b = []byte(string([]rune(string(b))[:e.length]))
				}
			}
		}
		return keycodec.BytesValue(b), nil
	}
	t, _, ok := toDateTime(v)
	if !ok {
		ctx.Warn(1292, "Incorrect datetime value: '%s'", strOf(v, e.xt))
		return Value{}, nil
	}
	if e.t.Kind == kDate {
		t.Hour, t.Minute, t.Second, t.Microsecond = 0, 0, 0, 0
		return keycodec.TimeValue(kDate, t), nil
	}
	return keycodec.TimeValue(kDT, roundFsp(t, e.t.Column.Fsp)), nil
}

// roundFsp rounds the microseconds of t to fsp digits.
func roundFsp(t keycodec.DateTime, fsp int) keycodec.DateTime {
	if fsp >= 6 || t.Microsecond == 0 {
		return t
	}
	unit := uint32(1)
	for i := fsp; i < 6; i++ {
		unit *= 10
	}
	r := t.Microsecond % unit
	t.Microsecond -= r
	if r*2 >= unit {
		t = addMicros(t, int64(unit))
	}
	return t
}

// maxDecimal is the largest DECIMAL(p,s) magnitude (999.99), signed.
func maxDecimal(p, s int, neg bool) keycodec.Decimal {
	if p <= 0 {
		return keycodec.Decimal{}
	}
	return canonDec(neg, []byte(strings.Repeat("9", p)), int32(-s))
}

// intRange is the range of an integer column type.
func intRange(name string, unsigned bool) (lo int64, hi uint64) {
	bitsN := 64
	switch name {
	case "tinyint":
		bitsN = 8
	case "smallint":
		bitsN = 16
	case "mediumint":
		bitsN = 24
	case "int":
		bitsN = 32
	}
	if unsigned {
		if bitsN == 64 {
			return 0, math.MaxUint64
		}
		return 0, 1<<bitsN - 1
	}
	return -1 << (bitsN - 1), 1<<(bitsN-1) - 1
}

// castErr raises a conversion problem for column storage: an error in
// strict mode, else a warning (and the adjusted value is stored).
func castErr(ctx *Context, code uint16, state, msg string) error {
	if ctx.Strict {
		return mysqlserver.NewError(code, state, msg)
	}
	ctx.Warnings = append(ctx.Warnings, Warning{Level: "Warning", Code: code, Message: msg})
	return nil
}

func outOfRange(ctx *Context, col *catalog.Column, rowNum int) error {
	return castErr(ctx, mysql.ER_WARN_DATA_OUT_OF_RANGE, "22003",
		sprintf("Out of range value for column '%s' at row %d", col.Name, rowNum))
}

// badValue reports a string that is not a number: 1366 when it has no
// numeric prefix at all, 1265 "Data truncated" when something follows
// the number ('12abc'), as MySQL does.
func badValue(ctx *Context, what string, v Value, col *catalog.Column, rowNum int) error {
	if v.Kind == kStr {
		if num, _ := numPrefix(bstr(v.Str)); num != "" {
			return truncated(ctx, col, rowNum)
		}
	}
	return castErr(ctx, mysql.ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, "HY000",
		sprintf("Incorrect %s value: '%s' for column '%s' at row %d", what, Text(v), col.Name, rowNum))
}

func truncated(ctx *Context, col *catalog.Column, rowNum int) error {
	return castErr(ctx, mysql.WARN_DATA_TRUNCATED, "01000",
		sprintf("Data truncated for column '%s' at row %d", col.Name, rowNum))
}

// Cast converts v for storing into column col (INSERT, UPDATE): integers
// are range-checked for their exact type, decimals rounded to the scale
// and range-checked, strings checked against the length (characters for
// text types, bytes for binary ones), dates and datetimes parsed from
// strings and numbers. A value that does not fit fails in strict mode
// (ctx.Strict) with MySQL's error — 1366 incorrect value, 1264 out of
// range, 1406 data too long, 1292 incorrect datetime — and otherwise is
// adjusted (clamped, truncated, zeroed) with a warning of the same code.
// rowNum is the 1-based row number for the messages. NULL is returned as
// it is: the caller checks NOT NULL.
func Cast(ctx *Context, v Value, col *catalog.Column, rowNum int) (Value, error) {
	if v.Kind == kNull {
		return v, nil
	}
	ct := col.Type
	switch ct.Name {
	case "tinyint", "smallint", "mediumint", "int", "bigint", "year", "bit":
		return castInt(ctx, v, col, rowNum)
	case "decimal":
		return castDecimal(ctx, v, col, rowNum)
	case "float", "double":
		var f float64
		if v.Kind == kStr {
			var ok bool
			f, ok = strFloat(bstr(v.Str))
			if !ok {
				if err := badValue(ctx, "double", v, col, rowNum); err != nil {
					return Value{}, err
				}
			}
		} else {
			f, _ = toFloat(v)
		}
		if ct.Name == "float" {
			if math.Abs(f) > math.MaxFloat32 {
				if err := outOfRange(ctx, col, rowNum); err != nil {
					return Value{}, err
				}
				f = math.Copysign(math.MaxFloat32, f)
			}
			f = float64(float32(f))
		}
		if ct.Unsigned && f < 0 {
			if err := outOfRange(ctx, col, rowNum); err != nil {
				return Value{}, err
			}
			f = 0
		}
		return keycodec.FloatValue(f), nil
	case "date", "datetime", "timestamp":
		return castTime(ctx, v, col, rowNum)
	}
	return castString(ctx, v, col, rowNum)
}

func castInt(ctx *Context, v Value, col *catalog.Column, rowNum int) (Value, error) {
	lo, hi := intRange(col.Type.Name, col.Type.Unsigned)
	unsigned := col.Type.Unsigned
	// Work in the decimal domain so every input compares exactly.
	var d keycodec.Decimal
	switch v.Kind {
	case kInt:
		if !unsigned && v.Int >= lo && (v.Int < 0 || uint64(v.Int) <= hi) {
			return v, nil
		}
		if unsigned && v.Int >= 0 && uint64(v.Int) <= hi {
			return keycodec.UintValue(uint64(v.Int)), nil
		}
		d = decFromInt(v.Int)
	case kUint:
		if v.Uint <= hi {
			if unsigned {
				return v, nil
			}
			return keycodec.IntValue(int64(v.Uint)), nil
		}
		d = decFromUint(v.Uint)
	case kStr:
		var ok bool
		d, ok = strDecimal(bstr(v.Str))
		if !ok {
			num, _ := numPrefix(bstr(v.Str))
			what := "integer"
			if err := badValue(ctx, what, v, col, rowNum); err != nil {
				return Value{}, err
			}
			if num == "" {
				d = keycodec.Decimal{}
			}
		}
	case kFlt:
		if math.IsNaN(v.Float) {
			d = keycodec.Decimal{}
		} else if math.Abs(v.Float) > 1e20 {
			d = decFromInt(1)
			d.Exp = 25
			d.Neg = v.Float < 0
		} else {
			d, _ = decFromFloat(v.Float)
		}
	default:
		d = decOf(ctx, v)
	}
	d = decRound(d, 0)
	loD, hiD := decFromInt(lo), decFromUint(hi)
	if cmpDec(d, loD) < 0 {
		if err := outOfRange(ctx, col, rowNum); err != nil {
			return Value{}, err
		}
		d = loD
	} else if cmpDec(d, hiD) > 0 {
		if err := outOfRange(ctx, col, rowNum); err != nil {
			return Value{}, err
		}
		d = hiD
	}
	if unsigned {
		u, _ := decToUint(d)
		return keycodec.UintValue(u), nil
	}
	i, _ := decToInt(d)
	return keycodec.IntValue(i), nil
}

func castDecimal(ctx *Context, v Value, col *catalog.Column, rowNum int) (Value, error) {
	p, s := col.Type.Precision, col.Type.Scale
	if p <= 0 {
		p = 10
	}
	var d keycodec.Decimal
	switch v.Kind {
	case kStr:
		var ok bool
		d, ok = strDecimal(bstr(v.Str))
		if !ok {
			if err := badValue(ctx, "decimal", v, col, rowNum); err != nil {
				return Value{}, err
			}
		}
	case kFlt:
		var ok bool
		d, ok = decFromFloat(v.Float)
		if !ok {
			if err := outOfRange(ctx, col, rowNum); err != nil {
				return Value{}, err
			}
			return keycodec.DecimalValue(maxDecimal(p, s, v.Float < 0)), nil
		}
	default:
		d = decOf(ctx, v)
	}
	d = decRound(d, s)
	if decIntDigits(d) > p-s || col.Type.Unsigned && d.Neg {
		if err := outOfRange(ctx, col, rowNum); err != nil {
			return Value{}, err
		}
		if col.Type.Unsigned && d.Neg {
			return keycodec.DecimalValue(keycodec.Decimal{}), nil
		}
		return keycodec.DecimalValue(maxDecimal(p, s, d.Neg)), nil
	}
	return keycodec.DecimalValue(d), nil
}

func castTime(ctx *Context, v Value, col *catalog.Column, rowNum int) (Value, error) {
	kind := col.Type.Kind()
	t, _, ok := toDateTime(v)
	if !ok {
		what := "datetime"
		if kind == kDate {
			what = "date"
		}
		msg := sprintf("Incorrect %s value: '%s' for column '%s' at row %d", what, Text(v), col.Name, rowNum)
		if err := castErr(ctx, mysql.ER_TRUNCATED_WRONG_VALUE, "22007", msg); err != nil {
			return Value{}, err
		}
		return keycodec.TimeValue(kind, keycodec.DateTime{}), nil
	}
	if kind == kDate {
		t.Hour, t.Minute, t.Second, t.Microsecond = 0, 0, 0, 0
		return keycodec.TimeValue(kind, t), nil
	}
	return keycodec.TimeValue(kind, roundFsp(t, col.Type.Fsp)), nil
}

func castString(ctx *Context, v Value, col *catalog.Column, rowNum int) (Value, error) {
	ct := col.Type
	b := bytesOf(v, TypeOfValue(v))
	binary := ct.KeyType().Collation == keycodec.CollationBinary
	limit := ct.Length
	byBytes := binary
	switch ct.Name {
	case "text", "blob":
		limit, byBytes = 65535, true
	case "tinytext", "tinyblob":
		limit, byBytes = 255, true
	case "mediumtext", "mediumblob":
		limit, byBytes = 1<<24-1, true
	case "longtext", "longblob":
		limit, byBytes = 1<<32-1, true
	}
	if !binary && !utf8.Valid(b) {
		return Value{}, castErr(ctx, mysql.ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, "HY000",
			sprintf("Incorrect string value: '%s' for column '%s' at row %d", hexEsc(b), col.Name, rowNum))
	}
	if limit <= 0 && ct.Name != "char" && ct.Name != "binary" {
		return keycodec.BytesValue(b), nil
	}
	if ct.Name == "char" || ct.Name == "binary" {
		if limit <= 0 {
			limit = 1
		}
	}
	n := len(b)
	if !byBytes {
		n = utf8.RuneCount(b)
	}
	if n > limit {
		// Trailing spaces past the limit are cut silently (MySQL notes
		// them only).
		cut := b
		if byBytes {
			cut = b[:limit]
		} else {
			i := 0
			for k := 0; k < limit; k++ {
				_, sz := utf8.DecodeRune(b[i:])
				i += sz
			}
			cut = b[:i]
		}
		if binary || strings.TrimRight(string(b[len(cut):]), " ") != "" {
			// Strict mode fails with 1406; otherwise MySQL truncates
			// with warning 1265.
			if ctx.Strict {
				return Value{}, mysqlserver.NewError(mysql.ER_DATA_TOO_LONG, "22001",
					sprintf("Data too long for column '%s' at row %d", col.Name, rowNum))
			}
			_ = truncated(ctx, col, rowNum)
		}
		b = cut
	}
	if ct.Name == "char" {
		// CHAR values are space-padded in storage and returned with the
		// trailing spaces removed (PAD_CHAR_TO_FULL_LENGTH is not
		// supported): store them already stripped.
		b = bytes.TrimRight(b, " ")
	}
	if ct.Name == "binary" && len(b) < limit {
		// BINARY(N) pads with zero bytes.
		p := make([]byte, limit)
		copy(p, b)
		b = p
	}
	return keycodec.BytesValue(b), nil
}

func hexEsc(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i >= 8 {
			sb.WriteString("...")
			break
		}
		sb.WriteString(sprintf("\\x%02X", c))
	}
	return sb.String()
}

// FromGo converts a protocol parameter value (as go-mysql decodes it) to
// a Value: nil → NULL, signed integers → KindInt, unsigned → KindUint,
// floats → KindFloat, bool → 0/1, string and []byte → KindString (copied),
// time.Time → KindDateTime (its wall clock), time.Duration → the string
// 'hh:mm:ss[.ffffff]'.
func FromGo(x any) (Value, error) {
	switch v := x.(type) {
	case nil:
		return Value{}, nil
	case int64:
		return keycodec.IntValue(v), nil
	case int:
		return keycodec.IntValue(int64(v)), nil
	case int32:
		return keycodec.IntValue(int64(v)), nil
	case int16:
		return keycodec.IntValue(int64(v)), nil
	case int8:
		return keycodec.IntValue(int64(v)), nil
	case uint64:
		return keycodec.UintValue(v), nil
	case uint:
		return keycodec.UintValue(uint64(v)), nil
	case uint32:
		return keycodec.UintValue(uint64(v)), nil
	case uint16:
		return keycodec.UintValue(uint64(v)), nil
	case uint8:
		return keycodec.UintValue(uint64(v)), nil
	case float64:
		return keycodec.FloatValue(v), nil
	case float32:
		return keycodec.FloatValue(float64(v)), nil
	case bool:
		return boolVal(v), nil
	case string:
		return keycodec.StringValue(v), nil
	case []byte:
		return keycodec.BytesValue(append([]byte{}, v...)), nil
	case time.Time:
		t, ok := fromGoTime(v)
		if !ok {
			return Value{}, mysqlserver.CodeError(mysql.ER_WRONG_ARGUMENTS, "mysqld_stmt_execute")
		}
		return keycodec.TimeValue(kDT, t), nil
	case time.Duration:
		neg := v < 0
		if neg {
			v = -v
		}
		us := int64(v / time.Microsecond)
		s := sprintf("%02d:%02d:%02d", us/3600e6, us/60e6%60, us/1e6%60)
		if f := us % 1e6; f != 0 {
			s += sprintf(".%06d", f)
		}
		if neg {
			s = "-" + s
		}
		return keycodec.StringValue(s), nil
	case keycodec.Decimal:
		return keycodec.DecimalValue(v), nil
	}
	return Value{}, mysqlserver.CodeError(mysql.ER_WRONG_ARGUMENTS, "mysqld_stmt_execute")
}

// ToGo converts a value to a plain Go value: NULL → nil, KindInt → int64,
// KindUint → uint64, KindFloat → float64, KindDecimal → its string,
// KindString → []byte (not copied), dates and datetimes → time.Time in
// UTC.
func ToGo(v Value) any {
	switch v.Kind {
	case kInt:
		return v.Int
	case kUint:
		return v.Uint
	case kFlt:
		return v.Float
	case kDec:
		return v.Dec.String()
	case kStr:
		return v.Str
	case kDate, kDT, kTS:
		return goTime(v.Time)
	}
	return nil
}
