package driver

// Tests of the driver's plumbing against a fake session, independent of
// the SQL layer: argument conversion, statement life cycle, result sets,
// transactions, errors and shutdown.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polarsql/polar/compute/mysqlserver"
)

// fakeLog records the calls of every fake session of a test.
type fakeLog struct {
	mu      sync.Mutex
	calls   []string
	args    [][]any
	streams int // streams opened and not closed
}

func (l *fakeLog) add(format string, a ...any) {
	l.mu.Lock()
	l.calls = append(l.calls, fmt.Sprintf(format, a...))
	l.mu.Unlock()
}

func (l *fakeLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.calls, " | ")
}

func (l *fakeLog) has(call string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.calls {
		if c == call {
			return true
		}
	}
	return false
}

func (l *fakeLog) openStreams() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.streams
}

type fakeHandler struct {
	mysqlserver.BaseHandler
	log *fakeLog
}

// fakeStream yields n rows {i, "row<i>"}, reusing its row slice and byte
// buffer like a real iterator may.
type fakeStream struct {
	log    *fakeLog
	n, i   int
	row    []any
	buf    []byte
	closed bool
}

func (s *fakeStream) Next() ([]any, error) {
	if s.i == s.n {
		return nil, nil
	}
	s.i++
	s.buf = fmt.Appendf(s.buf[:0], "row%d", s.i)
	s.row[0], s.row[1] = int64(s.i), s.buf
	return s.row, nil
}

func (s *fakeStream) Close() error {
	if !s.closed {
		s.closed = true
		s.log.mu.Lock()
		s.log.streams--
		s.log.mu.Unlock()
	}
	return nil
}

func (h *fakeHandler) stream(n int) *fakeStream {
	h.log.mu.Lock()
	h.log.streams++
	h.log.mu.Unlock()
	return &fakeStream{log: h.log, n: n, row: make([]any, 2)}
}

var streamCols = []mysqlserver.Column{
	mysqlserver.NewColumn("n", mysqlserver.TypeLongLong),
	{Name: "s", Type: mysqlserver.TypeBlob},
}

func (h *fakeHandler) Query(ctx context.Context, text string) ([]*mysqlserver.Result, error) {
	h.log.add("Q:%s", text)
	switch text {
	case "multi":
		return []*mysqlserver.Result{
			{AffectedRows: 1},
			{Columns: []mysqlserver.Column{mysqlserver.NewColumn("a", mysqlserver.TypeLong)}, Rows: [][]any{{1}, {2}}},
			{AffectedRows: 2},
			{Columns: streamCols, Stream: h.stream(3)},
		}, nil
	case "stream":
		return []*mysqlserver.Result{{Columns: streamCols, Stream: h.stream(5)}}, nil
	case "fail":
		return []*mysqlserver.Result{{Columns: streamCols, Stream: h.stream(1)}},
			mysqlserver.CodeError(1062, "1", "PRIMARY")
	case "types":
		return []*mysqlserver.Result{{
			Columns: []mysqlserver.Column{
				mysqlserver.NewColumn("f", mysqlserver.TypeFloat),
				mysqlserver.NewColumn("d", mysqlserver.TypeDouble),
				mysqlserver.NewColumn("t", mysqlserver.TypeTime),
				mysqlserver.NewColumn("dec", mysqlserver.TypeNewDecimal),
				{Name: "u", Type: mysqlserver.TypeLongLong, Flags: mysqlserver.FlagUnsigned | mysqlserver.FlagNotNull},
				{Name: "v", Type: mysqlserver.TypeVarString},
				mysqlserver.NewColumn("dt", mysqlserver.TypeDateTime),
				mysqlserver.NewColumn("b", mysqlserver.TypeTiny),
			},
			Rows: [][]any{{float32(0.1), int64(3), time.Hour + 2*time.Minute + 3*time.Second, decimal("1.50"),
				uint64(math.MaxUint64), "x", time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), true}},
		}}, nil
	case "blocks":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return []*mysqlserver.Result{{AffectedRows: 1, LastInsertID: 7}}, nil
}

type decimal string

func (d decimal) String() string { return string(d) }

func (h *fakeHandler) Prepare(ctx context.Context, text string) (*mysqlserver.Prepared, error) {
	h.log.add("P:%s", text)
	p := &mysqlserver.Prepared{NumParams: strings.Count(text, "?")}
	if strings.HasPrefix(text, "SELECT") {
		for i := 0; i < p.NumParams; i++ {
			p.Columns = append(p.Columns, mysqlserver.Column{Name: fmt.Sprint("c", i), Type: mysqlserver.TypeVarString})
		}
	}
	return p, nil
}

func (h *fakeHandler) Execute(ctx context.Context, st *mysqlserver.Stmt, args []any) (*mysqlserver.Result, error) {
	h.log.add("E:%d", st.ID)
	h.log.mu.Lock()
	h.log.args = append(h.log.args, args)
	h.log.mu.Unlock()
	if len(st.Columns) > 0 {
		// No Columns: the prepared ones apply.
		return &mysqlserver.Result{Rows: [][]any{args}}, nil
	}
	return &mysqlserver.Result{AffectedRows: uint64(len(args))}, nil
}

