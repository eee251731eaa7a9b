package keycodec

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// GeneralCIWeight returns the utf8mb4_general_ci weight of r. Two strings
// are equal under the collation when their weight strings are equal after
// PAD SPACE. The weights implemented are:
//
//   - U+0000–U+007F: ASCII 'a'–'z' weigh as 'A'–'Z'; every other ASCII
//     character weighs as itself.
//   - U+0080–U+00FF (Latin-1), exactly as MySQL: U+00B5 µ weighs as U+039C;
//     À-Å à-å → A, Ç ç → C, È-Ë è-ë → E, Ì-Ï ì-ï → I, Ñ ñ → N, Ò-Ö ò-ö → O,
//     Ù-Ü ù-ü → U, Ý ý ÿ → Y, ß → S; Æ æ → Æ, Ð ð → Ð, Ø ø → Ø, Þ þ → Þ;
//     everything else (× ÷, symbols, controls, NBSP) weighs as itself.
//   - U+0100–U+017F (Latin Extended-A), exactly as MySQL: letters with
//     diacritics weigh as their base capital letter (Ā ă Ą → A, Ć-č → C,
//     Ď ď → D, Ē-ě → E, Ĝ-ģ → G, Ĥ ĥ → H, Ĩ-ı → I, Ĵ ĵ → J, Ķ ķ → K,
//     Ĺ-ľ → L, Ń-ň → N, Ō-ő → O, Ŕ-ř → R, Ś-š and ſ → S, Ţ-ť → T,
//     Ũ-ų → U, Ŵ ŵ → W, Ŷ ŷ Ÿ → Y, Ź-ž → Z); the others (Đ Ħ Ĳ ĸ Ŀ Ł ŉ Ŋ
//     Œ Ŧ) weigh as their capital form.
//   - Other runes in the blocks MySQL's table covers (U+0180–U+05FF,
//     U+1E00–U+1FFF, U+2100–U+21FF, U+2400–U+24FF, U+FF00–U+FFFF): the
//     simple upper-case mapping, unicode.ToUpper. This is where Polar
//     differs from MySQL, which also strips accents there (for example
//     'ạ' U+1EA1, 'ά' U+03AC and 'ё' U+0451 weigh as A, Α and Е in MySQL
//     but as Ạ, Ά and Ё here), and in a few Unicode case pairs newer than
//     MySQL's table (ƀ/Ƀ, ⅎ/Ⅎ).
//   - Every other BMP rune weighs as itself (MySQL has no case folding
//     outside those blocks).
//   - Runes above U+FFFF weigh U+FFFD, as in MySQL: all supplementary
//     characters (emoji included) are equal to each other and to U+FFFD.
//
// Every weight is a BMP rune that is not a surrogate, and weights are
// idempotent: GeneralCIWeight(GeneralCIWeight(r)) == GeneralCIWeight(r).
func GeneralCIWeight(r rune) rune {
	if r < rune(len(lowWeights)) {
		if r < 0 {
			return 0xFFFD
		}
		return rune(lowWeights[r])
	}
	if r > 0xFFFF {
		return 0xFFFD
	}
	switch r >> 8 {
	case 0x01, 0x02, 0x03, 0x04, 0x05, 0x1E, 0x1F, 0x21, 0x24, 0xFF:
		return unicode.ToUpper(r)
	}
	return r
}

