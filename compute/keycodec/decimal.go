package keycodec

import (
	"fmt"
	"strings"
)

// MaxDecimalDigits is MySQL's DECIMAL precision limit: a Decimal's integer
// digits plus its fraction digits may not exceed it.
const MaxDecimalDigits = 65

// Decimal is an exact decimal number in canonical form:
//
//	value = (-1)^Neg × Digits × 10^Exp
//
// Digits holds the significant digits ('0'-'9') with no leading or trailing
// zero; zero is the zero Decimal (Digits "", Neg false, Exp 0). So 1.5 and
// 1.50 are the same Decimal {false, "15", -1}: a key does not keep the
// scale, the column type does. Build one with ParseDecimal.
type Decimal struct {
	Neg    bool
	Digits string
	Exp    int32
}

// ParseDecimal parses a plain decimal literal: an optional sign, digits,
// and an optional '.' with more digits ("-123.4500", "+7", ".5", "5.").
// Exponents are not accepted. The result is canonical; "-0.00" is zero.
// More than MaxDecimalDigits integer-plus-fraction digits (not counting
// leading zeros of the integer part or trailing zeros of the fraction) is
// ErrDecimalRange.
func ParseDecimal(s string) (Decimal, error) {
	in := s
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
	}
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return Decimal{}, fmt.Errorf("%w: %q", ErrDecimal, in)
	}
	intPart = strings.TrimLeft(intPart, "0")
	frac = strings.TrimRight(frac, "0")
	if len(intPart)+len(frac) > MaxDecimalDigits {
		return Decimal{}, fmt.Errorf("%w: %q has more than %d digits", ErrDecimalRange, in, MaxDecimalDigits)
	}
	exp := -len(frac)
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return Decimal{}, nil
	}
	n := len(digits)
	digits = strings.TrimRight(digits, "0")
	exp += n - len(digits)
	return Decimal{Neg: neg, Digits: digits, Exp: int32(exp)}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsZero reports whether d is zero.
func (d Decimal) IsZero() bool { return d.Digits == "" }

// String formats d as a plain decimal without trailing fraction zeros
// ("-123.45", "0.001", "1200", "0").
func (d Decimal) String() string {
	if d.Digits == "" {
		return "0"
	}
	var sb strings.Builder
	if d.Neg {
		sb.WriteByte('-')
	}
	n, e := len(d.Digits), int(d.Exp)
	switch {
	case e >= 0:
		sb.WriteString(d.Digits)
		sb.WriteString(strings.Repeat("0", e))
	case n+e > 0:
		sb.WriteString(d.Digits[:n+e])
		sb.WriteByte('.')
		sb.WriteString(d.Digits[n+e:])
	default:
		sb.WriteString("0.")
		sb.WriteString(strings.Repeat("0", -(n + e)))
		sb.WriteString(d.Digits)
	}
	return sb.String()
}

// check verifies that d is canonical and within MaxDecimalDigits.
func (d Decimal) check() error {
	if d.Digits == "" {
		if d.Neg || d.Exp != 0 {
			return fmt.Errorf("%w: non-canonical zero", ErrDecimal)
		}
		return nil
	}
	n := len(d.Digits)
	if !allDigits(d.Digits) || d.Digits[0] == '0' || d.Digits[n-1] == '0' {
		return fmt.Errorf("%w: non-canonical digits %q", ErrDecimal, d.Digits)
	}
	intDigits := max(0, n+int(d.Exp))
	fracDigits := max(0, -int(d.Exp))
	if intDigits+fracDigits > MaxDecimalDigits {
		return fmt.Errorf("%w: %d digits", ErrDecimalRange, intDigits+fracDigits)
	}
	return nil
}

// Decimal body tags (after the column flag).
const (
	decNeg  = 0x01
	decZero = 0x02
	decPos  = 0x03

	decExpBias = 0x80 // adjusted exponent is in [-64, 65]
)

// AppendDecimal appends a DECIMAL column. Layout after the flag: a sign
// tag (negative < zero < positive); for non-zero values the adjusted
// exponent E (value = 0.Digits × 10^E) as one byte E+128; then the digits
// in pairs, one byte per pair: 2×pair+1, except the last pair, 2×pair
// (an odd digit count is padded with a 0). The even last byte ends the
// encoding, and a shorter mantissa that is a prefix of a longer one sorts
// first. Negative values invert the exponent and pair bytes.
func AppendDecimal(dst []byte, d Decimal) ([]byte, error) {
	if err := d.check(); err != nil {
		return dst, err
	}
	dst = append(dst, flagNotNull)
	if d.Digits == "" {
		return append(dst, decZero), nil
	}
	tag, mask := byte(decPos), byte(0)
	if d.Neg {
		tag, mask = decNeg, 0xFF
	}
	e := len(d.Digits) + int(d.Exp)
	dst = append(dst, tag, byte(e+decExpBias)^mask)
	n := len(d.Digits)
	for i := 0; i < n; i += 2 {
		pair := (d.Digits[i] - '0') * 10
		if i+1 < n {
			pair += d.Digits[i+1] - '0'
		}
		b := pair*2 + 1
		if i+2 >= n {
			b--
		}
		dst = append(dst, b^mask)
	}
	return dst, nil
}

// scanDecimal parses a decimal body (after the flag) and returns its
// length; with decode it also returns the value.
func scanDecimal(b []byte, decode bool) (Decimal, int, error) {
	if len(b) == 0 {
		return Decimal{}, 0, corrupt("empty decimal")
	}
	var mask byte
	switch b[0] {
	case decZero:
		return Decimal{}, 1, nil
	case decPos:
	case decNeg:
		mask = 0xFF
	default:
		return Decimal{}, 0, corrupt("bad decimal tag")
	}
	if len(b) < 2 {
		return Decimal{}, 0, corrupt("short decimal")
	}
	e := int(b[1]^mask) - decExpBias
	var digits [MaxDecimalDigits + 1]byte
	nd := 0
	for i := 2; ; i++ {
		if i >= len(b) {
			return Decimal{}, 0, corrupt("unterminated decimal")
		}
		c := b[i] ^ mask
		pair := c >> 1
		last := c&1 == 0
		if pair > 99 || nd+2 > len(digits) || (nd == 0 && pair < 10) || (last && pair == 0) {
			return Decimal{}, 0, corrupt("bad decimal digits")
		}
		digits[nd], digits[nd+1] = '0'+pair/10, '0'+pair%10
		nd += 2
		if last {
			if digits[nd-1] == '0' {
				nd--
			}
			intDigits, fracDigits := max(0, e), max(0, nd-e)
			if intDigits+fracDigits > MaxDecimalDigits {
				return Decimal{}, 0, corrupt("decimal out of range")
			}
			if !decode {
				return Decimal{}, i + 1, nil
			}
			return Decimal{Neg: mask != 0, Digits: string(digits[:nd]), Exp: int32(e - nd)}, i + 1, nil
		}
	}
}

// DecodeDecimal decodes an AppendDecimal column and returns the rest of b.
func DecodeDecimal(b []byte) (Decimal, []byte, error) {
	body, err := checkFlag(b)
	if err != nil {
		return Decimal{}, b, err
	}
	d, n, err := scanDecimal(body, true)
	if err != nil {
		return Decimal{}, b, err
	}
	return d, body[n:], nil
}
