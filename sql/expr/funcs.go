package expr

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
)

// fnExpr is a function call evaluated by f over its argument values. With
// strict, any NULL argument makes the result NULL without calling f.
type fnExpr struct {
	name   string
	args   []Expr
	ts     []Type
	t      Type
	strict bool
	f      func(ctx *Context, e *fnExpr, a []Value) (Value, error)
	// unit is the time unit of DATE_ADD and friends.
	unit ast.TimeUnitType
	dir  ast.TrimDirectionType
}

func (e *fnExpr) Type() Type { return e.t }

func (e *fnExpr) Eval(ctx *Context, row []Value) (Value, error) {
	var buf [4]Value
	a := buf[:0]
	if len(e.args) > len(buf) {
		a = make([]Value, 0, len(e.args))
	}
	for _, x := range e.args {
		v, err := x.Eval(ctx, row)
		if err != nil {
			return Value{}, err
		}
		if e.strict && v.Kind == kNull {
			return Value{}, nil
		}
		a = append(a, v)
	}
	return e.f(ctx, e, a)
}

// str is argument i as bytes.
func (e *fnExpr) str(a []Value, i int) []byte { return bytesOf(a[i], e.ts[i]) }

type builtin struct {
	min, max int // max < 0: any number
	// t computes the result type from the argument types.
	t      func(ts []Type) Type
	strict bool
	f      func(ctx *Context, e *fnExpr, a []Value) (Value, error)
}

func fixed(t Type) func([]Type) Type { return func([]Type) Type { return t } }

func strResult(ts []Type) Type {
	n := 0
	for _, t := range ts {
		n += max(t.Column.Length, 20)
	}
	t := tString(n)
	if commonColl(ts...) == keycodec.CollationBinary {
		t = tBinary(n)
	}
	return t
}

func firstStr(ts []Type) Type {
	t := strResult(ts[:1])
	if ts[0].Kind == kStr {
		t.Column.Collation = ts[0].Column.Collation
	}
	return t
}

// numResult is the type of ABS and similar: integers stay, strings become
// doubles.
func numResult(ts []Type) Type {
	switch ts[0].Kind {
	case kInt, kUint, kFlt, kDec:
		t := ts[0]
		t.NotNull = false
		return t
	}
	return tDouble
}

var builtins map[string]builtin

