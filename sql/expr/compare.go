package expr

import (
	"math"
	"math/big"
	"strconv"

	"github.com/polarsql/polar/compute/keycodec"
)

// Compare orders two values as MySQL compares them, -1, 0 or +1:
//
//   - NULL sorts before everything (two NULLs are equal);
//   - numbers (INT, UINT, DECIMAL, DOUBLE) compare exactly by value, also
//     across kinds (so it is a total order on numbers; note that a
//     comparison operator compares a double with an exact number as
//     doubles);
//   - strings compare under coll (a binary comparison when coll is
//     CollationBinary or CollationInvalid);
//   - dates, datetimes and timestamps compare chronologically (a DATE is
//     its midnight);
//   - a string against a number compares both as doubles, a string against
//     a date parses the string as a datetime (compared as strings when it
//     is not one), a number against a date takes the date as the number
//     YYYYMMDD[hhmmss].
//
// Within one kind family it is a total order; the cross-family conversions
// are MySQL's and, as in MySQL, not transitive in general.
func Compare(a, b Value, coll keycodec.Collation) int {
	if a.Kind == b.Kind {
		switch a.Kind {
		case kNull:
			return 0
		case kInt:
			return cmpI(a.Int, b.Int)
		case kUint:
			return cmpU(a.Uint, b.Uint)
		case kFlt:
			return cmpF(a.Float, b.Float)
		case kDec:
			return cmpDec(a.Dec, b.Dec)
		case kStr:
			return cmpStr(a.Str, b.Str, coll)
		default:
			return cmpU(a.Time.Pack(), b.Time.Pack())
		}
	}
	if a.Kind == kNull {
		return -1
	}
	if b.Kind == kNull {
		return 1
	}
	return compareMixed(nil, a, b, coll, false)
}

func cmpStr(a, b []byte, coll keycodec.Collation) int {
	switch coll {
	case keycodec.CollationUTF8MB4Bin, keycodec.CollationUTF8MB4GeneralCI:
		return coll.Compare(bstr(a), bstr(b))
	}
	return keycodec.CollationBinary.Compare(bstr(a), bstr(b))
}

