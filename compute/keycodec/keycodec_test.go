package keycodec

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// newRand returns a deterministic generator; failures print the seed.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

func sign(x int) int { return cmp.Compare(x, 0) }

// item is a random value with an independent reference for comparisons.
type item struct {
	v   Value
	ref any
}

// gen describes one column type for the property tests.
type gen struct {
	name string
	typ  ColumnType
	rand func(*rand.Rand) item
	// cmp is the reference order on refs (MySQL semantics), written
	// independently of the encoding.
	cmp func(a, b any) int
	// roundTrip checks a decoded value against the original.
	roundTrip func(orig item, dec Value) error
}

func sameValue(orig item, dec Value) error {
	if fmt.Sprint(orig.v) != fmt.Sprint(dec) {
		return fmt.Errorf("decoded %v, want %v", dec, orig.v)
	}
	return nil
}

// --- ints -----------------------------------------------------------------

func randInt64(rng *rand.Rand) int64 {
	switch rng.IntN(5) {
	case 0:
		return rng.Int64N(21) - 10
	case 1:
		return []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64}[rng.IntN(7)]
	case 2:
		return int64(rng.Uint64()) >> rng.IntN(64)
	default:
		return int64(rng.Uint64())
	}
}

func randUint64(rng *rand.Rand) uint64 {
	switch rng.IntN(4) {
	case 0:
		return rng.Uint64N(20)
	case 1:
		return []uint64{0, 1, 1 << 63, 1<<63 - 1, math.MaxUint64}[rng.IntN(5)]
	case 2:
		return rng.Uint64() >> rng.IntN(64)
	default:
		return rng.Uint64()
	}
}

// --- floats ---------------------------------------------------------------

func randFloat(rng *rand.Rand) float64 {
	switch rng.IntN(5) {
	case 0:
		return float64(rng.IntN(11)-5) / 2
	case 1:
		return []float64{math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), math.MaxFloat64,
			-math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
			1, -1, 0.1, -0.1}[rng.IntN(12)]
	case 2:
		return float64(float32(rng.NormFloat64() * 1e6)) // FLOAT widened
	default:
		for {
			f := math.Float64frombits(rng.Uint64())
			if !math.IsNaN(f) {
				return f
			}
		}
	}
}

// --- decimals -------------------------------------------------------------

func randDigits(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + rng.IntN(10))
	}
	return string(b)
}

// randDecimalLiteral returns a literal with at most 65 significant digits,
// often with leading and trailing zeros, often close to other values.
func randDecimalLiteral(rng *rand.Rand) string {
	var s string
	switch rng.IntN(4) {
	case 0: // small values, lots of equal ones in different spellings
		s = fmt.Sprintf("%d.%s%s", rng.IntN(21)-10, randDigits(rng, rng.IntN(2)), strings.Repeat("0", rng.IntN(3)))
	case 1: // boundaries
		s = []string{"0", "-0", "0.0", "-0.000", "1", "1.0", "1.5", "1.50", "-1.5", "-1.50", "10", "9.99",
			"0.1", "0.01", "0.10", "100", "100.000", "99.999",
			strings.Repeat("9", 65), "-" + strings.Repeat("9", 65),
			"0." + strings.Repeat("0", 29) + "1", "-0." + strings.Repeat("0", 29) + "1",
			strings.Repeat("9", 35) + "." + strings.Repeat("9", 30),
		}[rng.IntN(23)]
	default:
		intN := rng.IntN(36)
		fracN := rng.IntN(min(31, 66-intN))
		s = randDigits(rng, intN)
		if rng.IntN(3) == 0 {
			s = "000" + s
		}
		if s == "" {
			s = "0"
		}
		if fracN > 0 || rng.IntN(4) == 0 {
			s += "." + randDigits(rng, fracN)
			if rng.IntN(3) == 0 {
				s += "000"
			}
		}
		if strings.HasPrefix(s, ".") && rng.IntN(2) == 0 {
			s = "0" + s
		}
	}
	if !strings.HasPrefix(s, "-") && rng.IntN(2) == 0 {
		s = "-" + s
	}
	return s
}

func ratOf(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("bad rat " + s)
	}
	return r
}

// --- strings --------------------------------------------------------------

// Units picked to hit the interesting cases: case pairs, Latin-1 and
// Latin Extended-A folds, characters below space, spaces, non-BMP runes,
// characters MySQL folds but Polar (documented) does not.
var strAlphabet = []string{
	"\x00", "\x01", "\t", " ", " ", " ", " ", "!", "a", "A", "b", "B", "s", "S", "y", "Y", "z",
	"ß", "ä", "Ä", "å", "æ", "Æ", "µ", "Μ", "μ", "ÿ", "Ÿ", "Ā", "ł", "Ł", "é", "ſ", "×",
	"\u00a0", "\u1ea1", "\u03ac", "\u0451", "\u2170", "\u24d0", "\uff41", "\u4e2d", "\uFFFD", "\uFFFF",
	"😀", "😃", "\U0010FFFF", "\x7f", "\u0080", "~",
}

