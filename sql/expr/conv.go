package expr

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unsafe"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/keycodec"
)

// Kinds, shortened: the evaluators switch on them constantly.
const (
	kNull = keycodec.KindNull
	kInt  = keycodec.KindInt
	kUint = keycodec.KindUint
	kFlt  = keycodec.KindFloat
	kDec  = keycodec.KindDecimal
	kStr  = keycodec.KindString
	kDate = keycodec.KindDate
	kDT   = keycodec.KindDateTime
	kTS   = keycodec.KindTimestamp
)

// maxScale is MySQL's DECIMAL scale limit (DECIMAL_MAX_SCALE).
const maxScale = 30

// bstr views b as a string without copying. The result must not outlive a
// modification of b; evaluators only use it for comparisons and parsing.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func isTemporal(k keycodec.Kind) bool { return k == kDate || k == kDT || k == kTS }
func isNumeric(k keycodec.Kind) bool  { return k >= kInt && k <= kDec }

// Static types of common results.
var (
	tNull   = Type{Kind: kNull, Column: catalog.ColumnType{Name: "null"}}
	tInt    = Type{Kind: kInt, Column: catalog.ColumnType{Name: "bigint"}}
	tBool   = Type{Kind: kInt, Column: catalog.ColumnType{Name: "int", Length: 1}}
	tUint   = Type{Kind: kUint, Column: catalog.ColumnType{Name: "bigint", Unsigned: true}}
	tDouble = Type{Kind: kFlt, Column: catalog.ColumnType{Name: "double"}}
	tDate   = Type{Kind: kDate, Column: catalog.ColumnType{Name: "date"}}
	// tDyn is the type of '?' markers and variables, whose kind is only
	// known at execution: a string as far as metadata goes.
	tDyn = Type{Kind: kStr, Column: catalog.ColumnType{Name: "varchar", Length: 255, Collation: "utf8mb4_general_ci", Charset: "utf8mb4"}}
)

func tDec(prec, scale int) Type {
	if scale > maxScale {
		scale = maxScale
	}
	if prec > keycodec.MaxDecimalDigits {
		prec = keycodec.MaxDecimalDigits
	}
	if prec < scale {
		prec = scale
	}
	if prec == 0 {
		prec = 1
	}
	return Type{Kind: kDec, Column: catalog.ColumnType{Name: "decimal", Precision: prec, Scale: scale}}
}

func tDateTime(fsp int) Type {
	return Type{Kind: kDT, Column: catalog.ColumnType{Name: "datetime", Fsp: fsp}}
}

func tString(length int) Type {
	return Type{Kind: kStr, Column: catalog.ColumnType{Name: "varchar", Length: length, Collation: "utf8mb4_general_ci", Charset: "utf8mb4"}}
}

func tBinary(length int) Type {
	return Type{Kind: kStr, Column: catalog.ColumnType{Name: "varbinary", Length: length, Collation: "binary", Charset: "binary"}}
}

// scaleOf is the number of fraction digits a decimal value is shown with:
// the static scale when t is a DECIMAL, else what the value itself has.
func scaleOf(v Value, t Type) int {
	if t.Kind == kDec && v.Kind == kDec {
		return t.Column.Scale
	}
	switch v.Kind {
	case kDec:
		if v.Dec.Exp < 0 {
			return int(-v.Dec.Exp)
		}
	case kFlt:
		// A DOUBLE with fixed decimals (PI(), ROUND(double, d)) shows
		// them; Scale 0 is MySQL's "not fixed".
		if t.Kind == kFlt {
			return t.Column.Scale
		}
	}
	return 0
}

// fspOf is the number of fraction digits of a datetime value: from the
// static type when it is temporal, else 6 when the value has microseconds.
func fspOf(v Value, t Type) int {
	if isTemporal(t.Kind) {
		return t.Column.Fsp
	}
	if v.Time.Microsecond != 0 {
		return 6
	}
	return 0
}

