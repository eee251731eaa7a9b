package mysqlserver

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// readLenEncInt reads a length-encoded integer; ok is false if b is too
// short or holds the NULL marker (0xfb) or the invalid 0xff.
func readLenEncInt(b []byte) (n uint64, size int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	switch b[0] {
	case 0xfb, 0xff:
		return 0, 0, false
	case 0xfc:
		if len(b) < 3 {
			return 0, 0, false
		}
		return uint64(binary.LittleEndian.Uint16(b[1:])), 3, true
	case 0xfd:
		if len(b) < 4 {
			return 0, 0, false
		}
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, 4, true
	case 0xfe:
		if len(b) < 9 {
			return 0, 0, false
		}
		return binary.LittleEndian.Uint64(b[1:]), 9, true
	}
	return uint64(b[0]), 1, true
}

// readLenEncBytes reads a length-encoded string (not copied).
func readLenEncBytes(b []byte) (s []byte, size int, ok bool) {
	n, k, ok := readLenEncInt(b)
	if !ok || uint64(len(b)-k) < n {
		return nil, 0, false
	}
	return b[k : k+int(n)], k + int(n), true
}

// appendTextRow appends a text-protocol row (ProtocolText::ResultsetRow).
func (c *conn) appendTextRow(b []byte, row []any, cols []Column) ([]byte, error) {
	if len(row) != len(cols) {
		return b, Errorf(mysql.ER_UNKNOWN_ERROR, "internal error: row has %d values for %d columns", len(row), len(cols))
	}
	var err error
	for i, v := range row {
		switch x := v.(type) {
		case nil:
			b = append(b, 0xfb)
		case string:
			b = appendLenEncString(b, x)
		case []byte:
			b = mysql.AppendLengthEncodedInteger(b, uint64(len(x)))
			b = append(b, x...)
		default:
			c.tmp, err = appendText(c.tmp[:0], v, &cols[i])
			if err != nil {
				return b, err
			}
			b = mysql.AppendLengthEncodedInteger(b, uint64(len(c.tmp)))
			b = append(b, c.tmp...)
		}
	}
	return b, nil
}

// AppendText appends the text-protocol form of a non-NULL value of column
// col, exactly as the server would send it (for embedded clients that
// want the same rendering).
func AppendText(b []byte, v any, col *Column) ([]byte, error) { return appendText(b, v, col) }

// appendText appends the text form of a non-NULL value.
func appendText(b []byte, v any, col *Column) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return append(b, x...), nil
	case []byte:
		return append(b, x...), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case bool:
		if x {
			return append(b, '1'), nil
		}
		return append(b, '0'), nil
	case float64:
		return appendFloat(b, x, col), nil
	case float32:
		c := *col
		if c.Type != TypeDecimal && c.Type != TypeNewDecimal {
			c.Type = TypeFloat
		}
		return appendFloat(b, float64(x), &c), nil
	case time.Time:
		switch col.Type {
		case TypeDate, TypeNewDate:
			return appendDate(b, x), nil
		case TypeTime:
			return appendClock(b, x.Hour(), x.Minute(), x.Second(), x.Nanosecond()/1000, col.Decimals), nil
		case TypeYear:
			return strconv.AppendInt(b, int64(x.Year()), 10), nil
		}
		b = appendDate(b, x)
		b = append(b, ' ')
		return appendClock(b, x.Hour(), x.Minute(), x.Second(), x.Nanosecond()/1000, col.Decimals), nil
	case time.Duration:
		return appendDuration(b, x, col.Decimals), nil
	case encoding.TextAppender:
		return x.AppendText(b)
	case fmt.Stringer:
		return append(b, x.String()...), nil
	}
	return b, Errorf(mysql.ER_UNKNOWN_ERROR, "internal error: cannot send a value of type %T in column %q", v, col.Name)
}

