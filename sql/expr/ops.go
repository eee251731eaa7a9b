package expr

import (
	"errors"
	"math"
	"math/big"
	"math/bits"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
)

func asErr(err error, target any) bool { return errors.As(err, target) }

// cmpSQL compares two non-NULL values for a comparison operator.
func cmpSQL(ctx *Context, a, b Value, coll keycodec.Collation) int {
	if a.Kind == b.Kind {
		switch a.Kind {
		case kInt:
			return cmpI(a.Int, b.Int)
		case kStr:
			return cmpStr(a.Str, b.Str, coll)
		}
		return Compare(a, b, coll)
	}
	return compareMixed(ctx, a, b, coll, true)
}

type cmpExpr struct {
	op   opcode.Op
	l, r Expr
	coll keycodec.Collation
}

func (e *cmpExpr) Type() Type { t := tBool; t.NotNull = e.op == opcode.NullEQ; return t }

func (e *cmpExpr) Eval(ctx *Context, row []Value) (Value, error) {
	a, err := e.l.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	b, err := e.r.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	if a.Kind == kNull || b.Kind == kNull {
		if e.op == opcode.NullEQ {
			return boolVal(a.Kind == b.Kind), nil
		}
		return Value{}, nil
	}
	return boolVal(cmpHolds(e.op, cmpSQL(ctx, a, b, e.coll))), nil
}

func cmpHolds(op opcode.Op, c int) bool {
	switch op {
	case opcode.EQ, opcode.NullEQ:
		return c == 0
	case opcode.NE:
		return c != 0
	case opcode.LT:
		return c < 0
	case opcode.LE:
		return c <= 0
	case opcode.GT:
		return c > 0
	}
	return c >= 0
}

// logicExpr is AND, OR, XOR with three-valued logic; AND and OR stop
// early when the left side decides.
type logicExpr struct {
	op   opcode.Op
	l, r Expr
}

func (e *logicExpr) Type() Type { return tBool }

func (e *logicExpr) Eval(ctx *Context, row []Value) (Value, error) {
	a, err := e.l.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	ta := truth3(ctx, a)
	switch e.op {
	case opcode.LogicAnd:
		if ta == 0 {
			return boolVal(false), nil
		}
	case opcode.LogicOr:
		if ta == 1 {
			return boolVal(true), nil
		}
	}
	b, err := e.r.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	tb := truth3(ctx, b)
	switch e.op {
	case opcode.LogicAnd:
		if tb == 0 {
			return boolVal(false), nil
		}
		if ta < 0 || tb < 0 {
			return Value{}, nil
		}
		return boolVal(true), nil
	case opcode.LogicOr:
		if tb == 1 {
			return boolVal(true), nil
		}
		if ta < 0 || tb < 0 {
			return Value{}, nil
		}
		return boolVal(false), nil
	}
	if ta < 0 || tb < 0 {
		return Value{}, nil
	}
	return boolVal(ta != tb), nil
}

type notExpr struct{ x Expr }

func (e *notExpr) Type() Type { return tBool }

func (e *notExpr) Eval(ctx *Context, row []Value) (Value, error) {
	v, err := e.x.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	t := truth3(ctx, v)
	if t < 0 {
		return Value{}, nil
	}
	return boolVal(t == 0), nil
}

type isNullExpr struct {
	x   Expr
	not bool
}

func (e *isNullExpr) Type() Type { t := tBool; t.NotNull = true; return t }

func (e *isNullExpr) Eval(ctx *Context, row []Value) (Value, error) {
	v, err := e.x.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	return boolVal((v.Kind == kNull) != e.not), nil
}

type isTruthExpr struct {
	x         Expr
	not, want bool
}

func (e *isTruthExpr) Type() Type { t := tBool; t.NotNull = true; return t }

func (e *isTruthExpr) Eval(ctx *Context, row []Value) (Value, error) {
	v, err := e.x.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	t := truth3(ctx, v)
	is := t >= 0 && (t == 1) == e.want
	return boolVal(is != e.not), nil
}

type betweenExpr struct {
	x, lo, hi Expr
	not       bool
	coll      keycodec.Collation
}

func (e *betweenExpr) Type() Type { return tBool }

