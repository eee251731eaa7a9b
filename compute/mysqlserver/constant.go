package mysqlserver

import (
	"context"
	"strings"
)

// ConstantHandler is the "protocol ceiling" handler: it answers every
// statement without doing any work, so a benchmark against it (e.g. sysbench
// oltp_point_select) measures the protocol stack alone — network, framing,
// parsing of commands and parameters, result encoding, buffering.
//
//   - A statement whose first word is SELECT, SHOW, WITH, VALUES, TABLE,
//     DESC/DESCRIBE or EXPLAIN returns one row with one column c
//     (CHAR(120) NOT NULL, like sysbench's) holding Value; anything else
//     (BEGIN, COMMIT, UPDATE, ...) returns OK with 0 affected rows.
//   - Prepare accepts anything: the parameter count is the number of '?'
//     outside quotes and comments, the result has column c or no columns as
//     above (so BEGIN/COMMIT prepare with 0 params and 0 columns).
//   - UseDB accepts any database; Status is always autocommit.
//
// It has no per-connection state: one value can serve every connection
// (ConstantFactory).
type ConstantHandler struct {
	BaseHandler
	row    *Result
	ok     *Result
	column []Column
}

// DefaultConstantValue looks like a sysbench c value (119 digits and dashes).
var DefaultConstantValue = strings.Repeat("83868641912-", 9) + "67847967377"

// NewConstantHandler returns a ConstantHandler answering value
// (DefaultConstantValue if empty).
func NewConstantHandler(value string) *ConstantHandler {
	if value == "" {
		value = DefaultConstantValue
	}
	col := NewColumn("c", TypeString)
	col.Table, col.OrgTable = "sbtest1", "sbtest1"
	col.Length = 480
	col.Flags = FlagNotNull
	cols := []Column{col}
	return &ConstantHandler{
		row:    &Result{Columns: cols, Rows: [][]any{{value}}},
		ok:     &Result{},
		column: cols,
	}
}

// ConstantFactory returns a Handler factory for New serving one shared
// ConstantHandler.
func ConstantFactory(value string) func(ConnInfo) Handler {
	h := NewConstantHandler(value)
	return func(ConnInfo) Handler { return h }
}

func (h *ConstantHandler) answer(sql string) *Result {
	if returnsRows(sql) {
		return h.row
	}
	return h.ok
}

// Query answers one constant result per statement.
func (h *ConstantHandler) Query(_ context.Context, sql string) ([]*Result, error) {
	return []*Result{h.answer(sql)}, nil
}

// Prepare accepts any statement.
func (h *ConstantHandler) Prepare(_ context.Context, sql string) (*Prepared, error) {
	p := &Prepared{NumParams: countParams(sql)}
	if returnsRows(sql) {
		p.Columns = h.column
	}
	return p, nil
}

// Execute answers the constant row or OK.
func (h *ConstantHandler) Execute(_ context.Context, st *Stmt, _ []any) (*Result, error) {
	if len(st.Columns) > 0 {
		return h.row, nil
	}
	return h.ok, nil
}

// FieldList returns column c.
func (h *ConstantHandler) FieldList(context.Context, string, string) ([]Column, error) {
	return h.column, nil
}

// returnsRows reports whether the statement's first keyword produces a
// result set.
func returnsRows(sql string) bool {
	w := firstWord(sql)
	switch strings.ToUpper(w) {
	case "SELECT", "SHOW", "WITH", "VALUES", "TABLE", "DESC", "DESCRIBE", "EXPLAIN":
		return true
	}
	return false
}

// firstWord returns the first keyword, skipping blanks, comments and '('.
func firstWord(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n(")
		switch {
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s[2:], "*/")
			if i < 0 {
				return ""
			}
			s = s[i+4:]
		case strings.HasPrefix(s, "-- "), strings.HasPrefix(s, "#"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		default:
			i := 0
			for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
				i++
			}
			return s[:i]
		}
	}
}

// countParams counts '?' placeholders outside quotes and comments.
func countParams(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '?':
			n++
		case '\'', '"', '`':
			for i++; i < len(s) && s[i] != ch; i++ {
				if s[i] == '\\' && ch != '`' {
					i++
				}
			}
		case '/':
			if i+1 < len(s) && s[i+1] == '*' {
				j := strings.Index(s[i+2:], "*/")
				if j < 0 {
					return n
				}
				i += j + 3
			}
		case '#':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return n
			}
			i += j
		case '-':
			if strings.HasPrefix(s[i:], "-- ") {
				j := strings.IndexByte(s[i:], '\n')
				if j < 0 {
					return n
				}
				i += j
			}
		}
	}
	return n
}