// lowWeights holds the weights of U+0000–U+017F.
var lowWeights = func() (w [0x180]uint16) {
	// Weights of U+00C0–U+00FF.
	latin1 := [64]rune{
		'A', 'A', 'A', 'A', 'A', 'A', 'Æ', 'C', 'E', 'E', 'E', 'E', 'I', 'I', 'I', 'I', // C0-CF
		'Ð', 'N', 'O', 'O', 'O', 'O', 'O', '×', 'Ø', 'U', 'U', 'U', 'U', 'Y', 'Þ', 'S', // D0-DF
		'A', 'A', 'A', 'A', 'A', 'A', 'Æ', 'C', 'E', 'E', 'E', 'E', 'I', 'I', 'I', 'I', // E0-EF
		'Ð', 'N', 'O', 'O', 'O', 'O', 'O', '÷', 'Ø', 'U', 'U', 'U', 'U', 'Y', 'Þ', 'Y', // F0-FF
	}
	// Latin Extended-A letters that weigh as a base letter.
	latinExtA := [...]struct{ lo, hi, base rune }{
		{0x100, 0x105, 'A'}, {0x106, 0x10D, 'C'}, {0x10E, 0x10F, 'D'}, {0x112, 0x11B, 'E'},
		{0x11C, 0x123, 'G'}, {0x124, 0x125, 'H'}, {0x128, 0x131, 'I'}, {0x134, 0x135, 'J'},
		{0x136, 0x137, 'K'}, {0x139, 0x13E, 'L'}, {0x143, 0x148, 'N'}, {0x14C, 0x151, 'O'},
		{0x154, 0x159, 'R'}, {0x15A, 0x161, 'S'}, {0x162, 0x165, 'T'}, {0x168, 0x173, 'U'},
		{0x174, 0x175, 'W'}, {0x176, 0x178, 'Y'}, {0x179, 0x17E, 'Z'}, {0x17F, 0x17F, 'S'},
	}
	for r := range w {
		w[r] = uint16(r)
	}
	for r := 'a'; r <= 'z'; r++ {
		w[r] = uint16(r - 'a' + 'A')
	}
	w[0xB5] = 0x039C
	for i, b := range latin1 {
		w[0xC0+i] = uint16(b)
	}
	for r := rune(0x100); r < 0x180; r++ {
		w[r] = uint16(unicode.ToUpper(r))
	}
	for _, f := range latinExtA {
		for r := f.lo; r <= f.hi; r++ {
			w[r] = uint16(f.base)
		}
	}
	return w
}()

// Compare compares two strings under collation c, as MySQL does: -1, 0 or
// +1. Under the PAD SPACE collations the shorter string is compared as if
// padded with spaces, so 'a' = 'a  ' and 'a\t' < 'a' (TAB sorts before
// space). Ill-formed UTF-8 bytes compare as U+FFFD (AppendString rejects
// them). For every pair of valid strings,
// Compare(a, b) == bytes.Compare(key(a), key(b)).
func (c Collation) Compare(a, b string) int {
	switch c {
	case CollationUTF8MB4Bin, CollationUTF8MB4GeneralCI:
	default:
		return strings.Compare(a, b)
	}
	ci := c == CollationUTF8MB4GeneralCI
	// Skip the byte-identical prefix, backed up to just after an ASCII
	// byte: that is a unit boundary in both strings whatever follows
	// (multi-byte and ill-formed sequences never contain ASCII bytes).
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	for p > 0 && a[p-1] >= utf8.RuneSelf {
		p--
	}
	i, j := p, p
	for i < len(a) && j < len(b) {
		var ua, ub rune
		ua, i = nextUnit(a, i, ci)
		ub, j = nextUnit(b, j, ci)
		if ua != ub {
			return cmpRune(ua, ub)
		}
	}
	// PAD SPACE: the first non-space unit of the longer tail decides.
	sign, s, k := 1, a, i
	if j < len(b) {
		sign, s, k = -1, b, j
	}
	for k < len(s) {
		var u rune
		u, k = nextUnit(s, k, ci)
		if u != ' ' {
			return sign * cmpRune(u, ' ')
		}
	}
	return 0
}

func cmpRune(a, b rune) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// nextUnit returns the collation unit (weight or code point) at s[i] and
// the index after it; ill-formed bytes are U+FFFD.
func nextUnit(s string, i int, ci bool) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		if ci && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		return rune(c), i + 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if ci {
		r = GeneralCIWeight(r)
	}
	return r, i + n
}