func init() {
	builtins = map[string]builtin{
		// Control flow.
		"if":       {3, 3, func(ts []Type) Type { return unify(ts[1], ts[2]) }, false, fnIf},
		"ifnull":   {2, 2, func(ts []Type) Type { return unify(ts...) }, false, fnCoalesce},
		"coalesce": {1, -1, func(ts []Type) Type { return unify(ts...) }, false, fnCoalesce},
		"nullif":   {2, 2, func(ts []Type) Type { t := ts[0]; t.NotNull = false; return t }, false, fnNullif},
		"greatest": {2, -1, func(ts []Type) Type { return unify(ts...) }, true, fnGreatest},
		"least":    {2, -1, func(ts []Type) Type { return unify(ts...) }, true, fnLeast},
		"isnull":   {1, 1, fixed(tBool), false, func(_ *Context, _ *fnExpr, a []Value) (Value, error) { return boolVal(a[0].Kind == kNull), nil }},

		// Strings.
		"concat":    {1, -1, strResult, true, fnConcat},
		"concat_ws": {2, -1, strResult, false, fnConcatWS},
		"length": {1, 1, fixed(tInt), true, func(_ *Context, e *fnExpr, a []Value) (Value, error) {
			return keycodec.IntValue(int64(len(e.str(a, 0)))), nil
		}},
		"octet_length": {1, 1, fixed(tInt), true, func(_ *Context, e *fnExpr, a []Value) (Value, error) {
			return keycodec.IntValue(int64(len(e.str(a, 0)))), nil
		}},
		"char_length":      {1, 1, fixed(tInt), true, fnCharLength},
		"character_length": {1, 1, fixed(tInt), true, fnCharLength},
		"upper":            {1, 1, firstStr, true, fnUpper},
		"ucase":            {1, 1, firstStr, true, fnUpper},
		"lower":            {1, 1, firstStr, true, fnLower},
		"lcase":            {1, 1, firstStr, true, fnLower},
		"substring":        {2, 3, firstStr, true, fnSubstring},
		"substr":           {2, 3, firstStr, true, fnSubstring},
		"mid":              {3, 3, firstStr, true, fnSubstring},
		"left":             {2, 2, firstStr, true, fnLeft},
		"right":            {2, 2, firstStr, true, fnRight},
		"trim":             {1, 3, firstStr, true, fnTrim},
		"ltrim":            {1, 1, firstStr, true, fnLTrim},
		"rtrim":            {1, 1, firstStr, true, fnRTrim},
		"replace":          {3, 3, firstStr, true, fnReplace},
		"reverse":          {1, 1, firstStr, true, fnReverse},
		"lpad":             {3, 3, firstStr, true, fnLPad},
		"rpad":             {3, 3, firstStr, true, fnRPad},
		"instr":            {2, 2, fixed(tInt), true, fnInstr},
		"locate":           {2, 3, fixed(tInt), true, fnLocate},
		"position":         {2, 2, fixed(tInt), true, fnLocate},
		"repeat":           {2, 2, firstStr, true, fnRepeat},
		"space":            {1, 1, fixed(tString(255)), true, fnSpace},
		"ascii":            {1, 1, fixed(tInt), true, fnASCII},
		"ord":              {1, 1, fixed(tInt), true, fnASCII},
		"hex":              {1, 1, fixed(tString(255)), true, fnHex},
		"unhex":            {1, 1, fixed(tBinary(255)), true, fnUnhex},
		"md5":              {1, 1, fixed(tString(32)), true, fnMD5},
		"sha1":             {1, 1, fixed(tString(40)), true, fnSHA1},
		"sha":              {1, 1, fixed(tString(40)), true, fnSHA1},
		"format":           {2, 3, fixed(tString(255)), true, fnFormat},
		"strcmp":           {2, 2, fixed(tInt), true, fnStrcmp},

		// Numbers.
		"abs":      {1, 1, numResult, true, fnAbs},
		"ceil":     {1, 1, ceilType, true, fnCeil},
		"ceiling":  {1, 1, ceilType, true, fnCeil},
		"floor":    {1, 1, ceilType, true, fnFloor},
		"round":    {1, 2, roundType, true, fnRound},
		"truncate": {2, 2, roundType, true, fnTruncate},
		"pow":      {2, 2, fixed(tDouble), true, fnPow},
		"power":    {2, 2, fixed(tDouble), true, fnPow},
		"sqrt":     {1, 1, fixed(tDouble), true, math1(math.Sqrt, func(x float64) bool { return x >= 0 })},
		"exp":      {1, 1, fixed(tDouble), true, math1(math.Exp, nil)},
		"ln":       {1, 1, fixed(tDouble), true, logFn(math.Log)},
		"log2":     {1, 1, fixed(tDouble), true, logFn(math.Log2)},
		"log10":    {1, 1, fixed(tDouble), true, logFn(math.Log10)},
		"log":      {1, 2, fixed(tDouble), true, fnLog},
		"sign":     {1, 1, fixed(tInt), true, fnSign},
		"pi":       {0, 0, fixed(Type{Kind: kFlt, Column: catalog.ColumnType{Name: "double", Scale: 6}, NotNull: true}), true, fnPi},
		"rand":     {0, 1, fixed(tDouble), false, fnRand},
		"mod":      {2, 2, fixed(tDouble), true, nil}, // rewritten to the operator

		// Dates.
		"now":               {0, 1, nowType, false, fnNow},
		"current_timestamp": {0, 1, nowType, false, fnNow},
		"localtime":         {0, 1, nowType, false, fnNow},
		"localtimestamp":    {0, 1, nowType, false, fnNow},
		"sysdate":           {0, 1, nowType, false, fnNow},
		"utc_timestamp":     {0, 1, nowType, false, fnNow},
		"curdate":           {0, 0, fixed(tDate), false, fnCurdate},
		"current_date":      {0, 0, fixed(tDate), false, fnCurdate},
		"utc_date":          {0, 0, fixed(tDate), false, fnCurdate},
		"curtime":           {0, 1, fixed(tString(15)), false, fnCurtime},
		"current_time":      {0, 1, fixed(tString(15)), false, fnCurtime},
		"utc_time":          {0, 1, fixed(tString(15)), false, fnCurtime},
		"date":              {1, 1, fixed(tDate), true, fnDate},
		"year":              {1, 1, fixed(tInt), true, datePart(func(t keycodec.DateTime) int64 { return int64(t.Year) })},
		"month":             {1, 1, fixed(tInt), true, datePart(func(t keycodec.DateTime) int64 { return int64(t.Month) })},
		"day":               {1, 1, fixed(tInt), true, datePart(func(t keycodec.DateTime) int64 { return int64(t.Day) })},
		"dayofmonth":        {1, 1, fixed(tInt), true, datePart(func(t keycodec.DateTime) int64 { return int64(t.Day) })},
		"hour":              {1, 1, fixed(tInt), true, datePart(func(t keycodec.DateTime) int64 { return int64(t.Hour) })},
		"minute":            {1, 1, fixed(tInt), true, datePart(func(t keycodec.DateTime) int64 { return int64(t.Minute) })},
		"second":            {1, 1, fixed(tInt), true, datePart(func(t keycodec.DateTime) int64 { return int64(t.Second) })},
		"microsecond":       {1, 1, fixed(tInt), true, datePart(func(t keycodec.DateTime) int64 { return int64(t.Microsecond) })},
		"quarter":           {1, 1, fixed(tInt), true, datePart(func(t keycodec.DateTime) int64 { return int64(t.Month+2) / 3 })},
		"dayofweek":         {1, 1, fixed(tInt), true, calPart(func(t keycodec.DateTime) int64 { return int64((weekday(t)+1)%7 + 1) })},
		"weekday":           {1, 1, fixed(tInt), true, calPart(func(t keycodec.DateTime) int64 { return int64(weekday(t)) })},
		"dayofyear":         {1, 1, fixed(tInt), true, calPart(func(t keycodec.DateTime) int64 { return int64(dayOfYear(t)) })},
		"to_days":           {1, 1, fixed(tInt), true, calPart(dayNumber)},
		"dayname":           {1, 1, fixed(tString(9)), true, fnDayName},
		"monthname":         {1, 1, fixed(tString(9)), true, fnMonthName},
		"date_format":       {2, 2, fixed(tString(255)), true, fnDateFormat},
		"datediff":          {2, 2, fixed(tInt), true, fnDateDiff},
		"unix_timestamp":    {0, 1, fixed(tInt), true, fnUnixTimestamp},
		"from_unixtime":     {1, 2, fixed(tDateTime(0)), true, fnFromUnixtime},
		"date_add":          {3, 3, nil, true, fnDateAdd},
		"adddate":           {3, 3, nil, true, fnDateAdd},
		"date_sub":          {3, 3, nil, true, fnDateAdd},
		"subdate":           {3, 3, nil, true, fnDateAdd},
		"timestampdiff":     {3, 3, fixed(tInt), true, fnTimestampDiff},
		"dateliteral":       {1, 1, fixed(tDate), true, nil},
		"timestampliteral":  {1, 1, fixed(tDateTime(0)), true, nil},

		// Session.
		"database":       {0, 0, fixed(tString(64)), false, fnDatabase},
		"schema":         {0, 0, fixed(tString(64)), false, fnDatabase},
		"user":           {0, 0, fixed(tString(288)), false, fnUser},
		"current_user":   {0, 0, fixed(tString(288)), false, fnUser},
		"session_user":   {0, 0, fixed(tString(288)), false, fnUser},
		"system_user":    {0, 0, fixed(tString(288)), false, fnUser},
		"version":        {0, 0, fixed(tString(64)), false, fnVersion},
		"connection_id":  {0, 0, fixed(Type{Kind: kUint, Column: tUint.Column, NotNull: true}), false, fnConnID},
		"last_insert_id": {0, 1, fixed(tUint), false, fnLastInsertID},
		"found_rows":     {0, 0, fixed(tInt), false, func(*Context, *fnExpr, []Value) (Value, error) { return keycodec.IntValue(0), nil }},
		"charset":        {1, 1, fixed(tString(64)), false, fnCharset},
		"collation":      {1, 1, fixed(tString(64)), false, fnCollation},
		"convert":        {2, 2, firstStr, true, func(_ *Context, e *fnExpr, a []Value) (Value, error) { return keycodec.BytesValue(e.str(a, 0)), nil }},
		"sleep":          {1, 1, fixed(tInt), true, func(*Context, *fnExpr, []Value) (Value, error) { return keycodec.IntValue(0), nil }},
		"get_lock":       {2, 2, fixed(tInt), false, func(*Context, *fnExpr, []Value) (Value, error) { return keycodec.IntValue(1), nil }},
		"release_lock":   {1, 1, fixed(tInt), false, func(*Context, *fnExpr, []Value) (Value, error) { return keycodec.IntValue(1), nil }},
	}
}

