package expr

import (
	"strconv"
	"time"

	"github.com/polarsql/polar/compute/keycodec"
)

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// validDate reports whether the date part is a calendar date, or the zero
// date '0000-00-00' (which MySQL keeps as a value of its own).
func validDate(t keycodec.DateTime) bool {
	if t.Year == 0 && t.Month == 0 && t.Day == 0 {
		return true
	}
	if t.Year > 9999 || t.Month < 1 || t.Month > 12 || t.Day < 1 {
		return false
	}
	return int(t.Day) <= daysIn(int(t.Year), int(t.Month))
}

func validTime(t keycodec.DateTime) bool {
	return t.Hour <= 23 && t.Minute <= 59 && t.Second <= 59 && t.Microsecond <= 999999
}

// parseDateTime parses MySQL's date and datetime literals: 'YYYY-MM-DD',
// 'YY-MM-DD', 'YYYY-MM-DD hh:mm:ss[.ffffff]' (any punctuation as
// delimiter, 'T' or spaces between date and time), 'YYYYMMDD',
// 'YYYYMMDDhhmmss[.ffffff]', 'YYMMDD[hhmmss]'. hasTime reports whether a
// time part was present. Fractions past six digits are rounded.
func parseDateTime(s string) (t keycodec.DateTime, hasTime, ok bool) {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	if s == "" {
		return t, false, false
	}
	// Undelimited form: all digits (with an optional fraction).
	nd := 0
	for nd < len(s) && s[nd] >= '0' && s[nd] <= '9' {
		nd++
	}
	if nd == len(s) || (nd < len(s) && s[nd] == '.' && nd >= 12) {
		frac := ""
		if nd < len(s) {
			frac = s[nd+1:]
			if !allDigitsStr(frac) {
				return t, false, false
			}
		}
		digits := s[:nd]
		var f [6]int
		switch len(digits) {
		case 8, 14:
			f[0] = atoi(digits[:4])
			digits = digits[4:]
		case 6, 12:
			f[0] = year2(atoi(digits[:2]))
			digits = digits[2:]
		default:
			return t, false, false
		}
		for i := 1; len(digits) >= 2; i++ {
			f[i] = atoi(digits[:2])
			digits = digits[2:]
		}
		t = keycodec.DateTime{Year: uint16(f[0]), Month: uint8(f[1]), Day: uint8(f[2]), Hour: uint8(f[3]), Minute: uint8(f[4]), Second: uint8(f[5])}
		hasTime = nd >= 12
		return finishParse(t, frac, hasTime)
	}
	// Delimited form: up to six numeric fields plus a fraction.
	var f [6]int
	n := 0
	i := 0
	yearDigits := 0
	frac := ""
	hasTime = false
	for n < 6 {
		st := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == st || i-st > 4 && n > 0 || i-st > 6 {
			return t, false, false
		}
		f[n] = atoi(s[st:i])
		if n == 0 {
			yearDigits = i - st
		}
		n++
		if i == len(s) {
			break
		}
		if n == 6 {
			break
		}
		// Delimiters: between date and time 'T' or spaces; '.' before the
		// fraction only after the seconds.
		if n == 3 {
			if s[i] != 'T' && s[i] != ' ' {
				if !isPunct(s[i]) {
					return t, false, false
				}
			}
			i++
			for i < len(s) && s[i] == ' ' {
				i++
			}
			hasTime = true
			continue
		}
		if !isPunct(s[i]) {
			return t, false, false
		}
		i++
	}
	if n < 3 {
		return t, false, false
	}
	if i < len(s) {
		if n == 6 && s[i] == '.' {
			frac = s[i+1:]
			if !allDigitsStr(frac) {
				return t, false, false
			}
		} else {
			return t, false, false
		}
	}
	if n > 3 {
		hasTime = true
	}
	if yearDigits <= 2 {
		f[0] = year2(f[0])
	}
	if f[0] > 9999 || f[1] > 255 || f[2] > 255 || f[3] > 255 || f[4] > 255 || f[5] > 255 {
		return t, false, false
	}
	t = keycodec.DateTime{Year: uint16(f[0]), Month: uint8(f[1]), Day: uint8(f[2]), Hour: uint8(f[3]), Minute: uint8(f[4]), Second: uint8(f[5])}
	return finishParse(t, frac, hasTime)
}