// Text renders v as MySQL's text protocol does: integers, decimals with the
// digits they have, doubles in MySQL's shortest form, dates 'YYYY-MM-DD',
// datetimes 'YYYY-MM-DD hh:mm:ss' (plus six fraction digits when the value
// has microseconds). NULL renders as "NULL". Use Format to apply a static
// type's decimal scale or fsp.
func Text(v Value) string {
	if v.Kind == kStr {
		return string(v.Str)
	}
	var buf [64]byte
	return string(appendText(buf[:0], v, scaleOf(v, Type{}), fspOf(v, Type{})))
}

// Format renders v like Text, but with the decimal scale and the fractional
// seconds precision of the static type t (DECIMAL(10,2) 1.5 → "1.50").
func Format(v Value, t Type) string {
	if v.Kind == kStr {
		return string(v.Str)
	}
	if v.Kind == kFlt && t.Column.Name == "float" && t.Column.Scale == 0 {
		var buf [32]byte
		return string(appendReal(buf[:0], v.Float, 6))
	}
	var buf [64]byte
	return string(appendText(buf[:0], v, scaleOf(v, t), fspOf(v, t)))
}

// AppendFormat appends Format(v, t) to dst (for result rows without a
// temporary string).
func AppendFormat(dst []byte, v Value, t Type) []byte {
	if v.Kind == kFlt && t.Column.Name == "float" && t.Column.Scale == 0 {
		return appendReal(dst, v.Float, 6)
	}
	return appendText(dst, v, scaleOf(v, t), fspOf(v, t))
}

func appendText(dst []byte, v Value, scale, fsp int) []byte {
	switch v.Kind {
	case kNull:
		return append(dst, "NULL"...)
	case kInt:
		return strconv.AppendInt(dst, v.Int, 10)
	case kUint:
		return strconv.AppendUint(dst, v.Uint, 10)
	case kFlt:
		if scale > 0 {
			return strconv.AppendFloat(dst, v.Float, 'f', scale, 64)
		}
		return appendDouble(dst, v.Float)
	case kDec:
		return appendDecimal(dst, v.Dec, scale)
	case kStr:
		return append(dst, v.Str...)
	case kDate:
		return appendDate(dst, v.Time)
	default:
		return appendDateTime(dst, v.Time, fsp)
	}
}

func append2(dst []byte, n int) []byte { return append(dst, byte('0'+n/10%10), byte('0'+n%10)) }

func appendDate(dst []byte, t keycodec.DateTime) []byte {
	y := int(t.Year)
	dst = append(dst, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	dst = append2(dst, int(t.Month))
	dst = append(dst, '-')
	return append2(dst, int(t.Day))
}

func appendTime(dst []byte, t keycodec.DateTime, fsp int) []byte {
	dst = append2(dst, int(t.Hour))
	dst = append(dst, ':')
	dst = append2(dst, int(t.Minute))
	dst = append(dst, ':')
	dst = append2(dst, int(t.Second))
	if fsp > 0 {
		if fsp > 6 {
			fsp = 6
		}
		dst = append(dst, '.')
		us := int(t.Microsecond)
		for d, div := 0, 100000; d < fsp; d, div = d+1, div/10 {
			dst = append(dst, byte('0'+us/div%10))
		}
	}
	return dst
}

func appendDateTime(dst []byte, t keycodec.DateTime, fsp int) []byte {
	dst = appendDate(dst, t)
	dst = append(dst, ' ')
	return appendTime(dst, t, fsp)
}

// appendDouble renders f as MySQL's my_gcvt does for a double without fixed
// decimals: the shortest round-tripping digits, fixed notation while the
// decimal point position decpt (value = 0.d1d2… × 10^decpt) is in
// [-14, 15] or the digits run past the point, otherwise d.ddde±x with no
// '+' and no padding ("1e15", "1.5e-20", "0.00000015", "100000000000000").
func appendDouble(dst []byte, f float64) []byte { return appendReal(dst, f, -1) }

// appendReal is appendDouble with prec significant digits (-1: shortest
// round trip); FLOAT columns show 6 (FLT_DIG), as MySQL does.
func appendReal(dst []byte, f float64, prec int) []byte {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, '0')
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	if prec > 0 {
		prec--
	}
	s := strconv.AppendFloat(buf[:0], f, 'e', prec, 64)
	e := 0
	mant := s
	for i := range s {
		if s[i] == 'e' {
			mant = s[:i]
			n, _ := strconv.Atoi(string(s[i+1:]))
			e = n
			break
		}
	}
	var dig [24]byte
	digits := dig[:0]
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	decpt := e + 1
	switch {
	case decpt >= -14 && decpt <= 0:
		dst = append(dst, '0', '.')
		for i := 0; i < -decpt; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	case decpt > 0 && (decpt <= 15 || len(digits) > decpt):
		if len(digits) <= decpt {
			dst = append(dst, digits...)
			for i := len(digits); i < decpt; i++ {
				dst = append(dst, '0')
			}
			return dst
		}
		dst = append(dst, digits[:decpt]...)
		dst = append(dst, '.')
		return append(dst, digits[decpt:]...)
	default:
		dst = append(dst, digits[0])
		if len(digits) > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		return strconv.AppendInt(dst, int64(decpt-1), 10)
	}
}