func (c *compiler) call(n *ast.FuncCallExpr) (Expr, error) {
	name := n.FnName.L
	switch name {
	case ast.DateLiteral, ast.TimestampLiteral:
		return dateLiteral(n)
	case ast.TimeLiteral:
		return nil, errUnsupported("TIME literals")
	}
	b, ok := builtins[name]
	if !ok {
		return nil, mysqlserver.CodeError(mysql.ER_SP_DOES_NOT_EXIST, "FUNCTION", name)
	}
	nargs := len(n.Args)
	if nargs < b.min || b.max >= 0 && nargs > b.max {
		return nil, errParamCount(n.FnName.O)
	}
	e := &fnExpr{name: name, strict: b.strict, f: b.f}
	// Arguments that are not expressions: time units and trim directions.
	var args []ast.ExprNode
	for _, a := range n.Args {
		switch x := a.(type) {
		case *ast.TimeUnitExpr:
			e.unit = x.Unit
			continue
		case *ast.TrimDirectionExpr:
			e.dir = x.Direction
			continue
		}
		args = append(args, a)
	}
	var err error
	if e.args, err = c.compileAll(args); err != nil {
		return nil, err
	}
	if name == "mod" {
		return newArith(opcode.Mod, hexNumber(e.args[0]), hexNumber(e.args[1]), "("+restore(n.Args[0])+" % "+restore(n.Args[1])+")"), nil
	}
	for _, a := range e.args {
		e.ts = append(e.ts, a.Type())
	}
	switch name {
	case "date_add", "adddate", "date_sub", "subdate", "timestampdiff":
		switch e.unit {
		case ast.TimeUnitMicrosecond, ast.TimeUnitSecond, ast.TimeUnitMinute, ast.TimeUnitHour, ast.TimeUnitDay,
			ast.TimeUnitWeek, ast.TimeUnitMonth, ast.TimeUnitQuarter, ast.TimeUnitYear:
		default:
			return nil, errUnsupported("INTERVAL unit " + e.unit.String())
		}
		if name == "timestampdiff" {
			break
		}
		dayish := e.unit >= ast.TimeUnitDay && e.unit <= ast.TimeUnitYear
		switch k := e.ts[0].Kind; {
		case k == kDate && dayish:
			e.t = tDate
		case isTemporal(k):
			e.t = tDateTime(e.ts[0].Column.Fsp)
			if e.unit == ast.TimeUnitMicrosecond {
				e.t = tDateTime(6)
			}
		default:
			e.t = tString(29)
		}
		if name == "date_sub" || name == "subdate" {
			e.name = "date_sub"
		}
		return e, nil
	case "rand":
		if len(e.args) == 1 {
			if k, ok := e.args[0].(*constExpr); ok {
				seed := intOf(nil, k.v)
				e.f = seededRand(uint64(seed))
			}
		}
	case "concat", "concat_ws":
		for i, a := range e.args {
			if k, ok := a.(*constExpr); ok && k.hex {
				e.ts[i] = tBinary(len(k.v.Str))
			}
		}
	}
	e.t = b.t(e.ts)
	// Types that depend on a constant argument.
	if name == "round" && len(e.args) == 1 && e.t.Kind == kDec {
		e.t = tDec(e.t.Column.Precision-e.t.Column.Scale+1, 0)
	}
	if len(e.args) > 0 {
		if k, ok := constArg(e.args[len(e.args)-1]); ok && k.Kind != kNull {
			n := int(max(-100, min(intOf(nil, k), 100)))
			switch name {
			case "now", "current_timestamp", "localtime", "localtimestamp", "sysdate", "utc_timestamp":
				if n < 0 || n > 6 {
					return nil, mysqlserver.NewError(1426, "42000", sprintf("Too-big precision %d specified for 'now'. Maximum is 6.", n))
				}
				e.t = tDateTime(n)
			case "round", "truncate":
				if len(e.args) == 2 && e.t.Kind == kDec {
					s := min(e.t.Column.Scale, max(n, 0))
					e.t = tDec(e.t.Column.Precision-e.t.Column.Scale+s+1, s)
				}
			}
		}
	}
	return e, nil
}

// constArg is the value of a literal argument, also a negated one
// (ROUND(x, -2)).
func constArg(x Expr) (Value, bool) {
	switch k := x.(type) {
	case *constExpr:
		return k.v, true
	case *negExpr:
		if _, ok := k.x.(*constExpr); ok {
			v, err := k.Eval(nil, nil)
			return v, err == nil
		}
	}
	return Value{}, false
}

// dateLiteral compiles DATE'…' and TIMESTAMP'…'.
func dateLiteral(n *ast.FuncCallExpr) (Expr, error) {
	lit, ok := n.Args[0].(ast.ValueExpr)
	if !ok {
		return nil, errUnsupported("date literal")
	}
	s, _ := lit.GetValue().(string)
	t, hasTime, ok := parseDateTime(s)
	if n.FnName.L == ast.DateLiteral {
		if !ok || hasTime {
			return nil, mysqlserver.NewError(mysql.ER_WRONG_VALUE, "42000", sprintf("Incorrect DATE value: '%s'", s))
		}
		return &constExpr{v: keycodec.TimeValue(kDate, t), t: tDate}, nil
	}
	if !ok {
		return nil, mysqlserver.NewError(mysql.ER_WRONG_VALUE, "42000", sprintf("Incorrect DATETIME value: '%s'", s))
	}
	fsp := 0
	if i := strings.LastIndexByte(s, '.'); i >= 0 && hasTime {
		fsp = min(6, len(strings.TrimSpace(s[i+1:])))
	}
	return &constExpr{v: keycodec.TimeValue(kDT, t), t: tDateTime(fsp)}, nil
}

