package sql

import (
	"bufio"
	"context"
	gosql "database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/polarsql/polar/bench/mariadb"
)

// diffSQLMode is the sql_mode both servers run with (Polar's default).
const diffSQLMode = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

// TestDifferential runs testdata/differential/*.sql against Polar (served
// over the MySQL protocol) and against a private MariaDB server, and
// compares what each statement returns: column names and values of result
// sets (in order only when the statement has ORDER BY), rows affected and
// last insert id of other statements, and the error number when a
// statement fails. A "-- skip: reason" line before a statement runs it on
// both servers without comparing, for documented known differences.
func TestDifferential(t *testing.T) {
	files, err := filepath.Glob("testdata/differential/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files in testdata/differential (err %v)", err)
	}
	corpus := make(map[string][]diffStmt, len(files))
	for _, f := range files {
		stmts, err := readDiffCorpus(f)
		if err != nil {
			t.Fatal(err)
		}
		corpus[f] = stmts
	}

	maria := mariadb.StartForTest(t)

	polarCfg := mysql.NewConfig()
	polarCfg.User = "root"
	polarCfg.Net = "tcp"
	polarCfg.Addr = serveTestDB(t)
	polar := openDiffEndpoint(t, "polar", polarCfg)
	mariaCfg, err := mysql.ParseDSN(maria.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	mdb := openDiffEndpoint(t, "mariadb", mariaCfg)

	total, skipped := 0, 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			name := "diff_" + strings.TrimSuffix(filepath.Base(f), ".sql")
			for _, e := range []*diffEndpoint{polar, mdb} {
				e.setDB(t, name)
			}
			for _, st := range corpus[f] {
				total++
				p := polar.run(st.text)
				m := mdb.run(st.text)
				if st.skip != "" {
					skipped++
					continue
				}
				ordered := strings.Contains(strings.ToUpper(st.text), "ORDER BY")
				if diff := compareDiffResults(p, m, ordered); diff != "" {
					t.Errorf("%s:%d: %s\n%s\n  polar:   %s\n  mariadb: %s",
						f, st.line, st.text, diff, p.String(), m.String())
				}
			}
		})
	}
	t.Logf("%d statements in %d files, %d skipped", total, len(files), skipped)
}

// diffStmt is one statement of a corpus file.
type diffStmt struct {
	line int    // first line
	text string // without the trailing ';'
	skip string // reason of a "-- skip:" line before it
}