func (e *betweenExpr) Eval(ctx *Context, row []Value) (Value, error) {
	x, err := e.x.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	lo, err := e.lo.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	hi, err := e.hi.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	if x.Kind == kNull {
		return Value{}, nil
	}
	// x >= lo AND x <= hi, each side three-valued.
	ge, le := -1, -1
	if lo.Kind != kNull {
		ge = b2i(cmpSQL(ctx, x, lo, e.coll) >= 0)
	}
	if hi.Kind != kNull {
		le = b2i(cmpSQL(ctx, x, hi, e.coll) <= 0)
	}
	var r int
	switch {
	case ge == 0 || le == 0:
		r = 0
	case ge < 0 || le < 0:
		return Value{}, nil
	default:
		r = 1
	}
	return boolVal((r == 1) != e.not), nil
}

type inExpr struct {
	x    Expr
	list []Expr
	not  bool
	coll keycodec.Collation
}

func (e *inExpr) Type() Type { return tBool }

func (e *inExpr) Eval(ctx *Context, row []Value) (Value, error) {
	x, err := e.x.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	if x.Kind == kNull {
		return Value{}, nil
	}
	sawNull := false
	for _, it := range e.list {
		v, err := it.Eval(ctx, row)
		if err != nil {
			return Value{}, err
		}
		if v.Kind == kNull {
			sawNull = true
			continue
		}
		if cmpSQL(ctx, x, v, e.coll) == 0 {
			return boolVal(!e.not), nil
		}
	}
	if sawNull {
		return Value{}, nil
	}
	return boolVal(e.not), nil
}

// Arithmetic classes, in order of precedence: an operation is carried out
// in the highest class of its operands.
const (
	clsInt = iota
	clsDec
	clsFlt
)

func kindClass(k keycodec.Kind) int {
	switch k {
	case kInt, kUint, kNull:
		return clsInt
	case kDec:
		return clsDec
	case kDate, kDT, kTS:
		// Temporal values are numbers YYYYMMDD[hhmmss] (exact).
		return clsInt
	}
	return clsFlt // double, string
}

type arithExpr struct {
	op     opcode.Op
	l, r   Expr
	lt, rt Type
	t      Type
	text   string // the expression, for out-of-range errors
}

func (e *arithExpr) Type() Type { return e.t }

// staticScale is the scale of a decimal-class static type.
func staticScale(t Type) int {
	if t.Kind == kDec {
		return t.Column.Scale
	}
	return 0
}

func staticPrec(t Type) int {
	switch t.Kind {
	case kDec:
		return t.Column.Precision
	case kInt, kUint:
		return 20
	}
	return 20
}

func newArith(op opcode.Op, l, r Expr, text string) Expr {
	lt, rt := l.Type(), r.Type()
	e := &arithExpr{op: op, l: l, r: r, lt: lt, rt: rt, text: text}
	cls := max(kindClass(lt.Kind), kindClass(rt.Kind))
	if (lt.Kind == kDT || lt.Kind == kTS) && lt.Column.Fsp > 0 || (rt.Kind == kDT || rt.Kind == kTS) && rt.Column.Fsp > 0 {
		cls = max(cls, clsDec)
	}
	if op == opcode.Div && cls == clsInt {
		cls = clsDec
	}
	sl, sr := staticScale(lt), staticScale(rt)
	switch {
	case op == opcode.IntDiv:
		e.t = tInt
		if lt.Kind == kUint || rt.Kind == kUint {
			e.t = tUint
		}
	case cls == clsFlt:
		e.t = tDouble
	case cls == clsInt:
		e.t = tInt
		if lt.Kind == kUint || rt.Kind == kUint {
			e.t = tUint
		}
	default:
		var s, p int
		il, ir := staticPrec(lt)-sl, staticPrec(rt)-sr
		switch op {
		case opcode.Plus, opcode.Minus:
			s = max(sl, sr)
			p = max(il, ir) + 1 + s
		case opcode.Mul:
			s = sl + sr
			p = il + ir + s
		case opcode.Div:
			s = sl + 4
			p = il + sr + s
		default: // Mod
			s = max(sl, sr)
			p = max(il, ir) + s
		}
		e.t = tDec(p, min(s, maxScale))
	}
	if lt.NotNull && rt.NotNull && op != opcode.Div && op != opcode.IntDiv && op != opcode.Mod {
		e.t.NotNull = true
	}
	return e
}