func fnIf(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	if truth3(ctx, a[0]) == 1 {
		return convert(ctx, a[1], e.ts[1], e.t), nil
	}
	return convert(ctx, a[2], e.ts[2], e.t), nil
}

func fnCoalesce(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	for i, v := range a {
		if v.Kind != kNull {
			return convert(ctx, v, e.ts[i], e.t), nil
		}
	}
	return Value{}, nil
}

func fnNullif(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	if a[0].Kind != kNull && a[1].Kind != kNull && cmpSQL(ctx, a[0], a[1], commonColl(e.ts...)) == 0 {
		return Value{}, nil
	}
	return a[0], nil
}

func extreme(ctx *Context, e *fnExpr, a []Value, sign int) (Value, error) {
	coll := commonColl(e.ts...)
	best := convert(ctx, a[0], e.ts[0], e.t)
	for i := 1; i < len(a); i++ {
		v := convert(ctx, a[i], e.ts[i], e.t)
		if v.Kind == kNull || best.Kind == kNull {
			return Value{}, nil
		}
		if Compare(v, best, coll)*sign > 0 {
			best = v
		}
	}
	return best, nil
}

func fnGreatest(ctx *Context, e *fnExpr, a []Value) (Value, error) { return extreme(ctx, e, a, 1) }
func fnLeast(ctx *Context, e *fnExpr, a []Value) (Value, error)    { return extreme(ctx, e, a, -1) }

func fnConcat(_ *Context, e *fnExpr, a []Value) (Value, error) {
	var out []byte
	for i := range a {
		out = append(out, e.str(a, i)...)
	}
	if out == nil {
		out = []byte{}
	}
	return keycodec.BytesValue(out), nil
}

func fnConcatWS(_ *Context, e *fnExpr, a []Value) (Value, error) {
	if a[0].Kind == kNull {
		return Value{}, nil
	}
	sep := e.str(a, 0)
	out := []byte{}
	first := true
	for i := 1; i < len(a); i++ {
		if a[i].Kind == kNull {
			continue
		}
		if !first {
			out = append(out, sep...)
		}
		first = false
		out = append(out, e.str(a, i)...)
	}
	return keycodec.BytesValue(out), nil
}

// isBin reports whether argument i is a binary string (byte semantics).
func (e *fnExpr) isBin(i int) bool { return strColl(e.ts[i]) == keycodec.CollationBinary }

func fnCharLength(_ *Context, e *fnExpr, a []Value) (Value, error) {
	s := e.str(a, 0)
	if e.isBin(0) {
		return keycodec.IntValue(int64(len(s))), nil
	}
	return keycodec.IntValue(int64(utf8.RuneCount(s))), nil
}

func fnUpper(_ *Context, e *fnExpr, a []Value) (Value, error) {
	if e.isBin(0) {
		return keycodec.BytesValue(append([]byte{}, e.str(a, 0)...)), nil
	}
	return keycodec.BytesValue(bytes.ToUpper(e.str(a, 0))), nil
}

func fnLower(_ *Context, e *fnExpr, a []Value) (Value, error) {
	if e.isBin(0) {
		return keycodec.BytesValue(append([]byte{}, e.str(a, 0)...)), nil
	}
	return keycodec.BytesValue(bytes.ToLower(e.str(a, 0))), nil
}

// chars splits argument i into characters (bytes for binary strings).
func (e *fnExpr) chars(a []Value, i int) []string {
	s := string(e.str(a, i))
	if e.isBin(i) {
		out := make([]string, len(s))
		for k := range s {
			out[k] = s[k : k+1]
		}
		return out
	}
	out := make([]string, 0, len(s))
	for len(s) > 0 {
		_, n := utf8.DecodeRuneInString(s)
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

func joinStr(cs []string) Value { return keycodec.StringValue(strings.Join(cs, "")) }

func fnSubstring(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	cs := e.chars(a, 0)
	pos := intOf(ctx, a[1])
	n := int64(len(cs))
	var start int64
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = n + pos
	default:
		return keycodec.StringValue(""), nil
	}
	if start < 0 || start >= n {
		return keycodec.StringValue(""), nil
	}
	end := n
	if len(a) == 3 {
		l := intOf(ctx, a[2])
		if l <= 0 {
			return keycodec.StringValue(""), nil
		}
		if start+l < end {
			end = start + l
		}
	}
	return joinStr(cs[start:end]), nil
}

func fnLeft(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	cs := e.chars(a, 0)
	l := intOf(ctx, a[1])
	if l <= 0 {
		return keycodec.StringValue(""), nil
	}
	if l > int64(len(cs)) {
		l = int64(len(cs))
	}
	return joinStr(cs[:l]), nil
}

func fnRight(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	cs := e.chars(a, 0)
	l := intOf(ctx, a[1])
	if l <= 0 {
		return keycodec.StringValue(""), nil
	}
	if l > int64(len(cs)) {
		l = int64(len(cs))
	}
	return joinStr(cs[int64(len(cs))-l:]), nil
}

func fnTrim(_ *Context, e *fnExpr, a []Value) (Value, error) {
	s := string(e.str(a, 0))
	rem := " "
	if len(a) >= 2 {
		rem = string(e.str(a, 1))
	}
	if rem == "" {
		return keycodec.StringValue(s), nil
	}
	if e.dir != ast.TrimTrailing {
		for strings.HasPrefix(s, rem) {
			s = s[len(rem):]
		}
	}
	if e.dir != ast.TrimLeading {
		for strings.HasSuffix(s, rem) {
			s = s[:len(s)-len(rem)]
		}
	}
	return keycodec.StringValue(s), nil
}

func fnLTrim(_ *Context, e *fnExpr, a []Value) (Value, error) {
	return keycodec.StringValue(strings.TrimLeft(string(e.str(a, 0)), " ")), nil
}

func fnRTrim(_ *Context, e *fnExpr, a []Value) (Value, error) {
	return keycodec.StringValue(strings.TrimRight(string(e.str(a, 0)), " ")), nil
}

func fnReplace(_ *Context, e *fnExpr, a []Value) (Value, error) {
	from := e.str(a, 1)
	if len(from) == 0 {
		return keycodec.StringValue(string(e.str(a, 0))), nil
	}
	return keycodec.BytesValue(bytes.ReplaceAll(e.str(a, 0), from, e.str(a, 2))), nil
}

func fnReverse(_ *Context, e *fnExpr, a []Value) (Value, error) {
	cs := e.chars(a, 0)
	for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
		cs[i], cs[j] = cs[j], cs[i]
	}
	return joinStr(cs), nil
}