// appendFloat formats like MySQL: shortest round-trip digits, plain notation
// for exponents in [-5, 15), else "1.5e20"/"1e-7"; DECIMAL columns use their
// scale.
func appendFloat(b []byte, f float64, col *Column) []byte {
	bits := 64
	if col.Type == TypeFloat {
		bits = 32
	}
	if (col.Type == TypeDecimal || col.Type == TypeNewDecimal) && col.Decimals <= 30 {
		return strconv.AppendFloat(b, f, 'f', int(col.Decimals), 64)
	}
	if f == 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		if f == 0 {
			return append(b, '0')
		}
		return strconv.AppendFloat(b, f, 'g', -1, bits)
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	if exp >= -5 && exp < 15 {
		return strconv.AppendFloat(b, f, 'f', -1, bits)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, bits)
	// "1.5e+20" → "1.5e20", "1e-07" → "1e-7"
	for i := start; i < len(b); i++ {
		if b[i] != 'e' {
			continue
		}
		j := i + 1
		neg := b[j] == '-'
		k := j + 1
		for k < len(b)-1 && b[k] == '0' {
			k++
		}
		digits := append([]byte(nil), b[k:]...)
		b = b[:j]
		if neg {
			b = append(b, '-')
		}
		return append(b, digits...)
	}
	return b
}

func appendDate(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, int(m), 2)
	b = append(b, '-')
	return appendPadded(b, d, 2)
}

func appendClock(b []byte, h, m, s, us int, decimals uint8) []byte {
	b = appendPadded(b, h, 2)
	b = append(b, ':')
	b = appendPadded(b, m, 2)
	b = append(b, ':')
	b = appendPadded(b, s, 2)
	if decimals > 0 && decimals <= 6 {
		var frac [6]byte
		for i := 5; i >= 0; i-- {
			frac[i] = byte('0' + us%10)
			us /= 10
		}
		b = append(b, '.')
		b = append(b, frac[:decimals]...)
	}
	return b
}

func appendDuration(b []byte, d time.Duration, decimals uint8) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	us := int64(d / time.Microsecond)
	secs := us / 1e6
	return appendClock(b, int(secs/3600), int(secs/60%60), int(secs%60), int(us%1e6), decimals)
}

func appendPadded(b []byte, n, width int) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(n), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// appendBinaryRow appends a binary-protocol row
// (ProtocolBinary::ResultsetRow): 0x00, NULL bitmap (offset 2), values
// encoded as their column types require.
func (c *conn) appendBinaryRow(b []byte, row []any, cols []Column) ([]byte, error) {
	if len(row) != len(cols) {
		return b, Errorf(mysql.ER_UNKNOWN_ERROR, "internal error: row has %d values for %d columns", len(row), len(cols))
	}
	b = append(b, 0)
	bm := len(b)
	for range (len(cols) + 7 + 2) / 8 {
		b = append(b, 0)
	}
	var err error
	for i, v := range row {
		col := &cols[i]
		if v == nil || col.Type == TypeNull {
			b[bm+(i+2)/8] |= 1 << ((i + 2) % 8)
			continue
		}
		if b, err = c.appendBinaryValue(b, v, col); err != nil {
			return b, err
		}
	}
	return b, nil
}

func (c *conn) appendBinaryValue(b []byte, v any, col *Column) ([]byte, error) {
	switch col.Type {
	case TypeTiny:
		n, err := toInt64(v, col)
		return append(b, byte(n)), err
	case TypeShort, TypeYear:
		n, err := toInt64(v, col)
		return binary.LittleEndian.AppendUint16(b, uint16(n)), err
	case TypeLong, TypeInt24:
		n, err := toInt64(v, col)
		return binary.LittleEndian.AppendUint32(b, uint32(n)), err
	case TypeLongLong:
		n, err := toInt64(v, col)
		return binary.LittleEndian.AppendUint64(b, uint64(n)), err
	case TypeFloat:
		f, err := toFloat64(v, col)
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(f))), err
	case TypeDouble:
		f, err := toFloat64(v, col)
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(f)), err
	case TypeDate, TypeNewDate, TypeDateTime, TypeTimestamp:
		dt, err := toDateTime(v, col)
		if err != nil {
			return b, err
		}
		return appendBinaryDateTime(b, dt, col.Type == TypeDate || col.Type == TypeNewDate), nil
	case TypeTime:
		d, err := toDuration(v, col)
		if err != nil {
			return b, err
		}
		return appendBinaryTime(b, d), nil
	}
	// Strings, DECIMAL, BLOB, JSON, BIT, ENUM, SET, GEOMETRY: length-encoded.
	switch x := v.(type) {
	case string:
		return appendLenEncString(b, x), nil
	case []byte:
		b = mysql.AppendLengthEncodedInteger(b, uint64(len(x)))
		return append(b, x...), nil
	}
	var err error
	c.tmp, err = appendText(c.tmp[:0], v, col)
	if err != nil {
		return b, err
	}
	b = mysql.AppendLengthEncodedInteger(b, uint64(len(c.tmp)))
	return append(b, c.tmp...), nil
}