func (e *arithExpr) rangeErr(what string) error {
	return mysqlserver.CodeError(mysql.ER_DATA_OUT_OF_RANGE, what, e.text)
}

func divZero(ctx *Context) (Value, error) {
	if ctx.DivZeroError {
		return Value{}, mysqlserver.CodeError(mysql.ER_DIVISION_BY_ZERO)
	}
	ctx.Warn(1365, "Division by 0")
	return Value{}, nil
}

// numericValue turns a temporal operand into its number; other values
// are returned as they are.
func numericValue(v Value) Value {
	switch v.Kind {
	case kDate:
		return keycodec.IntValue(dateNum(v.Time))
	case kDT, kTS:
		if v.Time.Microsecond != 0 {
			return keycodec.DecimalValue(decOf(nil, v))
		}
		return keycodec.IntValue(dateTimeNum(v.Time))
	}
	return v
}

func (e *arithExpr) Eval(ctx *Context, row []Value) (Value, error) {
	a, err := e.l.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	b, err := e.r.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	if a.Kind == kNull || b.Kind == kNull {
		return Value{}, nil
	}
	// Fast path: the common signed integer case.
	if a.Kind == kInt && b.Kind == kInt {
		switch e.op {
		case opcode.Plus:
			s := a.Int + b.Int
			if (a.Int >= 0) == (b.Int >= 0) && (s >= 0) != (a.Int >= 0) {
				return Value{}, e.rangeErr("BIGINT")
			}
			return keycodec.IntValue(s), nil
		case opcode.Minus:
			s := a.Int - b.Int
			if (a.Int >= 0) != (b.Int >= 0) && (s >= 0) != (a.Int >= 0) {
				return Value{}, e.rangeErr("BIGINT")
			}
			return keycodec.IntValue(s), nil
		}
	}
	a, b = numericValue(a), numericValue(b)
	cls := max(kindClass(a.Kind), kindClass(b.Kind))
	if e.op == opcode.Div && cls == clsInt {
		cls = clsDec
	}
	switch cls {
	case clsInt:
		return e.intOp(ctx, a, b)
	case clsDec:
		return e.decOp(ctx, a, b)
	}
	return e.fltOp(ctx, floatOf(ctx, a), floatOf(ctx, b))
}

// intOp computes integer + - * DIV %. A result is UNSIGNED when an operand
// is, and must then not be negative.
func (e *arithExpr) intOp(ctx *Context, a, b Value) (Value, error) {
	unsigned := a.Kind == kUint || b.Kind == kUint
	if !unsigned {
		x, y := a.Int, b.Int
		switch e.op {
		case opcode.Plus:
			s := x + y
			if (x >= 0) == (y >= 0) && (s >= 0) != (x >= 0) {
				return Value{}, e.rangeErr("BIGINT")
			}
			return keycodec.IntValue(s), nil
		case opcode.Minus:
			s := x - y
			if (x >= 0) != (y >= 0) && (s >= 0) != (x >= 0) {
				return Value{}, e.rangeErr("BIGINT")
			}
			return keycodec.IntValue(s), nil
		case opcode.Mul:
			if x == 0 || y == 0 {
				return keycodec.IntValue(0), nil
			}
			hi, lo := bits.Mul64(absU(x), absU(y))
			neg := (x < 0) != (y < 0)
			if hi != 0 || (!neg && lo > math.MaxInt64) || (neg && lo > 1<<63) {
				return Value{}, e.rangeErr("BIGINT")
			}
			if neg {
				return keycodec.IntValue(int64(-lo)), nil
			}
			return keycodec.IntValue(int64(lo)), nil
		case opcode.IntDiv:
			if y == 0 {
				return divZero(ctx)
			}
			if x == math.MinInt64 && y == -1 {
				return Value{}, e.rangeErr("BIGINT")
			}
			return keycodec.IntValue(x / y), nil
		case opcode.Mod:
			if y == 0 {
				return divZero(ctx)
			}
			if y == -1 {
				return keycodec.IntValue(0), nil
			}
			return keycodec.IntValue(x % y), nil
		}
	}
	// A mix with UNSIGNED: exact arithmetic, then the range check.
	x, y := bigInt(a), bigInt(b)
	z := new(big.Int)
	switch e.op {
	case opcode.Plus:
		z.Add(x, y)
	case opcode.Minus:
		z.Sub(x, y)
	case opcode.Mul:
		z.Mul(x, y)
	case opcode.IntDiv:
		if y.Sign() == 0 {
			return divZero(ctx)
		}
		z.Quo(x, y)
	case opcode.Mod:
		if y.Sign() == 0 {
			return divZero(ctx)
		}
		z.Rem(x, y)
		// MySQL: the remainder is unsigned only when the dividend is.
		if a.Kind != kUint {
			if !z.IsInt64() {
				return Value{}, e.rangeErr("BIGINT")
			}
			return keycodec.IntValue(z.Int64()), nil
		}
	}
	if z.Sign() < 0 || !z.IsUint64() {
		return Value{}, e.rangeErr("BIGINT UNSIGNED")
	}
	return keycodec.UintValue(z.Uint64()), nil
}

