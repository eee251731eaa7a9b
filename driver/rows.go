package driver

import (
	"database/sql"
	"database/sql/driver"
	"encoding"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/polarsql/polar/compute/mysqlserver"
)

// rows reads the results of one query.
type rows struct {
	c       *conn
	sets    []*resultSet
	cur     int
	onClose func() // releases the query's context (and a temporary statement)
	closed  bool   // guarded by c.mu
	// closeErr is why rows closed under their reader (the database
	// closed): Next reports it rather than a silent end of the result.
	closeErr error
}

// resultSet is one statement's result: prepared rows first, then those of
// the stream, then the stream's error.
type resultSet struct {
	cols   []mysqlserver.Column
	rows   [][]any
	pos    int
	stream mysqlserver.RowIterator
	err    error
}

var (
	_ driver.Rows                           = (*rows)(nil)
	_ driver.RowsNextResultSet              = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
)

// newRowsLocked wraps results; defCols are a prepared statement's columns,
// which a Result without Columns stands for (see mysqlserver.Handler's
// Execute). Reading starts at the first result with columns.
func (c *conn) newRowsLocked(res []*mysqlserver.Result, defCols []mysqlserver.Column, onClose func()) *rows {
	r := &rows{c: c, onClose: onClose}
	for _, x := range res {
		if x == nil {
			continue
		}
		cols := x.Columns
		if len(cols) == 0 && defCols != nil {
			cols = defCols
		}
		r.sets = append(r.sets, &resultSet{cols: cols, rows: x.Rows, stream: x.Stream})
	}
	if len(r.sets) == 0 {
		r.sets = []*resultSet{{}}
	}
	for i, s := range r.sets {
		if len(s.cols) > 0 {
			r.cur = i
			break
		}
	}
	c.open[r] = struct{}{}
	return r
}

// Columns implements driver.Rows.
func (r *rows) Columns() []string {
	cols := r.sets[r.cur].cols
	names := make([]string, len(cols))
	for i := range cols {
		names[i] = cols[i].Name
	}
	return names
}

// Next implements driver.Rows.
func (r *rows) Next(dest []driver.Value) error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if r.closed {
		if r.closeErr != nil {
			return r.closeErr
		}
		return io.EOF
	}
	s := r.sets[r.cur]
	var row []any
	switch {
	case s.pos < len(s.rows):
		row = s.rows[s.pos]
		s.pos++
	case s.stream != nil:
		var err error
		row, err = s.stream.Next()
		if err != nil || row == nil {
			_ = s.stream.Close()
			s.stream = nil
		}
		if err != nil {
			return err
		}
		if row == nil {
			return io.EOF
		}
	case s.err != nil:
		err := s.err
		s.err = nil
		return err
	default:
		return io.EOF
	}
	if len(row) != len(dest) {
		return fmt.Errorf("polar: row has %d values for %d columns", len(row), len(dest))
	}
	for i, v := range row {
		var err error
		if dest[i], err = value(v, &s.cols[i]); err != nil {
			return err
		}
	}
	return nil
}

// HasNextResultSet implements driver.RowsNextResultSet.
func (r *rows) HasNextResultSet() bool {
	return r.next() >= 0
}

// next returns the index of the next result with columns, or -1.
func (r *rows) next() int {
	for i := r.cur + 1; i < len(r.sets); i++ {
		if len(r.sets[i].cols) > 0 {
			return i
		}
	}
	return -1
}

// NextResultSet implements driver.RowsNextResultSet.
func (r *rows) NextResultSet() error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	n := r.next()
	if r.closed || n < 0 {
		return io.EOF
	}
	for ; r.cur < n; r.cur++ {
		if s := r.sets[r.cur]; s.stream != nil {
			_ = s.stream.Close()
			s.stream = nil
		}
	}
	return nil
}

// Close implements driver.Rows.
func (r *rows) Close() error {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	r.closeLocked(nil)
	return nil
}

// closeLocked closes the streams and releases the query; reason, if not
// nil, is what Next reports from now on.
func (r *rows) closeLocked(reason error) {
	if r.closed {
		return
	}
	r.closed, r.closeErr = true, reason
	for _, s := range r.sets {
		if s.stream != nil {
			_ = s.stream.Close()
			s.stream = nil
		}
	}
	delete(r.c.open, r)
	if r.onClose != nil {
		r.onClose()
	}
}