func convErr(v any, col *Column) error {
	return Errorf(mysql.ER_UNKNOWN_ERROR, "internal error: cannot send %T value %v as column %q of type %d", v, v, col.Name, col.Type)
}

// toInt64 converts an integer-like value; unsigned values keep their bits.
func toInt64(v any, col *Column) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	case uint:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case float64:
		return int64(math.Round(x)), nil
	case float32:
		return int64(math.Round(float64(x))), nil
	case time.Time:
		if col.Type == TypeYear {
			return int64(x.Year()), nil
		}
	case string, []byte:
		s := asString(x)
		if col.Flags&FlagUnsigned != 0 {
			if u, err := strconv.ParseUint(s, 10, 64); err == nil {
				return int64(u), nil
			}
		} else if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, convErr(v, col)
}

func toFloat64(v any, col *Column) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int16:
		return float64(x), nil
	case int8:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case uint:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case uint16:
		return float64(x), nil
	case uint8:
		return float64(x), nil
	case string, []byte:
		if f, err := strconv.ParseFloat(asString(x), 64); err == nil {
			return f, nil
		}
	}
	return 0, convErr(v, col)
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// dateTime is a broken-down DATE/DATETIME (zero dates allowed).
type dateTime struct {
	year, month, day, hour, minute, second, micro int
}

func toDateTime(v any, col *Column) (dateTime, error) {
	switch x := v.(type) {
	case time.Time:
		y, m, d := x.Date()
		return dateTime{y, int(m), d, x.Hour(), x.Minute(), x.Second(), x.Nanosecond() / 1000}, nil
	case string, []byte:
		if dt, ok := parseDateTime(asString(x)); ok {
			return dt, nil
		}
	}
	return dateTime{}, convErr(v, col)
}

// parseDateTime parses "YYYY-MM-DD[ HH:MM:SS[.ffffff]]" (also with 'T').
func parseDateTime(s string) (dateTime, bool) {
	var dt dateTime
	num := func(width int) (int, bool) {
		if len(s) < width {
			return 0, false
		}
		n := 0
		for i := 0; i < width; i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		s = s[width:]
		return n, true
	}
	sep := func(c ...byte) bool {
		if len(s) == 0 {
			return false
		}
		for _, x := range c {
			if s[0] == x {
				s = s[1:]
				return true
			}
		}
		return false
	}
	var ok bool
	if dt.year, ok = num(4); !ok || !sep('-') {
		return dt, false
	}
	if dt.month, ok = num(2); !ok || !sep('-') {
		return dt, false
	}
	if dt.day, ok = num(2); !ok {
		return dt, false
	}
	if len(s) == 0 {
		return dt, true
	}
	if !sep(' ', 'T') {
		return dt, false
	}
	if dt.hour, ok = num(2); !ok || !sep(':') {
		return dt, false
	}
	if dt.minute, ok = num(2); !ok || !sep(':') {
		return dt, false
	}
	if dt.second, ok = num(2); !ok {
		return dt, false
	}
	if sep('.') {
		digits := 0
		for len(s) > 0 && digits < 6 && s[0] >= '0' && s[0] <= '9' {
			dt.micro = dt.micro*10 + int(s[0]-'0')
			s = s[1:]
			digits++
		}
		if digits == 0 {
			return dt, false
		}
		for ; digits < 6; digits++ {
			dt.micro *= 10
		}
	}
	return dt, len(s) == 0
}

