package row

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/polarsql/polar/compute/keycodec"
)

// Errors. Decoders report malformed input with ErrCorrupt; Encode reports
// bad values with the keycodec errors (see the package documentation).
var (
	// ErrCorrupt: the bytes are not a row encoding for the given kinds
	// (including a row with more columns than kinds).
	ErrCorrupt = errors.New("row: malformed row")
	// ErrColumnCount: Encode got a different number of values than kinds,
	// or DecodeColumn a column index outside kinds.
	ErrColumnCount = errors.New("row: wrong number of columns")
	// ErrMissingColumn: DecodeColumn asked for a column that the row does
	// not hold because it was written with an older schema version; the
	// column's value is its default.
	ErrMissingColumn = errors.New("row: column not in this row version")
)

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

func validKind(k keycodec.Kind) bool {
	return k >= keycodec.KindInt && k <= keycodec.KindTimestamp
}

func invalidKind(i int, k keycodec.Kind) error {
	return fmt.Errorf("%w: column %d has kind %s", keycodec.ErrInvalidType, i, k)
}

// Encode appends the row to dst and returns the extended slice. version is
// the table's schema version; kinds[i] is column i's keycodec.Kind and
// vals[i].Kind must be kinds[i] or KindNull (len(vals) == len(kinds)).
// Non-canonical decimals are normalized (1.50 is stored as 1.5). On error
// dst is returned with its original length.
func Encode(dst []byte, version uint32, kinds []keycodec.Kind, vals []keycodec.Value) ([]byte, error) {
	if len(vals) != len(kinds) {
		return dst, fmt.Errorf("%w: %d values for %d columns", ErrColumnCount, len(vals), len(kinds))
	}
	start := len(dst)
	dst = binary.AppendUvarint(dst, uint64(version))
	dst = binary.AppendUvarint(dst, uint64(len(kinds)))
	nullmap := len(dst)
	for range (len(kinds) + 7) / 8 {
		dst = append(dst, 0)
	}
	var err error
	for i, k := range kinds {
		v := &vals[i]
		if !validKind(k) {
			return dst[:start], invalidKind(i, k)
		}
		if v.Kind == keycodec.KindNull {
			dst[nullmap+i/8] |= 1 << (i % 8)
			continue
		}
		if v.Kind != k {
			return dst[:start], fmt.Errorf("%w: column %d: %s value for %s column", keycodec.ErrKindMismatch, i, v.Kind, k)
		}
		switch k {
		case keycodec.KindInt:
			dst = binary.AppendVarint(dst, v.Int)
		case keycodec.KindUint:
			dst = binary.AppendUvarint(dst, v.Uint)
		case keycodec.KindFloat:
			if math.IsNaN(v.Float) {
				return dst[:start], fmt.Errorf("%w: column %d", keycodec.ErrNaN, i)
			}
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Float))
		case keycodec.KindDecimal:
			dst, err = appendDecimal(dst, v.Dec)
		case keycodec.KindString:
			dst = binary.AppendUvarint(dst, uint64(len(v.Str)))
			dst = append(dst, v.Str...)
		default: // KindDate, KindDateTime, KindTimestamp
			err = v.Time.Validate()
			if err == nil && k == keycodec.KindDate && hasTime(v.Time) {
				err = fmt.Errorf("%w: DATE %s has a time part", keycodec.ErrDateTime, v.Time)
			}
			dst = binary.AppendUvarint(dst, v.Time.Pack())
		}
		if err != nil {
			return dst[:start], fmt.Errorf("column %d: %w", i, err)
		}
	}
	return dst, nil
}

func hasTime(t keycodec.DateTime) bool {
	return t.Hour|t.Minute|t.Second != 0 || t.Microsecond != 0
}

