package keycodec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Binary strings (CollationBinary): every 0x00 byte is written as 0x00 0xFF
// and the string ends with 0x00 0x01, so a string that is a prefix of
// another sorts first and no encoding is a prefix of another.
const (
	escByte   = 0x00
	escEscape = 0xFF
	escEnd    = 0x01
)

// PAD SPACE strings (CollationUTF8MB4Bin, CollationUTF8MB4GeneralCI) are a
// sequence of units: code points (utf8mb4_bin) or weights (general_ci),
// each written in UTF-8, whose byte order is code point order. A maximal
// run of k spaces is written as 0x20 and a run tag, and the end of the
// string as 0x20 padEnd: all three stand where the string has (or, padded,
// would have) a space, so they sort against any other unit exactly as a
// space does. Among themselves, remember that the end of a string means
// "spaces forever":
//
//   - a run followed by a unit below space ('a\t') sorts before the end,
//     the longer such run the later: tag k (1..125) or padLowBig + k as
//     4 bytes big-endian;
//   - a run followed by a unit above space ('a b') sorts after the end,
//     the longer such run the earlier: tag 0x100-k (0xFF..0x83), or
//     padHighBig + ^k as 4 bytes big-endian.
//
// Trailing spaces are never written (the string ends instead), which makes
// 'a' and 'a  ' one key.
const (
	padSpace    = 0x20
	padSmallMax = 0x7D // longest run with a one-byte tag
	padLowBig   = 0x7E
	padEnd      = 0x80
	padHighBig  = 0x81
	padHighMin  = 0x100 - padSmallMax // 0x83

	// maxSpaceRun bounds a run of spaces inside a key (far above any
	// index key length), so a corrupt key cannot make a decoder allocate
	// gigabytes.
	maxSpaceRun = 1 << 24
)

// AppendString appends a string column under collation c. utf8mb4
// collations reject ill-formed UTF-8 (ErrInvalidUTF8); the binary one
// accepts any bytes. On error dst is returned with its original length.
func AppendString(dst []byte, s string, c Collation) ([]byte, error) {
	switch c {
	case CollationBinary:
		return appendEscaped(append(dst, flagNotNull), s), nil
	case CollationUTF8MB4Bin, CollationUTF8MB4GeneralCI:
		out, err := appendPadSpace(append(dst, flagNotNull), s, c == CollationUTF8MB4GeneralCI)
		if err != nil {
			return dst, err
		}
		return out, nil
	}
	return dst, fmt.Errorf("%w: collation %s", ErrInvalidType, c)
}

// AppendBytes is AppendString for a byte slice.
func AppendBytes(dst []byte, b []byte, c Collation) ([]byte, error) {
	// The string does not outlive the call and b is not modified meanwhile.
	return AppendString(dst, unsafe.String(unsafe.SliceData(b), len(b)), c)
}

func appendEscaped(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, escByte)
		if i < 0 {
			dst = append(dst, s...)
			return append(dst, escByte, escEnd)
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, escEscape)
		s = s[i+1:]
	}
}

// appendPadSpace writes s as spans of non-space text separated by space
// runs. A run's direction is that of the first byte after it: every unit
// that is not ASCII (and every general_ci weight of one) is above space.
func appendPadSpace(dst []byte, s string, ci bool) ([]byte, error) {
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			j := i + 1
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j == len(s) {
				break // trailing spaces: PAD SPACE drops them
			}
			if j-i > maxSpaceRun {
				return dst, fmt.Errorf("%w: run of %d spaces", ErrTooLong, j-i)
			}
			dst = appendRun(dst, uint32(j-i), s[j] < ' ')
			i = j
		}
		j := strings.IndexByte(s[i:], ' ')
		if j < 0 {
			j = len(s)
		} else {
			j += i
		}
		span := s[i:j]
		var err error
		if ci {
			dst, err = appendWeights(dst, span)
		} else if utf8.ValidString(span) {
			dst = append(dst, span...)
		} else {
			err = invalidUTF8(span)
		}
		if err != nil {
			return dst, err
		}
		i = j
	}
	return append(dst, padSpace, padEnd), nil
}