func finishParse(t keycodec.DateTime, frac string, hasTime bool) (keycodec.DateTime, bool, bool) {
	roundUp := false
	if frac != "" {
		us := 0
		for k := 0; k < 6; k++ {
			us *= 10
			if k < len(frac) {
				us += int(frac[k] - '0')
			}
		}
		t.Microsecond = uint32(us)
		roundUp = len(frac) > 6 && frac[6] >= '5'
	}
	if !validDate(t) || !validTime(t) {
		return t, hasTime, false
	}
	if roundUp {
		t = addMicros(t, 1)
	}
	return t, hasTime, true
}

func isPunct(c byte) bool {
	return c > ' ' && c < 0x7F && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z')
}

func allDigitsStr(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// year2 maps a two-digit year as MySQL does: 70-99 → 1970-1999, 00-69 →
// 2000-2069.
func year2(y int) int {
	if y >= 100 {
		return y
	}
	if y >= 70 {
		return 1900 + y
	}
	return 2000 + y
}

// numDateTime converts a number in YYYYMMDD or YYYYMMDDhhmmss form (also
// YYMMDD, YYMMDDhhmmss) to a datetime.
func numDateTime(n int64, us uint32) (t keycodec.DateTime, hasTime, ok bool) {
	if n < 0 {
		return t, false, false
	}
	if n == 0 {
		return t, false, true
	}
	s := strconv.FormatInt(n, 10)
	switch {
	case len(s) <= 6:
		s = pad0(s, 6)
	case len(s) <= 8:
		s = pad0(s, 8)
	case len(s) <= 12:
		s = pad0(s, 12)
	case len(s) <= 14:
		s = pad0(s, 14)
	default:
		return t, false, false
	}
	t, hasTime, ok = parseDateTime(s)
	if ok && us != 0 {
		t.Microsecond = us
		hasTime = true
	}
	return t, hasTime, ok
}

func pad0(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// toDateTime converts a value to a datetime: temporal values as they are,
// strings parsed, numbers as YYYYMMDD[hhmmss]. hasTime is false for DATE
// results.
func toDateTime(v Value) (t keycodec.DateTime, hasTime, ok bool) {
	switch v.Kind {
	case kDate:
		return v.Time, false, true
	case kDT, kTS:
		return v.Time, true, true
	case kStr:
		return parseDateTime(bstr(v.Str))
	case kInt:
		return numDateTime(v.Int, 0)
	case kUint:
		if v.Uint > 1<<62 {
			return t, false, false
		}
		return numDateTime(int64(v.Uint), 0)
	case kDec:
		ip := decTrunc(v.Dec, 0)
		n, ok := decToInt(ip)
		if !ok {
			return t, false, false
		}
		fr := decRound(v.Dec, 6)
		us := int64(0)
		if f := bigOf(fr, 6); f.IsInt64() {
			us = f.Int64() - n*1000000
			if us < 0 {
				us = -us
			}
		}
		return numDateTime(n, uint32(us))
	case kFlt:
		if v.Float < 0 || v.Float > 1e15 {
			return t, false, false
		}
		n := int64(v.Float)
		us := int64((v.Float-float64(n))*1e6 + 0.5)
		if us >= 1000000 {
			us = 999999
		}
		return numDateTime(n, uint32(us))
	}
	return t, false, false
}

// goTime converts to a time.Time in UTC (zero dates become year 0).
func goTime(t keycodec.DateTime) time.Time {
	return time.Date(int(t.Year), time.Month(t.Month), int(t.Day), int(t.Hour), int(t.Minute), int(t.Second), int(t.Microsecond)*1000, time.UTC)
}

// fromGoTime converts a time.Time (in its own zone's wall clock) to a
// DateTime; ok is false outside years 0..9999.
func fromGoTime(g time.Time) (keycodec.DateTime, bool) {
	y := g.Year()
	if y < 0 || y > 9999 {
		return keycodec.DateTime{}, false
	}
	return keycodec.DateTime{Year: uint16(y), Month: uint8(g.Month()), Day: uint8(g.Day()), Hour: uint8(g.Hour()),
		Minute: uint8(g.Minute()), Second: uint8(g.Second()), Microsecond: uint32(g.Nanosecond() / 1000)}, true
}

func addMicros(t keycodec.DateTime, us int64) keycodec.DateTime {
	r, ok := fromGoTime(goTime(t).Add(time.Duration(us) * time.Microsecond))
	if !ok {
		return t
	}
	return r
}

// addMonths adds months, clamping the day to the end of the month (MySQL:
// '2024-01-31' + INTERVAL 1 MONTH = '2024-02-29').
func addMonths(t keycodec.DateTime, months int64) (keycodec.DateTime, bool) {
	m := int64(t.Year)*12 + int64(t.Month) - 1 + months
	if m < 0 || m/12 > 9999 {
		return t, false
	}
	t.Year, t.Month = uint16(m/12), uint8(m%12+1)
	if d := daysIn(int(t.Year), int(t.Month)); int(t.Day) > d {
		t.Day = uint8(d)
	}
	return t, true
}

// dayNumber is MySQL's TO_DAYS: days since year 0.
func dayNumber(t keycodec.DateTime) int64 {
	if t.Year == 0 && t.Month == 0 && t.Day == 0 {
		return 0
	}
	y, m, d := int64(t.Year), int64(t.Month), int64(t.Day)
	delsum := 365*y + 31*(m-1) + d
	if m <= 2 {
		y--
	} else {
		delsum -= (m*4 + 23) / 10
	}
	return delsum + y/4 - ((y/100+1)*3)/4
}

// weekday is 0 = Monday .. 6 = Sunday.
func weekday(t keycodec.DateTime) int {
	return int((dayNumber(t) + 5) % 7)
}

func dayOfYear(t keycodec.DateTime) int {
	return int(dayNumber(t) - dayNumber(keycodec.DateTime{Year: t.Year, Month: 1, Day: 1}) + 1)
}

var monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
var dayNames = [...]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

// dateFormat implements DATE_FORMAT's specifiers.
func dateFormat(t keycodec.DateTime, f string) []byte {
	out := make([]byte, 0, len(f)+16)
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 == len(f) {
			out = append(out, c)
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			out = append(out, pad0(strconv.Itoa(int(t.Year)), 4)...)
		case 'y':
			out = append2(out, int(t.Year)%100)
		case 'm':
			out = append2(out, int(t.Month))
		case 'c':
			out = strconv.AppendInt(out, int64(t.Month), 10)
		case 'd':
			out = append2(out, int(t.Day))
		case 'e':
			out = strconv.AppendInt(out, int64(t.Day), 10)
		case 'D':
			out = strconv.AppendInt(out, int64(t.Day), 10)
			suf := "th"
			if t.Day/10 != 1 {
				switch t.Day % 10 {
				case 1:
					suf = "st"
				case 2:
					suf = "nd"
				case 3:
					suf = "rd"
				}
			}
			out = append(out, suf...)
		case 'H':
			out = append2(out, int(t.Hour))
		case 'k':
			out = strconv.AppendInt(out, int64(t.Hour), 10)
		case 'h', 'I':
			out = append2(out, hour12(t.Hour))
		case 'l':
			out = strconv.AppendInt(out, int64(hour12(t.Hour)), 10)
		case 'i':
			out = append2(out, int(t.Minute))
		case 's', 'S':
			out = append2(out, int(t.Second))
		case 'f':
			out = append(out, pad0(strconv.Itoa(int(t.Microsecond)), 6)...)
		case 'p':
			if t.Hour < 12 {
				out = append(out, "AM"...)
			} else {
				out = append(out, "PM"...)
			}
		case 'r':
			out = append2(out, hour12(t.Hour))
			out = append(out, ':')
			out = append2(out, int(t.Minute))
			out = append(out, ':')
			out = append2(out, int(t.Second))
			if t.Hour < 12 {
				out = append(out, " AM"...)
			} else {
				out = append(out, " PM"...)
			}
		case 'T':
			out = appendTime(out, t, 0)
		case 'M':
			if t.Month >= 1 && t.Month <= 12 {
				out = append(out, monthNames[t.Month-1]...)
			}
		case 'b':
			if t.Month >= 1 && t.Month <= 12 {
				out = append(out, monthNames[t.Month-1][:3]...)
			}
		case 'W':
			if validDate(t) && t.Month != 0 {
				out = append(out, dayNames[weekday(t)]...)
			}
		case 'a':
			if validDate(t) && t.Month != 0 {
				out = append(out, dayNames[weekday(t)][:3]...)
			}
		case 'w':
			out = strconv.AppendInt(out, int64((weekday(t)+1)%7), 10)
		case 'j':
			out = append(out, pad0(strconv.Itoa(dayOfYear(t)), 3)...)
		default:
			out = append(out, f[i])
		}
	}
	return out
}

func hour12(h uint8) int {
	h12 := int(h) % 12
	if h12 == 0 {
		h12 = 12
	}
	return h12
}
