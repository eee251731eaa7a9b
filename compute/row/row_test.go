package row

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/polarsql/polar/compute/keycodec"
)

const (
	kInt  = keycodec.KindInt
	kUint = keycodec.KindUint
	kFlt  = keycodec.KindFloat
	kDec  = keycodec.KindDecimal
	kStr  = keycodec.KindString
	kDate = keycodec.KindDate
	kDT   = keycodec.KindDateTime
	kTS   = keycodec.KindTimestamp
)

var allKinds = []keycodec.Kind{kInt, kUint, kFlt, kDec, kStr, kDate, kDT, kTS}

// normDec is the canonical form of a possibly non-canonical decimal,
// computed independently of the package (through keycodec's parser).
func normDec(t testing.TB, d keycodec.Decimal) keycodec.Decimal {
	t.Helper()
	n, err := keycodec.ParseDecimal(d.String())
	if err != nil {
		t.Fatalf("normalizing %+v: %v", d, err)
	}
	return n
}

// valEqual compares a decoded value with the value that was encoded;
// decimals are compared in canonical form and floats bit for bit.
func valEqual(t testing.TB, got, want keycodec.Value) bool {
	t.Helper()
	if got.Kind != want.Kind {
		return false
	}
	var w keycodec.Value
	switch want.Kind {
	case keycodec.KindNull:
	case kInt:
		w.Int = want.Int
	case kUint:
		w.Uint = want.Uint
	case kFlt:
		w.Float = want.Float
		if math.Float64bits(got.Float) != math.Float64bits(want.Float) {
			return false
		}
	case kDec:
		w.Dec = normDec(t, want.Dec)
	case kStr:
		if !bytes.Equal(got.Str, want.Str) {
			return false
		}
	default:
		w.Time = want.Time
	}
	if want.Kind != kStr && got.Str != nil {
		return false
	}
	// Every field but the one of the kind must be zero.
	w.Kind, w.Str, got.Str = got.Kind, nil, nil
	if want.Kind == kFlt {
		w.Float, got.Float = 0, 0
	}
	return got.Kind == w.Kind && got.Int == w.Int && got.Uint == w.Uint && got.Float == w.Float &&
		got.Dec == w.Dec && got.Time == w.Time
}

func fmtVal(v keycodec.Value) string {
	switch v.Kind {
	case keycodec.KindNull:
		return "NULL"
	case kInt:
		return fmt.Sprint(v.Int)
	case kUint:
		return fmt.Sprint(v.Uint)
	case kFlt:
		return fmt.Sprint(v.Float)
	case kDec:
		return fmt.Sprintf("%+v", v.Dec)
	case kStr:
		if len(v.Str) > 40 {
			return fmt.Sprintf("%q...(%d bytes)", v.Str[:40], len(v.Str))
		}
		return fmt.Sprintf("%q", v.Str)
	}
	return v.Kind.String() + " " + v.Time.String()
}

func randDigits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	if n > 0 {
		b[0] = byte('1' + r.IntN(9))
		b[n-1] = byte('1' + r.IntN(9))
	}
	return string(b)
}

func randDecimal(r *rand.Rand) keycodec.Decimal {
	if r.IntN(10) == 0 {
		return keycodec.Decimal{}
	}
	var n int
	switch r.IntN(4) {
	case 0:
		n = keycodec.MaxDecimalDigits
	case 1:
		n = 1 + r.IntN(3)
	default:
		n = 1 + r.IntN(keycodec.MaxDecimalDigits)
	}
	// Canonical range: -65 <= exp <= 65-n.
	lo, hi := -keycodec.MaxDecimalDigits, keycodec.MaxDecimalDigits-n
	var exp int
	switch r.IntN(4) {
	case 0:
		exp = lo
	case 1:
		exp = hi
	default:
		exp = lo + r.IntN(hi-lo+1)
	}
	d := keycodec.Decimal{Neg: r.IntN(2) == 0, Digits: randDigits(r, n), Exp: int32(exp)}
	if r.IntN(5) == 0 { // non-canonical spelling of the same number
		lead, trail := r.IntN(3), r.IntN(3)
		if exp-trail < -keycodec.MaxDecimalDigits {
			trail = 0
		}
		d.Digits = strings.Repeat("0", lead) + d.Digits + strings.Repeat("0", trail)
		d.Exp -= int32(trail)
	}
	return d
}