// appendBinaryDateTime: length byte 0, 4, 7 or 11, then the fields.
func appendBinaryDateTime(b []byte, dt dateTime, dateOnly bool) []byte {
	switch {
	case dt == dateTime{}:
		return append(b, 0)
	case dateOnly || (dt.hour == 0 && dt.minute == 0 && dt.second == 0 && dt.micro == 0):
		b = append(b, 4)
		b = binary.LittleEndian.AppendUint16(b, uint16(dt.year))
		return append(b, byte(dt.month), byte(dt.day))
	case dt.micro == 0:
		b = append(b, 7)
		b = binary.LittleEndian.AppendUint16(b, uint16(dt.year))
		return append(b, byte(dt.month), byte(dt.day), byte(dt.hour), byte(dt.minute), byte(dt.second))
	default:
		b = append(b, 11)
		b = binary.LittleEndian.AppendUint16(b, uint16(dt.year))
		b = append(b, byte(dt.month), byte(dt.day), byte(dt.hour), byte(dt.minute), byte(dt.second))
		return binary.LittleEndian.AppendUint32(b, uint32(dt.micro))
	}
}

func toDuration(v any, col *Column) (time.Duration, error) {
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case time.Time:
		return time.Duration(x.Hour())*time.Hour + time.Duration(x.Minute())*time.Minute +
			time.Duration(x.Second())*time.Second + time.Duration(x.Nanosecond()/1000)*time.Microsecond, nil
	case string, []byte:
		if d, ok := parseTime(asString(x)); ok {
			return d, nil
		}
	}
	return 0, convErr(v, col)
}

// parseTime parses "[-]H+:MM:SS[.ffffff]".
func parseTime(s string) (time.Duration, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	var parts [3]int
	for p := 0; p < 3; p++ {
		n, digits := 0, 0
		for len(s) > 0 && s[0] >= '0' && s[0] <= '9' && digits < 9 {
			n = n*10 + int(s[0]-'0')
			s = s[1:]
			digits++
		}
		if digits == 0 {
			return 0, false
		}
		parts[p] = n
		if p < 2 {
			if len(s) == 0 || s[0] != ':' {
				return 0, false
			}
			s = s[1:]
		}
	}
	us := 0
	if len(s) > 0 && s[0] == '.' {
		s = s[1:]
		digits := 0
		for len(s) > 0 && digits < 6 && s[0] >= '0' && s[0] <= '9' {
			us = us*10 + int(s[0]-'0')
			s = s[1:]
			digits++
		}
		for ; digits < 6; digits++ {
			us *= 10
		}
	}
	if len(s) != 0 || parts[1] > 59 || parts[2] > 59 {
		return 0, false
	}
	d := time.Duration(parts[0])*time.Hour + time.Duration(parts[1])*time.Minute +
		time.Duration(parts[2])*time.Second + time.Duration(us)*time.Microsecond
	if neg {
		d = -d
	}
	return d, true
}

// appendBinaryTime: length byte 0, 8 or 12, then sign, days, h, m, s, µs.
func appendBinaryTime(b []byte, d time.Duration) []byte {
	if d == 0 {
		return append(b, 0)
	}
	neg := byte(0)
	if d < 0 {
		neg, d = 1, -d
	}
	us := int64(d / time.Microsecond)
	secs := us / 1e6
	days := secs / 86400
	n := byte(8)
	if us%1e6 != 0 {
		n = 12
	}
	b = append(b, n, neg)
	b = binary.LittleEndian.AppendUint32(b, uint32(days))
	b = append(b, byte(secs/3600%24), byte(secs/60%60), byte(secs%60))
	if n == 12 {
		b = binary.LittleEndian.AppendUint32(b, uint32(us%1e6))
	}
	return b
}