func randUTF8(rng *rand.Rand) string {
	var sb strings.Builder
	n := rng.IntN(10)
	if rng.IntN(8) == 0 {
		n = 0
	}
	for range n {
		if rng.IntN(40) == 0 { // long runs: big run tags
			sb.WriteString(strings.Repeat(" ", 120+rng.IntN(20)))
			continue
		}
		sb.WriteString(strAlphabet[rng.IntN(len(strAlphabet))])
	}
	return sb.String()
}

func randBinary(rng *rand.Rand) string {
	alpha := []byte{0x00, 0x00, 0x01, 0x20, 0x61, 0xFE, 0xFF}
	b := make([]byte, rng.IntN(8))
	for i := range b {
		b[i] = alpha[rng.IntN(len(alpha))]
	}
	return string(b)
}

// refUnits maps a string to its collation units rune by rune.
func refUnits(s string, ci bool) []rune {
	var out []rune
	for _, r := range s {
		if ci {
			r = GeneralCIWeight(r)
		}
		out = append(out, r)
	}
	return out
}

// refPadCompare is MySQL's PAD SPACE comparison in its plainest form: pad
// the shorter unit string with spaces, compare unit by unit.
func refPadCompare(a, b string, ci bool) int {
	ua, ub := refUnits(a, ci), refUnits(b, ci)
	for i := 0; i < max(len(ua), len(ub)); i++ {
		x, y := rune(' '), rune(' ')
		if i < len(ua) {
			x = ua[i]
		}
		if i < len(ub) {
			y = ub[i]
		}
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return 0
}

// --- datetimes ------------------------------------------------------------

func randDateTime(rng *rand.Rand, date bool) DateTime {
	pick := func(small, full int) int {
		if rng.IntN(2) == 0 {
			return rng.IntN(small)
		}
		return rng.IntN(full)
	}
	t := DateTime{
		Year:  uint16([]int{0, 1000, 1970, 2024, 9999, rng.IntN(10000)}[rng.IntN(6)]),
		Month: uint8(pick(2, 13)), Day: uint8(pick(2, 32)),
	}
	if !date {
		t.Hour, t.Minute, t.Second = uint8(pick(2, 24)), uint8(pick(2, 60)), uint8(pick(2, 60))
		t.Microsecond = uint32(pick(2, 1000000))
	}
	return t
}

func cmpDateTime(a, b any) int {
	x, y := a.(DateTime), b.(DateTime)
	return cmp.Or(
		cmp.Compare(x.Year, y.Year), cmp.Compare(x.Month, y.Month), cmp.Compare(x.Day, y.Day),
		cmp.Compare(x.Hour, y.Hour), cmp.Compare(x.Minute, y.Minute), cmp.Compare(x.Second, y.Second),
		cmp.Compare(x.Microsecond, y.Microsecond))
}

// --- the generators -------------------------------------------------------

func stringGen(name string, c Collation, randStr func(*rand.Rand) string) gen {
	g := gen{
		name: name,
		typ:  ColumnType{Kind: KindString, Collation: c},
		rand: func(rng *rand.Rand) item {
			s := randStr(rng)
			return item{StringValue(s), s}
		},
	}
	switch c {
	case CollationBinary:
		g.cmp = func(a, b any) int { return strings.Compare(a.(string), b.(string)) }
		g.roundTrip = func(orig item, dec Value) error {
			if string(dec.Str) != orig.ref.(string) {
				return fmt.Errorf("decoded %q, want %q", dec.Str, orig.ref)
			}
			return nil
		}
	case CollationUTF8MB4Bin:
		g.cmp = func(a, b any) int { return refPadCompare(a.(string), b.(string), false) }
		g.roundTrip = func(orig item, dec Value) error {
			if want := strings.TrimRight(orig.ref.(string), " "); string(dec.Str) != want {
				return fmt.Errorf("decoded %q, want %q", dec.Str, want)
			}
			return nil
		}
	default:
		g.cmp = func(a, b any) int { return refPadCompare(a.(string), b.(string), true) }
		g.roundTrip = func(orig item, dec Value) error {
			// The weight string: equal to the original under the
			// collation, and made of weights only.
			if refPadCompare(string(dec.Str), orig.ref.(string), true) != 0 {
				return fmt.Errorf("decoded %q is not equal to %q", dec.Str, orig.ref)
			}
			if w := string(refUnits(string(dec.Str), true)); w != string(dec.Str) {
				return fmt.Errorf("decoded %q is not a weight string (%q)", dec.Str, w)
			}
			return nil
		}
	}
	return g
}

var gens = []gen{
	{
		name: "int", typ: ColumnType{Kind: KindInt},
		rand:      func(rng *rand.Rand) item { v := randInt64(rng); return item{IntValue(v), v} },
		cmp:       func(a, b any) int { return cmp.Compare(a.(int64), b.(int64)) },
		roundTrip: sameValue,
	},
	{
		name: "uint", typ: ColumnType{Kind: KindUint},
		rand:      func(rng *rand.Rand) item { v := randUint64(rng); return item{UintValue(v), v} },
		cmp:       func(a, b any) int { return cmp.Compare(a.(uint64), b.(uint64)) },
		roundTrip: sameValue,
	},
	{
		name: "float", typ: ColumnType{Kind: KindFloat},
		rand: func(rng *rand.Rand) item { v := randFloat(rng); return item{FloatValue(v), v} },
		cmp: func(a, b any) int {
			x, y := a.(float64), b.(float64)
			if x < y {
				return -1
			} else if x > y {
				return 1
			}
			return 0 // includes -0 == +0
		},
		roundTrip: func(orig item, dec Value) error {
			want := orig.v.Float
			if want == 0 {
				want = 0
			}
			if dec.Kind != KindFloat || math.Float64bits(dec.Float) != math.Float64bits(want) {
				return fmt.Errorf("decoded %v, want %v", dec.Float, want)
			}
			return nil
		},
	},
	{
		name: "decimal", typ: ColumnType{Kind: KindDecimal},
		rand: func(rng *rand.Rand) item {
			lit := randDecimalLiteral(rng)
			d, err := ParseDecimal(lit)
			if err != nil {
				panic(fmt.Sprintf("ParseDecimal(%q): %v", lit, err))
			}
			return item{DecimalValue(d), ratOf(lit)}
		},
		cmp: func(a, b any) int { return a.(*big.Rat).Cmp(b.(*big.Rat)) },
		roundTrip: func(orig item, dec Value) error {
			if dec.Dec != orig.v.Dec {
				return fmt.Errorf("decoded %+v, want %+v", dec.Dec, orig.v.Dec)
			}
			if ratOf(dec.Dec.String()).Cmp(orig.ref.(*big.Rat)) != 0 {
				return fmt.Errorf("decoded %s, want %s", dec.Dec, orig.ref.(*big.Rat).FloatString(30))
			}
			return nil
		},
	},
	stringGen("binary", CollationBinary, randBinary),
	stringGen("utf8mb4_bin", CollationUTF8MB4Bin, randUTF8),
	stringGen("utf8mb4_general_ci", CollationUTF8MB4GeneralCI, randUTF8),
	{
		name: "date", typ: ColumnType{Kind: KindDate},
		rand: func(rng *rand.Rand) item {
			t := randDateTime(rng, true)
			return item{TimeValue(KindDate, t), t}
		},
		cmp: cmpDateTime, roundTrip: sameValue,
	},
	{
		name: "datetime", typ: ColumnType{Kind: KindDateTime},
		rand: func(rng *rand.Rand) item {
			t := randDateTime(rng, false)
			return item{TimeValue(KindDateTime, t), t}
		},
		cmp: cmpDateTime, roundTrip: sameValue,
	},
	{
		name: "timestamp", typ: ColumnType{Kind: KindTimestamp},
		rand: func(rng *rand.Rand) item {
			t := randDateTime(rng, false)
			return item{TimeValue(KindTimestamp, t), t}
		},
		cmp: cmpDateTime, roundTrip: sameValue,
	},
}

func mustKey(t testing.TB, typ ColumnType, v Value) []byte {
	t.Helper()
	k, err := AppendKey(nil, typ, v)
	if err != nil {
		t.Fatalf("AppendKey(%s, %v): %v", typ, v, err)
	}
	return k
}

// TestOrderProperty: for random pairs, the byte order of the keys is the
// reference (MySQL) order, keys are equal exactly when values are, and no
// key is a proper prefix of another.
func TestOrderProperty(t *testing.T) {
	for _, g := range gens {
		t.Run(g.name, func(t *testing.T) {
			seed := uint64(len(g.name)) * 7919
			rng := newRand(seed)
			items := make([]item, 2000)
			keys := make([][]byte, len(items))
			for i := range items {
				items[i] = g.rand(rng)
				keys[i] = mustKey(t, g.typ, items[i].v)
			}
			check := func(i, j int) {
				want := g.cmp(items[i].ref, items[j].ref)
				got := sign(bytes.Compare(keys[i], keys[j]))
				if got != want {
					t.Fatalf("seed %d: %v vs %v: key order %d, want %d\n%x\n%x",
						seed, items[i].v, items[j].v, got, want, keys[i], keys[j])
				}
				if got != 0 && (bytes.HasPrefix(keys[i], keys[j]) || bytes.HasPrefix(keys[j], keys[i])) {
					t.Fatalf("seed %d: key of %v is a prefix of key of %v: %x %x",
						seed, items[i].v, items[j].v, keys[i], keys[j])
				}
			}
			for range 20000 {
				check(rng.IntN(len(items)), rng.IntN(len(items)))
			}
			// Neighbours in key order are where mistakes hide.
			idx := make([]int, len(items))
			for i := range idx {
				idx[i] = i
			}
			slices.SortFunc(idx, func(a, b int) int { return bytes.Compare(keys[a], keys[b]) })
			for n := 1; n < len(idx); n++ {
				check(idx[n-1], idx[n])
			}
		})
	}
}

// TestRoundTrip: every key decodes (DecodeKey and Skip agree on where the
// column ends) to the value, or for lossy collations to a value that
// encodes to the very same key.
func TestRoundTrip(t *testing.T) {
	junk := []byte{0x00, 0x01, 0xFF, 0x20}
	for _, g := range gens {
		t.Run(g.name, func(t *testing.T) {
			rng := newRand(uint64(len(g.name)) * 104729)
			for range 3000 {
				it := g.rand(rng)
				key := mustKey(t, g.typ, it.v)
				buf := append(slices.Clip(key), junk...)
				dec, rest, err := DecodeKey(buf, g.typ)
				if err != nil {
					t.Fatalf("DecodeKey(%v) %x: %v", it.v, key, err)
				}
				if !bytes.Equal(rest, junk) {
					t.Fatalf("DecodeKey(%v) rest %x, want %x", it.v, rest, junk)
				}
				if err := g.roundTrip(it, dec); err != nil {
					t.Fatalf("%v: %v", it.v, err)
				}
				if again := mustKey(t, g.typ, dec); !bytes.Equal(again, key) {
					t.Fatalf("re-encoding decoded %v gives %x, want %x", dec, again, key)
				}
				skipped, err := Skip(buf, g.typ)
				if err != nil || !bytes.Equal(skipped, junk) {
					t.Fatalf("Skip(%v) = %x, %v; want %x", it.v, skipped, err, junk)
				}
				// Every proper prefix of a key is malformed.
				cut := rng.IntN(len(key))
				if _, _, err := DecodeKey(key[:cut], g.typ); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("DecodeKey of %d-byte prefix of %x: err %v, want ErrCorrupt", cut, key, err)
				}
			}
		})
	}
}