func cmpI(a, b int64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func cmpU(a, b uint64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func cmpF(a, b float64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// compareMixed compares non-NULL values of different kinds. asDouble
// selects the comparison operators' rule that a double against an exact
// number compares as doubles; ctx (may be nil) receives conversion
// warnings.
func compareMixed(ctx *Context, a, b Value, coll keycodec.Collation, asDouble bool) int {
	ka, kb := a.Kind, b.Kind
	switch {
	case isNumeric(ka) && isNumeric(kb):
		if asDouble && (ka == kFlt || kb == kFlt) {
			fa, _ := toFloat(a)
			fb, _ := toFloat(b)
			return cmpF(fa, fb)
		}
		return cmpNum(a, b)
	case isTemporal(ka) && isTemporal(kb):
		return cmpU(a.Time.Pack(), b.Time.Pack())
	case ka == kStr && isTemporal(kb):
		return -compareMixed(ctx, b, a, coll, asDouble)
	case isTemporal(ka) && kb == kStr:
		t, _, ok := parseDateTime(bstr(b.Str))
		if !ok {
			if ctx != nil {
				ctx.Warn(1292, "Incorrect datetime value: '%s'", string(b.Str))
			}
			var buf [32]byte
			return cmpStr(appendText(buf[:0], a, 0, fspOf(a, Type{})), b.Str, coll)
		}
		return cmpU(a.Time.Pack(), t.Pack())
	case isTemporal(ka) && isNumeric(kb):
		return cmpNum(Value{Kind: kDec, Dec: decOf(nil, a)}, b)
	case isNumeric(ka) && isTemporal(kb):
		return -compareMixed(ctx, b, a, coll, asDouble)
	}
	// String against number: both as doubles.
	var fa, fb float64
	if ctx != nil {
		fa, fb = floatOf(ctx, a), floatOf(ctx, b)
	} else {
		fa, _ = toFloat(a)
		fb, _ = toFloat(b)
	}
	return cmpF(fa, fb)
}

// cmpNum compares two numeric values exactly.
func cmpNum(a, b Value) int {
	if a.Kind == b.Kind {
		return Compare(a, b, 0)
	}
	// Order the pair so that a's kind <= b's kind: Int < Uint < Float < Dec.
	if a.Kind > b.Kind {
		return -cmpNum(b, a)
	}
	switch a.Kind {
	case kInt:
		switch b.Kind {
		case kUint:
			if a.Int < 0 {
				return -1
			}
			return cmpU(uint64(a.Int), b.Uint)
		case kFlt:
			return cmpIntFloat(a.Int, b.Float)
		case kDec:
			return cmpDec(decFromInt(a.Int), b.Dec)
		}
	case kUint:
		switch b.Kind {
		case kFlt:
			return cmpUintFloat(a.Uint, b.Float)
		case kDec:
			return cmpDec(decFromUint(a.Uint), b.Dec)
		}
	case kFlt: // b is a decimal
		return -cmpDecFloat(b.Dec, a.Float)
	}
	return 0
}

// cmpIntFloat compares exactly, without rounding i to a double.
func cmpIntFloat(i int64, f float64) int {
	if f >= 9.223372036854775807e18 {
		return -1
	}
	if f < -9.223372036854775808e18 {
		return 1
	}
	t := math.Trunc(f)
	if c := cmpI(i, int64(t)); c != 0 {
		return c
	}
	return cmpF(0, f-t)
}

func cmpUintFloat(u uint64, f float64) int {
	if f < 0 {
		return 1
	}
	if f >= 1.8446744073709551615e19 {
		return -1
	}
	t := math.Trunc(f)
	if c := cmpU(u, uint64(t)); c != 0 {
		return c
	}
	return cmpF(0, f-t)
}

// cmpDecFloat compares a decimal with a double exactly: the nearest
// double of d decides unless it equals f, then exact rationals do.
func cmpDecFloat(d keycodec.Decimal, f float64) int {
	df := decFloat(d)
	if c := cmpF(df, f); c != 0 {
		return c
	}
	var rd, rf big.Rat
	s := d.String()
	if _, ok := rd.SetString(s); !ok {
		return 0
	}
	rf.SetFloat64(f)
	return rd.Cmp(&rf)
}

// cmpDec compares canonical decimals without allocating.
func cmpDec(a, b keycodec.Decimal) int {
	sa, sb := decSign(a), decSign(b)
	if sa != sb {
		return cmpI(int64(sa), int64(sb))
	}
	if sa == 0 {
		return 0
	}
	// Same sign: compare magnitudes, then flip for negatives.
	c := 0
	ea, eb := len(a.Digits)+int(a.Exp), len(b.Digits)+int(b.Exp)
	switch {
	case ea != eb:
		c = cmpI(int64(ea), int64(eb))
	default:
		// Same adjusted exponent: the digit strings (no trailing zeros)
		// compare lexicographically, a proper prefix being smaller.
		switch {
		case a.Digits < b.Digits:
			c = -1
		case a.Digits > b.Digits:
			c = 1
		}
	}
	return c * sa
}

func decSign(d keycodec.Decimal) int {
	if d.Digits == "" {
		return 0
	}
	if d.Neg {
		return -1
	}
	return 1
}

// Truth reports whether v is true in a WHERE clause: NULL and zero are
// false; strings are converted to numbers ('1abc' is true, 'abc' false);
// dates are true unless they are the zero date.
func Truth(v Value) bool {
	switch v.Kind {
	case kInt:
		return v.Int != 0
	case kUint:
		return v.Uint != 0
	case kFlt:
		return v.Float != 0
	case kDec:
		return v.Dec.Digits != ""
	case kStr:
		f, _ := strFloat(bstr(v.Str))
		return f != 0
	case kDate, kDT, kTS:
		return v.Time != keycodec.DateTime{}
	}
	return false
}

// truth3 is three-valued: -1 NULL, 0 false, 1 true; warns on strings that
// are not numbers.
func truth3(ctx *Context, v Value) int {
	switch v.Kind {
	case kNull:
		return -1
	case kInt:
		return b2i(v.Int != 0)
	case kStr:
		f, ok := strFloat(bstr(v.Str))
		if !ok {
			warnTrunc(ctx, "DOUBLE", v)
		}
		return b2i(f != 0)
	}
	return b2i(Truth(v))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// boolVal is the KindInt 0/1 value of a truth.
func boolVal(b bool) Value {
	if b {
		return Value{Kind: kInt, Int: 1}
	}
	return Value{Kind: kInt}
}

// fmtInt is strconv.FormatInt, for messages.
func fmtInt(i int64) string { return strconv.FormatInt(i, 10) }