func randDateTime(r *rand.Rand, date bool) keycodec.DateTime {
	switch r.IntN(6) {
	case 0:
		return keycodec.DateTime{} // zero date
	case 1:
		if date {
			return keycodec.DateTime{Year: 9999, Month: 12, Day: 31}
		}
		return keycodec.DateTime{Year: 9999, Month: 12, Day: 31, Hour: 23, Minute: 59, Second: 59, Microsecond: 999999}
	case 2: // zero month/day parts
		return keycodec.DateTime{Year: uint16(r.IntN(10000))}
	}
	t := keycodec.DateTime{
		Year: uint16(r.IntN(10000)), Month: uint8(r.IntN(13)), Day: uint8(r.IntN(32)),
	}
	if !date {
		t.Hour, t.Minute, t.Second = uint8(r.IntN(24)), uint8(r.IntN(60)), uint8(r.IntN(60))
		t.Microsecond = uint32(r.IntN(1000000))
	}
	return t
}

func randValue(r *rand.Rand, k keycodec.Kind) keycodec.Value {
	if r.IntN(5) == 0 {
		return keycodec.Value{}
	}
	switch k {
	case kInt:
		specials := []int64{0, 1, -1, 63, -64, 64, -65, math.MaxInt64, math.MinInt64, math.MaxInt32, math.MinInt32}
		if r.IntN(3) == 0 {
			return keycodec.IntValue(specials[r.IntN(len(specials))])
		}
		return keycodec.IntValue(int64(r.Uint64()) >> r.IntN(64))
	case kUint:
		specials := []uint64{0, 1, 127, 128, math.MaxUint64, math.MaxUint32}
		if r.IntN(3) == 0 {
			return keycodec.UintValue(specials[r.IntN(len(specials))])
		}
		return keycodec.UintValue(r.Uint64() >> r.IntN(64))
	case kFlt:
		specials := []float64{0, math.Copysign(0, -1), 1, -1.5, math.MaxFloat64, -math.MaxFloat64,
			math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), float64(float32(0.1))}
		if r.IntN(3) == 0 {
			return keycodec.FloatValue(specials[r.IntN(len(specials))])
		}
		for {
			f := math.Float64frombits(r.Uint64())
			if !math.IsNaN(f) {
				return keycodec.FloatValue(f)
			}
		}
	case kDec:
		return keycodec.DecimalValue(randDecimal(r))
	case kStr:
		var n int
		switch r.IntN(20) {
		case 0:
			n = 0
		case 1:
			n = 1 + r.IntN(100<<10)
		default:
			n = r.IntN(200)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return keycodec.BytesValue(b)
	}
	return keycodec.TimeValue(k, randDateTime(r, k == kDate))
}

func randRow(r *rand.Rand) ([]keycodec.Kind, []keycodec.Value) {
	n := r.IntN(20)
	if r.IntN(10) == 0 {
		n = r.IntN(100)
	}
	kinds := make([]keycodec.Kind, n)
	vals := make([]keycodec.Value, n)
	for i := range kinds {
		kinds[i] = allKinds[r.IntN(len(allKinds))]
		vals[i] = randValue(r, kinds[i])
	}
	return kinds, vals
}

