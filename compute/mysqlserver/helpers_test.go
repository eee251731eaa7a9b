package mysqlserver

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	_ "github.com/go-sql-driver/mysql"
)

// ---- a small in-memory handler ----

// testEnv is shared by the handlers of one test server.
type testEnv struct {
	mu       sync.Mutex
	closed   []uint32 // connection ids whose Close ran
	lastArgs []any
	lastTyp  []ParamType
	blocked  chan struct{} // closed when a BLOCK query started
	unblock  error         // error BLOCK returned
}

func (e *testEnv) closedIDs() []uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]uint32(nil), e.closed...)
}

// waitClosed waits until the Close hook ran for n connections.
func (e *testEnv) waitClosed(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(e.closedIDs()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("Close hook ran for %d connections, want %d", len(e.closedIDs()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type testHandler struct {
	env   *testEnv
	info  ConnInfo
	db    string
	inTxn bool
}

var (
	tDatetime = func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			panic(err)
		}
		return tm
	}
	tableCols = func() []Column {
		id := NewColumn("id", TypeLong)
		id.Flags |= FlagNotNull | FlagPriKey
		big := NewColumn("big", TypeLongLong)
		name := NewColumn("name", TypeVarString)
		name.Length = 256
		score := NewColumn("score", TypeDouble)
		amount := NewColumn("amount", TypeNewDecimal)
		amount.Length, amount.Decimals = 12, 2
		created := NewColumn("created", TypeDateTime)
		note := NewColumn("note", TypeVarString)
		note.Length = 80
		cols := []Column{id, big, name, score, amount, created, note}
		for i := range cols {
			cols[i].Schema, cols[i].Table, cols[i].OrgTable = "test", "t", "t"
		}
		return cols
	}()
	tableRows = [][]any{
		{int64(1), int64(9000000000), "alice", 1.5, "12.34", tDatetime("2024-01-02 03:04:05"), "x"},
		{int32(2), int64(-5), "bob", -0.25, "-0.50", tDatetime("1999-12-31 23:59:59"), nil},
		{3, int64(0), "", 1e20, "0.00", tDatetime("2000-02-29 00:00:00"), "日本"},
	}
)

func newTestFactory(env *testEnv) func(ConnInfo) Handler {
	return func(ci ConnInfo) Handler { return &testHandler{env: env, info: ci} }
}

func (h *testHandler) UseDB(_ context.Context, db string) error {
	if db != "test" && db != "sbtest" {
		return CodeError(mysql.ER_BAD_DB_ERROR, db)
	}
	h.db = db
	return nil
}

func intResult(name string, v int64) *Result {
	return &Result{Columns: []Column{NewColumn(name, TypeLongLong)}, Rows: [][]any{{v}}}
}

type countIter struct {
	n, i int
	fail bool
	row  []any
}

func (it *countIter) Next() ([]any, error) {
	if it.fail && it.i == 2 {
		return nil, NewError(1213, "40001", "Deadlock found when trying to get lock; try restarting transaction")
	}
	if it.i >= it.n {
		return nil, nil
	}
	it.i++
	it.row = append(it.row[:0], int64(it.i))
	return it.row, nil
}
func (it *countIter) Close() error { return nil }

func (h *testHandler) one(ctx context.Context, q string) (*Result, error) {
	up := strings.ToUpper(q)
	switch {
	case up == "SELECT * FROM T":
		return &Result{Columns: tableCols, Rows: tableRows}, nil
	case strings.HasPrefix(up, "SELECT @@VERSION_COMMENT"):
		c := NewColumn("@@version_comment", TypeVarString)
		return &Result{Columns: []Column{c}, Rows: [][]any{{"Polar test"}}}, nil
	case strings.HasPrefix(up, "SELECT "):
		n, err := strconv.ParseInt(strings.TrimSpace(q[7:]), 10, 64)
		if err != nil {
			break
		}
		return intResult(strings.TrimSpace(q[7:]), n), nil
	case strings.HasPrefix(up, "INSERT"):
		return &Result{AffectedRows: 3, LastInsertID: 42, Info: "Records: 3  Duplicates: 0  Warnings: 0"}, nil
	case up == "BEGIN":
		h.inTxn = true
		return &Result{}, nil
	case up == "COMMIT" || up == "ROLLBACK":
		h.inTxn = false
		return &Result{}, nil
	case up == "ERROR":
		return nil, NewError(1146, "42S02", "Table 'test.nope' doesn't exist")
	case up == "PLAIN ERROR":
		return nil, errors.New("boom")
	case up == "PANIC":
		panic("test panic")
	case strings.HasPrefix(up, "STREAM "):
		c := NewColumn("n", TypeLongLong)
		if up == "STREAM FAIL" {
			return &Result{Columns: []Column{c}, Stream: &countIter{n: 10, fail: true}}, nil
		}
		n, _ := strconv.Atoi(q[7:])
		return &Result{Columns: []Column{c}, Stream: &countIter{n: n}}, nil
	case up == "BLOCK":
		close(h.env.blocked)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, NewError(1064, "42000", fmt.Sprintf("You have an error in your SQL syntax near '%.20s'", q))
}

func (h *testHandler) Query(ctx context.Context, q string) ([]*Result, error) {
	var stmts []string
	for _, s := range strings.Split(q, ";") {
		if s = strings.TrimSpace(s); s != "" {
			stmts = append(stmts, s)
		}
	}
	if len(stmts) > 1 && !h.info.MultiStatements() {
		return nil, NewError(1064, "42000", "multi-statements not enabled")
	}
	var out []*Result
	for _, s := range stmts {
		r, err := h.one(ctx, s)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (h *testHandler) Prepare(_ context.Context, q string) (*Prepared, error) {
	up := strings.ToUpper(q)
	switch {
	case up == "SELECT * FROM T WHERE ID=?":
		return &Prepared{NumParams: 1, Columns: tableCols, Context: "point"}, nil
	case strings.HasPrefix(up, "SELECT ?"):
		return &Prepared{NumParams: strings.Count(q, "?"), Context: "echo"}, nil
	case strings.HasPrefix(up, "INSERT"):
		return &Prepared{NumParams: strings.Count(q, "?"), Context: "insert"}, nil
	case up == "BEGIN" || up == "COMMIT":
		return &Prepared{Context: up}, nil
	}
	return nil, CodeError(mysql.ER_UNSUPPORTED_PS)
}

func (h *testHandler) Execute(_ context.Context, st *Stmt, args []any) (*Result, error) {
	h.env.mu.Lock()
	h.env.lastArgs = args
	h.env.lastTyp = append([]ParamType(nil), st.ParamTypes()...)
	h.env.mu.Unlock()
	switch st.Context {
	case "point":
		id, ok := args[0].(int64)
		if !ok {
			return nil, fmt.Errorf("id is %T", args[0])
		}
		var rows [][]any
		for _, r := range tableRows {
			if n, _ := toInt64(r[0], &tableCols[0]); n == id {
				rows = append(rows, r)
			}
		}
		return &Result{Rows: rows}, nil // columns from prepare
	case "echo":
		cols := make([]Column, len(args))
		for i, a := range args {
			var t FieldType
			switch a.(type) {
			case nil:
				t = TypeNull
			case int64:
				t = TypeLongLong
			case uint64:
				t = TypeLongLong
			case float64:
				t = TypeDouble
			case string:
				t = TypeVarString
			case []byte:
				t = TypeBlob
			case time.Time:
				t = TypeDateTime
			case time.Duration:
				t = TypeTime
			}
			cols[i] = NewColumn(fmt.Sprintf("p%d", i), t)
			if _, ok := a.(uint64); ok {
				cols[i].Flags |= FlagUnsigned
			}
		}
		return &Result{Columns: cols, Rows: [][]any{args}}, nil
	case "insert":
		return &Result{AffectedRows: 1, LastInsertID: 7}, nil
	case "BEGIN":
		h.inTxn = true
		return &Result{}, nil
	case "COMMIT":
		h.inTxn = false
		return &Result{}, nil
	}
	return nil, errors.New("unknown statement")
}

func (h *testHandler) CloseStmt(*Stmt) {}

func (h *testHandler) FieldList(_ context.Context, table, _ string) ([]Column, error) {
	if table != "t" {
		return nil, CodeError(mysql.ER_NO_SUCH_TABLE, "test", table)
	}
	cols := append([]Column(nil), tableCols...)
	cols[1].Default = []byte("0")
	return cols, nil
}

func (h *testHandler) Status() ServerStatus {
	if h.inTxn {
		return StatusAutocommit | StatusInTrans
	}
	return StatusAutocommit
}

func (h *testHandler) Close() {
	h.env.mu.Lock()
	h.env.closed = append(h.env.closed, h.info.ID)
	h.env.mu.Unlock()
}

// ---- server start-up ----

type testServer struct {
	*Server
	env  *testEnv
	done chan error
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer starts a server with the test handler on 127.0.0.1:0; it is
// closed at the end of the test.
func startServer(t testing.TB, cfg Config, prep ...func(*Server)) *testServer {
	t.Helper()
	env := &testEnv{blocked: make(chan struct{})}
	return startServerWith(t, cfg, newTestFactory(env), env, prep...)
}

func startServerWith(t testing.TB, cfg Config, factory func(ConnInfo) Handler, env *testEnv, prep ...func(*Server)) *testServer {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(cfg, factory)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prep {
		p(s)
	}
	ts := &testServer{Server: s, env: env, done: make(chan error, 1), logs: logs}
	go func() { ts.done <- s.Serve(context.Background()) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after Close")
		}
	})
	return ts
}

func (ts *testServer) dsn(userPass, db, params string) string {
	d := userPass + "@tcp(" + ts.Addr() + ")/" + db
	if params != "" {
		d += "?" + params
	}
	return d
}

func openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// ---- a raw protocol client ----

type rawClient struct {
	t   testing.TB
	nc  net.Conn
	br  *bufio.Reader
	seq byte
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (r *rawClient) read() ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return nil, err
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	if h[3] != r.seq {
		return nil, fmt.Errorf("sequence %d, want %d", h[3], r.seq)
	}
	r.seq++
	p := make([]byte, n)
	_, err := io.ReadFull(r.br, p)
	return p, err
}

func (r *rawClient) mustRead() []byte {
	r.t.Helper()
	p, err := r.read()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return p
}

func (r *rawClient) write(p []byte) {
	r.t.Helper()
	h := []byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), r.seq}
	r.seq++
	if _, err := r.nc.Write(append(h, p...)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// command starts a new command (sequence 0).
func (r *rawClient) command(cmd byte, payload []byte) {
	r.t.Helper()
	r.seq = 0
	r.write(append([]byte{cmd}, payload...))
}

type greeting struct {
	version string
	connID  uint32
	caps    uint32
	status  uint16
	salt    []byte
	plugin  string
}

func parseGreeting(p []byte) (*greeting, error) {
	if len(p) == 0 || p[0] != 10 {
		return nil, fmt.Errorf("not a v10 greeting: %x", p)
	}
	g := &greeting{}
	i := bytes.IndexByte(p[1:], 0) + 1
	g.version = string(p[1:i])
	p = p[i+1:]
	g.connID = binary.LittleEndian.Uint32(p)
	g.salt = append(g.salt, p[4:12]...)
	p = p[13:]
	g.caps = uint32(binary.LittleEndian.Uint16(p))
	g.status = binary.LittleEndian.Uint16(p[3:])
	g.caps |= uint32(binary.LittleEndian.Uint16(p[5:])) << 16
	authLen := int(p[7])
	p = p[18:]
	n := max(13, authLen-8)
	g.salt = append(g.salt, p[:n-1]...)
	p = p[n:]
	g.plugin = string(bytes.TrimRight(p, "\x00"))
	return g, nil
}

const rawCaps = mysql.CLIENT_LONG_PASSWORD | mysql.CLIENT_PROTOCOL_41 | mysql.CLIENT_SECURE_CONNECTION |
	mysql.CLIENT_PLUGIN_AUTH | mysql.CLIENT_TRANSACTIONS | mysql.CLIENT_MULTI_RESULTS |
	mysql.CLIENT_MULTI_STATEMENTS | mysql.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA

// handshakeResponse builds a HandshakeResponse41.
func handshakeResp(caps uint32, user string, auth []byte, db, plugin string) []byte {
	if db != "" {
		caps |= mysql.CLIENT_CONNECT_WITH_DB
	}
	b := binary.LittleEndian.AppendUint32(nil, caps)
	b = binary.LittleEndian.AppendUint32(b, 1<<24)
	b = append(b, 45)
	b = append(b, make([]byte, 23)...)
	b = append(b, user...)
	b = append(b, 0)
	b = mysql.AppendLengthEncodedInteger(b, uint64(len(auth)))
	b = append(b, auth...)
	if db != "" {
		b = append(b, db...)
		b = append(b, 0)
	}
	b = append(b, plugin...)
	b = append(b, 0)
	return b
}

// login authenticates as root (empty password) and returns the greeting.
func (r *rawClient) login(db string) *greeting {
	r.t.Helper()
	g, err := parseGreeting(r.mustRead())
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(handshakeResp(rawCaps, "root", nil, db, mysql.AUTH_NATIVE_PASSWORD))
	if p := r.mustRead(); p[0] != mysql.OK_HEADER {
		r.t.Fatalf("login: %s", describe(p))
	}
	return g
}

// expectClosed asserts the server closes the connection (EOF after any
// remaining packets, which are returned).
func (r *rawClient) expectClosed() [][]byte {
	r.t.Helper()
	var got [][]byte
	for {
		p, err := r.read()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
				return got
			}
			r.t.Fatalf("want the server to close the connection, got %v", err)
		}
		got = append(got, p)
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

func describe(p []byte) string {
	if len(p) > 0 && p[0] == mysql.ERR_HEADER && len(p) >= 9 {
		return fmt.Sprintf("ERR %d (%s) %s", binary.LittleEndian.Uint16(p[1:]), p[4:9], p[9:])
	}
	return fmt.Sprintf("%x", p)
}

// errCode returns the code and state of an ERR packet (0 if p is none).
func errCode(p []byte) (uint16, string, string) {
	if len(p) < 9 || p[0] != mysql.ERR_HEADER {
		return 0, "", ""
	}
	return binary.LittleEndian.Uint16(p[1:]), string(p[4:9]), string(p[9:])
}

// okStatus returns the status flags of an OK packet.
func okStatus(t testing.TB, p []byte) (affected, insertID uint64, status uint16) {
	t.Helper()
	if len(p) < 7 || p[0] != mysql.OK_HEADER {
		t.Fatalf("want OK, got %s", describe(p))
	}
	a, k1, _ := readLenEncInt(p[1:])
	id, k2, _ := readLenEncInt(p[1+k1:])
	return a, id, binary.LittleEndian.Uint16(p[1+k1+k2:])
}

// resultSet reads a result set after its column-count packet: column
// definitions, EOF, rows, EOF. It returns the raw rows and the final status.
func (r *rawClient) resultSet(first []byte) (ncols int, rows [][]byte, status uint16) {
	r.t.Helper()
	n, _, ok := readLenEncInt(first)
	if !ok || first[0] == mysql.ERR_HEADER || first[0] == mysql.OK_HEADER {
		r.t.Fatalf("want a result set, got %s", describe(first))
	}
	for range n {
		r.mustRead()
	}
	if p := r.mustRead(); p[0] != mysql.EOF_HEADER || len(p) != 5 {
		r.t.Fatalf("want EOF after columns, got %s", describe(p))
	}
	for {
		p := r.mustRead()
		if p[0] == mysql.EOF_HEADER && len(p) == 5 {
			return int(n), rows, binary.LittleEndian.Uint16(p[3:])
		}
		if p[0] == mysql.ERR_HEADER {
			r.t.Fatalf("error in result set: %s", describe(p))
		}
		rows = append(rows, p)
	}
}
