package expr

import (
	"math/big"
	"sort"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
)

// Aggregate accumulates one group's values of an aggregate function.
type Aggregate interface {
	// Add feeds one input value (NULLs are skipped).
	Add(ctx *Context, v Value) error
	// Result is the aggregate over the values added so far.
	Result() Value
}

// NewAggregate returns a constructor of accumulators for the aggregate
// function name (lower or upper case) over arguments of type arg, and the
// result type. Supported: count (COUNT(*) callers pass a non-NULL
// constant), sum, avg, min, max, bit_and, bit_or, bit_xor, group_concat
// (',' separator, no ORDER BY). SUM of exact numbers is an exact DECIMAL,
// of doubles and strings a DOUBLE; AVG of exact numbers has 4 more
// decimals than its argument. With distinct, values equal under Compare
// (with arg's collation) count once.
func NewAggregate(name string, distinct bool, arg Type) (func() Aggregate, Type, error) {
	coll := arg.Collation()
	if arg.Kind == kStr {
		coll = strColl(arg)
	}
	wrap := func(f func() Aggregate) func() Aggregate {
		if !distinct {
			return f
		}
		return func() Aggregate { return &distinctAgg{inner: f(), coll: coll} }
	}
	exact := arg.Kind == kInt || arg.Kind == kUint || arg.Kind == kDec || isTemporal(arg.Kind) || arg.Kind == kNull
	scale := 0
	if arg.Kind == kDec {
		scale = arg.Column.Scale
	}
	switch lower(name) {
	case "count":
		t := tInt
		t.NotNull = true
		return wrap(func() Aggregate { return &countAgg{} }), t, nil
	case "sum":
		if !exact {
			return wrap(func() Aggregate { return &sumAgg{float: true} }), tDouble, nil
		}
		prec := 32
		if arg.Kind == kDec {
			prec = arg.Column.Precision + 22
		}
		return wrap(func() Aggregate { return &sumAgg{scale: scale} }), tDec(prec, scale), nil
	case "avg":
		if !exact {
			return wrap(func() Aggregate { return &sumAgg{float: true, avg: true} }), tDouble, nil
		}
		prec := 24
		if arg.Kind == kDec {
			prec = arg.Column.Precision + 4
		}
		rs := min(scale+4, maxScale)
		return wrap(func() Aggregate { return &sumAgg{scale: scale, avg: true, outScale: rs} }), tDec(prec, rs), nil
	case "min", "max":
		sign := 1
		if lower(name) == "min" {
			sign = -1
		}
		t := arg
		t.NotNull = false
		return wrap(func() Aggregate { return &extremeAgg{sign: sign, coll: coll} }), t, nil
	case "bit_and", "bit_or", "bit_xor":
		op := lower(name)
		t := tUint
		t.NotNull = true
		return wrap(func() Aggregate {
			a := &bitAgg{op: op}
			if op == "bit_and" {
				a.v = ^uint64(0)
			}
			return a
		}), t, nil
	case "group_concat":
		return wrap(func() Aggregate { return &concatAgg{t: arg} }), tString(1024), nil
	}
	return nil, Type{}, mysqlserver.CodeError(mysql.ER_SP_DOES_NOT_EXIST, "FUNCTION", name)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

type countAgg struct{ n int64 }

func (a *countAgg) Add(_ *Context, v Value) error {
	if v.Kind != kNull {
		a.n++
	}
	return nil
}
func (a *countAgg) Result() Value { return keycodec.IntValue(a.n) }

// sumAgg is SUM and AVG: exact in a big.Int at the argument's scale, or
// in a double.
type sumAgg struct {
	float    bool
	avg      bool
	scale    int // of the exact sum
	outScale int // of AVG's result
	n        int64
	f        float64
	i        int64 // fast path: the sum while it fits and inputs are ints
	big      *big.Int
}

func (a *sumAgg) Add(ctx *Context, v Value) error {
	if v.Kind == kNull {
		return nil
	}
	a.n++
	if a.float {
		a.f += floatOf(ctx, v)
		return nil
	}
	if v.Kind == kInt && a.big == nil && a.scale == 0 {
		s := a.i + v.Int
		if (a.i >= 0) == (v.Int >= 0) && (s >= 0) != (a.i >= 0) {
			a.big = big.NewInt(a.i)
			a.big.Add(a.big, big.NewInt(v.Int))
			return nil
		}
		a.i = s
		return nil
	}
	if a.big == nil {
		a.big = bigOf(decFromInt(a.i), a.scale)
	}
	d := decOf(ctx, v)
	if -int(d.Exp) > a.scale {
		d = decRound(d, a.scale)
	}
	a.big.Add(a.big, bigOf(d, a.scale))
	return nil
}

func (a *sumAgg) Result() Value {
	if a.n == 0 {
		return Value{}
	}
	if a.float {
		if a.avg {
			return keycodec.FloatValue(a.f / float64(a.n))
		}
		return keycodec.FloatValue(a.f)
	}
	sum := a.big
	if sum == nil {
		sum = bigOf(decFromInt(a.i), a.scale)
	}
	if !a.avg {
		return keycodec.DecimalValue(decOfBig(sum, a.scale))
	}
	// avg = sum / n at outScale, rounded half away from zero.
	num := new(big.Int).Mul(sum, pow10(a.outScale-a.scale+1))
	q := new(big.Int).Quo(num, big.NewInt(a.n))
	return keycodec.DecimalValue(decOfBig(roundBig(q, 1), a.outScale))
}

type extremeAgg struct {
	sign int
	coll keycodec.Collation
	has  bool
	v    Value
}

func (a *extremeAgg) Add(_ *Context, v Value) error {
	if v.Kind == kNull {
		return nil
	}
	if !a.has || Compare(v, a.v, a.coll)*a.sign > 0 {
		if v.Kind == kStr {
			// The row buffer may be reused: keep a copy.
			v.Str = append([]byte(nil), v.Str...)
		}
		a.v, a.has = v, true
	}
	return nil
}

func (a *extremeAgg) Result() Value { return a.v }

type bitAgg struct {
	op string
	v  uint64
}

func (a *bitAgg) Add(ctx *Context, v Value) error {
	if v.Kind == kNull {
		return nil
	}
	u := uintOf(ctx, v)
	switch a.op {
	case "bit_and":
		a.v &= u
	case "bit_or":
		a.v |= u
	default:
		a.v ^= u
	}
	return nil
}

func (a *bitAgg) Result() Value { return keycodec.UintValue(a.v) }

type concatAgg struct {
	t   Type
	has bool
	b   []byte
}

func (a *concatAgg) Add(_ *Context, v Value) error {
	if v.Kind == kNull {
		return nil
	}
	if a.has {
		a.b = append(a.b, ',')
	}
	a.has = true
	a.b = appendText(a.b, v, scaleOf(v, a.t), fspOf(v, a.t))
	if len(a.b) > 1024 {
		// group_concat_max_len default.
		a.b = a.b[:1024]
	}
	return nil
}

func (a *concatAgg) Result() Value {
	if !a.has {
		return Value{}
	}
	return keycodec.BytesValue(a.b)
}

// distinctAgg feeds the inner aggregate each distinct value once. Values
// are kept sorted by Compare so that lookups are logarithmic.
type distinctAgg struct {
	inner Aggregate
	coll  keycodec.Collation
	seen  []Value
}

func (a *distinctAgg) Add(ctx *Context, v Value) error {
	if v.Kind == kNull {
		return nil
	}
	i := sort.Search(len(a.seen), func(i int) bool { return Compare(a.seen[i], v, a.coll) >= 0 })
	if i < len(a.seen) && Compare(a.seen[i], v, a.coll) == 0 {
		return nil
	}
	if v.Kind == kStr {
		v.Str = append([]byte(nil), v.Str...)
	}
	a.seen = append(a.seen, Value{})
	copy(a.seen[i+1:], a.seen[i:])
	a.seen[i] = v
	return a.inner.Add(ctx, v)
}

func (a *distinctAgg) Result() Value { return a.inner.Result() }