// readDiffCorpus splits a corpus file into statements: each ends with a
// line ending in ';'. Lines starting with "--" outside a statement are
// comments; "-- skip: reason" marks the next statement.
func readDiffCorpus(path string) ([]diffStmt, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out  []diffStmt
		cur  []string
		line int
		at   int
		skip string
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line++
		l := strings.TrimRight(sc.Text(), " \t\r")
		if len(cur) == 0 {
			trimmed := strings.TrimSpace(l)
			if trimmed == "" {
				continue
			}
			if strings.HasPrefix(trimmed, "--") {
				if r, ok := strings.CutPrefix(trimmed, "-- skip:"); ok {
					skip = strings.TrimSpace(r)
					if skip == "" {
						return nil, fmt.Errorf("%s:%d: skip without a reason", path, line)
					}
				}
				continue
			}
			at = line
		}
		cur = append(cur, l)
		if strings.HasSuffix(l, ";") {
			text := strings.TrimSuffix(strings.Join(cur, "\n"), ";")
			out = append(out, diffStmt{line: at, text: strings.TrimSpace(text), skip: skip})
			cur, skip = nil, ""
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(cur) > 0 {
		return nil, fmt.Errorf("%s:%d: statement without a terminating ';'", path, at)
	}
	return out, nil
}

// diffEndpoint is one server with a single dedicated connection, so that
// session state (USE, transactions) carries from statement to statement.
type diffEndpoint struct {
	name string
	db   *gosql.DB
	conn *gosql.Conn
	cur  string // current database, restored after a reconnect
}

func openDiffEndpoint(t *testing.T, name string, cfg *mysql.Config) *diffEndpoint {
	t.Helper()
	cfg.Collation = "utf8mb4_general_ci"
	cfg.MultiStatements = false
	cfg.Timeout = 10 * time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := gosql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	e := &diffEndpoint{name: name, db: db}
	if err := e.connect(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return e
}

// connect (re)opens the connection and sets the session up.
func (e *diffEndpoint) connect() error {
	if e.conn != nil {
		e.conn.Close()
		e.conn = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	e.conn = c
	setup := []string{"SET NAMES utf8mb4 COLLATE utf8mb4_general_ci", "SET SESSION sql_mode = '" + diffSQLMode + "'"}
	if e.cur != "" {
		setup = append(setup, "USE `"+e.cur+"`")
	}
	for _, q := range setup {
		if _, err := c.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// setDB gives the endpoint a fresh database name and makes it current.
func (e *diffEndpoint) setDB(t *testing.T, name string) {
	t.Helper()
	for _, q := range []string{
		"DROP DATABASE IF EXISTS `" + name + "`",
		"CREATE DATABASE `" + name + "` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
		"USE `" + name + "`",
	} {
		if r := e.run(q); r.err != nil {
			t.Fatalf("%s: %s: %v", e.name, q, r.err)
		}
	}
	e.cur = name
}

// diffResult is what one statement returned.
type diffResult struct {
	err      error
	code     uint16 // MySQL error number, 0 if err is not a server error
	isQuery  bool
	cols     []string
	rows     [][]diffValue
	affected int64
	insertID int64
}

type diffValue struct {
	null bool
	s    string
}

func (v diffValue) String() string {
	if v.null {
		return "NULL"
	}
	return fmt.Sprintf("%q", v.s)
}

func (r *diffResult) String() string {
	switch {
	case r.err != nil:
		if r.code != 0 {
			return fmt.Sprintf("error %d: %v", r.code, r.err)
		}
		return fmt.Sprintf("error (not a server error): %v", r.err)
	case !r.isQuery:
		return fmt.Sprintf("ok affected=%d last_insert_id=%d", r.affected, r.insertID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "columns %q, %d rows", r.cols, len(r.rows))
	for i, row := range r.rows {
		if i == 20 {
			b.WriteString("\n    ...")
			break
		}
		b.WriteString("\n    ")
		for j, v := range row {
			if j > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(v.String())
		}
	}
	return b.String()
}

// returnsRows reports whether a statement is run with Query (it has a result
// set) rather than Exec.
func returnsRows(q string) bool {
	q = strings.TrimLeft(q, " \t\n(")
	word, _, _ := strings.Cut(q, " ")
	word, _, _ = strings.Cut(word, "\n")
	switch strings.ToUpper(word) {
	case "SELECT", "SHOW", "DESC", "DESCRIBE", "EXPLAIN", "WITH", "VALUES", "TABLE":
		return true
	}
	return false
}

// run executes one statement; after a connection-level failure it
// reconnects so later statements still run.
func (e *diffEndpoint) run(q string) *diffResult {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r := &diffResult{isQuery: returnsRows(q)}
	if r.isQuery {
		r.err = e.query(ctx, q, r)
	} else {
		var res gosql.Result
		res, r.err = e.conn.ExecContext(ctx, q)
		if r.err == nil {
			r.affected, _ = res.RowsAffected()
			r.insertID, _ = res.LastInsertId()
		}
	}
	if r.err != nil {
		var me *mysql.MySQLError
		if errors.As(r.err, &me) {
			r.code = me.Number
		} else if err := e.connect(); err != nil {
			r.err = fmt.Errorf("%w (reconnect: %v)", r.err, err)
		}
	}
	return r
}

func (e *diffEndpoint) query(ctx context.Context, q string, r *diffResult) error {
	rows, err := e.conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	if r.cols, err = rows.Columns(); err != nil {
		return err
	}
	raw := make([]gosql.RawBytes, len(r.cols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		row := make([]diffValue, len(raw))
		for i, b := range raw {
			row[i] = diffValue{null: b == nil, s: string(b)}
		}
		r.rows = append(r.rows, row)
	}
	return rows.Err()
}

// compareDiffResults describes how p and m differ ("" if they agree).
func compareDiffResults(p, m *diffResult, ordered bool) string {
	switch {
	case p.err != nil || m.err != nil:
		if p.err == nil || m.err == nil {
			return "only one server failed"
		}
		if p.code != m.code {
			return "different error numbers"
		}
		return ""
	case p.isQuery:
		if !slices.Equal(p.cols, m.cols) {
			return "different column names"
		}
		pr, mr := diffRowKeys(p.rows), diffRowKeys(m.rows)
		if !ordered {
			slices.Sort(pr)
			slices.Sort(mr)
		}
		if !slices.Equal(pr, mr) {
			if ordered {
				return "different rows (in order)"
			}
			return "different rows (compared sorted)"
		}
		return ""
	}
	if p.affected != m.affected {
		return "different rows affected"
	}
	if p.insertID != m.insertID {
		return "different last insert id"
	}
	return ""
}

func diffRowKeys(rows [][]diffValue) []string {
	out := make([]string, len(rows))
	for i, row := range rows {
		var b strings.Builder
		for _, v := range row {
			if v.null {
				b.WriteString("\x01N")
			} else {
				b.WriteString("\x02")
				b.WriteString(v.s)
			}
			b.WriteByte(0)
		}
		out[i] = b.String()
	}
	return out
}