func (h *fakeHandler) CloseStmt(st *mysqlserver.Stmt) { h.log.add("C:%d", st.ID) }

func (h *fakeHandler) Close() { h.log.add("close") }

// fakeDB returns a *sql.DB whose connections are fake sessions.
func fakeDB(t *testing.T) (*sql.DB, *fakeLog) {
	t.Helper()
	cn, err := NewConnector("mem:")
	if err != nil {
		t.Fatal(err)
	}
	log := &fakeLog{}
	cn.handler = func(mysqlserver.ConnInfo) mysqlserver.Handler { return &fakeHandler{log: log} }
	db := sql.OpenDB(cn)
	t.Cleanup(func() { db.Close() })
	return db, log
}

func TestFakeExecAndQuery(t *testing.T) {
	db, log := fakeDB(t)
	ctx := context.Background()
	res, err := db.ExecContext(ctx, "INSERT x")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("RowsAffected = %d", n)
	}
	if id, _ := res.LastInsertId(); id != 7 {
		t.Errorf("LastInsertId = %d", id)
	}
	if !log.has("Q:INSERT x") {
		t.Errorf("no text query: %s", log)
	}

	// With arguments: prepare, execute, close — never spliced into text.
	res, err = db.ExecContext(ctx, "INSERT ?, ?", 1, "a")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Errorf("RowsAffected = %d, want 2 (the fake counts arguments)", n)
	}
	if !log.has("P:INSERT ?, ?") || !log.has("E:1") || !log.has("C:1") {
		t.Errorf("want prepare/execute/close of statement 1: %s", log)
	}

	var got string
	if err := db.QueryRowContext(ctx, "SELECT ?", []byte("hi")).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "hi" {
		t.Errorf("SELECT ? = %q", got)
	}
	if !log.has("C:2") {
		t.Errorf("temporary statement not closed after its rows: %s", log)
	}

	if _, err := db.ExecContext(ctx, "INSERT ?", 1, 2); err == nil {
		t.Error("wrong argument count accepted")
	}
	if _, err := db.ExecContext(ctx, "INSERT ?", sql.Named("x", 1)); err == nil {
		t.Error("named argument accepted")
	}
}

func TestFakeArgumentTypes(t *testing.T) {
	db, log := fakeDB(t)
	berlin := time.FixedZone("CET", 3600)
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, berlin)
	buf := []byte("abc")
	if _, err := db.Exec("INSERT ?,?,?,?,?,?,?,?,?", nil, uint64(math.MaxUint64), time.Duration(90*time.Second),
		true, when, buf, int8(-3), float32(1.5), sql.NullString{String: "v", Valid: true}); err != nil {
		t.Fatal(err)
	}
	buf[0] = 'X' // the caller may reuse its buffer after the call
	args := log.args[0]
	want := []any{nil, uint64(math.MaxUint64), 90 * time.Second, int64(1), when.UTC(), []byte("abc"), int64(-3), float64(1.5), "v"}
	if !reflect.DeepEqual(args, want) {
		t.Errorf("session got %#v\nwant %#v", args, want)
	}
	if args[4].(time.Time).Location() != time.UTC {
		t.Errorf("time not sent in UTC: %v", args[4])
	}
}

func TestFakeStatementReuse(t *testing.T) {
	db, log := fakeDB(t)
	st, err := db.Prepare("SELECT ?")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		var got string
		if err := st.QueryRow(fmt.Sprint(i)).Scan(&got); err != nil || got != fmt.Sprint(i) {
			t.Fatalf("execute %d: %q, %v", i, got, err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "P:SELECT ?"); n != 1 {
		t.Errorf("prepared %d times: %s", n, log)
	}
	if !log.has("C:1") {
		t.Errorf("statement not closed: %s", log)
	}
}

func TestFakeTransactions(t *testing.T) {
	db, log := fakeDB(t)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	want := "Q:SET TRANSACTION ISOLATION LEVEL READ COMMITTED | Q:START TRANSACTION READ ONLY | Q:COMMIT | Q:START TRANSACTION | Q:ROLLBACK"
	if got := log.String(); got != want {
		t.Errorf("statements:\n got %s\nwant %s", got, want)
	}
	if _, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelLinearizable}); err == nil {
		t.Error("LevelLinearizable accepted")
	}
}

func TestFakeMultipleResultSets(t *testing.T) {
	db, log := fakeDB(t)
	rows, err := db.Query("multi")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sets [][]string
	for {
		cols, _ := rows.Columns()
		var vals []string
		for rows.Next() {
			v := make([]any, len(cols))
			for i := range v {
				v[i] = new(string)
			}
			if err := rows.Scan(v...); err != nil {
				t.Fatal(err)
			}
			vals = append(vals, *v[0].(*string))
		}
		sets = append(sets, append(cols[:1:1], vals...))
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "1", "2"}, {"n", "1", "2", "3"}}
	if !reflect.DeepEqual(sets, want) {
		t.Errorf("result sets %v, want %v", sets, want)
	}
	rows.Close()
	if n := log.openStreams(); n != 0 {
		t.Errorf("%d streams left open", n)
	}
}