// appendDecimal renders d with exactly scale fraction digits (rounding
// half away from zero when d has more).
func appendDecimal(dst []byte, d keycodec.Decimal, scale int) []byte {
	if -int(d.Exp) > scale {
		d = decRound(d, scale)
	}
	if d.Neg {
		dst = append(dst, '-')
	}
	n, e := len(d.Digits), int(d.Exp)
	if d.Digits == "" {
		n, e = 0, 0
	}
	// Integer part: digits before the point, then zeros for a positive
	// exponent.
	intLen := n + e
	if intLen <= 0 {
		dst = append(dst, '0')
	} else if e >= 0 {
		dst = append(dst, d.Digits...)
		for i := 0; i < e; i++ {
			dst = append(dst, '0')
		}
	} else {
		dst = append(dst, d.Digits[:intLen]...)
	}
	if scale <= 0 {
		return dst
	}
	dst = append(dst, '.')
	// Fraction digit k (1-based) is the digit with exponent -k.
	for k := 1; k <= scale; k++ {
		idx := n + e + k - 1 // index into Digits of the digit at 10^-k
		if idx >= 0 && idx < n {
			dst = append(dst, d.Digits[idx])
		} else {
			dst = append(dst, '0')
		}
	}
	return dst
}

// decRound rounds d to scale fraction digits, half away from zero (MySQL's
// rounding of exact values). A negative scale rounds to tens, hundreds...
func decRound(d keycodec.Decimal, scale int) keycodec.Decimal {
	drop := -int(d.Exp) - scale // digits to remove
	if d.Digits == "" || drop <= 0 {
		return d
	}
	n := len(d.Digits)
	keep := n - drop
	if keep < 0 {
		return keycodec.Decimal{}
	}
	up := d.Digits[keep] >= '5'
	kept := []byte(d.Digits[:keep])
	exp := int32(-scale)
	if up {
		i := len(kept) - 1
		for ; i >= 0; i-- {
			if kept[i] == '9' {
				kept[i] = '0'
				continue
			}
			kept[i]++
			break
		}
		if i < 0 {
			kept = append([]byte{'1'}, kept...)
		}
	}
	return canonDec(d.Neg, kept, exp)
}

// decTrunc cuts d to scale fraction digits (toward zero).
func decTrunc(d keycodec.Decimal, scale int) keycodec.Decimal {
	drop := -int(d.Exp) - scale
	if d.Digits == "" || drop <= 0 {
		return d
	}
	keep := len(d.Digits) - drop
	if keep <= 0 {
		return keycodec.Decimal{}
	}
	return canonDec(d.Neg, []byte(d.Digits[:keep]), int32(-scale))
}