func checkVals(t *testing.T, what string, got, want []keycodec.Value) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !valEqual(t, got[i], want[i]) {
			t.Fatalf("%s: column %d = %s, want %s", what, i, fmtVal(got[i]), fmtVal(want[i]))
		}
	}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	var reuse []keycodec.Value
	for it := range iters {
		kinds, vals := randRow(r)
		version := r.Uint32() >> r.IntN(32)
		prefix := []byte("prefix")
		buf, err := Encode(prefix, version, kinds, vals)
		if err != nil {
			t.Fatalf("iter %d: Encode: %v", it, err)
		}
		if !bytes.Equal(buf[:len(prefix)], []byte("prefix")) {
			t.Fatalf("Encode clobbered dst")
		}
		buf = buf[len(prefix):]
		what := fmt.Sprintf("iter %d (%d cols)", it, len(kinds))

		gotV, got, err := Decode(buf, kinds)
		if err != nil || gotV != version {
			t.Fatalf("%s: Decode: version %d, %v", what, gotV, err)
		}
		checkVals(t, what+" Decode", got, vals)

		gotV, reuse, err = DecodeInto(reuse, buf, kinds)
		if err != nil || gotV != version {
			t.Fatalf("%s: DecodeInto: version %d, %v", what, gotV, err)
		}
		checkVals(t, what+" DecodeInto", reuse, vals)

		if v, err := Version(buf); err != nil || v != version {
			t.Fatalf("%s: Version = %d, %v", what, v, err)
		}
		for i := range kinds {
			v, err := DecodeColumn(buf, kinds, i)
			if err != nil {
				t.Fatalf("%s: DecodeColumn(%d): %v", what, i, err)
			}
			if !valEqual(t, v, got[i]) {
				t.Fatalf("%s: DecodeColumn(%d) = %s, Decode gave %s", what, i, fmtVal(v), fmtVal(got[i]))
			}
			if cap(v.Str) != len(v.Str) {
				t.Fatalf("%s: DecodeColumn(%d) string has spare capacity into buf", what, i)
			}
		}

		// Canonical: decoded values re-encode to the same bytes.
		re, err := Encode(nil, gotV, kinds, got)
		if err != nil || !bytes.Equal(re, buf) {
			t.Fatalf("%s: re-encoding differs (%v)", what, err)
		}

		// Decode copies; DecodeInto and DecodeColumn alias buf.
		for i := range buf {
			buf[i] ^= 0xFF
		}
		checkVals(t, what+" Decode after clobbering buf", got, vals)
		for i, v := range reuse {
			if v.Kind == kStr && len(v.Str) > 0 && bytes.Equal(v.Str, vals[i].Str) {
				t.Fatalf("%s: DecodeInto string %d does not alias buf", what, i)
			}
		}
	}
}

// TestEdgeRow encodes one row holding the extremes of every kind.
func TestEdgeRow(t *testing.T) {
	d65, _ := keycodec.ParseDecimal("-" + strings.Repeat("9", 35) + "." + strings.Repeat("9", 30))
	tiny, _ := keycodec.ParseDecimal("0." + strings.Repeat("0", 64) + "1")
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	kinds := []keycodec.Kind{kInt, kInt, kUint, kUint, kFlt, kFlt, kDec, kDec, kDec, kStr, kStr, kStr, kDate, kDT, kTS, kInt}
	vals := []keycodec.Value{
		keycodec.IntValue(math.MinInt64), keycodec.IntValue(math.MaxInt64),
		keycodec.UintValue(0), keycodec.UintValue(math.MaxUint64),
		keycodec.FloatValue(math.Copysign(0, -1)), keycodec.FloatValue(math.Inf(-1)),
		keycodec.DecimalValue(d65), keycodec.DecimalValue(tiny), keycodec.DecimalValue(keycodec.Decimal{}),
		keycodec.StringValue(""), keycodec.BytesValue(big), keycodec.StringValue("a \x00 é  "),
		keycodec.TimeValue(kDate, keycodec.DateTime{}),
		keycodec.TimeValue(kDT, keycodec.DateTime{Year: 2024, Month: 0, Day: 0, Hour: 23, Minute: 59, Second: 59, Microsecond: 999999}),
		keycodec.TimeValue(kTS, keycodec.DateTime{Year: 1970, Month: 1, Day: 1}),
		{},
	}
	buf, err := Encode(nil, math.MaxUint32, kinds, vals)
	if err != nil {
		t.Fatal(err)
	}
	v, got, err := Decode(buf, kinds)
	if err != nil || v != math.MaxUint32 {
		t.Fatalf("Decode: %d, %v", v, err)
	}
	checkVals(t, "edge row", got, vals)
	if len(got[9].Str) != 0 || got[9].Str == nil {
		t.Errorf("empty string decoded as %#v, want empty non-nil", got[9].Str)
	}
}