func absU(x int64) uint64 {
	if x < 0 {
		return uint64(-(x + 1)) + 1
	}
	return uint64(x)
}

func bigInt(v Value) *big.Int {
	if v.Kind == kUint {
		return new(big.Int).SetUint64(v.Uint)
	}
	return big.NewInt(v.Int)
}

// opScale is the scale an operand takes part in decimal arithmetic with:
// its static scale when it is statically a decimal, else its own.
func opScale(v Value, t Type) int {
	if v.Kind != kDec {
		return 0
	}
	s := 0
	if v.Dec.Exp < 0 {
		s = int(-v.Dec.Exp)
	}
	if t.Kind == kDec && t.Column.Scale > s {
		s = t.Column.Scale
	}
	return s
}

func (e *arithExpr) decOp(ctx *Context, a, b Value) (Value, error) {
	da, db := decOf(ctx, a), decOf(ctx, b)
	sa, sb := opScale(a, e.lt), opScale(b, e.rt)
	x, y := bigOf(da, sa), bigOf(db, sb)
	z := new(big.Int)
	var scale int
	switch e.op {
	case opcode.Plus, opcode.Minus, opcode.Mod:
		scale = max(sa, sb)
		if sa < scale {
			x.Mul(x, pow10(scale-sa))
		}
		if sb < scale {
			y.Mul(y, pow10(scale-sb))
		}
		switch e.op {
		case opcode.Plus:
			z.Add(x, y)
		case opcode.Minus:
			z.Sub(x, y)
		default:
			if y.Sign() == 0 {
				return divZero(ctx)
			}
			z.Rem(x, y)
		}
	case opcode.Mul:
		scale = sa + sb
		z.Mul(x, y)
		if scale > maxScale {
			z = roundBig(z, scale-maxScale)
			scale = maxScale
		}
	case opcode.Div:
		if y.Sign() == 0 {
			return divZero(ctx)
		}
		scale = min(sa+4, maxScale)
		// a/b at scale s: x·10^(sb+s) / (y·10^sa), with one guard digit
		// for rounding half away from zero.
		num := new(big.Int).Mul(x, pow10(sb+scale+1))
		den := new(big.Int).Mul(y, pow10(sa))
		z.Quo(num, den)
		z = roundBig(z, 1)
	case opcode.IntDiv:
		if y.Sign() == 0 {
			return divZero(ctx)
		}
		num := new(big.Int).Mul(x, pow10(sb))
		den := new(big.Int).Mul(y, pow10(sa))
		z.Quo(num, den)
		if e.t.Kind == kUint {
			if z.Sign() < 0 || !z.IsUint64() {
				return Value{}, e.rangeErr("BIGINT UNSIGNED")
			}
			return keycodec.UintValue(z.Uint64()), nil
		}
		if !z.IsInt64() {
			return Value{}, e.rangeErr("BIGINT")
		}
		return keycodec.IntValue(z.Int64()), nil
	}
	d := decOfBig(z, scale)
	if decIntDigits(d) > keycodec.MaxDecimalDigits {
		return Value{}, e.rangeErr("DECIMAL")
	}
	return keycodec.DecimalValue(d), nil
}

