package keycodec

import (
	"encoding/binary"
	"fmt"
	"math"
)

const signBit = 1 << 63

// AppendInt appends a signed integer column: flag, then 8 bytes big-endian
// with the sign bit flipped, so negative numbers sort first.
func AppendInt(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, flagNotNull), uint64(v)^signBit)
}

// AppendUint appends an unsigned integer column: flag, then 8 bytes
// big-endian.
func AppendUint(dst []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, flagNotNull), v)
}

// AppendFloat appends a FLOAT/DOUBLE column: flag, then the IEEE-754 bits
// with the sign bit set for non-negative numbers and all bits inverted for
// negative ones. -0 is written as +0 (MySQL compares them equal); NaN is an
// error.
func AppendFloat(dst []byte, v float64) ([]byte, error) {
	if math.IsNaN(v) {
		return dst, ErrNaN
	}
	if v == 0 {
		v = 0 // normalise -0
	}
	u := math.Float64bits(v)
	if u&signBit != 0 {
		u = ^u
	} else {
		u |= signBit
	}
	return binary.BigEndian.AppendUint64(append(dst, flagNotNull), u), nil
}

// fixed8 reads the flag and an 8-byte body.
func fixed8(b []byte) (uint64, []byte, error) {
	body, err := checkFlag(b)
	if err != nil {
		return 0, b, err
	}
	if len(body) < 8 {
		return 0, b, corrupt("short fixed-width column")
	}
	return binary.BigEndian.Uint64(body), body[8:], nil
}

// DecodeInt decodes an AppendInt column and returns the rest of b.
func DecodeInt(b []byte) (int64, []byte, error) {
	u, rest, err := fixed8(b)
	return int64(u ^ signBit), rest, err
}

// DecodeUint decodes an AppendUint column and returns the rest of b.
func DecodeUint(b []byte) (uint64, []byte, error) {
	return fixed8(b)
}

// DecodeFloat decodes an AppendFloat column and returns the rest of b.
func DecodeFloat(b []byte) (float64, []byte, error) {
	u, rest, err := fixed8(b)
	if err != nil {
		return 0, b, err
	}
	if u&signBit != 0 {
		u &^= signBit
	} else {
		u = ^u
	}
	f := math.Float64frombits(u)
	if math.IsNaN(f) || u == 1<<63 {
		return 0, b, corrupt("NaN or -0 float")
	}
	return f, rest, nil
}

// DateTime is a DATE, DATETIME or TIMESTAMP value broken into fields, as
// MySQL holds it (MYSQL_TIME). Fields are not checked against the calendar
// (MySQL permits zero dates such as '2024-00-00' in some SQL modes); only
// their ranges are: Year 0..9999, Month 0..12, Day 0..31, Hour 0..23,
// Minute and Second 0..59, Microsecond 0..999999. DATETIME(fsp) values must
// already be rounded to fsp, TIMESTAMP values converted to UTC, and DATE
// values have a zero time part.
type DateTime struct {
	Year                             uint16
	Month, Day, Hour, Minute, Second uint8
	Microsecond                      uint32
}

// Validate checks the field ranges.
func (t DateTime) Validate() error {
	if t.Year > 9999 || t.Month > 12 || t.Day > 31 || t.Hour > 23 || t.Minute > 59 ||
		t.Second > 59 || t.Microsecond > 999999 {
		return fmt.Errorf("%w: %s", ErrDateTime, t)
	}
	return nil
}

// Pack returns MySQL's packed datetime integer
// ((((year*13+month)<<5 | day)<<17 | hour<<12 | minute<<6 | second)<<24 | µs),
// which orders chronologically for valid values and is below 2^63.
// It does not validate t.
func (t DateTime) Pack() uint64 {
	ymd := (uint64(t.Year)*13+uint64(t.Month))<<5 | uint64(t.Day)
	hms := uint64(t.Hour)<<12 | uint64(t.Minute)<<6 | uint64(t.Second)
	return (ymd<<17|hms)<<24 | uint64(t.Microsecond)
}

// UnpackDateTime is the inverse of DateTime.Pack for valid values.
func UnpackDateTime(p uint64) DateTime {
	us := p & (1<<24 - 1)
	p >>= 24
	hms, ymd := p&(1<<17-1), p>>17
	ym := ymd >> 5
	return DateTime{
		Year: uint16(ym / 13), Month: uint8(ym % 13), Day: uint8(ymd & 31),
		Hour: uint8(hms >> 12), Minute: uint8(hms >> 6 & 63), Second: uint8(hms & 63),
		Microsecond: uint32(us),
	}
}

// String formats t as 'YYYY-MM-DD hh:mm:ss.ffffff'.
func (t DateTime) String() string {
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%06d",
		t.Year, t.Month, t.Day, t.Hour, t.Minute, t.Second, t.Microsecond)
}

// AppendDateTime appends a DATE/DATETIME/TIMESTAMP column: flag, then
// t.Pack() as 8 bytes big-endian.
func AppendDateTime(dst []byte, t DateTime) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return dst, err
	}
	return binary.BigEndian.AppendUint64(append(dst, flagNotNull), t.Pack()), nil
}

// DecodeDateTime decodes an AppendDateTime column and returns the rest of b.
func DecodeDateTime(b []byte) (DateTime, []byte, error) {
	p, rest, err := fixed8(b)
	if err != nil {
		return DateTime{}, b, err
	}
	t := UnpackDateTime(p)
	if t.Validate() != nil || t.Pack() != p {
		return DateTime{}, b, corrupt("bad packed datetime")
	}
	return t, rest, nil
}

// VersionLen is the length of the MVCC version suffix.
const VersionLen = 8

// AppendDescUint64 appends ^v as 8 bytes big-endian, so larger v sort
// first. It encodes the MVCC version suffix `^CSN` of clustered and
// secondary index keys (newest version first). It has no NULL flag.
func AppendDescUint64(dst []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(dst, ^v)
}

// DecodeDescUint64 decodes an AppendDescUint64 suffix and returns the rest.
func DecodeDescUint64(b []byte) (uint64, []byte, error) {
	if len(b) < 8 {
		return 0, b, corrupt("short descending uint64")
	}
	return ^binary.BigEndian.Uint64(b), b[8:], nil
}

// SplitVersion splits a versioned key `cols ‖ ^CSN` into the logical key
// and the CSN. The logical key aliases key.
func SplitVersion(key []byte) (logical []byte, csn uint64, err error) {
	if len(key) < VersionLen {
		return nil, 0, corrupt("key shorter than its version suffix")
	}
	n := len(key) - VersionLen
	return key[:n:n], ^binary.BigEndian.Uint64(key[n:]), nil
}

// PrefixEnd returns the smallest key greater than every key that starts
// with prefix: the exclusive upper bound of a prefix scan. It returns nil
// when there is none (prefix empty or all 0xFF): scan to the end. The
// result never aliases prefix.
//
// Because column encodings are prefix-free, PrefixEnd(enc(v)) is also the
// smallest key whose column is greater than v: use it for `col > v`.
func PrefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xFF {
			end := make([]byte, i+1)
			copy(end, prefix)
			end[i]++
			return end
		}
	}
	return nil
}