// TestGolden pins the byte format.
func TestGolden(t *testing.T) {
	dec := func(s string) keycodec.Value {
		d, err := keycodec.ParseDecimal(s)
		if err != nil {
			t.Fatal(err)
		}
		return keycodec.DecimalValue(d)
	}
	kinds := []keycodec.Kind{kInt, kUint, kStr, kDec, kDec, kDec, kDate, kFlt, kInt}
	vals := []keycodec.Value{
		keycodec.IntValue(-3), keycodec.UintValue(300), keycodec.StringValue("hi"),
		dec("-1.250"), dec("0"), dec("1200"),
		keycodec.TimeValue(kDate, keycodec.DateTime{}),
		keycodec.FloatValue(1), {},
	}
	got, err := Encode(nil, 5, kinds, vals)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x05,       // version 5
		0x09,       // 9 columns
		0x00, 0x01, // null bitmap: column 8 is NULL
		0x05,       // -3 zigzag
		0xAC, 0x02, // 300 uvarint
		0x02, 'h', 'i',
		0x07, 0x03, 0x12, 0x50, // -1.25: 3 digits|neg, exp -2, BCD 1 2 5 pad
		0x00,             // 0
		0x04, 0x04, 0x12, // 1200 = 12e2: 2 digits, exp 2, BCD 12
		0x00,                                           // zero date
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F, // 1.0 little-endian
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode = % x\nwant     % x", got, want)
	}
}

func TestDecimalNormalized(t *testing.T) {
	kinds := []keycodec.Kind{kDec}
	for _, tc := range []struct {
		in   keycodec.Decimal
		want keycodec.Decimal
	}{
		{keycodec.Decimal{Digits: "00150", Exp: -3}, keycodec.Decimal{Digits: "15", Exp: -2}},
		{keycodec.Decimal{Neg: true, Digits: "000", Exp: 7}, keycodec.Decimal{}},
		{keycodec.Decimal{Neg: true, Exp: -3}, keycodec.Decimal{}},
		{keycodec.Decimal{Digits: "1" + strings.Repeat("0", 70), Exp: -70}, keycodec.Decimal{Digits: "1"}},
	} {
		buf, err := Encode(nil, 1, kinds, []keycodec.Value{keycodec.DecimalValue(tc.in)})
		if err != nil {
			t.Fatalf("%+v: %v", tc.in, err)
		}
		_, got, err := Decode(buf, kinds)
		if err != nil || got[0].Dec != tc.want {
			t.Fatalf("%+v decoded to %+v (%v), want %+v", tc.in, got[0].Dec, err, tc.want)
		}
	}
}