// roundBig divides z by 10^n rounding half away from zero.
func roundBig(z *big.Int, n int) *big.Int {
	p := pow10(n)
	q, r := new(big.Int).QuoRem(z, p, new(big.Int))
	r.Abs(r).Mul(r, big.NewInt(2))
	if r.Cmp(p) >= 0 {
		if z.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

func (e *arithExpr) fltOp(ctx *Context, x, y float64) (Value, error) {
	var z float64
	switch e.op {
	case opcode.Plus:
		z = x + y
	case opcode.Minus:
		z = x - y
	case opcode.Mul:
		z = x * y
	case opcode.Div:
		if y == 0 {
			return divZero(ctx)
		}
		z = x / y
	case opcode.Mod:
		if y == 0 {
			return divZero(ctx)
		}
		z = math.Mod(x, y)
	case opcode.IntDiv:
		if y == 0 {
			return divZero(ctx)
		}
		q := math.Trunc(x / y)
		if e.t.Kind == kUint {
			if q < 0 || q >= 1.8446744073709551615e19 {
				return Value{}, e.rangeErr("BIGINT UNSIGNED")
			}
			return keycodec.UintValue(uint64(q)), nil
		}
		if q >= 9.223372036854775807e18 || q < -9.223372036854775808e18 {
			return Value{}, e.rangeErr("BIGINT")
		}
		return keycodec.IntValue(int64(q)), nil
	}
	if math.IsInf(z, 0) || math.IsNaN(z) {
		return Value{}, e.rangeErr("DOUBLE")
	}
	return keycodec.FloatValue(z), nil
}

type negExpr struct {
	x    Expr
	text string
}

func (e *negExpr) Type() Type {
	t := e.x.Type()
	switch t.Kind {
	case kUint:
		return tInt
	case kInt, kDec, kFlt:
		return t
	case kDate, kDT, kTS:
		return tInt
	}
	return tDouble
}

func (e *negExpr) Eval(ctx *Context, row []Value) (Value, error) {
	v, err := e.x.Eval(ctx, row)
	if err != nil || v.Kind == kNull {
		return v, err
	}
	v = numericValue(v)
	switch v.Kind {
	case kInt:
		if v.Int == math.MinInt64 {
			return Value{}, mysqlserver.CodeError(mysql.ER_DATA_OUT_OF_RANGE, "BIGINT", e.text)
		}
		return keycodec.IntValue(-v.Int), nil
	case kUint:
		if v.Uint > 1<<63 {
			return Value{}, mysqlserver.CodeError(mysql.ER_DATA_OUT_OF_RANGE, "BIGINT", e.text)
		}
		return keycodec.IntValue(int64(-v.Uint)), nil
	case kDec:
		if v.Dec.Digits != "" {
			v.Dec.Neg = !v.Dec.Neg
		}
		return v, nil
	}
	return keycodec.FloatValue(-floatOf(ctx, v)), nil
}

// bitExpr is & | ^ << >> ~ on 64-bit unsigned integers.
type bitExpr struct {
	op   opcode.Op
	l, r Expr
}

func (e *bitExpr) Type() Type { return tUint }

func uintOf(ctx *Context, v Value) uint64 {
	switch v.Kind {
	case kUint:
		return v.Uint
	case kDec:
		if v.Dec.Neg {
			i, _ := decToInt(v.Dec)
			return uint64(i)
		}
		u, _ := decToUint(v.Dec)
		return u
	case kFlt:
		if v.Float >= 9.223372036854775807e18 {
			if v.Float >= 1.8446744073709551615e19 {
				return math.MaxUint64
			}
			return uint64(v.Float)
		}
	}
	return uint64(intOf(ctx, v))
}

func (e *bitExpr) Eval(ctx *Context, row []Value) (Value, error) {
	a, err := e.l.Eval(ctx, row)
	if err != nil || a.Kind == kNull {
		return Value{}, err
	}
	x := uintOf(ctx, a)
	if e.op == opcode.BitNeg {
		return keycodec.UintValue(^x), nil
	}
	b, err := e.r.Eval(ctx, row)
	if err != nil || b.Kind == kNull {
		return Value{}, err
	}
	y := uintOf(ctx, b)
	switch e.op {
	case opcode.And:
		return keycodec.UintValue(x & y), nil
	case opcode.Or:
		return keycodec.UintValue(x | y), nil
	case opcode.Xor:
		return keycodec.UintValue(x ^ y), nil
	case opcode.LeftShift:
		if y >= 64 {
			return keycodec.UintValue(0), nil
		}
		return keycodec.UintValue(x << y), nil
	}
	if y >= 64 {
		return keycodec.UintValue(0), nil
	}
	return keycodec.UintValue(x >> y), nil
}