// canonDec builds a canonical Decimal from digits (may have leading or
// trailing zeros) × 10^exp.
func canonDec(neg bool, digits []byte, exp int32) keycodec.Decimal {
	i := 0
	for i < len(digits) && digits[i] == '0' {
		i++
	}
	digits = digits[i:]
	j := len(digits)
	for j > 0 && digits[j-1] == '0' {
		j--
	}
	exp += int32(len(digits) - j)
	digits = digits[:j]
	if len(digits) == 0 {
		return keycodec.Decimal{}
	}
	return keycodec.Decimal{Neg: neg, Digits: string(digits), Exp: exp}
}

// decFromInt converts an integer exactly.
func decFromInt(i int64) keycodec.Decimal {
	if i < 0 {
		d := decFromUint(uint64(-(i + 1)) + 1)
		d.Neg = true
		return d
	}
	return decFromUint(uint64(i))
}

func decFromUint(u uint64) keycodec.Decimal {
	var buf [24]byte
	return canonDec(false, strconv.AppendUint(buf[:0], u, 10), 0)
}

// decFromFloat converts a double to the decimal of its shortest
// round-tripping representation (as MySQL does).
func decFromFloat(f float64) (keycodec.Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return keycodec.Decimal{}, false
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exps, _ := strings.Cut(s, "e")
	e, _ := strconv.Atoi(exps)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	exp := e - (len(digits) - 1)
	d := canonDec(neg, []byte(digits), int32(exp))
	if d.Digits == "" {
		return d, true
	}
	intDigits := max(0, len(d.Digits)+int(d.Exp))
	if intDigits > keycodec.MaxDecimalDigits {
		return d, false
	}
	if -int(d.Exp) > maxScale {
		d = decRound(d, maxScale)
	}
	return d, true
}

// decFloat converts a decimal to the nearest double.
func decFloat(d keycodec.Decimal) float64 {
	if d.Digits == "" {
		return 0
	}
	var buf [96]byte
	b := buf[:0]
	if d.Neg {
		b = append(b, '-')
	}
	b = append(b, d.Digits...)
	b = append(b, 'e')
	b = strconv.AppendInt(b, int64(d.Exp), 10)
	f, _ := strconv.ParseFloat(bstr(b), 64)
	return f
}

// bigOf returns d as an unscaled integer at the given scale (scale >=
// d's own fraction digits).
func bigOf(d keycodec.Decimal, scale int) *big.Int {
	z := new(big.Int)
	if d.Digits == "" {
		return z
	}
	z.SetString(d.Digits, 10)
	shift := int(d.Exp) + scale
	if shift > 0 {
		z.Mul(z, pow10(shift))
	} else if shift < 0 {
		z.Quo(z, pow10(-shift))
	}
	if d.Neg {
		z.Neg(z)
	}
	return z
}

var pow10Cache [100]*big.Int

func init() {
	p := big.NewInt(1)
	for i := range pow10Cache {
		pow10Cache[i] = new(big.Int).Set(p)
		p.Mul(p, big.NewInt(10))
	}
}