func TestOlderSchemaVersion(t *testing.T) {
	oldKinds := []keycodec.Kind{kInt, kStr}
	newKinds := []keycodec.Kind{kInt, kStr, kDec, kStr}
	buf, err := Encode(nil, 1, oldKinds, []keycodec.Value{keycodec.IntValue(7), keycodec.StringValue("x")})
	if err != nil {
		t.Fatal(err)
	}
	v, vals, err := Decode(buf, newKinds)
	if err != nil || v != 1 || len(vals) != 2 {
		t.Fatalf("Decode with newer schema: version %d, %d values, %v", v, len(vals), err)
	}
	defaults := []keycodec.Value{{}, {}, keycodec.DecimalValue(keycodec.Decimal{Digits: "5"}), keycodec.StringValue("dflt")}
	vals = Upgrade(vals, defaults)
	checkVals(t, "upgraded", vals, []keycodec.Value{
		keycodec.IntValue(7), keycodec.StringValue("x"), defaults[2], defaults[3]})
	if got := Upgrade(vals, defaults[:1]); len(got) != 4 {
		t.Fatalf("Upgrade shortened the row to %d", len(got))
	}
	if _, err := DecodeColumn(buf, newKinds, 2); !errors.Is(err, ErrMissingColumn) {
		t.Fatalf("DecodeColumn of an added column: %v, want ErrMissingColumn", err)
	}
	if c, err := DecodeColumn(buf, newKinds, 1); err != nil || string(c.Str) != "x" {
		t.Fatalf("DecodeColumn(1) = %s, %v", fmtVal(c), err)
	}
	for _, i := range []int{-1, 4} {
		if _, err := DecodeColumn(buf, newKinds, i); !errors.Is(err, ErrColumnCount) {
			t.Fatalf("DecodeColumn(%d): %v, want ErrColumnCount", i, err)
		}
	}
	// More columns than the schema: corrupt.
	if _, _, err := Decode(buf, oldKinds[:1]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Decode with fewer kinds than the row: %v, want ErrCorrupt", err)
	}
	if _, err := DecodeColumn(buf, oldKinds[:1], 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("DecodeColumn with fewer kinds than the row: %v, want ErrCorrupt", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	dt := func(k keycodec.Kind, t keycodec.DateTime) keycodec.Value { return keycodec.TimeValue(k, t) }
	for _, tc := range []struct {
		name  string
		kinds []keycodec.Kind
		vals  []keycodec.Value
		want  error
	}{
		{"count", []keycodec.Kind{kInt}, nil, ErrColumnCount},
		{"kind mismatch", []keycodec.Kind{kInt, kStr}, []keycodec.Value{{}, keycodec.IntValue(1)}, keycodec.ErrKindMismatch},
		{"DATE vs DATETIME", []keycodec.Kind{kDate}, []keycodec.Value{dt(kDT, keycodec.DateTime{})}, keycodec.ErrKindMismatch},
		{"null kind", []keycodec.Kind{keycodec.KindNull}, []keycodec.Value{{}}, keycodec.ErrInvalidType},
		{"bad kind", []keycodec.Kind{99}, []keycodec.Value{{Kind: 99}}, keycodec.ErrInvalidType},
		{"NaN", []keycodec.Kind{kFlt}, []keycodec.Value{keycodec.FloatValue(math.NaN())}, keycodec.ErrNaN},
		{"decimal digits", []keycodec.Kind{kDec}, []keycodec.Value{keycodec.DecimalValue(keycodec.Decimal{Digits: "1x"})}, keycodec.ErrDecimal},
		{"decimal 66 digits", []keycodec.Kind{kDec}, []keycodec.Value{keycodec.DecimalValue(keycodec.Decimal{Digits: strings.Repeat("1", 66)})}, keycodec.ErrDecimalRange},
		{"decimal big exp", []keycodec.Kind{kDec}, []keycodec.Value{keycodec.DecimalValue(keycodec.Decimal{Digits: "1", Exp: 65})}, keycodec.ErrDecimalRange},
		{"decimal small exp", []keycodec.Kind{kDec}, []keycodec.Value{keycodec.DecimalValue(keycodec.Decimal{Digits: "1", Exp: -66})}, keycodec.ErrDecimalRange},
		{"decimal int32 exp", []keycodec.Kind{kDec}, []keycodec.Value{keycodec.DecimalValue(keycodec.Decimal{Digits: "1", Exp: math.MaxInt32})}, keycodec.ErrDecimalRange},
		{"month 13", []keycodec.Kind{kDT}, []keycodec.Value{dt(kDT, keycodec.DateTime{Month: 13})}, keycodec.ErrDateTime},
		{"µs", []keycodec.Kind{kTS}, []keycodec.Value{dt(kTS, keycodec.DateTime{Microsecond: 1000000})}, keycodec.ErrDateTime},
		{"DATE with time", []keycodec.Kind{kDate}, []keycodec.Value{dt(kDate, keycodec.DateTime{Year: 1, Second: 1})}, keycodec.ErrDateTime},
	} {
		dst := []byte("keep")
		out, err := Encode(dst, 1, tc.kinds, tc.vals)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst = %q after error", tc.name, out)
		}
	}
	// Boundary decimals are accepted.
	for _, d := range []keycodec.Decimal{{Digits: "1", Exp: 64}, {Digits: "1", Exp: -65}, {Digits: strings.Repeat("1", 65), Exp: -65}} {
		if _, err := Encode(nil, 0, []keycodec.Kind{kDec}, []keycodec.Value{keycodec.DecimalValue(d)}); err != nil {
			t.Errorf("%+v: %v", d, err)
		}
	}
}

// TestMalformed checks specific invalid encodings.
func TestMalformed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kinds []keycodec.Kind
		buf   []byte
	}{
		{"empty", nil, nil},
		{"version > uint32", nil, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0x00}},
		{"overlong version", nil, []byte{0x80, 0x00, 0x00}},
		{"varint overflow", nil, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}},
		{"no ncols", nil, []byte{0x01}},
		{"huge ncols", []keycodec.Kind{kInt}, []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}},
		{"short bitmap", []keycodec.Kind{kInt}, []byte{0x01, 0x01}},
		{"bitmap padding", []keycodec.Kind{kInt}, []byte{0x01, 0x01, 0x03}},
		{"missing column", []keycodec.Kind{kInt}, []byte{0x01, 0x01, 0x00}},
		{"trailing bytes", []keycodec.Kind{kInt}, []byte{0x01, 0x01, 0x01, 0x00}},
		{"overlong int", []keycodec.Kind{kInt}, []byte{0x01, 0x01, 0x00, 0x82, 0x00}},
		{"string too long", []keycodec.Kind{kStr}, []byte{0x01, 0x01, 0x00, 0x05, 'a'}},
		{"string length 2^64-1", []keycodec.Kind{kStr}, []byte{0x01, 0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}},
		{"short float", []keycodec.Kind{kFlt}, []byte{0x01, 0x01, 0x00, 1, 2, 3}},
		{"NaN", []keycodec.Kind{kFlt}, []byte{0x01, 0x01, 0x00, 1, 0, 0, 0, 0, 0, 0xF8, 0x7F}},
		{"negative zero decimal", []keycodec.Kind{kDec}, []byte{0x01, 0x01, 0x00, 0x01}},
		{"decimal 66 digits", []keycodec.Kind{kDec}, append([]byte{0x01, 0x01, 0x00, 0x84, 0x01, 0x00}, bytes.Repeat([]byte{0x11}, 33)...)},
		{"decimal exponent", []keycodec.Kind{kDec}, []byte{0x01, 0x01, 0x00, 0x02, 0x84, 0x01, 0x10}}, // 1e66
		{"decimal leading zero", []keycodec.Kind{kDec}, []byte{0x01, 0x01, 0x00, 0x04, 0x00, 0x01}},
		{"decimal trailing zero", []keycodec.Kind{kDec}, []byte{0x01, 0x01, 0x00, 0x04, 0x00, 0x10}},
		{"decimal pad nibble", []keycodec.Kind{kDec}, []byte{0x01, 0x01, 0x00, 0x02, 0x00, 0x11}},
		{"decimal nibble > 9", []keycodec.Kind{kDec}, []byte{0x01, 0x01, 0x00, 0x04, 0x00, 0x1A}},
		{"short decimal", []keycodec.Kind{kDec}, []byte{0x01, 0x01, 0x00, 0x06, 0x00, 0x12}},
		{"microseconds", []keycodec.Kind{kDT}, timeRow(1000000)},
		{"hour 24", []keycodec.Kind{kTS}, timeRow(24 << 12 << 24)},
		{"DATE with time", []keycodec.Kind{kDate}, timeRow(1 << 24)},
	} {
		_, _, err := Decode(tc.buf, tc.kinds)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Decode err = %v, want ErrCorrupt", tc.name, err)
		}
	}
}