func pad(ctx *Context, e *fnExpr, a []Value, left bool) (Value, error) {
	cs := e.chars(a, 0)
	n := intOf(ctx, a[1])
	if n < 0 {
		return Value{}, nil
	}
	if n <= int64(len(cs)) {
		return joinStr(cs[:n]), nil
	}
	p := e.chars(a, 2)
	if len(p) == 0 {
		return Value{}, nil
	}
	if n > 1<<24 {
		return Value{}, nil
	}
	fill := make([]string, 0, n-int64(len(cs)))
	for i := 0; int64(len(fill)) < n-int64(len(cs)); i++ {
		fill = append(fill, p[i%len(p)])
	}
	if left {
		return joinStr(append(fill, cs...)), nil
	}
	return joinStr(append(cs, fill...)), nil
}

func fnLPad(ctx *Context, e *fnExpr, a []Value) (Value, error) { return pad(ctx, e, a, true) }
func fnRPad(ctx *Context, e *fnExpr, a []Value) (Value, error) { return pad(ctx, e, a, false) }

// locate finds sub in s from character position start (1-based), under
// the collation of the arguments; 0 when absent.
func locate(e *fnExpr, s, sub []string, start int, coll keycodec.Collation) int64 {
	if start < 1 {
		return 0
	}
	for i := start - 1; i+len(sub) <= len(s); i++ {
		ok := true
		for k := range sub {
			if coll == keycodec.CollationUTF8MB4GeneralCI {
				ra, _ := utf8.DecodeRuneInString(s[i+k])
				rb, _ := utf8.DecodeRuneInString(sub[k])
				if keycodec.GeneralCIWeight(ra) != keycodec.GeneralCIWeight(rb) {
					ok = false
					break
				}
			} else if s[i+k] != sub[k] {
				ok = false
				break
			}
		}
		if ok {
			return int64(i + 1)
		}
	}
	return 0
}

func fnInstr(_ *Context, e *fnExpr, a []Value) (Value, error) {
	return keycodec.IntValue(locate(e, e.chars(a, 0), e.chars(a, 1), 1, commonColl(e.ts...))), nil
}

func fnLocate(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	start := 1
	if len(a) == 3 {
		start = int(intOf(ctx, a[2]))
	}
	return keycodec.IntValue(locate(e, e.chars(a, 1), e.chars(a, 0), start, commonColl(e.ts...))), nil
}

func fnRepeat(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	n := intOf(ctx, a[1])
	s := e.str(a, 0)
	if n <= 0 || len(s) == 0 {
		return keycodec.StringValue(""), nil
	}
	if int64(len(s))*n > 1<<26 {
		return Value{}, nil
	}
	return keycodec.BytesValue(bytes.Repeat(s, int(n))), nil
}

func fnSpace(ctx *Context, _ *fnExpr, a []Value) (Value, error) {
	n := intOf(ctx, a[0])
	if n <= 0 {
		return keycodec.StringValue(""), nil
	}
	if n > 1<<26 {
		return Value{}, nil
	}
	return keycodec.StringValue(strings.Repeat(" ", int(n))), nil
}

func fnASCII(_ *Context, e *fnExpr, a []Value) (Value, error) {
	s := e.str(a, 0)
	if len(s) == 0 {
		return keycodec.IntValue(0), nil
	}
	return keycodec.IntValue(int64(s[0])), nil
}

func fnHex(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	switch a[0].Kind {
	case kInt, kUint, kDec, kFlt:
		// HEX(n) shows the number (rounded) in base 16.
		u := uintOf(ctx, a[0])
		return keycodec.StringValue(strings.ToUpper(strconv.FormatUint(u, 16))), nil
	}
	return keycodec.StringValue(strings.ToUpper(hex.EncodeToString(e.str(a, 0)))), nil
}

func fnUnhex(_ *Context, e *fnExpr, a []Value) (Value, error) {
	s := e.str(a, 0)
	if len(s)%2 == 1 {
		s = append([]byte{'0'}, s...)
	}
	out := make([]byte, len(s)/2)
	if _, err := hex.Decode(out, s); err != nil {
		return Value{}, nil
	}
	return keycodec.BytesValue(out), nil
}

func fnMD5(_ *Context, e *fnExpr, a []Value) (Value, error) {
	h := md5.Sum(e.str(a, 0))
	return keycodec.StringValue(hex.EncodeToString(h[:])), nil
}

func fnSHA1(_ *Context, e *fnExpr, a []Value) (Value, error) {
	h := sha1.Sum(e.str(a, 0))
	return keycodec.StringValue(hex.EncodeToString(h[:])), nil
}