func pow10(n int) *big.Int {
	if n < len(pow10Cache) {
		return pow10Cache[n]
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// decOfBig converts unscaled z at scale back to a canonical Decimal.
func decOfBig(z *big.Int, scale int) keycodec.Decimal {
	neg := z.Sign() < 0
	s := z.Text(10)
	if neg {
		s = s[1:]
	}
	return canonDec(neg, []byte(s), int32(-scale))
}

// decIntDigits is the number of integer digits of d.
func decIntDigits(d keycodec.Decimal) int {
	if d.Digits == "" {
		return 0
	}
	return max(0, len(d.Digits)+int(d.Exp))
}

// decToInt rounds d to an integer (half away from zero); ok is false when
// it does not fit int64.
func decToInt(d keycodec.Decimal) (int64, bool) {
	r := decRound(d, 0)
	if r.Digits == "" {
		return 0, true
	}
	if decIntDigits(r) > 19 {
		if r.Neg {
			return math.MinInt64, false
		}
		return math.MaxInt64, false
	}
	u, _ := strconv.ParseUint(r.Digits+strings.Repeat("0", int(r.Exp)), 10, 64)
	if r.Neg {
		if u > 1<<63 {
			return math.MinInt64, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return math.MaxInt64, false
	}
	return int64(u), true
}

// decToUint rounds d to an unsigned integer; ok is false when negative or
// too large.
func decToUint(d keycodec.Decimal) (uint64, bool) {
	r := decRound(d, 0)
	if r.Digits == "" {
		return 0, true
	}
	if r.Neg {
		return 0, false
	}
	if decIntDigits(r) > 20 {
		return math.MaxUint64, false
	}
	u, err := strconv.ParseUint(r.Digits+strings.Repeat("0", int(r.Exp)), 10, 64)
	if err != nil {
		return math.MaxUint64, false
	}
	return u, true
}

// numPrefix finds the longest numeric prefix of s after leading spaces:
// [+-]digits[.digits][e[+-]digits]. It returns the prefix and whether the
// whole string (ignoring trailing spaces) is that number.
func numPrefix(s string) (num string, whole bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		fd := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			fd++
		}
		if digits+fd > 0 {
			i = j
			digits += fd
		}
	}
	if digits == 0 {
		return "", false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		ed := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			ed++
		}
		if ed > 0 {
			i = j
		}
	}
	num = s[start:i]
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return num, i == len(s)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// strFloat converts a string to a double as MySQL does in numeric
// context; ok is false when the string is not entirely a number (MySQL
// warns 1292 then).
func strFloat(s string) (float64, bool) {
	num, whole := numPrefix(s)
	if num == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		// Out of range: ParseFloat returns ±Inf; MySQL clamps to ±DBL_MAX.
		if math.IsInf(f, 1) {
			f = math.MaxFloat64
		} else if math.IsInf(f, -1) {
			f = -math.MaxFloat64
		}
	}
	return f, whole
}

// strDecimal converts a string to a decimal (exponents allowed); ok is
// false when it is not entirely a number.
func strDecimal(s string) (keycodec.Decimal, bool) {
	num, whole := numPrefix(s)
	if num == "" {
		return keycodec.Decimal{}, false
	}
	d, ok := parseDecimalExp(num)
	return d, whole && ok
}

// parseDecimalExp parses [+-]digits[.digits][e[+-]digits] exactly.
func parseDecimalExp(num string) (keycodec.Decimal, bool) {
	mant, exps := num, ""
	if i := strings.IndexAny(num, "eE"); i >= 0 {
		mant, exps = num[:i], num[i+1:]
	}
	neg := false
	if mant != "" && (mant[0] == '+' || mant[0] == '-') {
		neg = mant[0] == '-'
		mant = mant[1:]
	}
	ip, fp, _ := strings.Cut(mant, ".")
	e := 0
	if exps != "" {
		n, err := strconv.Atoi(exps)
		if err != nil || n > 1000 || n < -1000 {
			return keycodec.Decimal{}, false
		}
		e = n
	}
	d := canonDec(neg, []byte(ip+fp), int32(e-len(fp)))
	if decIntDigits(d) > keycodec.MaxDecimalDigits {
		return d, false
	}
	if -int(d.Exp) > maxScale {
		d = decRound(d, maxScale)
	}
	return d, true
}

// toFloat converts any non-NULL value to a double; bad is true when a
// string was not a number (the caller warns).
func toFloat(v Value) (f float64, bad bool) {
	switch v.Kind {
	case kInt:
		return float64(v.Int), false
	case kUint:
		return float64(v.Uint), false
	case kFlt:
		return v.Float, false
	case kDec:
		return decFloat(v.Dec), false
	case kStr:
		f, ok := strFloat(bstr(v.Str))
		return f, !ok
	case kDate:
		return float64(dateNum(v.Time)), false
	case kDT, kTS:
		return float64(dateTimeNum(v.Time)) + float64(v.Time.Microsecond)/1e6, false
	}
	return 0, false
}

// floatOf converts v to a double, warning 1292 on a bad string.
func floatOf(ctx *Context, v Value) float64 {
	f, bad := toFloat(v)
	if bad {
		warnTrunc(ctx, "DOUBLE", v)
	}
	return f
}

func warnTrunc(ctx *Context, what string, v Value) {
	if ctx != nil {
		ctx.Warn(1292, "Truncated incorrect %s value: '%s'", what, Text(v))
	}
}