// appendDecimal appends d in canonical form (see the package doc).
func appendDecimal(dst []byte, d keycodec.Decimal) ([]byte, error) {
	digits := d.Digits
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return dst, fmt.Errorf("%w: non-digit %q in digits", keycodec.ErrDecimal, digits[i])
		}
	}
	i := 0
	for i < len(digits) && digits[i] == '0' {
		i++
	}
	digits = digits[i:]
	j := len(digits)
	for j > 0 && digits[j-1] == '0' {
		j--
	}
	exp := int64(d.Exp) + int64(len(digits)-j)
	digits = digits[:j]
	n := len(digits)
	if n == 0 {
		return append(dst, 0), nil
	}
	if n > keycodec.MaxDecimalDigits || exp < -keycodec.MaxDecimalDigits || exp > int64(keycodec.MaxDecimalDigits-n) {
		// Not formatting d: its String() of a huge exponent is huge.
		return dst, fmt.Errorf("%w: %d significant digits with exponent %d exceed %d digits",
			keycodec.ErrDecimalRange, n, exp, keycodec.MaxDecimalDigits)
	}
	h := uint64(n) << 1
	if d.Neg {
		h |= 1
	}
	dst = binary.AppendUvarint(dst, h)
	dst = binary.AppendVarint(dst, exp)
	for i := 0; i < n; i += 2 {
		b := (digits[i] - '0') << 4
		if i+1 < n {
			b |= digits[i+1] - '0'
		}
		dst = append(dst, b)
	}
	return dst, nil
}