// TestCompositeKeys: tuples of 2-3 random typed columns, with NULLs, order
// column by column with NULL first, and decode back column by column.
func TestCompositeKeys(t *testing.T) {
	rng := newRand(42)
	type tuple struct {
		items []item // ref nil = NULL
		key   []byte
	}
	for schemaN := range 60 {
		schema := make([]gen, 2+rng.IntN(2))
		for i := range schema {
			schema[i] = gens[rng.IntN(len(gens))]
		}
		tuples := make([]tuple, 300)
		for n := range tuples {
			var tp tuple
			for _, g := range schema {
				it := g.rand(rng)
				if rng.IntN(5) == 0 {
					it = item{}
				}
				tp.items = append(tp.items, it)
				tp.key = append(tp.key, mustKey(t, g.typ, it.v)...)
			}
			tuples[n] = tp
		}
		refCmp := func(a, b tuple) int {
			for i, g := range schema {
				x, y := a.items[i].ref, b.items[i].ref
				switch {
				case x == nil && y == nil:
					continue
				case x == nil:
					return -1
				case y == nil:
					return 1
				}
				if c := g.cmp(x, y); c != 0 {
					return c
				}
			}
			return 0
		}
		for range 3000 {
			a, b := tuples[rng.IntN(len(tuples))], tuples[rng.IntN(len(tuples))]
			if got, want := sign(bytes.Compare(a.key, b.key)), refCmp(a, b); got != want {
				t.Fatalf("schema %d: %v vs %v: key order %d, want %d", schemaN, a.items, b.items, got, want)
			}
		}
		for _, tp := range tuples {
			rest := tp.key
			for i, g := range schema {
				var dec Value
				var err error
				dec, rest, err = DecodeKey(rest, g.typ)
				if err != nil {
					t.Fatalf("schema %d column %d: %v", schemaN, i, err)
				}
				if tp.items[i].ref == nil {
					if dec.Kind != KindNull {
						t.Fatalf("schema %d column %d: decoded %v, want NULL", schemaN, i, dec)
					}
				} else if err := g.roundTrip(tp.items[i], dec); err != nil {
					t.Fatalf("schema %d column %d: %v", schemaN, i, err)
				}
			}
			if len(rest) != 0 {
				t.Fatalf("schema %d: %d bytes left over", schemaN, len(rest))
			}
		}
	}
}