// decOf converts a non-NULL value to a decimal, warning on a bad string.
func decOf(ctx *Context, v Value) keycodec.Decimal {
	switch v.Kind {
	case kInt:
		return decFromInt(v.Int)
	case kUint:
		return decFromUint(v.Uint)
	case kDec:
		return v.Dec
	case kFlt:
		d, _ := decFromFloat(v.Float)
		return d
	case kStr:
		d, ok := strDecimal(bstr(v.Str))
		if !ok {
			warnTrunc(ctx, "DECIMAL", v)
		}
		return d
	case kDate:
		return decFromInt(dateNum(v.Time))
	case kDT, kTS:
		d := decFromInt(dateTimeNum(v.Time))
		if v.Time.Microsecond != 0 {
			f := bigOf(d, 6)
			f.Add(f, big.NewInt(int64(v.Time.Microsecond)))
			d = decOfBig(f, 6)
		}
		return d
	}
	return keycodec.Decimal{}
}

// intOf converts a non-NULL value to a signed integer as CAST(x AS SIGNED)
// does: decimals and doubles round half away from zero, strings take their
// integer prefix (warning 1292 when more follows).
func intOf(ctx *Context, v Value) int64 {
	switch v.Kind {
	case kInt:
		return v.Int
	case kUint:
		return int64(v.Uint)
	case kFlt:
		return floatToInt(v.Float)
	case kDec:
		i, _ := decToInt(v.Dec)
		return i
	case kStr:
		i, ok := strInt(bstr(v.Str))
		if !ok {
			warnTrunc(ctx, "INTEGER", v)
		}
		return i
	case kDate:
		return dateNum(v.Time)
	case kDT, kTS:
		return dateTimeNum(v.Time)
	}
	return 0
}

func floatToInt(f float64) int64 {
	r := math.Round(f)
	if r >= 9.223372036854775807e18 {
		return math.MaxInt64
	}
	if r <= -9.223372036854775808e18 {
		return math.MinInt64
	}
	return int64(r)
}

// strInt parses the integer prefix of s (MySQL's CAST(s AS SIGNED):
// '12abc' → 12, '1.9' → 1, '-5' → -5; a value past the range clamps).
func strInt(s string) (int64, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var u uint64
	over := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if u > (math.MaxUint64-d)/10 {
			over = true
		} else {
			u = u*10 + d
		}
		i++
	}
	if i == start {
		return 0, false
	}
	rest := strings.TrimRight(s[i:], " \t\n\r")
	ok := rest == "" && !over
	if neg {
		if u > 1<<63 || over {
			return math.MinInt64, false
		}
		return -int64(u), ok
	}
	if u > math.MaxInt64 {
		// MySQL wraps '18446744073709551615' to -1 in CAST AS SIGNED;
		// keep the bits like it does.
		return int64(u), ok
	}
	return int64(u), ok
}

// dateNum is a DATE as the number YYYYMMDD (its numeric context value).
func dateNum(t keycodec.DateTime) int64 {
	return int64(t.Year)*10000 + int64(t.Month)*100 + int64(t.Day)
}

// dateTimeNum is a DATETIME as YYYYMMDDhhmmss.
func dateTimeNum(t keycodec.DateTime) int64 {
	return dateNum(t)*1000000 + int64(t.Hour)*10000 + int64(t.Minute)*100 + int64(t.Second)
}

// bytesOf renders a non-NULL value as the bytes of its string form, with
// the static type's scale/fsp; strings are returned as they are (not
// copied).
func bytesOf(v Value, t Type) []byte {
	if v.Kind == kStr {
		return v.Str
	}
	return appendText(nil, v, scaleOf(v, t), fspOf(v, t))
}

// strOf is bytesOf as a string (copying).
func strOf(v Value, t Type) string {
	if v.Kind == kStr {
		return string(v.Str)
	}
	var buf [64]byte
	return string(appendText(buf[:0], v, scaleOf(v, t), fspOf(v, t)))
}