// uvarint reads a shortest-form uvarint; n <= 0 means malformed.
func uvarint(b []byte) (uint64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	var x uint64
	var s uint
	for i := 0; i < len(b) && i < binary.MaxVarintLen64; i++ {
		c := b[i]
		if c < 0x80 {
			if c == 0 || i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -1 // not shortest form, or overflow
			}
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, -1
}

// varint reads a shortest-form zigzag varint; n <= 0 means malformed.
func varint(b []byte) (int64, int) {
	u, n := uvarint(b)
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x, n
}

// header is the parsed fixed part of a row.
type header struct {
	version uint32
	ncols   int
	nulls   []byte // the null bitmap
	body    []byte // the column encodings
}

func (h *header) isNull(i int) bool { return h.nulls[i/8]&(1<<(i%8)) != 0 }

func parseHeader(buf []byte, kinds []keycodec.Kind) (header, error) {
	var h header
	v, n := uvarint(buf)
	if n <= 0 || v > math.MaxUint32 {
		return h, corrupt("bad schema version")
	}
	h.version = uint32(v)
	buf = buf[n:]
	c, n := uvarint(buf)
	if n <= 0 {
		return h, corrupt("bad column count")
	}
	if c > uint64(len(kinds)) {
		return h, corrupt("row has %d columns, schema only %d", c, len(kinds))
	}
	h.ncols = int(c)
	buf = buf[n:]
	nb := (h.ncols + 7) / 8
	if len(buf) < nb {
		return h, corrupt("short null bitmap")
	}
	h.nulls, h.body = buf[:nb], buf[nb:]
	if h.ncols%8 != 0 && h.nulls[nb-1]>>(h.ncols%8) != 0 {
		return h, corrupt("null bitmap has bits past the last column")
	}
	return h, nil
}

// Version returns the schema version a row was written with, without
// decoding it.
func Version(buf []byte) (uint32, error) {
	v, n := uvarint(buf)
	if n <= 0 || v > math.MaxUint32 {
		return 0, corrupt("bad schema version")
	}
	return uint32(v), nil
}

// Decode decodes a row written with any schema version whose columns are a
// prefix of kinds. It returns the row's schema version and the values of
// the columns the row holds (len(vals) <= len(kinds); see Upgrade for the
// rest). Strings are fresh copies that do not alias buf.
func Decode(buf []byte, kinds []keycodec.Kind) (version uint32, vals []keycodec.Value, err error) {
	version, vals, err = DecodeInto(nil, buf, kinds)
	if err != nil {
		return 0, nil, err
	}
	Detach(vals)
	return version, vals, nil
}

// DecodeInto is Decode reusing dst's storage (vals is dst[:0] grown to the
// row's column count), so that a caller decoding many rows allocates
// nothing. Strings alias buf (see Detach); decimals allocate their digits.
// On error vals is dst[:0].
func DecodeInto(dst []keycodec.Value, buf []byte, kinds []keycodec.Kind) (version uint32, vals []keycodec.Value, err error) {
	h, err := parseHeader(buf, kinds)
	if err != nil {
		return 0, dst[:0], err
	}
	vals = slices.Grow(dst[:0], h.ncols)[:h.ncols]
	b := h.body
	for i := range h.ncols {
		if h.isNull(i) {
			if !validKind(kinds[i]) {
				return 0, dst[:0], invalidKind(i, kinds[i])
			}
			vals[i] = keycodec.Value{}
			continue
		}
		n, err := decodeValue(&vals[i], b, kinds[i], i)
		if err != nil {
			return 0, dst[:0], err
		}
		b = b[n:]
	}
	if len(b) != 0 {
		return 0, dst[:0], corrupt("%d bytes after the last column", len(b))
	}
	return h.version, vals, nil
}

// DecodeColumn decodes column i only, skipping the columns before it
// without decoding or allocating them: the hot path for
// `SELECT c FROM t WHERE id = ?`. A string aliases buf (see Detach). It
// returns ErrMissingColumn if the row was written before column i was
// added, and ErrColumnCount if i is outside kinds. It checks the columns
// before i only as far as needed to step over them, and those after i not
// at all, so it may succeed on a row that Decode rejects; it agrees with
// Decode on every row Decode accepts.
func DecodeColumn(buf []byte, kinds []keycodec.Kind, i int) (keycodec.Value, error) {
	if i < 0 || i >= len(kinds) {
		return keycodec.Value{}, fmt.Errorf("%w: column %d of %d", ErrColumnCount, i, len(kinds))
	}
	h, err := parseHeader(buf, kinds)
	if err != nil {
		return keycodec.Value{}, err
	}
	if i >= h.ncols {
		return keycodec.Value{}, ErrMissingColumn
	}
	b := h.body
	for j := range i {
		if h.isNull(j) {
			continue
		}
		n, err := skipValue(b, kinds[j], j)
		if err != nil {
			return keycodec.Value{}, err
		}
		b = b[n:]
	}
	var v keycodec.Value
	if h.isNull(i) {
		if !validKind(kinds[i]) {
			return v, invalidKind(i, kinds[i])
		}
		return v, nil
	}
	if _, err := decodeValue(&v, b, kinds[i], i); err != nil {
		return keycodec.Value{}, err
	}
	return v, nil
}

// decodeValue decodes the non-NULL column col of kind k from the start of
// b into *v and returns its length.
func decodeValue(v *keycodec.Value, b []byte, k keycodec.Kind, col int) (int, error) {
	*v = keycodec.Value{Kind: k}
	switch k {
	case keycodec.KindInt:
		x, n := varint(b)
		if n <= 0 {
			return 0, corrupt("column %d: bad INT varint", col)
		}
		v.Int = x
		return n, nil
	case keycodec.KindUint:
		x, n := uvarint(b)
		if n <= 0 {
			return 0, corrupt("column %d: bad UINT varint", col)
		}
		v.Uint = x
		return n, nil
	case keycodec.KindFloat:
		if len(b) < 8 {
			return 0, corrupt("column %d: short FLOAT", col)
		}
		v.Float = math.Float64frombits(binary.LittleEndian.Uint64(b))
		if math.IsNaN(v.Float) {
			return 0, corrupt("column %d: FLOAT is NaN", col)
		}
		return 8, nil
	case keycodec.KindDecimal:
		return decodeDecimal(&v.Dec, b, col)
	case keycodec.KindString:
		l, n := uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return 0, corrupt("column %d: bad string length", col)
		}
		end := n + int(l)
		v.Str = b[n:end:end]
		return end, nil
	case keycodec.KindDate, keycodec.KindDateTime, keycodec.KindTimestamp:
		p, n := uvarint(b)
		if n <= 0 {
			return 0, corrupt("column %d: bad date/time varint", col)
		}
		t := keycodec.UnpackDateTime(p)
		if t.Validate() != nil || t.Pack() != p || k == keycodec.KindDate && hasTime(t) {
			return 0, corrupt("column %d: bad packed %s", col, k)
		}
		v.Time = t
		return n, nil
	}
	*v = keycodec.Value{}
	return 0, invalidKind(col, k)
}