// fnFormat is FORMAT(x, d): rounded to d decimals with ',' thousands
// separators (locale en_US).
func fnFormat(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	d := int(intOf(ctx, a[1]))
	d = max(0, min(d, 30))
	var s string
	switch a[0].Kind {
	case kInt, kUint, kDec:
		s = string(appendDecimal(nil, decOf(ctx, a[0]), d))
	default:
		f := floatOf(ctx, a[0])
		dd, _ := decFromFloat(f)
		s = string(appendDecimal(nil, decRound(dd, d), d))
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, hasFrac := strings.Cut(s, ".")
	var sb strings.Builder
	if neg {
		sb.WriteByte('-')
	}
	for i := range ip {
		if i > 0 && (len(ip)-i)%3 == 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte(ip[i])
	}
	if hasFrac {
		sb.WriteByte('.')
		sb.WriteString(fp)
	}
	return keycodec.StringValue(sb.String()), nil
}

func fnStrcmp(_ *Context, e *fnExpr, a []Value) (Value, error) {
	return keycodec.IntValue(int64(cmpStr(e.str(a, 0), e.str(a, 1), commonColl(e.ts...)))), nil
}

func fnAbs(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	v := a[0]
	switch v.Kind {
	case kInt:
		if v.Int == math.MinInt64 {
			return Value{}, mysqlserver.CodeError(mysql.ER_DATA_OUT_OF_RANGE, "BIGINT", "abs("+fmtInt(v.Int)+")")
		}
		if v.Int < 0 {
			v.Int = -v.Int
		}
		return v, nil
	case kUint:
		return v, nil
	case kDec:
		v.Dec.Neg = false
		return v, nil
	}
	return keycodec.FloatValue(math.Abs(floatOf(ctx, v))), nil
}

func ceilType(ts []Type) Type {
	switch ts[0].Kind {
	case kInt, kUint:
		return ts[0]
	case kDec:
		return tInt
	}
	return tDouble
}

func ceilFloor(ctx *Context, v Value, up bool) Value {
	switch v.Kind {
	case kInt, kUint:
		return v
	case kDec:
		t := decTrunc(v.Dec, 0)
		if cmpDec(t, v.Dec) != 0 && up != v.Dec.Neg {
			one := decFromInt(1)
			one.Neg = v.Dec.Neg
			t = decAdd(t, one)
		}
		i, _ := decToInt(t)
		return keycodec.IntValue(i)
	}
	f := floatOf(ctx, v)
	if up {
		return keycodec.FloatValue(math.Ceil(f))
	}
	return keycodec.FloatValue(math.Floor(f))
}

// decAdd adds two decimals exactly.
func decAdd(a, b keycodec.Decimal) keycodec.Decimal {
	s := 0
	if a.Exp < 0 {
		s = int(-a.Exp)
	}
	if b.Exp < 0 && int(-b.Exp) > s {
		s = int(-b.Exp)
	}
	x := bigOf(a, s)
	x.Add(x, bigOf(b, s))
	return decOfBig(x, s)
}

func fnCeil(ctx *Context, _ *fnExpr, a []Value) (Value, error) {
	return ceilFloor(ctx, a[0], true), nil
}
func fnFloor(ctx *Context, _ *fnExpr, a []Value) (Value, error) {
	return ceilFloor(ctx, a[0], false), nil
}

func roundType(ts []Type) Type {
	switch ts[0].Kind {
	case kInt, kUint:
		return ts[0]
	case kDec:
		// ROUND(x, d) with a constant d has scale d (see fnRound); the
		// static type keeps x's scale bounded by it.
		return ts[0]
	}
	return tDouble
}

func roundDigits(ctx *Context, a []Value) int {
	if len(a) < 2 {
		return 0
	}
	d := intOf(ctx, a[1])
	return int(max(-65, min(d, 30)))
}

func fnRound(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	d := roundDigits(ctx, a)
	return roundValue(ctx, e, a[0], d, false)
}

func fnTruncate(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	d := roundDigits(ctx, a)
	return roundValue(ctx, e, a[0], d, true)
}

func roundValue(ctx *Context, e *fnExpr, v Value, d int, trunc bool) (Value, error) {
	switch v.Kind {
	case kInt, kUint, kDec:
		dec := decOf(ctx, v)
		if trunc {
			dec = decTrunc(dec, d)
		} else {
			dec = decRound(dec, d)
		}
		switch v.Kind {
		case kInt:
			i, ok := decToInt(dec)
			if !ok {
				return Value{}, mysqlserver.CodeError(mysql.ER_DATA_OUT_OF_RANGE, "BIGINT", e.name)
			}
			return keycodec.IntValue(i), nil
		case kUint:
			u, ok := decToUint(dec)
			if !ok {
				return Value{}, mysqlserver.CodeError(mysql.ER_DATA_OUT_OF_RANGE, "BIGINT UNSIGNED", e.name)
			}
			return keycodec.UintValue(u), nil
		}
		return keycodec.DecimalValue(dec), nil
	}
	f := floatOf(ctx, v)
	p := math.Pow(10, float64(d))
	var r float64
	switch {
	case trunc:
		r = math.Trunc(f*p) / p
	default:
		// Doubles round half to even, as the C library's rint does in
		// MySQL.
		r = math.RoundToEven(f*p) / p
	}
	if math.IsInf(r, 0) || math.IsNaN(r) {
		r = f
	}
	return keycodec.FloatValue(r), nil
}

func fnPow(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	r := math.Pow(floatOf(ctx, a[0]), floatOf(ctx, a[1]))
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return Value{}, mysqlserver.CodeError(mysql.ER_DATA_OUT_OF_RANGE, "DOUBLE", "pow("+Text(a[0])+","+Text(a[1])+")")
	}
	return keycodec.FloatValue(r), nil
}

func math1(f func(float64) float64, valid func(float64) bool) func(*Context, *fnExpr, []Value) (Value, error) {
	return func(ctx *Context, e *fnExpr, a []Value) (Value, error) {
		x := floatOf(ctx, a[0])
		if valid != nil && !valid(x) {
			return Value{}, nil
		}
		r := f(x)
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return Value{}, mysqlserver.CodeError(mysql.ER_DATA_OUT_OF_RANGE, "DOUBLE", e.name+"("+Text(a[0])+")")
		}
		return keycodec.FloatValue(r), nil
	}
}

func logFn(f func(float64) float64) func(*Context, *fnExpr, []Value) (Value, error) {
	return func(ctx *Context, e *fnExpr, a []Value) (Value, error) {
		x := floatOf(ctx, a[0])
		if x <= 0 {
			ctx.Warn(3020, "Invalid argument for logarithm")
			return Value{}, nil
		}
		return keycodec.FloatValue(f(x)), nil
	}
}

func fnLog(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	if len(a) == 1 {
		return logFn(math.Log)(ctx, e, a)
	}
	b, x := floatOf(ctx, a[0]), floatOf(ctx, a[1])
	if b <= 0 || b == 1 || x <= 0 {
		ctx.Warn(3020, "Invalid argument for logarithm")
		return Value{}, nil
	}
	return keycodec.FloatValue(math.Log(x) / math.Log(b)), nil
}

func fnSign(ctx *Context, _ *fnExpr, a []Value) (Value, error) {
	switch v := a[0]; v.Kind {
	case kInt:
		return keycodec.IntValue(int64(cmpI(v.Int, 0))), nil
	case kUint:
		return keycodec.IntValue(int64(cmpU(v.Uint, 0))), nil
	case kDec:
		return keycodec.IntValue(int64(decSign(v.Dec))), nil
	}
	return keycodec.IntValue(int64(cmpF(floatOf(ctx, a[0]), 0))), nil
}