// TestCollationCompare: Collation.Compare agrees with the reference and
// with the keys.
func TestCollationCompare(t *testing.T) {
	rng := newRand(7)
	for _, c := range []Collation{CollationBinary, CollationUTF8MB4Bin, CollationUTF8MB4GeneralCI} {
		for range 20000 {
			var a, b string
			if c == CollationBinary {
				a, b = randBinary(rng), randBinary(rng)
			} else {
				a, b = randUTF8(rng), randUTF8(rng)
			}
			want := strings.Compare(a, b)
			if c != CollationBinary {
				want = refPadCompare(a, b, c == CollationUTF8MB4GeneralCI)
			}
			if got := c.Compare(a, b); got != want {
				t.Fatalf("%s.Compare(%q, %q) = %d, want %d", c, a, b, got, want)
			}
			ka, _ := AppendString(nil, a, c)
			kb, _ := AppendString(nil, b, c)
			if got := sign(bytes.Compare(ka, kb)); got != want {
				t.Fatalf("%s keys of %q, %q compare %d, want %d", c, a, b, got, want)
			}
		}
	}
}

// TestMySQLFacts checks comparisons whose MySQL results are known.
func TestMySQLFacts(t *testing.T) {
	ci, bin, raw := CollationUTF8MB4GeneralCI, CollationUTF8MB4Bin, CollationBinary
	strs := []struct {
		c    Collation
		a, b string
		want int
	}{
		{ci, "a", "A", 0},
		{ci, "a", "a ", 0},
		{ci, "A", "a   ", 0},
		{ci, "", "   ", 0},
		{ci, "ä", "a", 0}, // SELECT 'ä' = 'a' COLLATE utf8mb4_general_ci → 1
		{ci, "ä", "A", 0},
		{ci, "ß", "s", 0}, // general_ci: 'ß' = 's'
		{ci, "Straße", "STRASE", 0},
		{ci, "Zoë", "zoe", 0},
		{ci, "Ÿ", "y", 0},
		{ci, "ÿ", "Y", 0},
		{ci, "µ", "Μ", 0},
		{ci, "Ł", "ł", 0},
		{ci, "Ā", "a", 0},
		{ci, "😀", "😃", 0}, // all supplementary characters weigh U+FFFD
		{ci, "😀", "\uFFFD", 0},
		{ci, "Æ", "AE", 1}, // general_ci has no expansions: Æ weighs as itself
		{ci, "Ø", "O", 1},
		{ci, "Ł", "L", 1},
		{ci, "a", "b", -1},
		{ci, "B", "a", 1},
		{ci, "a\t", "a", -1}, // PAD SPACE: TAB < space
		{ci, "a", "a!", -1},
		{ci, "a \t", "a", -1},
		{ci, "a b", "a", 1},
		{ci, "a  b", "a b", -1},
		{ci, "a\x00", "a", -1},
		{bin, "a", "A", 1},
		{bin, "a", "a  ", 0},
		{bin, "a\t", "a", -1},
		{bin, "ä", "z", 1},
		{bin, "ä", "a", 1},
		{raw, "a", "a ", -1}, // NO PAD
		{raw, "a", "A", 1},
		{raw, "a\x00", "a", 1},
		{raw, "a\x00", "a\x01", -1},
		{raw, "", "\x00", -1},
	}
	for _, tc := range strs {
		ka, err := AppendString(nil, tc.a, tc.c)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := AppendString(nil, tc.b, tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if got := sign(bytes.Compare(ka, kb)); got != tc.want {
			t.Errorf("%s: key(%q) vs key(%q) = %d, want %d", tc.c, tc.a, tc.b, got, tc.want)
		}
		if got := tc.c.Compare(tc.a, tc.b); got != tc.want {
			t.Errorf("%s.Compare(%q, %q) = %d, want %d", tc.c, tc.a, tc.b, got, tc.want)
		}
	}

	// -0.0 = 0.0
	kn, _ := AppendFloat(nil, math.Copysign(0, -1))
	kp, _ := AppendFloat(nil, 0)
	if !bytes.Equal(kn, kp) {
		t.Errorf("-0.0 key %x != 0.0 key %x", kn, kp)
	}
	if _, err := AppendFloat(nil, math.NaN()); !errors.Is(err, ErrNaN) {
		t.Errorf("NaN: err %v", err)
	}

	// DECIMAL: 1.50 = 1.5 and friends.
	decs := []struct {
		a, b string
		want int
	}{
		{"1.50", "1.5", 0}, {"-0", "0", 0}, {"0.000", "-0.0", 0}, {"100", "100.000", 0},
		{"007", "7", 0}, {"1", "1.0000001", -1}, {"-1.5", "-1.49", -1}, {"10", "9.99", 1},
		{"-10", "-9.99", -1}, {"0.1", "0.09", 1}, {"-0.1", "0", -1}, {"0.12", "0.1234", -1},
		{"-0.12", "-0.1234", 1}, {"99", "100", -1},
	}
	for _, tc := range decs {
		da, err := ParseDecimal(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		db, err := ParseDecimal(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		ka, _ := AppendDecimal(nil, da)
		kb, _ := AppendDecimal(nil, db)
		if got := sign(bytes.Compare(ka, kb)); got != tc.want {
			t.Errorf("DECIMAL %s vs %s: %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}

	// NULL sorts before every value of every type, including the least.
	null := AppendNull(nil)
	least := []Value{
		IntValue(math.MinInt64), UintValue(0), FloatValue(math.Inf(-1)),
		DecimalValue(Decimal{Neg: true, Digits: strings.Repeat("9", 65)}),
		StringValue(""), StringValue("\x00"), TimeValue(KindDate, DateTime{}),
		TimeValue(KindDateTime, DateTime{}), TimeValue(KindTimestamp, DateTime{}),
	}
	for _, v := range least {
		typ := ColumnType{Kind: v.Kind}
		for _, c := range []Collation{CollationBinary, CollationUTF8MB4Bin, CollationUTF8MB4GeneralCI} {
			if v.Kind == KindString {
				typ.Collation = c
			}
			if k := mustKey(t, typ, v); bytes.Compare(null, k) >= 0 {
				t.Errorf("NULL key %x not below %s %v key %x", null, typ, v, k)
			}
		}
	}
}

// TestGeneralCIWeights checks the weight table: folds to base letters, and
// for every BMP rune a weight that is a BMP non-surrogate and idempotent.
func TestGeneralCIWeights(t *testing.T) {
	classes := map[rune]string{
		'A': "AaÀÁÂÃÄÅàáâãäåĀāĂăĄą",
		'C': "CcÇçĆćĈĉĊċČč",
		'D': "DdĎď",
		'E': "EeÈÉÊËèéêëĒēĔĕĖėĘęĚě",
		'G': "GgĜĝĞğĠġĢģ",
		'I': "IiÌÍÎÏìíîïĨĩĪīĬĭĮįİı",
		'N': "NnÑñŃńŅņŇň",
		'O': "OoÒÓÔÕÖòóôõöŌōŎŏŐő",
		'S': "SsßŚśŜŝŞşŠšſ",
		'U': "UuÙÚÛÜùúûüŨũŪūŬŭŮůŰűŲų",
		'Y': "YyÝýÿŶŷŸ",
		'Z': "ZzŹźŻżŽž",
		'Æ': "Ææ", 'Ð': "Ðð", 'Ø': "Øø", 'Þ': "Þþ", 'Ł': "Łł", 'Đ': "Đđ", 'Œ': "Œœ",
		'Μ': "µΜμ", '×': "×", '÷': "÷", '\u00a0': "\u00a0",
		'Ⅰ': "Ⅰⅰ", 'Ⓐ': "Ⓐⓐ", 'Ａ': "Ａａ", 'Я': "Яя",
		'\uFFFD': "\uFFFD😀\U00010000\U0010FFFF",
		'Ǆ':      "Ǆǅǆ",
		'ⴀ':      "ⴀ", // U+2D00 Georgian: no folding outside MySQL's blocks
		'ꭰ':      "ꭰ", // U+AB70 Cherokee small letter: ditto
	}
	for w, members := range classes {
		for _, r := range members {
			if got := GeneralCIWeight(r); got != w {
				t.Errorf("GeneralCIWeight(%q U+%04X) = %q U+%04X, want %q", r, r, got, got, w)
			}
		}
	}
	for r := rune(0); r <= 0xFFFF; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		w := GeneralCIWeight(r)
		if w > 0xFFFF || (w >= 0xD800 && w <= 0xDFFF) || !utf8.ValidRune(w) {
			t.Fatalf("weight of U+%04X is U+%04X", r, w)
		}
		if GeneralCIWeight(w) != w {
			t.Fatalf("weight of U+%04X is U+%04X whose weight is U+%04X", r, w, GeneralCIWeight(w))
		}
		// The ASCII fast paths agree with the table.
		s := string(r)
		if got := CollationUTF8MB4GeneralCI.Compare(s, string(w)); got != 0 {
			t.Fatalf("Compare(U+%04X, its weight U+%04X) = %d", r, w, got)
		}
		k1, _ := AppendString(nil, s, CollationUTF8MB4GeneralCI)
		k2, _ := AppendString(nil, string(w), CollationUTF8MB4GeneralCI)
		if !bytes.Equal(k1, k2) {
			t.Fatalf("key(U+%04X) %x != key(weight U+%04X) %x", r, k1, w, k2)
		}
	}
}

func TestDecimalParse(t *testing.T) {
	good := []struct {
		in   string
		want Decimal
		str  string
	}{
		{"-123.4500", Decimal{true, "12345", -2}, "-123.45"},
		{"1.50", Decimal{false, "15", -1}, "1.5"},
		{"+7", Decimal{false, "7", 0}, "7"},
		{".5", Decimal{false, "5", -1}, "0.5"},
		{"5.", Decimal{false, "5", 0}, "5"},
		{"1200", Decimal{false, "12", 2}, "1200"},
		{"0.00120", Decimal{false, "12", -4}, "0.0012"},
		{"-0.000", Decimal{}, "0"},
		{"000", Decimal{}, "0"},
		{strings.Repeat("9", 65), Decimal{false, strings.Repeat("9", 65), 0}, strings.Repeat("9", 65)},
		{"0." + strings.Repeat("0", 64) + "1", Decimal{false, "1", -65}, "0." + strings.Repeat("0", 64) + "1"},
	}
	for _, tc := range good {
		d, err := ParseDecimal(tc.in)
		if err != nil || d != tc.want || d.String() != tc.str {
			t.Errorf("ParseDecimal(%q) = %+v (%s), %v; want %+v (%s)", tc.in, d, d, err, tc.want, tc.str)
		}
	}
	bad := []struct {
		in   string
		want error
	}{
		{"", ErrDecimal}, {"-", ErrDecimal}, {".", ErrDecimal}, {"1e5", ErrDecimal}, {"1.2.3", ErrDecimal},
		{"abc", ErrDecimal}, {" 1", ErrDecimal}, {"--1", ErrDecimal},
		{strings.Repeat("9", 66), ErrDecimalRange},
		{"1." + strings.Repeat("0", 64) + "1", ErrDecimalRange},
	}
	for _, tc := range bad {
		if _, err := ParseDecimal(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("ParseDecimal(%q) err %v, want %v", tc.in, err, tc.want)
		}
	}
	for _, d := range []Decimal{{Digits: "10"}, {Digits: "01"}, {Neg: true}, {Exp: 1}, {Digits: "1x"},
		{Digits: "1", Exp: 65}, {Digits: "1", Exp: -66}} {
		if _, err := AppendDecimal(nil, d); err == nil {
			t.Errorf("AppendDecimal(%+v) accepted a non-canonical or out-of-range decimal", d)
		}
	}
}

func TestErrors(t *testing.T) {
	intT := ColumnType{Kind: KindInt}
	if _, err := AppendKey(nil, intT, StringValue("x")); !errors.Is(err, ErrKindMismatch) {
		t.Errorf("kind mismatch: %v", err)
	}
	if _, err := AppendKey(nil, ColumnType{Kind: KindString}, StringValue("x")); !errors.Is(err, ErrInvalidType) {
		t.Errorf("string without collation: %v", err)
	}
	if _, err := AppendKey(nil, ColumnType{Kind: KindNull}, NullValue()); !errors.Is(err, ErrInvalidType) {
		t.Errorf("NULL column type: %v", err)
	}
	for _, c := range []Collation{CollationUTF8MB4Bin, CollationUTF8MB4GeneralCI} {
		dst := []byte("prefix")
		out, err := AppendString(dst, "ok\xffno", c)
		if !errors.Is(err, ErrInvalidUTF8) || string(out) != "prefix" {
			t.Errorf("%s invalid UTF-8: %q, %v", c, out, err)
		}
		if _, err := AppendString(nil, "\xed\xa0\x80", c); !errors.Is(err, ErrInvalidUTF8) { // surrogate
			t.Errorf("%s surrogate: %v", c, err)
		}
	}
	if _, err := AppendString(nil, "\xff", CollationBinary); err != nil {
		t.Errorf("binary collation rejected bytes: %v", err)
	}
	if _, err := AppendKey(nil, ColumnType{Kind: KindDate}, TimeValue(KindDate, DateTime{Year: 2024, Month: 1, Day: 1, Hour: 1})); !errors.Is(err, ErrDateTime) {
		t.Errorf("DATE with time: %v", err)
	}
	for _, dt := range []DateTime{{Year: 10000}, {Month: 13}, {Day: 32}, {Hour: 24}, {Minute: 60}, {Second: 60}, {Microsecond: 1000000}} {
		if _, err := AppendDateTime(nil, dt); !errors.Is(err, ErrDateTime) {
			t.Errorf("AppendDateTime(%v): %v", dt, err)
		}
	}
	// Typed decoders refuse NULL with ErrNull; DecodeKey returns NULL.
	null := AppendNull(nil)
	if !IsNull(null) || IsNull(AppendInt(nil, 0)) || IsNull(nil) {
		t.Error("IsNull")
	}
	if _, _, err := DecodeInt(null); !errors.Is(err, ErrNull) {
		t.Errorf("DecodeInt(NULL): %v", err)
	}
	if _, _, err := DecodeString(null, CollationBinary); !errors.Is(err, ErrNull) {
		t.Errorf("DecodeString(NULL): %v", err)
	}
	if v, rest, err := DecodeKey(append(null, 7), intT); err != nil || v.Kind != KindNull || !bytes.Equal(rest, []byte{7}) {
		t.Errorf("DecodeKey(NULL) = %v, %x, %v", v, rest, err)
	}
	// A long run of spaces inside a key is refused rather than mis-encoded.
	if _, err := AppendString(nil, strings.Repeat(" ", maxSpaceRun+1)+"x", CollationUTF8MB4Bin); !errors.Is(err, ErrTooLong) {
		t.Errorf("huge space run: %v", err)
	}
}

func TestVersionSuffix(t *testing.T) {
	rng := newRand(3)
	pk := AppendInt(nil, 99)
	csns := []uint64{0, 1, 2, math.MaxUint64, math.MaxUint64 - 1}
	for range 500 {
		csns = append(csns, rng.Uint64()>>rng.IntN(64))
	}
	keys := make([][]byte, len(csns))
	for i, c := range csns {
		keys[i] = AppendDescUint64(slices.Clip(pk), c)
		logical, csn, err := SplitVersion(keys[i])
		if err != nil || csn != c || !bytes.Equal(logical, pk) {
			t.Fatalf("SplitVersion(%x) = %x, %d, %v", keys[i], logical, csn, err)
		}
		got, rest, err := DecodeDescUint64(keys[i][len(pk):])
		if err != nil || got != c || len(rest) != 0 {
			t.Fatalf("DecodeDescUint64: %d, %x, %v; want %d", got, rest, err, c)
		}
	}
	for range 5000 {
		i, j := rng.IntN(len(csns)), rng.IntN(len(csns))
		if got, want := sign(bytes.Compare(keys[i], keys[j])), -cmp.Compare(csns[i], csns[j]); got != want {
			t.Fatalf("CSN %d vs %d: key order %d, want %d (newest first)", csns[i], csns[j], got, want)
		}
	}
	if _, _, err := SplitVersion([]byte{1, 2, 3}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short SplitVersion: %v", err)
	}
	// All versions of one row lie in [pk, PrefixEnd(pk)), and no version of
	// a neighbouring row does.
	end := PrefixEnd(pk)
	for _, k := range keys {
		if bytes.Compare(k, pk) < 0 || bytes.Compare(k, end) >= 0 {
			t.Fatalf("version key %x outside [%x, %x)", k, pk, end)
		}
	}
	for _, other := range []int64{98, 100} {
		for _, c := range []uint64{0, math.MaxUint64} {
			k := AppendDescUint64(AppendInt(nil, other), c)
			if in := bytes.Compare(k, pk) >= 0 && bytes.Compare(k, end) < 0; in {
				t.Fatalf("row %d version %d inside the range of row 99", other, c)
			}
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	cases := []struct{ in, want []byte }{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte{0xFF, 0xFF}, nil},
		{[]byte{1, 2}, []byte{1, 3}},
		{[]byte{1, 0xFF}, []byte{2}},
		{[]byte{0, 0xFF, 0xFF}, []byte{1}},
	}
	for _, tc := range cases {
		if got := PrefixEnd(tc.in); !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", tc.in, got, tc.want)
		}
	}
	in := []byte{5, 6}
	PrefixEnd(in)[0] = 9
	if in[0] != 5 {
		t.Error("PrefixEnd aliases its input")
	}
	rng := newRand(11)
	rb := func() []byte {
		b := make([]byte, rng.IntN(5))
		for i := range b {
			b[i] = []byte{0, 1, 0xFE, 0xFF}[rng.IntN(4)]
		}
		return b
	}
	for range 20000 {
		p, k := rb(), rb()
		end := PrefixEnd(p)
		inRange := bytes.Compare(k, p) >= 0 && (end == nil || bytes.Compare(k, end) < 0)
		if inRange != bytes.HasPrefix(k, p) {
			t.Fatalf("prefix %x end %x key %x: in range %v, has prefix %v", p, end, k, inRange, !inRange)
		}
	}
	// `col > v` starts at PrefixEnd(enc(v)) for a column followed by more.
	v := mustKey(t, ColumnType{Kind: KindString, Collation: CollationUTF8MB4GeneralCI}, StringValue("abc"))
	for _, s := range []string{"ABC", "abc  ", "abd", "abc!", "abc\t", "ab", "abcd"} {
		k := mustKey(t, ColumnType{Kind: KindString, Collation: CollationUTF8MB4GeneralCI}, StringValue(s))
		k = AppendInt(k, math.MaxInt64)
		want := CollationUTF8MB4GeneralCI.Compare(s, "abc") > 0
		if got := bytes.Compare(k, PrefixEnd(v)) >= 0; got != want {
			t.Errorf("%q > 'abc' by PrefixEnd: %v, want %v", s, got, want)
		}
	}
}

// TestCorruptInput: decoders never panic on garbage, Skip accepts what
// DecodeKey accepts and ends the column at the same place, and whatever decodes re-encodes to the bytes it came from (keys
// are canonical) except for general_ci, whose keys hold weights.
func TestCorruptInput(t *testing.T) {
	rng := newRand(5)
	var types []ColumnType
	for _, g := range gens {
		types = append(types, g.typ)
	}
	for range 20000 {
		typ := types[rng.IntN(len(types))]
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = []byte{0x00, 0x01, 0x02, 0x03, 0x20, 0x7E, 0x80, 0x81, 0xFE, 0xFF, byte(rng.IntN(256))}[rng.IntN(11)]
		}
		checkDecodeConsistent(t, b, typ)
	}
}

func checkDecodeConsistent(t *testing.T, b []byte, typ ColumnType) {
	t.Helper()
	v, rest, err := DecodeKey(b, typ)
	skipped, serr := Skip(b, typ)
	if serr != nil && !errors.Is(serr, ErrCorrupt) {
		t.Fatalf("%s %x: Skip error %v does not wrap ErrCorrupt", typ, b, serr)
	}
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s %x: error %v does not wrap ErrCorrupt", typ, b, err)
		}
		return // Skip checks structure only; it may accept what DecodeKey refuses
	}
	if serr != nil {
		t.Fatalf("%s %x: DecodeKey accepts, Skip refuses: %v", typ, b, serr)
	}
	if len(rest) != len(skipped) {
		t.Fatalf("%s %x: DecodeKey rest %x, Skip rest %x", typ, b, rest, skipped)
	}
	if typ.Collation == CollationUTF8MB4GeneralCI {
		return
	}
	consumed := b[:len(b)-len(rest)]
	again, err := AppendKey(nil, typ, v)
	if err != nil || !bytes.Equal(again, consumed) {
		t.Fatalf("%s %x decodes to %v which encodes to %x, %v", typ, consumed, v, again, err)
	}
}

func FuzzDecodeKey(f *testing.F) {
	for i, g := range gens {
		rng := newRand(1)
		for range 3 {
			f.Add(uint8(i), mustKey(f, g.typ, g.rand(rng).v))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		checkDecodeConsistent(t, b, gens[int(which)%len(gens)].typ)
	})
}

var sink []byte

func BenchmarkAppendInt(b *testing.B) {
	buf := make([]byte, 0, 64)
	for i := 0; b.Loop(); i++ {
		buf = AppendInt(buf[:0], int64(i))
	}
	sink = buf
}

func BenchmarkAppendString(b *testing.B) {
	s := "The quick brown fox jumps over t" // 32 bytes of ASCII
	if len(s) != 32 {
		b.Fatal(len(s))
	}
	for _, c := range []Collation{CollationBinary, CollationUTF8MB4Bin, CollationUTF8MB4GeneralCI} {
		b.Run(c.String(), func(b *testing.B) {
			buf := make([]byte, 0, 128)
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				buf, _ = AppendString(buf[:0], s, c)
			}
			sink = buf
		})
	}
}

func BenchmarkDecodeKey(b *testing.B) {
	typ := ColumnType{Kind: KindString, Collation: CollationUTF8MB4Bin}
	key := mustKey(b, typ, StringValue("The quick brown fox jumps over t"))
	for b.Loop() {
		v, _, _ := DecodeKey(key, typ)
		sink = v.Str
	}
}