// A statement while a result is still streaming on the same session reads
// the rest of it first, copying the iterator's reused buffers.
func TestFakeStreamBufferedByNextStatement(t *testing.T) {
	db, log := fakeDB(t)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.Query("stream")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	var s string
	rows.Next()
	if err := rows.Scan(&n, &s); err != nil || n != 1 || s != "row1" {
		t.Fatalf("first row %d %q %v", n, s, err)
	}
	if _, err := tx.Exec("UPDATE y"); err != nil {
		t.Fatal(err)
	}
	if log.openStreams() != 0 {
		t.Error("stream not drained and closed before the next statement")
	}
	var got []string
	for rows.Next() {
		if err := rows.Scan(&n, &s); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s", n, s))
	}
	if want := []string{"2 row2", "3 row3", "4 row4", "5 row5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rest of the stream %v, want %v", got, want)
	}
}

func TestFakeErrorsPassThrough(t *testing.T) {
	db, log := fakeDB(t)
	_, err := db.Exec("fail")
	var me *mysqlserver.Error
	if !errors.As(err, &me) || me.Code != 1062 {
		t.Fatalf("Exec error %v (%T), want *mysqlserver.Error 1062", err, err)
	}
	if _, err := db.Query("fail"); !errors.As(err, &me) {
		t.Fatalf("Query error %v", err)
	}
	if n := log.openStreams(); n != 0 {
		t.Errorf("%d streams of partial results left open", n)
	}
}

func TestFakeValueConversion(t *testing.T) {
	db, _ := fakeDB(t)
	rows, err := db.Query("types")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatal("no row")
	}
	vals := make([]any, 8)
	ptrs := make([]any, 8)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	want := []any{0.1, float64(3), []byte("01:02:03"), []byte("1.50"), uint64(math.MaxUint64), "x",
		time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), int64(1)}
	if !reflect.DeepEqual(vals, want) {
		t.Errorf("values %#v\nwant %#v", vals, want)
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ct := range types {
		names = append(names, ct.DatabaseTypeName())
	}
	if want := []string{"FLOAT", "DOUBLE", "TIME", "DECIMAL", "UNSIGNED BIGINT", "VARCHAR", "DATETIME", "TINYINT"}; !reflect.DeepEqual(names, want) {
		t.Errorf("type names %v, want %v", names, want)
	}
	if null, ok := types[4].Nullable(); !ok || null {
		t.Errorf("NOT NULL column reported nullable=%v ok=%v", null, ok)
	}
	if st := types[4].ScanType(); st != reflect.TypeFor[uint64]() {
		t.Errorf("scan type of unsigned bigint: %v", st)
	}
	if st := types[5].ScanType(); st != reflect.TypeFor[sql.NullString]() {
		t.Errorf("scan type of nullable varchar: %v", st)
	}
}

// db.Close interrupts statements on connections still in use, closes
// their sessions and makes them unusable.
func TestFakeCloseWhileInUse(t *testing.T) {
	db, log := fakeDB(t)
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c.QueryContext(ctx, "stream")
	if err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	c2, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := c2.ExecContext(ctx, "blocks")
		blocked <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it block (the test passes either way)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-blocked:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("blocked statement ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("db.Close did not interrupt a running statement")
	}
	if rows.Next() || !errors.Is(rows.Err(), errClosed) {
		t.Errorf("rows after db.Close: %v, want errClosed", rows.Err())
	}
	if n := log.openStreams(); n != 0 {
		t.Errorf("%d streams left open", n)
	}
	if got := strings.Count(log.String(), "close"); got != 2 {
		t.Errorf("%d sessions closed, want 2: %s", got, log)
	}
	if err := c.PingContext(ctx); err == nil {
		t.Error("connection usable after db.Close")
	}
	c.Close()
	c2.Close()
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn   string
		ok    bool
		multi bool
		key   string
	}{
		{"mem:", true, false, ""},
		{"mem:shared", true, false, "mem:shared"},
		{"mem:?multiStatements=true", true, true, ""},
		{"file:/x/y", true, false, "file:/x/y"},
		{"file:/x/y?multiStatements=1&logLevel=info", true, true, "file:/x/y"},
		{"file:", false, false, ""},
		{"/x/y", false, false, ""},
		{"dir=/x", false, false, ""},
		{"mysql://x", false, false, ""},
		{"mem:?bogus=1", false, false, ""},
		{"mem:?multiStatements=maybe", false, false, ""},
	} {
		cfg, err := parseDSN(tc.dsn)
		if (err == nil) != tc.ok {
			t.Errorf("parseDSN(%q) error %v, want ok=%v", tc.dsn, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if got := cfg.caps&(1<<16) != 0; got != tc.multi { // CLIENT_MULTI_STATEMENTS
			t.Errorf("parseDSN(%q) multiStatements=%v", tc.dsn, got)
		}
		if cfg.key != tc.key {
			t.Errorf("parseDSN(%q) key %q, want %q", tc.dsn, cfg.key, tc.key)
		}
	}
}
