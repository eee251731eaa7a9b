package keycodec

import (
	"errors"
	"fmt"
)

// Kind is the type family of a key column. For a Value, KindNull marks SQL
// NULL (the zero Value is NULL).
type Kind uint8

const (
	// KindNull is the kind of a NULL Value. It is not a column kind.
	KindNull Kind = iota
	// KindInt: TINYINT, SMALLINT, MEDIUMINT, INT, BIGINT (signed), as int64.
	// Also usable for TIME as signed microseconds.
	KindInt
	// KindUint: the same types UNSIGNED, plus YEAR and BIT, as uint64.
	KindUint
	// KindFloat: FLOAT and DOUBLE, as float64 (FLOAT widened exactly).
	KindFloat
	// KindDecimal: DECIMAL(M,D) with M <= 65, as a Decimal.
	KindDecimal
	// KindString: CHAR, VARCHAR, TEXT, BINARY, VARBINARY, BLOB, ENUM/SET
	// members by name; the ColumnType's Collation decides the order.
	KindString
	// KindDate: DATE, as a DateTime whose time part is zero.
	KindDate
	// KindDateTime: DATETIME(fsp), as a DateTime (already rounded to fsp).
	KindDateTime
	// KindTimestamp: TIMESTAMP(fsp), as a DateTime in UTC.
	KindTimestamp
)

