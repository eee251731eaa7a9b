// Package row encodes table rows compactly, as the values of
// clustered-index entries (see keycodec for the keys). Column values are
// keycodec.Values; the column kinds come from the table schema the caller
// passes in, so a row holds no type tags.
//
// # Format
//
//	row     = version ncols nullmap column*
//	version = uvarint      the table's schema version the row was written with
//	ncols   = uvarint      number of columns in that version
//	nullmap = ceil(ncols/8) bytes; bit i%8 (LSB first) of byte i/8 is set
//	          when column i is NULL; the unused high bits of the last byte
//	          are zero
//	column  = one encoding per non-NULL column, in column order, by kind:
//
//	KindInt        zigzag varint (encoding/binary's Varint)
//	KindUint       uvarint
//	KindFloat      8 bytes IEEE-754 little-endian, exactly as given (the
//	               caller rounds FLOAT to float32 precision; -0 is kept);
//	               NaN is rejected
//	KindDecimal    uvarint h = ndigits<<1 | neg; zero is h = 0 and nothing
//	               follows; otherwise the exponent as a zigzag varint and
//	               the ndigits digits as packed BCD, two per byte, high
//	               nibble first, an odd count padded with a zero nibble.
//	               value = (-1)^neg × digits × 10^exponent, the canonical
//	               keycodec.Decimal (no leading or trailing zero digit, at
//	               most keycodec.MaxDecimalDigits digits)
//	KindString     uvarint length, then the original bytes (not a
//	               collation weight string)
//	KindDate, KindDateTime, KindTimestamp
//	               uvarint of keycodec.DateTime.Pack() (TIMESTAMP in UTC);
//	               a zero date is the single byte 0x00
//
// Every uvarint/varint is in its shortest form, and decoding accepts only
// what Encode produces: every valid encoding has exactly one decoding and
// re-encodes to the same bytes. A sysbench sbtest row (INT id, INT k,
// CHAR(120) c, CHAR(60) pad) takes 3 bytes of header, a varint per
// integer (3 bytes below 2^20, 4 below 2^27) and 1+120 and 1+60 bytes for
// the strings: 191 bytes with id and k below 2^20.
//
// # Schema versions
//
// Columns are only ever added at the end of a table's column list by
// ALTER TABLE … ADD COLUMN (in this encoding), so a row written with an
// older schema version is a prefix of the current column list. Decode
// accepts kinds longer than the row and returns only the columns the row
// holds; Upgrade appends the defaults of the later columns. A row with more
// columns than kinds is corrupt. Version reads the version without decoding
// the row, for callers that keep per-version schemas.
//
// # Aliasing
//
// DecodeInto and DecodeColumn do not copy strings: Value.Str aliases the
// input buffer (capacity-limited, so appending to it does not write into
// the buffer), which is what the hot path wants while a page is pinned.
// Decode copies all strings into one fresh allocation; Detach does the same
// for values from DecodeInto or DecodeColumn that must outlive the buffer.
// Decoded Decimal digit strings are always fresh.
//
// # Errors
//
// Malformed input makes the decoders return an error wrapping ErrCorrupt;
// they never panic, and never allocate more than the input's length
// justifies. Encode rejects values that the decoders would reject, with the
// keycodec error (ErrKindMismatch, ErrInvalidType, ErrDecimal,
// ErrDecimalRange, ErrDateTime, ErrNaN) or ErrColumnCount.
package row