func fnPi(*Context, *fnExpr, []Value) (Value, error) { return keycodec.FloatValue(math.Pi), nil }

func fnRand(*Context, *fnExpr, []Value) (Value, error) {
	return keycodec.FloatValue(rand.Float64()), nil
}

func seededRand(seed uint64) func(*Context, *fnExpr, []Value) (Value, error) {
	r := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	return func(*Context, *fnExpr, []Value) (Value, error) { return keycodec.FloatValue(r.Float64()), nil }
}

func nowType(ts []Type) Type { return tDateTime(0) }

// now is the statement time in the session zone (UTC).
func now(ctx *Context) keycodec.DateTime {
	n := ctx.Now
	if n.IsZero() {
		n = time.Now()
	}
	t, _ := fromGoTime(n.UTC())
	return t
}

func fnNow(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	t := now(ctx)
	fsp := 0
	if len(a) == 1 {
		fsp = int(intOf(ctx, a[0]))
	}
	if fsp <= 0 {
		t.Microsecond = 0
	} else if fsp < 6 {
		t = truncFsp(t, fsp)
	}
	return keycodec.TimeValue(kDT, t), nil
}

func truncFsp(t keycodec.DateTime, fsp int) keycodec.DateTime {
	unit := uint32(1)
	for i := fsp; i < 6; i++ {
		unit *= 10
	}
	t.Microsecond -= t.Microsecond % unit
	return t
}

func fnCurdate(ctx *Context, _ *fnExpr, _ []Value) (Value, error) {
	t := now(ctx)
	t.Hour, t.Minute, t.Second, t.Microsecond = 0, 0, 0, 0
	return keycodec.TimeValue(kDate, t), nil
}

func fnCurtime(ctx *Context, _ *fnExpr, _ []Value) (Value, error) {
	return keycodec.BytesValue(appendTime(nil, now(ctx), 0)), nil
}

// dateArg converts argument v to a datetime, warning 1292 and returning
// ok=false (the function yields NULL) when it is not one.
func dateArg(ctx *Context, v Value, t Type) (keycodec.DateTime, bool, bool) {
	d, hasTime, ok := toDateTime(v)
	if !ok {
		ctx.Warn(1292, "Incorrect datetime value: '%s'", strOf(v, t))
	}
	return d, hasTime, ok
}

func fnDate(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	t, _, ok := dateArg(ctx, a[0], e.ts[0])
	if !ok {
		return Value{}, nil
	}
	t.Hour, t.Minute, t.Second, t.Microsecond = 0, 0, 0, 0
	return keycodec.TimeValue(kDate, t), nil
}

func datePart(f func(keycodec.DateTime) int64) func(*Context, *fnExpr, []Value) (Value, error) {
	return func(ctx *Context, e *fnExpr, a []Value) (Value, error) {
		t, _, ok := dateArg(ctx, a[0], e.ts[0])
		if !ok {
			return Value{}, nil
		}
		return keycodec.IntValue(f(t)), nil
	}
}

// calPart is datePart for functions that need a real calendar date (NULL
// for the zero date).
func calPart(f func(keycodec.DateTime) int64) func(*Context, *fnExpr, []Value) (Value, error) {
	return func(ctx *Context, e *fnExpr, a []Value) (Value, error) {
		t, _, ok := dateArg(ctx, a[0], e.ts[0])
		if !ok || t.Month == 0 || t.Day == 0 {
			return Value{}, nil
		}
		return keycodec.IntValue(f(t)), nil
	}
}

func fnDayName(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	t, _, ok := dateArg(ctx, a[0], e.ts[0])
	if !ok || t.Month == 0 || t.Day == 0 {
		return Value{}, nil
	}
	return keycodec.StringValue(dayNames[weekday(t)]), nil
}

func fnMonthName(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	t, _, ok := dateArg(ctx, a[0], e.ts[0])
	if !ok || t.Month == 0 {
		return Value{}, nil
	}
	return keycodec.StringValue(monthNames[t.Month-1]), nil
}

func fnDateFormat(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	t, _, ok := dateArg(ctx, a[0], e.ts[0])
	if !ok {
		return Value{}, nil
	}
	return keycodec.BytesValue(dateFormat(t, string(e.str(a, 1)))), nil
}

func fnDateDiff(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	x, _, ok1 := dateArg(ctx, a[0], e.ts[0])
	y, _, ok2 := dateArg(ctx, a[1], e.ts[1])
	if !ok1 || !ok2 {
		return Value{}, nil
	}
	return keycodec.IntValue(dayNumber(x) - dayNumber(y)), nil
}

func fnUnixTimestamp(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	if len(a) == 0 {
		return keycodec.IntValue(goTime(now(ctx)).Unix()), nil
	}
	t, _, ok := dateArg(ctx, a[0], e.ts[0])
	if !ok {
		return Value{}, nil
	}
	u := goTime(t).Unix()
	if u < 0 {
		return keycodec.IntValue(0), nil
	}
	return keycodec.IntValue(u), nil
}

func fnFromUnixtime(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	f := floatOf(ctx, a[0])
	if f < 0 || f > 32536771199 {
		return Value{}, nil
	}
	sec := int64(f)
	us := int64(math.Round((f - float64(sec)) * 1e6))
	t, _ := fromGoTime(time.Unix(sec, us*1000).UTC())
	if a[0].Kind != kDec && a[0].Kind != kFlt {
		t.Microsecond = 0
	}
	if len(a) == 2 {
		return keycodec.BytesValue(dateFormat(t, string(e.str(a, 1)))), nil
	}
	return keycodec.TimeValue(kDT, t), nil
}

// fnDateAdd is DATE_ADD/DATE_SUB with a simple unit.
func fnDateAdd(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	t, hasTime, ok := dateArg(ctx, a[0], e.ts[0])
	if !ok {
		return Value{}, nil
	}
	n := intOf(ctx, a[1])
	if e.unit == ast.TimeUnitSecond || e.unit == ast.TimeUnitMicrosecond {
		// Fractional seconds count: INTERVAL 1.5 SECOND.
		if a[1].Kind == kDec || a[1].Kind == kFlt || a[1].Kind == kStr {
			us := floatOf(ctx, a[1])
			if e.unit == ast.TimeUnitSecond {
				us *= 1e6
			}
			n = int64(math.Round(us))
			if e.unit == ast.TimeUnitSecond {
				e2 := *e
				e2.unit = ast.TimeUnitMicrosecond
				return dateAdd(ctx, &e2, t, hasTime || n%1000000 != 0, n)
			}
		}
	}
	return dateAdd(ctx, e, t, hasTime, n)
}