// timeRow is a row of one date/time column holding packed value p.
func timeRow(p uint64) []byte {
	b := []byte{0x01, 0x01, 0x00}
	for p >= 0x80 {
		b = append(b, byte(p)|0x80)
		p >>= 7
	}
	return append(b, byte(p))
}

// TestCorruption: every strict prefix of a valid row is rejected, and
// random byte changes never panic and either fail with ErrCorrupt or give
// a row that re-encodes to the same bytes.
func TestCorruption(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	iters := 500
	if testing.Short() {
		iters = 50
	}
	for it := range iters {
		kinds, vals := randRow(r)
		buf, err := Encode(nil, r.Uint32(), kinds, vals)
		if err != nil {
			t.Fatal(err)
		}
		if len(buf) > 4096 {
			continue
		}
		for n := range len(buf) {
			if _, _, err := Decode(buf[:n], kinds); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("iter %d: prefix %d/%d: err = %v, want ErrCorrupt", it, n, len(buf), err)
			}
		}
		for range 50 {
			b := bytes.Clone(buf)
			for range 1 + r.IntN(3) {
				b[r.IntN(len(b))] = byte(r.Uint32())
			}
			checkArbitrary(t, kinds, b)
		}
	}
}

// checkArbitrary runs every decoder on arbitrary bytes and checks that
// they agree and that accepted input is canonical.
func checkArbitrary(t *testing.T, kinds []keycodec.Kind, buf []byte) {
	t.Helper()
	version, vals, err := Decode(buf, kinds)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decode(% x): error %v does not wrap ErrCorrupt", buf, err)
		}
	} else {
		re, err := Encode(nil, version, kinds[:len(vals)], vals)
		if err != nil || !bytes.Equal(re, buf) {
			t.Fatalf("Decode accepted % x, which re-encodes to % x (%v)", buf, re, err)
		}
		_, into, err := DecodeInto(make([]keycodec.Value, 3), buf, kinds)
		if err != nil {
			t.Fatalf("DecodeInto rejects what Decode accepts: %v", err)
		}
		checkVals(t, "DecodeInto", into, vals)
	}
	for i := range kinds {
		v, cerr := DecodeColumn(buf, kinds, i)
		switch {
		case err == nil && i < len(vals):
			if cerr != nil || !valEqual(t, v, vals[i]) {
				t.Fatalf("DecodeColumn(% x, %d) = %s, %v; Decode gave %s", buf, i, fmtVal(v), cerr, fmtVal(vals[i]))
			}
		case err == nil:
			if !errors.Is(cerr, ErrMissingColumn) {
				t.Fatalf("DecodeColumn(% x, %d) past the row's columns: %v", buf, i, cerr)
			}
		default:
			if cerr != nil && !errors.Is(cerr, ErrCorrupt) && !errors.Is(cerr, ErrMissingColumn) {
				t.Fatalf("DecodeColumn(% x, %d): unexpected error %v", buf, i, cerr)
			}
		}
	}
}