// bufferLocked reads the rest of every stream into memory, because the
// session is about to run another statement. A stream's error is kept for
// after its rows.
func (r *rows) bufferLocked() {
	for _, s := range r.sets[r.cur:] {
		if s.stream == nil {
			continue
		}
		// A fresh slice: a Handler may return shared pre-built rows.
		rest := slices.Clone(s.rows[s.pos:])
		s.pos = 0
		for {
			row, err := s.stream.Next()
			if err != nil {
				s.err = err
				break
			}
			if row == nil {
				break
			}
			// The iterator may reuse the row and its buffers.
			cp := make([]any, len(row))
			for i, v := range row {
				if b, ok := v.([]byte); ok {
					v = slices.Clone(b)
				}
				cp[i] = v
			}
			rest = append(rest, cp)
		}
		_ = s.stream.Close()
		s.stream = nil
		s.rows = rest
	}
}

// value converts a row value (see mysqlserver.Column for the Go types a
// Handler may use) to a driver.Value, the way a client of the binary
// protocol would see it: FLOAT/DOUBLE columns give float64, TIME gives its
// text, integers int64 (uint64 only above math.MaxInt64).
func value(v any, col *mysqlserver.Column) (driver.Value, error) {
	switch col.Type {
	case mysqlserver.TypeFloat, mysqlserver.TypeDouble:
		switch x := v.(type) {
		case float32:
			return shortFloat(x), nil
		case float64:
			return x, nil
		}
		if n, ok := v.(int64); ok {
			return float64(n), nil
		}
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
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
		if x > math.MaxInt64 {
			return x, nil
		}
		return int64(x), nil
	case uint:
		return value(uint64(x), col)
	case uint32:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case float64:
		return x, nil
	case float32:
		return shortFloat(x), nil
	case string:
		return x, nil
	case []byte:
		return slices.Clone(x), nil
	case time.Time:
		return x, nil
	case time.Duration:
		return mysqlserver.AppendText(nil, x, col) // what the text protocol shows
	case encoding.TextAppender:
		return x.AppendText(nil)
	case fmt.Stringer:
		return []byte(x.String()), nil
	}
	return nil, fmt.Errorf("polar: cannot convert %T value of column %q", v, col.Name)
}

// shortFloat widens a FLOAT by its shortest decimal form (0.1, not
// 0.10000000149011612), which is what the text protocol shows.
func shortFloat(f float32) float64 {
	d, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return d
}

// ColumnTypeDatabaseTypeName implements driver.RowsColumnTypeDatabaseTypeName
// with go-sql-driver/mysql's names ("INT", "UNSIGNED BIGINT", "VARCHAR", ...).
func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	col := &r.sets[r.cur].cols[i]
	binary := isBinary(col)
	name := ""
	switch col.Type {
	case mysqlserver.TypeTiny:
		name = "TINYINT"
	case mysqlserver.TypeShort:
		name = "SMALLINT"
	case mysqlserver.TypeInt24:
		name = "MEDIUMINT"
	case mysqlserver.TypeLong:
		name = "INT"
	case mysqlserver.TypeLongLong:
		name = "BIGINT"
	case mysqlserver.TypeYear:
		return "YEAR"
	case mysqlserver.TypeFloat:
		name = "FLOAT"
	case mysqlserver.TypeDouble:
		name = "DOUBLE"
	case mysqlserver.TypeDecimal, mysqlserver.TypeNewDecimal:
		name = "DECIMAL"
	case mysqlserver.TypeDate, mysqlserver.TypeNewDate:
		return "DATE"
	case mysqlserver.TypeDateTime:
		return "DATETIME"
	case mysqlserver.TypeTimestamp:
		return "TIMESTAMP"
	case mysqlserver.TypeTime:
		return "TIME"
	case mysqlserver.TypeNull:
		return "NULL"
	case mysqlserver.TypeBit:
		return "BIT"
	case mysqlserver.TypeJSON:
		return "JSON"
	case mysqlserver.TypeGeometry:
		return "GEOMETRY"
	case mysqlserver.TypeEnum:
		return "ENUM"
	case mysqlserver.TypeSet:
		return "SET"
	case mysqlserver.TypeTinyBlob:
		return pick(binary, "TINYBLOB", "TINYTEXT")
	case mysqlserver.TypeMediumBlob:
		return pick(binary, "MEDIUMBLOB", "MEDIUMTEXT")
	case mysqlserver.TypeLongBlob:
		return pick(binary, "LONGBLOB", "LONGTEXT")
	case mysqlserver.TypeBlob:
		return pick(binary, "BLOB", "TEXT")
	case mysqlserver.TypeVarchar, mysqlserver.TypeVarString:
		return pick(binary, "VARBINARY", "VARCHAR")
	case mysqlserver.TypeString:
		switch {
		case col.Flags&mysqlserver.FlagEnum != 0:
			return "ENUM"
		case col.Flags&mysqlserver.FlagSet != 0:
			return "SET"
		}
		return pick(binary, "BINARY", "CHAR")
	default:
		return ""
	}
	if col.Flags&mysqlserver.FlagUnsigned != 0 {
		return "UNSIGNED " + name
	}
	return name
}