var kindNames = [...]string{"NULL", "INT", "UINT", "FLOAT", "DECIMAL", "STRING", "DATE", "DATETIME", "TIMESTAMP"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Collation decides how KindString values are ordered and encoded.
type Collation uint8

const (
	// CollationInvalid is the zero Collation; string columns must set one.
	CollationInvalid Collation = iota
	// CollationBinary is the `binary` collation of BINARY, VARBINARY and
	// BLOB: raw bytes, NO PAD (trailing spaces and zero bytes count).
	// Decodes to the original bytes.
	CollationBinary
	// CollationUTF8MB4Bin is utf8mb4_bin: code point order, PAD SPACE
	// (trailing spaces are ignored). Decodes to the original string with
	// trailing spaces removed.
	CollationUTF8MB4Bin
	// CollationUTF8MB4GeneralCI is utf8mb4_general_ci: one 16-bit weight per
	// code point (see GeneralCIWeight), PAD SPACE. The key holds the weight
	// string; it decodes to a string made of the weights, which equals the
	// original under the collation but is not the original (the row holds
	// that).
	CollationUTF8MB4GeneralCI
)

var collationNames = [...]string{"invalid", "binary", "utf8mb4_bin", "utf8mb4_general_ci"}

func (c Collation) String() string {
	if int(c) < len(collationNames) {
		return collationNames[c]
	}
	return fmt.Sprintf("Collation(%d)", uint8(c))
}

func (c Collation) valid() bool {
	return c >= CollationBinary && c <= CollationUTF8MB4GeneralCI
}

// ColumnType is the type of one key column.
type ColumnType struct {
	Kind      Kind
	Collation Collation // KindString only; ignored otherwise
}

func (t ColumnType) String() string {
	if t.Kind == KindString {
		return "STRING(" + t.Collation.String() + ")"
	}
	return t.Kind.String()
}

func (t ColumnType) validate() error {
	switch t.Kind {
	case KindInt, KindUint, KindFloat, KindDecimal, KindDate, KindDateTime, KindTimestamp:
		return nil
	case KindString:
		if t.Collation.valid() {
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrInvalidType, t)
}

// Value is one column value. Kind selects the field that holds it; the zero
// Value is NULL.
type Value struct {
	Kind  Kind
	Int   int64    // KindInt
	Uint  uint64   // KindUint
	Float float64  // KindFloat
	Dec   Decimal  // KindDecimal
	Str   []byte   // KindString
	Time  DateTime // KindDate, KindDateTime, KindTimestamp
}

// NullValue returns SQL NULL (the zero Value).
func NullValue() Value { return Value{} }

// IntValue returns a KindInt value.
func IntValue(v int64) Value { return Value{Kind: KindInt, Int: v} }

// UintValue returns a KindUint value.
func UintValue(v uint64) Value { return Value{Kind: KindUint, Uint: v} }

// FloatValue returns a KindFloat value.
func FloatValue(v float64) Value { return Value{Kind: KindFloat, Float: v} }

// DecimalValue returns a KindDecimal value.
func DecimalValue(d Decimal) Value { return Value{Kind: KindDecimal, Dec: d} }

// StringValue returns a KindString value holding a copy of s.
func StringValue(s string) Value { return Value{Kind: KindString, Str: []byte(s)} }

// BytesValue returns a KindString value that refers to b (not copied).
func BytesValue(b []byte) Value { return Value{Kind: KindString, Str: b} }

// TimeValue returns a value of kind KindDate, KindDateTime or KindTimestamp.
func TimeValue(k Kind, t DateTime) Value { return Value{Kind: k, Time: t} }

// Errors. Every error returned by this package wraps one of them.
var (
	// ErrCorrupt: the bytes are not a valid encoding of the column type.
	ErrCorrupt = errors.New("keycodec: malformed key")
	// ErrNull: a typed decoder (DecodeInt, ...) met a NULL column; use
	// DecodeKey or IsNull for nullable columns.
	ErrNull = errors.New("keycodec: column is NULL")
	// ErrInvalidType: the ColumnType is not usable (unknown kind, string
	// without collation).
	ErrInvalidType = errors.New("keycodec: invalid column type")
	// ErrKindMismatch: the Value's kind differs from the column's.
	ErrKindMismatch = errors.New("keycodec: value kind does not match column type")
	// ErrNaN: NaN has no place in MySQL's order.
	ErrNaN = errors.New("keycodec: NaN cannot be encoded")
	// ErrInvalidUTF8: a utf8mb4 string is not well-formed UTF-8.
	ErrInvalidUTF8 = errors.New("keycodec: invalid utf8mb4 string")
	// ErrTooLong: a string holds a run of more than 2^24 spaces, which no
	// index key can.
	ErrTooLong = errors.New("keycodec: value too long for a key")
	// ErrDecimal: a decimal literal does not parse, or a Decimal is not in
	// canonical form.
	ErrDecimal = errors.New("keycodec: invalid decimal")
	// ErrDecimalRange: a decimal needs more than MaxDecimalDigits digits.
	ErrDecimalRange = errors.New("keycodec: decimal out of range")
	// ErrDateTime: a DateTime field is out of range, or a DATE has a time.
	ErrDateTime = errors.New("keycodec: invalid date/time")
)

func corrupt(what string) error { return fmt.Errorf("%w: %s", ErrCorrupt, what) }

// Column flag bytes: the first byte of every column encoding.
const (
	flagNull    = 0x00 // NULL sorts before every value (ascending order)
	flagNotNull = 0x01
)

// AppendNull appends a NULL column.
func AppendNull(dst []byte) []byte { return append(dst, flagNull) }

// IsNull reports whether the column at the start of b is NULL.
func IsNull(b []byte) bool { return len(b) > 0 && b[0] == flagNull }

// AppendKey appends the encoding of v as a column of type t. A NULL v is
// accepted for every type. On error dst is returned with its original length.
func AppendKey(dst []byte, t ColumnType, v Value) ([]byte, error) {
	if err := t.validate(); err != nil {
		return dst, err
	}
	if v.Kind == KindNull {
		return AppendNull(dst), nil
	}
	if v.Kind != t.Kind {
		return dst, fmt.Errorf("%w: %s value for %s column", ErrKindMismatch, v.Kind, t)
	}
	switch t.Kind {
	case KindInt:
		return AppendInt(dst, v.Int), nil
	case KindUint:
		return AppendUint(dst, v.Uint), nil
	case KindFloat:
		return AppendFloat(dst, v.Float)
	case KindDecimal:
		return AppendDecimal(dst, v.Dec)
	case KindString:
		return AppendBytes(dst, v.Str, t.Collation)
	case KindDate:
		if v.Time.Hour|v.Time.Minute|v.Time.Second != 0 || v.Time.Microsecond != 0 {
			return dst, fmt.Errorf("%w: DATE %s has a time part", ErrDateTime, v.Time)
		}
		return AppendDateTime(dst, v.Time)
	default: // KindDateTime, KindTimestamp
		return AppendDateTime(dst, v.Time)
	}
}

// DecodeKey decodes one column of type t from the start of b and returns
// its value and the rest of b. NULL columns decode to the zero Value.
// Decoded strings are fresh copies. See Collation for what string
// keys decode to.
func DecodeKey(b []byte, t ColumnType) (Value, []byte, error) {
	if err := t.validate(); err != nil {
		return Value{}, b, err
	}
	if len(b) == 0 {
		return Value{}, b, corrupt("empty column")
	}
	if b[0] == flagNull {
		return Value{}, b[1:], nil
	}
	v := Value{Kind: t.Kind}
	var err error
	var rest []byte
	switch t.Kind {
	case KindInt:
		v.Int, rest, err = DecodeInt(b)
	case KindUint:
		v.Uint, rest, err = DecodeUint(b)
	case KindFloat:
		v.Float, rest, err = DecodeFloat(b)
	case KindDecimal:
		v.Dec, rest, err = DecodeDecimal(b)
	case KindString:
		v.Str, rest, err = DecodeString(b, t.Collation)
	default:
		v.Time, rest, err = DecodeDateTime(b)
		if err == nil && t.Kind == KindDate && (v.Time.Hour|v.Time.Minute|v.Time.Second != 0 || v.Time.Microsecond != 0) {
			err = corrupt("DATE with a time part")
		}
	}
	if err != nil {
		return Value{}, b, err
	}
	return v, rest, nil
}

// Skip returns b without its first column of type t, without decoding it
// (for example to reach the primary key inside a secondary-index key).
// It checks the structure only: it may accept a column that DecodeKey
// rejects (an out-of-range date, say), never the other way round.
func Skip(b []byte, t ColumnType) ([]byte, error) {
	if err := t.validate(); err != nil {
		return b, err
	}
	if len(b) == 0 {
		return b, corrupt("empty column")
	}
	switch b[0] {
	case flagNull:
		return b[1:], nil
	case flagNotNull:
	default:
		return b, corrupt("bad column flag")
	}
	switch t.Kind {
	case KindDecimal:
		_, n, err := scanDecimal(b[1:], false)
		if err != nil {
			return b, err
		}
		return b[1+n:], nil
	case KindString:
		n, err := scanString(b[1:], t.Collation, nil)
		if err != nil {
			return b, err
		}
		return b[1+n:], nil
	default: // fixed 8-byte bodies
		if len(b) < 9 {
			return b, corrupt("short fixed-width column")
		}
		return b[9:], nil
	}
}

// checkFlag consumes the not-null flag of a typed decoder's input.
func checkFlag(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return b, corrupt("empty column")
	}
	switch b[0] {
	case flagNotNull:
		return b[1:], nil
	case flagNull:
		return b, ErrNull
	}
	return b, corrupt("bad column flag")
}