// sysbenchRow is a row of sysbench's sbtest table: id INTEGER, k INTEGER,
// c CHAR(120), pad CHAR(60).
func sysbenchRow() ([]keycodec.Kind, []keycodec.Value) {
	c := strings.Repeat("83868641912-", 10)[:120]
	pad := strings.Repeat("67847967377-", 5)[:60]
	return []keycodec.Kind{kInt, kInt, kStr, kStr}, []keycodec.Value{
		keycodec.IntValue(1_000_000), keycodec.IntValue(500_000),
		keycodec.StringValue(c), keycodec.StringValue(pad),
	}
}

func TestSysbenchRowSize(t *testing.T) {
	kinds, vals := sysbenchRow()
	buf, err := Encode(nil, 1, kinds, vals)
	if err != nil {
		t.Fatal(err)
	}
	// header (version, ncols, null bitmap) 3 + id 3 + k 3 + c 1+120 + pad 1+60
	const want = 3 + 3 + 3 + 121 + 61
	if len(buf) != want {
		t.Fatalf("sysbench row is %d bytes, want %d", len(buf), want)
	}
	t.Logf("sysbench row (id=1e6, k=5e5): %d bytes", len(buf))
}

func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts are not meaningful under -cover or -race")
	}
	kinds, vals := sysbenchRow()
	buf, _ := Encode(nil, 1, kinds, vals)
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() {
		dst, _ = Encode(dst[:0], 1, kinds, vals)
	}); n != 0 {
		t.Errorf("Encode: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if v, err := DecodeColumn(buf, kinds, 2); err != nil || len(v.Str) != 120 {
			t.Fatal(v, err)
		}
	}); n != 0 {
		t.Errorf("DecodeColumn: %v allocs", n)
	}
	reuse := make([]keycodec.Value, 0, 8)
	if n := testing.AllocsPerRun(100, func() {
		_, reuse, _ = DecodeInto(reuse, buf, kinds)
	}); n != 0 {
		t.Errorf("DecodeInto: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		_, _, _ = Decode(buf, kinds)
	}); n != 2 {
		t.Errorf("Decode: %v allocs, want 2 (values and strings)", n)
	}
}

func BenchmarkEncode(b *testing.B) {
	kinds, vals := sysbenchRow()
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = Encode(dst[:0], 1, kinds, vals)
	}
	b.SetBytes(int64(len(dst)))
}

func BenchmarkDecodeColumn(b *testing.B) {
	kinds, vals := sysbenchRow()
	buf, _ := Encode(nil, 1, kinds, vals)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeColumn(buf, kinds, 2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeInto(b *testing.B) {
	kinds, vals := sysbenchRow()
	buf, _ := Encode(nil, 1, kinds, vals)
	var reuse []keycodec.Value
	b.ReportAllocs()
	for b.Loop() {
		_, reuse, _ = DecodeInto(reuse, buf, kinds)
	}
}

func BenchmarkDecode(b *testing.B) {
	kinds, vals := sysbenchRow()
	buf, _ := Encode(nil, 1, kinds, vals)
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = Decode(buf, kinds)
	}
}