// decodeDecimal decodes a decimal body into *d and returns its length.
func decodeDecimal(d *keycodec.Decimal, b []byte, col int) (int, error) {
	nd, neg, exp, n, err := scanDecimal(b, col)
	if err != nil || nd == 0 {
		return n, err
	}
	var digits [keycodec.MaxDecimalDigits + 1]byte
	for i := range nd {
		c := b[n+i/2]
		if i%2 == 0 {
			c >>= 4
		}
		c &= 0x0F
		if c > 9 {
			return 0, corrupt("column %d: bad decimal digit", col)
		}
		digits[i] = '0' + c
	}
	if digits[0] == '0' || digits[nd-1] == '0' || nd%2 == 1 && b[n+nd/2]&0x0F != 0 {
		return 0, corrupt("column %d: non-canonical decimal digits", col)
	}
	*d = keycodec.Decimal{Neg: neg, Digits: string(digits[:nd]), Exp: int32(exp)}
	return n + (nd+1)/2, nil
}

// scanDecimal reads a decimal's header: digit count, sign, exponent and
// the header length n. For zero, nd is 0 and n is the whole length. It
// checks that the digits are present but not what they are.
func scanDecimal(b []byte, col int) (nd int, neg bool, exp int64, n int, err error) {
	h, n := uvarint(b)
	if n <= 0 {
		return 0, false, 0, 0, corrupt("column %d: bad decimal header", col)
	}
	if h == 0 {
		return 0, false, 0, n, nil
	}
	if h>>1 == 0 || h>>1 > keycodec.MaxDecimalDigits {
		return 0, false, 0, 0, corrupt("column %d: bad decimal digit count", col)
	}
	nd, neg = int(h>>1), h&1 != 0
	exp, m := varint(b[n:])
	if m <= 0 || exp < -keycodec.MaxDecimalDigits || exp > int64(keycodec.MaxDecimalDigits-nd) {
		return 0, false, 0, 0, corrupt("column %d: bad decimal exponent", col)
	}
	n += m
	if len(b)-n < (nd+1)/2 {
		return 0, false, 0, 0, corrupt("column %d: short decimal", col)
	}
	return nd, neg, exp, n, nil
}

// skipValue returns the length of the non-NULL column col of kind k at
// the start of b, checking its structure only.
func skipValue(b []byte, k keycodec.Kind, col int) (int, error) {
	switch k {
	case keycodec.KindInt, keycodec.KindUint, keycodec.KindDate, keycodec.KindDateTime, keycodec.KindTimestamp:
		_, n := uvarint(b)
		if n <= 0 {
			return 0, corrupt("column %d: bad varint", col)
		}
		return n, nil
	case keycodec.KindFloat:
		if len(b) < 8 {
			return 0, corrupt("column %d: short FLOAT", col)
		}
		return 8, nil
	case keycodec.KindDecimal:
		nd, _, _, n, err := scanDecimal(b, col)
		return n + (nd+1)/2, err
	case keycodec.KindString:
		l, n := uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return 0, corrupt("column %d: bad string length", col)
		}
		return n + int(l), nil
	}
	return 0, invalidKind(col, k)
}

// Detach copies the strings in vals (as returned by DecodeInto or
// DecodeColumn) into one fresh allocation, so that they no longer alias
// the decoded buffer.
func Detach(vals []keycodec.Value) {
	total := 0
	for i := range vals {
		if vals[i].Kind == keycodec.KindString {
			total += len(vals[i].Str)
		}
	}
	buf := make([]byte, 0, total)
	for i := range vals {
		v := &vals[i]
		if v.Kind != keycodec.KindString {
			continue
		}
		if len(v.Str) == 0 {
			v.Str = []byte{}
			continue
		}
		off := len(buf)
		buf = append(buf, v.Str...)
		v.Str = buf[off:len(buf):len(buf)]
	}
}

// Upgrade completes the values of a row written with an older schema
// version: defaults holds one value per column of the current schema, and
// the defaults of the columns missing at the end of vals are appended
// (their strings are shared with defaults, not copied). vals is returned
// unchanged if it is not shorter than defaults.
func Upgrade(vals, defaults []keycodec.Value) []keycodec.Value {
	if len(vals) >= len(defaults) {
		return vals
	}
	return append(vals, defaults[len(vals):]...)
}