func dateAdd(ctx *Context, e *fnExpr, t keycodec.DateTime, hasTime bool, n int64) (Value, error) {
	if e.name == "date_sub" {
		n = -n
	}
	var ok = true
	switch e.unit {
	case ast.TimeUnitMicrosecond:
		t, ok = addDuration(t, n, time.Microsecond)
		hasTime = true
	case ast.TimeUnitSecond:
		t, ok = addDuration(t, n, time.Second)
		hasTime = true
	case ast.TimeUnitMinute:
		t, ok = addDuration(t, n, time.Minute)
		hasTime = true
	case ast.TimeUnitHour:
		t, ok = addDuration(t, n, time.Hour)
		hasTime = true
	case ast.TimeUnitDay:
		t, ok = addDuration(t, n, 24*time.Hour)
	case ast.TimeUnitWeek:
		t, ok = addDuration(t, n*7, 24*time.Hour)
	case ast.TimeUnitMonth:
		t, ok = addMonths(t, n)
	case ast.TimeUnitQuarter:
		t, ok = addMonths(t, n*3)
	case ast.TimeUnitYear:
		t, ok = addMonths(t, n*12)
	}
	if !ok || !validDate(t) || t.Month == 0 {
		ctx.Warn(1441, "Datetime function: datetime field overflow")
		return Value{}, nil
	}
	switch e.t.Kind {
	case kDate:
		return keycodec.TimeValue(kDate, t), nil
	case kDT, kTS:
		return keycodec.TimeValue(kDT, t), nil
	}
	if !hasTime {
		return keycodec.BytesValue(appendDate(nil, t)), nil
	}
	return keycodec.BytesValue(appendDateTime(nil, t, fspOf(keycodec.TimeValue(kDT, t), Type{}))), nil
}

func addDuration(t keycodec.DateTime, n int64, unit time.Duration) (keycodec.DateTime, bool) {
	if t.Month == 0 || t.Day == 0 {
		return t, false
	}
	// Whole days separately so that large intervals do not overflow a
	// time.Duration.
	g := goTime(t)
	switch unit {
	case 24 * time.Hour:
		if n > 3660000 || n < -3660000 {
			return t, false
		}
		g = g.AddDate(0, 0, int(n))
	default:
		per := int64(24 * time.Hour / unit)
		days := n / per
		if days > 3660000 || days < -3660000 {
			return t, false
		}
		g = g.AddDate(0, 0, int(days)).Add(time.Duration(n%per) * unit)
	}
	return fromGoTime(g)
}

func fnTimestampDiff(ctx *Context, e *fnExpr, a []Value) (Value, error) {
	x, _, ok1 := dateArg(ctx, a[0], e.ts[0])
	y, _, ok2 := dateArg(ctx, a[1], e.ts[1])
	if !ok1 || !ok2 {
		return Value{}, nil
	}
	switch e.unit {
	case ast.TimeUnitMonth, ast.TimeUnitQuarter, ast.TimeUnitYear:
		months := (int64(y.Year)-int64(x.Year))*12 + int64(y.Month) - int64(x.Month)
		// A partial month does not count.
		rest := func(t keycodec.DateTime) uint64 {
			t.Year, t.Month = 0, 0
			return t.Pack()
		}
		if months > 0 && rest(y) < rest(x) {
			months--
		} else if months < 0 && rest(y) > rest(x) {
			months++
		}
		switch e.unit {
		case ast.TimeUnitQuarter:
			months /= 3
		case ast.TimeUnitYear:
			months /= 12
		}
		return keycodec.IntValue(months), nil
	}
	d := goTime(y).Sub(goTime(x))
	var unit time.Duration
	switch e.unit {
	case ast.TimeUnitMicrosecond:
		unit = time.Microsecond
	case ast.TimeUnitSecond:
		unit = time.Second
	case ast.TimeUnitMinute:
		unit = time.Minute
	case ast.TimeUnitHour:
		unit = time.Hour
	case ast.TimeUnitDay:
		unit = 24 * time.Hour
	default:
		unit = 7 * 24 * time.Hour
	}
	return keycodec.IntValue(int64(d / unit)), nil
}

func fnDatabase(ctx *Context, _ *fnExpr, _ []Value) (Value, error) {
	if ctx.DB == "" {
		return Value{}, nil
	}
	return keycodec.StringValue(ctx.DB), nil
}

func fnUser(ctx *Context, _ *fnExpr, _ []Value) (Value, error) {
	return keycodec.StringValue(ctx.User), nil
}

func fnVersion(ctx *Context, _ *fnExpr, _ []Value) (Value, error) {
	return keycodec.StringValue(ctx.Version), nil
}

func fnConnID(ctx *Context, _ *fnExpr, _ []Value) (Value, error) {
	return keycodec.UintValue(uint64(ctx.ConnID)), nil
}

func fnLastInsertID(ctx *Context, _ *fnExpr, a []Value) (Value, error) {
	if len(a) == 1 {
		// LAST_INSERT_ID(expr) returns expr and makes it the value the
		// next LAST_INSERT_ID() returns.
		if a[0].Kind == kNull {
			return Value{}, nil
		}
		u := uintOf(ctx, a[0])
		ctx.LastInsertID = u
		return keycodec.UintValue(u), nil
	}
	return keycodec.UintValue(ctx.LastInsertID), nil
}

func fnCharset(_ *Context, e *fnExpr, _ []Value) (Value, error) {
	switch {
	case e.ts[0].Kind != kStr && e.ts[0].Kind != kNull:
		return keycodec.StringValue("binary"), nil
	case strColl(e.ts[0]) == keycodec.CollationBinary:
		return keycodec.StringValue("binary"), nil
	}
	return keycodec.StringValue("utf8mb4"), nil
}

func fnCollation(_ *Context, e *fnExpr, _ []Value) (Value, error) {
	if e.ts[0].Kind != kStr {
		return keycodec.StringValue("binary"), nil
	}
	return keycodec.StringValue(strColl(e.ts[0]).String()), nil
}