// appendWeights writes the UTF-8 of each rune's general_ci weight.
func appendWeights(dst []byte, s string) ([]byte, error) {
	dst = slices.Grow(dst, len(s)) // weights take about as many bytes as the text
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return dst, invalidUTF8(s)
		}
		dst = utf8.AppendRune(dst, GeneralCIWeight(r))
		i += n
	}
	return dst, nil
}

func invalidUTF8(s string) error {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return fmt.Errorf("%w: bad byte 0x%02x", ErrInvalidUTF8, s[i])
		}
		i += n
	}
	return ErrInvalidUTF8
}

func appendRun(dst []byte, k uint32, low bool) []byte {
	dst = append(dst, padSpace)
	switch {
	case low && k <= padSmallMax:
		return append(dst, byte(k))
	case low:
		return binary.BigEndian.AppendUint32(append(dst, padLowBig), k)
	case k <= padSmallMax:
		return append(dst, byte(0x100-k))
	default:
		return binary.BigEndian.AppendUint32(append(dst, padHighBig), ^k)
	}
}

// DecodeString decodes an AppendString column and returns the string (a
// fresh copy) and the rest of b. What comes back depends on the collation:
// binary gives the original bytes, utf8mb4_bin the original without
// trailing spaces, utf8mb4_general_ci the weight string (see Collation).
func DecodeString(b []byte, c Collation) ([]byte, []byte, error) {
	if !c.valid() {
		return nil, b, fmt.Errorf("%w: collation %s", ErrInvalidType, c)
	}
	body, err := checkFlag(b)
	if err != nil {
		return nil, b, err
	}
	out := make([]byte, 0, len(body))
	n, err := scanString(body, c, &out)
	if err != nil {
		return nil, b, err
	}
	return out, body[n:], nil
}

// scanString parses a string body (after the flag) and returns its length;
// with out != nil it appends the decoded string to *out.
func scanString(b []byte, c Collation, out *[]byte) (int, error) {
	if c == CollationBinary {
		return scanEscaped(b, out)
	}
	return scanPadSpace(b, out)
}

func scanEscaped(b []byte, out *[]byte) (int, error) {
	pos := 0
	for {
		i := bytes.IndexByte(b[pos:], escByte)
		if i < 0 || pos+i+1 >= len(b) {
			return 0, corrupt("unterminated binary string")
		}
		i += pos
		if out != nil {
			*out = append(*out, b[pos:i]...)
		}
		switch b[i+1] {
		case escEnd:
			return i + 2, nil
		case escEscape:
			if out != nil {
				*out = append(*out, 0)
			}
			pos = i + 2
		default:
			return 0, corrupt("bad escape in binary string")
		}
	}
}

func scanPadSpace(b []byte, out *[]byte) (int, error) {
	i := 0
	for i < len(b) {
		c := b[i]
		if c != padSpace {
			n := 1
			if c >= utf8.RuneSelf {
				var r rune
				r, n = utf8.DecodeRune(b[i:])
				if r == utf8.RuneError && n == 1 {
					return 0, corrupt("bad UTF-8 in string key")
				}
			}
			if out != nil {
				*out = append(*out, b[i:i+n]...)
			}
			i += n
			continue
		}
		if i+1 >= len(b) {
			return 0, corrupt("truncated space run")
		}
		tag := b[i+1]
		i += 2
		var k uint32
		var low bool
		switch {
		case tag == padEnd:
			return i, nil
		case tag >= 1 && tag <= padSmallMax:
			k, low = uint32(tag), true
		case tag >= padHighMin:
			k = uint32(0x100 - int(tag))
		case tag == padLowBig || tag == padHighBig:
			if i+4 > len(b) {
				return 0, corrupt("truncated space run")
			}
			k, low = binary.BigEndian.Uint32(b[i:]), tag == padLowBig
			if !low {
				k = ^k
			}
			if k <= padSmallMax || k > maxSpaceRun {
				return 0, corrupt("bad space run length")
			}
			i += 4
		default:
			return 0, corrupt("bad space run tag")
		}
		// The unit after the run must exist and lie on the tagged side of
		// space.
		if i >= len(b) || b[i] == padSpace || (b[i] < padSpace) != low {
			return 0, corrupt("space run not followed by a matching unit")
		}
		if out != nil {
			for ; k > 0; k-- {
				*out = append(*out, ' ')
			}
		}
	}
	return 0, corrupt("unterminated string")
}