// isBinary reports a binary (non-character) column. Charset 0 means the
// connection's collation for character types and binary for the rest,
// BLOBs included (see mysqlserver.Column).
func isBinary(col *mysqlserver.Column) bool {
	switch col.Type {
	case mysqlserver.TypeVarchar, mysqlserver.TypeVarString, mysqlserver.TypeString, mysqlserver.TypeEnum,
		mysqlserver.TypeSet, mysqlserver.TypeJSON:
		return col.Charset == mysqlserver.CollationBinary
	}
	return col.Charset == 0 || col.Charset == mysqlserver.CollationBinary
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// ColumnTypeNullable implements driver.RowsColumnTypeNullable.
func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) {
	return r.sets[r.cur].cols[i].Flags&mysqlserver.FlagNotNull == 0, true
}

var (
	scanInt64     = reflect.TypeFor[int64]()
	scanUint64    = reflect.TypeFor[uint64]()
	scanFloat64   = reflect.TypeFor[float64]()
	scanTime      = reflect.TypeFor[time.Time]()
	scanString    = reflect.TypeFor[string]()
	scanRawBytes  = reflect.TypeFor[sql.RawBytes]()
	scanNullInt   = reflect.TypeFor[sql.NullInt64]()
	scanNullUint  = reflect.TypeFor[sql.Null[uint64]]()
	scanNullFloat = reflect.TypeFor[sql.NullFloat64]()
	scanNullTime  = reflect.TypeFor[sql.NullTime]()
	scanNullStr   = reflect.TypeFor[sql.NullString]()
	scanAny       = reflect.TypeFor[any]()
)

// ColumnTypeScanType implements driver.RowsColumnTypeScanType.
func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	col := &r.sets[r.cur].cols[i]
	null := col.Flags&mysqlserver.FlagNotNull == 0
	switch col.Type {
	case mysqlserver.TypeTiny, mysqlserver.TypeShort, mysqlserver.TypeInt24, mysqlserver.TypeLong, mysqlserver.TypeYear:
		return pickType(null, scanNullInt, scanInt64)
	case mysqlserver.TypeLongLong:
		if col.Flags&mysqlserver.FlagUnsigned != 0 {
			return pickType(null, scanNullUint, scanUint64)
		}
		return pickType(null, scanNullInt, scanInt64)
	case mysqlserver.TypeFloat, mysqlserver.TypeDouble:
		return pickType(null, scanNullFloat, scanFloat64)
	case mysqlserver.TypeDate, mysqlserver.TypeNewDate, mysqlserver.TypeDateTime, mysqlserver.TypeTimestamp:
		return pickType(null, scanNullTime, scanTime)
	case mysqlserver.TypeVarchar, mysqlserver.TypeVarString, mysqlserver.TypeString, mysqlserver.TypeEnum,
		mysqlserver.TypeSet, mysqlserver.TypeJSON:
		if !isBinary(col) {
			return pickType(null, scanNullStr, scanString)
		}
		return scanRawBytes
	case mysqlserver.TypeNull:
		return scanAny
	}
	// DECIMAL, TIME, BIT, BLOB/TEXT, GEOMETRY.
	return scanRawBytes
}

func pickType(cond bool, a, b reflect.Type) reflect.Type {
	if cond {
		return a
	}
	return b
}
