// Package keycodec encodes MySQL column values as memcomparable B+tree keys.
//
// For two values a and b of the same column type,
//
//	bytes.Compare(enc(a), enc(b)) == MySQL's ascending comparison of a and b
//
// and every column encoding is self-delimiting (no encoding is a proper
// prefix of another of the same type), so a key made by appending several
// columns compares column by column, like a MySQL composite index. The
// B+tree therefore never decodes keys to compare them.
//
// # Column encoding
//
// Every column starts with a flag byte: 0x00 for NULL (nothing follows; NULL
// sorts before every value, as in MySQL's ascending order) or 0x01 followed
// by the value's body:
//
//	KindInt        8 bytes big-endian, sign bit flipped (TINYINT..BIGINT)
//	KindUint       8 bytes big-endian (… UNSIGNED, YEAR, BIT)
//	KindFloat      IEEE-754 bits: sign bit set if >= 0, all bits inverted
//	               if < 0; -0 is written as +0; NaN is rejected
//	KindDecimal    sign tag, exponent byte, base-100 digit pairs (Decimal);
//	               1.5 and 1.50 are the same key; at most 65 digits
//	KindString     depends on the Collation:
//	  binary              raw bytes, 0x00 escaped as 0x00 0xFF, ended by
//	                      0x00 0x01; NO PAD; decodes to the original
//	  utf8mb4_bin         UTF-8 code points, PAD SPACE; decodes to the
//	                      original minus trailing spaces
//	  utf8mb4_general_ci  UTF-8 of each rune's GeneralCIWeight, PAD SPACE;
//	                      decodes to the weight string only
//	KindDate, KindDateTime, KindTimestamp
//	               DateTime.Pack() (MySQL's packed datetime), 8 bytes
//	               big-endian; TIMESTAMP in UTC
//
// PAD SPACE means a string compares as if padded with spaces to infinity:
// 'a' = 'a ' and 'a\t' < 'a' < 'a!'. Runs of spaces are encoded so that
// this holds byte-wise (see str.go). Because case-insensitive keys hold
// weights, not characters, a general_ci key cannot give back the original
// string: the row (the clustered-index value) holds it, and the key decodes
// to an equal-under-the-collation upper-cased form. Collation.Compare is
// the same order on strings, for the SQL layer.
//
// # Versions and ranges
//
// MVCC versions are part of the key: clustered key = pk ‖ ^CSN, secondary
// key = cols ‖ pk ‖ ^CSN. AppendDescUint64 writes the version suffix
// (bitwise NOT, big-endian) so that the newest version of a row sorts
// first, and SplitVersion takes it off again. PrefixEnd gives the
// exclusive upper bound of a prefix scan: all versions of a row are in
// [enc(pk), PrefixEnd(enc(pk))), and since columns are prefix-free,
// PrefixEnd(enc(v)) is also where `col > v` starts.
//
// # Usage
//
// Build a key by appending columns, with AppendKey and a ColumnType and
// Value, or with the typed appenders:
//
//	name := keycodec.ColumnType{Kind: keycodec.KindString,
//		Collation: keycodec.CollationUTF8MB4GeneralCI}
//	id := keycodec.ColumnType{Kind: keycodec.KindInt}
//
//	key, err := keycodec.AppendKey(nil, name, keycodec.StringValue("Zoë"))
//	if err != nil { … }
//	key = keycodec.AppendInt(key, 42)           // primary key column
//	key = keycodec.AppendDescUint64(key, csn)   // version suffix
//
//	logical, csn, err := keycodec.SplitVersion(key)
//	v, rest, err := keycodec.DecodeKey(logical, name) // v.Str == "ZOE"
//	pk, rest, err := keycodec.DecodeInt(rest)         // 42
//
// Typed decoders (DecodeInt, …) return ErrNull for a NULL column; use
// DecodeKey, or IsNull first, for nullable ones. Skip steps over a column
// without decoding it. All decoders return the rest of the buffer and
// reject malformed input with an error wrapping ErrCorrupt; none panics.
//
// Not covered yet: descending index columns (MySQL 8 DESC keys), NO PAD
// and UCA collations such as utf8mb4_0900_ai_ci, and the TIME type beyond
// encoding it as KindInt microseconds.
package keycodec
