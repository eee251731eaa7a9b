package mysqlserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	gomysql "github.com/go-sql-driver/mysql"
)

func mysqlErr(t *testing.T, err error) *gomysql.MySQLError {
	t.Helper()
	var me *gomysql.MySQLError
	if !errors.As(err, &me) {
		t.Fatalf("want a MySQL error, got %T %v", err, err)
	}
	return me
}

type tableRow struct {
	id, big int64
	name    string
	score   float64
	amount  string
	created time.Time
	note    sql.NullString
}

var wantTable = []tableRow{
	{1, 9000000000, "alice", 1.5, "12.34", tDatetime("2024-01-02 03:04:05"), sql.NullString{String: "x", Valid: true}},
	{2, -5, "bob", -0.25, "-0.50", tDatetime("1999-12-31 23:59:59"), sql.NullString{}},
	{3, 0, "", 1e20, "0.00", tDatetime("2000-02-29 00:00:00"), sql.NullString{String: "日本", Valid: true}},
}

func scanTable(t *testing.T, rows *sql.Rows) []tableRow {
	t.Helper()
	defer rows.Close()
	var got []tableRow
	for rows.Next() {
		var r tableRow
		if err := rows.Scan(&r.id, &r.big, &r.name, &r.score, &r.amount, &r.created, &r.note); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDriverTextProtocolTypes(t *testing.T) {
	ts := startServer(t, Config{})
	db := openDB(t, ts.dsn("root", "test", "parseTime=true"))
	rows, err := db.Query("SELECT * FROM t")
	if err != nil {
		t.Fatal(err)
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ct := range types {
		names = append(names, ct.DatabaseTypeName())
	}
	if want := []string{"INT", "BIGINT", "VARCHAR", "DOUBLE", "DECIMAL", "DATETIME", "VARCHAR"}; !reflect.DeepEqual(names, want) {
		t.Errorf("column types %v, want %v", names, want)
	}
	if n, ok := types[6].Nullable(); !ok || !n {
		t.Errorf("note nullable = %v %v", n, ok)
	}
	if n, ok := types[0].Nullable(); !ok || n {
		t.Errorf("id nullable = %v %v", n, ok)
	}
	if p, s, ok := types[4].DecimalSize(); !ok || s != 2 {
		t.Errorf("amount decimal size %d %d %v", p, s, ok)
	}
	if got := scanTable(t, rows); !reflect.DeepEqual(got, wantTable) {
		t.Errorf("rows\n got %+v\nwant %+v", got, wantTable)
	}
	// Without parseTime DATETIME arrives as text.
	db2 := openDB(t, ts.dsn("root", "test", ""))
	var created string
	if err := db2.QueryRow("SELECT * FROM t").Scan(new(int), new(int64), new(string), new(float64), new(string), &created, new(sql.NullString)); err != nil {
		t.Fatal(err)
	}
	if created != "2024-01-02 03:04:05" {
		t.Errorf("created %q", created)
	}
}

func TestDriverPreparedStatements(t *testing.T) {
	ts := startServer(t, Config{})
	db := openDB(t, ts.dsn("root", "test", "parseTime=true"))
	db.SetMaxOpenConns(1)
	st, err := db.Prepare("SELECT * FROM t WHERE id=?")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := 0; i < 3; i++ { // several executes of one statement
		for _, want := range wantTable {
			rows, err := st.Query(want.id)
			if err != nil {
				t.Fatal(err)
			}
			got := scanTable(t, rows)
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Fatalf("id %d: got %+v want %+v", want.id, got, want)
			}
		}
	}
	rows, err := st.Query(99)
	if err != nil {
		t.Fatal(err)
	}
	if got := scanTable(t, rows); len(got) != 0 {
		t.Errorf("id 99: %v", got)
	}
	// Binary DATETIME without parseTime: formatted by the driver.
	db2 := openDB(t, ts.dsn("root", "test", ""))
	var created, amount string
	if err := db2.QueryRow("SELECT * FROM t WHERE id=?", 2).Scan(new(int), new(int64), new(string), new(float64), &amount, &created, new(sql.NullString)); err != nil {
		t.Fatal(err)
	}
	if created != "1999-12-31 23:59:59" || amount != "-0.50" {
		t.Errorf("created %q amount %q", created, amount)
	}
}

func TestDriverParamTypes(t *testing.T) {
	ts := startServer(t, Config{})
	db := openDB(t, ts.dsn("root", "test", "parseTime=true"))
	blob := []byte{0, 1, 2, 0xff, '\''}
	var (
		i   int64
		s   string
		f   float64
		n   sql.NullString
		b   []byte
		u   uint64
		neg int64
	)
	err := db.QueryRow("SELECT ?, ?, ?, ?, ?, ?, ?", int64(-7), "héllo 'q'", 2.5, nil, blob, uint64(math.MaxUint64), int64(math.MinInt64)).
		Scan(&i, &s, &f, &n, &b, &u, &neg)
	if err != nil {
		t.Fatal(err)
	}
	if i != -7 || s != "héllo 'q'" || f != 2.5 || n.Valid || !bytes.Equal(b, blob) || u != math.MaxUint64 || neg != math.MinInt64 {
		t.Errorf("echo: %v %q %v %v %x %v %v", i, s, f, n, b, u, neg)
	}
	ts.env.mu.Lock()
	args, types := ts.env.lastArgs, ts.env.lastTyp
	ts.env.mu.Unlock()
	// What the handler received: typed by the client's declared types
	// (go-sql-driver sends strings, []byte and times as STRING).
	wantArgs := []any{int64(-7), "héllo 'q'", 2.5, nil, string(blob)}
	if len(args) != 7 || !reflect.DeepEqual(args[:5], wantArgs) {
		t.Fatalf("args %#v, want %#v", args, wantArgs)
	}
	if u, ok := args[5].(uint64); !ok || u != math.MaxUint64 {
		t.Errorf("unsigned arg %#v", args[5])
	}
	if len(types) != 7 || types[0].Type != TypeLongLong || types[2].Type != TypeDouble || types[3].Type != TypeNull || !types[5].Unsigned {
		t.Errorf("param types %+v", types)
	}
}

func TestDriverLongData(t *testing.T) {
	ts := startServer(t, Config{})
	// A small client max_allowed_packet makes go-sql-driver send big
	// parameters with COM_STMT_SEND_LONG_DATA.
	db := openDB(t, ts.dsn("root", "test", "maxAllowedPacket=4096"))
	big := bytes.Repeat([]byte("0123456789"), 1000)
	var got []byte
	var k int64
	if err := db.QueryRow("SELECT ?, ?", big, 5).Scan(&got, &k); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) || k != 5 {
		t.Errorf("long data round trip: %d bytes, k=%d", len(got), k)
	}
	ts.env.mu.Lock()
	arg := ts.env.lastArgs[0]
	ts.env.mu.Unlock()
	if b, ok := arg.([]byte); !ok || !bytes.Equal(b, big) {
		t.Errorf("handler got %T (len %d) for a long-data parameter", arg, len(asString(arg)))
	}
}

func TestMultiStatements(t *testing.T) {
	ts := startServer(t, Config{})
	db := openDB(t, ts.dsn("root", "test", "multiStatements=true"))
	db.SetMaxOpenConns(1)
	rows, err := db.Query("SELECT 1; SELECT 2 ; SELECT * FROM t")
	if err != nil {
		t.Fatal(err)
	}
	var sets [][]string
	for {
		cols, _ := rows.Columns()
		var vals []string
		for rows.Next() {
			dest := make([]any, len(cols))
			for i := range dest {
				dest[i] = new(sql.RawBytes)
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatal(err)
			}
			vals = append(vals, string(*dest[0].(*sql.RawBytes)))
		}
		sets = append(sets, vals)
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if want := [][]string{{"1"}, {"2"}, {"1", "2", "3"}}; !reflect.DeepEqual(sets, want) {
		t.Errorf("result sets %v, want %v", sets, want)
	}

	// DML statements: several OK packets.
	if _, err := db.Exec("INSERT INTO x VALUES (1); INSERT INTO x VALUES (2)"); err != nil {
		t.Fatal(err)
	}

	// An error stops the batch: first result, then the error.
	rows, err = db.Query("SELECT 1; ERROR; SELECT 3")
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no first result")
	}
	for rows.Next() {
	}
	if rows.NextResultSet() {
		t.Error("more result sets after the error")
	}
	if me := mysqlErr(t, rows.Err()); me.Number != 1146 {
		t.Errorf("error %v", me)
	}
	rows.Close()
	// The connection is still in sync.
	var v int
	if err := db.QueryRow("SELECT 5").Scan(&v); err != nil || v != 5 {
		t.Fatalf("after multi-statement error: %v %v", v, err)
	}
}

func TestMultiResultFraming(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.Addr())
	c.login("test")
	c.command(mysql.COM_QUERY, []byte("SELECT 1; INSERT INTO x VALUES (1); SELECT 2"))
	_, _, st1 := c.resultSet(c.mustRead())
	_, _, st2 := okStatus(t, c.mustRead())
	_, _, st3 := c.resultSet(c.mustRead())
	more := mysql.SERVER_MORE_RESULTS_EXISTS
	if st1&more == 0 || st2&more == 0 || st3&more != 0 {
		t.Errorf("MORE_RESULTS flags: %#x %#x %#x", st1, st2, st3)
	}
	// Without CLIENT_MULTI_STATEMENTS the handler sees it in ConnInfo.
	c2 := dialRaw(t, ts.Addr())
	if _, err := parseGreeting(c2.mustRead()); err != nil {
		t.Fatal(err)
	}
	c2.write(handshakeResp(rawCaps&^mysql.CLIENT_MULTI_STATEMENTS, "root", nil, "", mysql.AUTH_NATIVE_PASSWORD))
	okStatus(t, c2.mustRead())
	c2.command(mysql.COM_QUERY, []byte("SELECT 1; SELECT 2"))
	if code, _, _ := errCode(c2.mustRead()); code != 1064 {
		t.Errorf("multi-statement without the capability: code %d", code)
	}
}

func TestStatusFlags(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.Addr())
	c.login("")
	for _, q := range []struct {
		sql  string
		want uint16
	}{
		{"BEGIN", mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS},
		{"INSERT INTO x VALUES (1)", mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_STATUS_IN_TRANS},
		{"COMMIT", mysql.SERVER_STATUS_AUTOCOMMIT},
	} {
		c.command(mysql.COM_QUERY, []byte(q.sql))
		_, _, st := okStatus(t, c.mustRead())
		if st != q.want {
			t.Errorf("%s: status %#x, want %#x", q.sql, st, q.want)
		}
	}
}

func TestAffectedRowsAndInsertID(t *testing.T) {
	ts := startServer(t, Config{})
	db := openDB(t, ts.dsn("root", "test", ""))
	res, err := db.Exec("INSERT INTO t VALUES (1),(2),(3)")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 3 {
		t.Errorf("affected %d", n)
	}
	if id, _ := res.LastInsertId(); id != 42 {
		t.Errorf("last insert id %d", id)
	}
	res, err = db.Exec("INSERT INTO t VALUES (?)", 5) // prepared
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("prepared affected %d", n)
	}
	if id, _ := res.LastInsertId(); id != 7 {
		t.Errorf("prepared last insert id %d", id)
	}
}

func TestHandlerErrors(t *testing.T) {
	ts := startServer(t, Config{})
	db := openDB(t, ts.dsn("root", "test", ""))
	db.SetMaxOpenConns(1)
	_, err := db.Query("ERROR")
	me := mysqlErr(t, err)
	if me.Number != 1146 || string(me.SQLState[:]) != "42S02" || me.Message != "Table 'test.nope' doesn't exist" {
		t.Errorf("got %d %s %q", me.Number, me.SQLState, me.Message)
	}
	_, err = db.Query("PLAIN ERROR")
	me = mysqlErr(t, err)
	if me.Number != 1105 || string(me.SQLState[:]) != "HY000" || me.Message != "boom" {
		t.Errorf("got %d %s %q", me.Number, me.SQLState, me.Message)
	}
	_, err = db.Prepare("UPDATE nothing")
	if me := mysqlErr(t, err); me.Number != 1295 {
		t.Errorf("prepare error %d", me.Number)
	}
	// Errors do not break the connection.
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	if got := len(ts.env.closedIDs()); got != 0 {
		t.Errorf("%d connections closed", got)
	}
}

func TestStreamingRows(t *testing.T) {
	ts := startServer(t, Config{})
	db := openDB(t, ts.dsn("root", "test", ""))
	db.SetMaxOpenConns(1)
	rows, err := db.Query("STREAM 5000")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		n++
		if v != n {
			t.Fatalf("row %d = %d", n, v)
		}
	}
	if err := rows.Err(); err != nil || n != 5000 {
		t.Fatalf("%d rows, %v", n, err)
	}
	rows, err = db.Query("STREAM FAIL")
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for rows.Next() {
		n++
	}
	if me := mysqlErr(t, rows.Err()); me.Number != 1213 || n != 2 {
		t.Errorf("mid-stream error: %d rows, %v", n, me)
	}
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
}

func TestAuthentication(t *testing.T) {
	for _, plugin := range []string{mysql.AUTH_NATIVE_PASSWORD, mysql.AUTH_CACHING_SHA2_PASSWORD} {
		t.Run(plugin, func(t *testing.T) {
			ts := startServer(t, Config{AuthPlugin: plugin, Users: map[string]string{"root": "", "alice": "s3cret"}})
			for _, up := range []string{"alice:s3cret", "root"} {
				if err := openDB(t, ts.dsn(up, "", "")).Ping(); err != nil {
					t.Errorf("%s: %v", up, err)
				}
			}
			for _, tc := range []struct{ up, user, using string }{
				{"alice:wrong", "alice", "YES"},
				{"alice", "alice", "NO"},
				{"bob:x", "bob", "YES"},
				{"root:x", "root", "YES"},
			} {
				err := openDB(t, ts.dsn(tc.up, "", "")).Ping()
				me := mysqlErr(t, err)
				want := "Access denied for user '" + tc.user + "'@'127.0.0.1' (using password: " + tc.using + ")"
				if me.Number != 1045 || string(me.SQLState[:]) != "28000" || me.Message != want {
					t.Errorf("%s: got %d %s %q", tc.up, me.Number, me.SQLState, me.Message)
				}
			}
			if !strings.Contains(ts.logs.String(), "access denied") {
				t.Error("access denial not logged")
			}
		})
	}
}

func TestAuthSwitch(t *testing.T) {
	ts := startServer(t, Config{Users: map[string]string{"alice": "pw"}})
	for _, pass := range []string{"pw", "bad"} {
		c := dialRaw(t, ts.Addr())
		g, err := parseGreeting(c.mustRead())
		if err != nil {
			t.Fatal(err)
		}
		if g.plugin != mysql.AUTH_NATIVE_PASSWORD || g.caps&mysql.CLIENT_LONG_PASSWORD == 0 ||
			g.caps&mysql.CLIENT_DEPRECATE_EOF != 0 || g.caps&mysql.CLIENT_SSL != 0 || len(g.salt) != 20 {
			t.Fatalf("greeting %+v", g)
		}
		// Answer with a plugin the server does not verify directly.
		c.write(handshakeResp(rawCaps, "alice", []byte{1}, "", mysql.AUTH_SHA256_PASSWORD))
		p := c.mustRead()
		if p[0] != mysql.EOF_HEADER || !bytes.HasPrefix(p[1:], []byte("mysql_native_password\x00")) {
			t.Fatalf("want AuthSwitchRequest, got %s", describe(p))
		}
		salt := p[1+len("mysql_native_password\x00"):]
		salt = salt[:20]
		c.write(mysql.CalcPassword(salt, []byte(pass)))
		p = c.mustRead()
		if pass == "pw" && p[0] != mysql.OK_HEADER {
			t.Errorf("after auth switch: %s", describe(p))
		}
		if code, _, _ := errCode(p); pass == "bad" && code != 1045 {
			t.Errorf("bad password after auth switch: %s", describe(p))
		}
	}
}

func TestTLS(t *testing.T) {
	cert := selfSignedCert(t)
	ts := startServer(t, Config{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, Users: map[string]string{"alice": "pw"}})
	if err := gomysql.RegisterTLSConfig("mysqlserver-test", &tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, ts.dsn("alice:pw", "test", "tls=mysqlserver-test"))
	var v int
	if err := db.QueryRow("SELECT 7").Scan(&v); err != nil || v != 7 {
		t.Fatalf("over TLS: %v %v", v, err)
	}
	var n int
	if err := db.QueryRow("SELECT * FROM t WHERE id=?", 3).Scan(&n, new(int), new(string), new(float64), new(string), new(string), new(sql.NullString)); err != nil || n != 3 {
		t.Fatalf("prepared over TLS: %v %v", n, err)
	}
	// Plain connections still work.
	if err := openDB(t, ts.dsn("alice:pw", "", "")).Ping(); err != nil {
		t.Fatal(err)
	}
}

func selfSignedCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestUnknownDatabaseAtLogin(t *testing.T) {
	ts := startServer(t, Config{})
	err := openDB(t, ts.dsn("root", "nosuchdb", "")).Ping()
	me := mysqlErr(t, err)
	if me.Number != 1049 || string(me.SQLState[:]) != "42000" || me.Message != "Unknown database 'nosuchdb'" {
		t.Errorf("got %d %s %q", me.Number, me.SQLState, me.Message)
	}
	ts.env.waitClosed(t, 1) // the handler was created, so it is closed
}

func TestCloseHookOnDisconnect(t *testing.T) {
	ts := startServer(t, Config{})
	// COM_QUIT
	db := openDB(t, ts.dsn("root", "test", ""))
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ts.env.waitClosed(t, 1)
	// Abrupt disconnect in the middle of a packet.
	c := dialRaw(t, ts.Addr())
	c.login("test")
	c.seq = 0
	_, _ = c.nc.Write([]byte{100, 0, 0, 0, mysql.COM_QUERY, 'S', 'E'})
	c.nc.Close()
	ts.env.waitClosed(t, 2)
	if n := ts.NumConnections(); n != 0 {
		t.Errorf("%d connections left", n)
	}
}

func TestGarbageClosesOnlyThatConnection(t *testing.T) {
	ts := startServer(t, Config{})
	db := openDB(t, ts.dsn("root", "test", ""))
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		var v int
		if err := db.QueryRow("SELECT 11").Scan(&v); err != nil || v != 11 {
			t.Fatalf("other connection broken: %v %v", v, err)
		}
	}

	// Garbage instead of a handshake response.
	c := dialRaw(t, ts.Addr())
	c.mustRead()
	_, _ = c.nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if _, err := io.ReadAll(c.br); err != nil && !isReset(err) {
		t.Fatalf("want the server to close: %v", err)
	}
	check()

	// After login: a packet with a wrong sequence number.
	c = dialRaw(t, ts.Addr())
	c.login("test")
	c.seq = 5
	c.write([]byte{mysql.COM_PING})
	c.seq = 0 // the server answers with its own sequence
	pk := c.expectClosed()
	if len(pk) != 1 {
		t.Fatalf("want one ERR, got %d packets", len(pk))
	}
	if code, _, _ := errCode(pk[0]); code != mysql.ER_NET_PACKETS_OUT_OF_ORDER {
		t.Errorf("out of order: %s", describe(pk[0]))
	}
	check()

	// After login: a truncated COM_STMT_EXECUTE.
	c = dialRaw(t, ts.Addr())
	c.login("test")
	c.command(mysql.COM_STMT_EXECUTE, []byte{1, 0})
	pk = c.expectClosed()
	if len(pk) != 1 {
		t.Fatalf("want one ERR, got %d packets", len(pk))
	}
	if code, _, _ := errCode(pk[0]); code != mysql.ER_MALFORMED_PACKET {
		t.Errorf("malformed: %s", describe(pk[0]))
	}
	// An empty command packet.
	c = dialRaw(t, ts.Addr())
	c.login("test")
	c.command(mysql.COM_QUERY, nil)
	c.seq = 0
	c.write(nil)
	c.seq = 1
	okStatus(t, c.mustRead()) // the empty COM_QUERY: no statements, OK
	c.seq = 1
	if pk = c.expectClosed(); len(pk) != 1 {
		t.Fatalf("empty packet: %d packets", len(pk))
	}
	if code, _, _ := errCode(pk[0]); code != mysql.ER_MALFORMED_PACKET {
		t.Errorf("empty packet: %s", describe(pk[0]))
	}
	check()
	ts.env.waitClosed(t, 3) // the three logged-in garbage connections
}

func TestOversizedPacket(t *testing.T) {
	ts := startServer(t, Config{MaxAllowedPacket: 64 << 10})
	c := dialRaw(t, ts.Addr())
	c.login("test")
	c.command(mysql.COM_QUERY, append([]byte("INSERT INTO t VALUES "), bytes.Repeat([]byte("(1),"), 40<<10)...))
	pk := c.expectClosed()
	if len(pk) != 1 {
		t.Fatalf("want one ERR packet, got %d", len(pk))
	}
	if code, state, _ := errCode(pk[0]); code != 1153 || state != "08S01" {
		t.Errorf("got %s", describe(pk[0]))
	}
	ts.env.waitClosed(t, 1)

	// The default limit takes sysbench's 512 KiB bulk inserts.
	ts2 := startServer(t, Config{})
	db := openDB(t, ts2.dsn("root", "test", ""))
	q := "INSERT INTO sbtest1(k, c, pad) VALUES" + strings.Repeat("(5021, '19265387877-68978223106', '88093119817-71439039782'),", 9000) + "(1,'','')"
	if len(q) < 512<<10 {
		t.Fatalf("query only %d bytes", len(q))
	}
	if res, err := db.Exec(q); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 3 {
		t.Errorf("affected %d", n)
	}
}

func TestPanicInHandler(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.Addr())
	c.login("test")
	c.command(mysql.COM_QUERY, []byte("PANIC"))
	pk := c.expectClosed()
	if len(pk) != 1 {
		t.Fatalf("want one ERR, got %d packets", len(pk))
	}
	if code, state, msg := errCode(pk[0]); code != 1105 || state != "HY000" || !strings.Contains(msg, "test panic") {
		t.Errorf("got %s", describe(pk[0]))
	}
	ts.env.waitClosed(t, 1)
	if !strings.Contains(ts.logs.String(), "test panic") {
		t.Error("panic not logged")
	}
	// The server goes on.
	db := openDB(t, ts.dsn("root", "test", ""))
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
}

// A client that declares parameter types only with the first execute
// (libmariadb / sysbench: new_params_bound=0 afterwards).
func TestParamTypesKeptPerStatement(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.Addr())
	c.login("test")
	c.command(mysql.COM_STMT_PREPARE, []byte("SELECT * FROM t WHERE id=?"))
	p := c.mustRead()
	if p[0] != 0 || len(p) != 12 {
		t.Fatalf("PREPARE_OK: %s", describe(p))
	}
	id := binary.LittleEndian.Uint32(p[1:])
	ncols, nparams := binary.LittleEndian.Uint16(p[5:]), binary.LittleEndian.Uint16(p[7:])
	if ncols != 7 || nparams != 1 {
		t.Fatalf("columns %d params %d", ncols, nparams)
	}
	for range nparams {
		c.mustRead()
	}
	if p := c.mustRead(); p[0] != mysql.EOF_HEADER {
		t.Fatalf("want EOF after params: %s", describe(p))
	}
	for i := range ncols {
		def := c.mustRead()
		if i == 0 && !bytes.Contains(def, []byte("\x02id")) {
			t.Errorf("first column definition %q", def)
		}
	}
	if p := c.mustRead(); p[0] != mysql.EOF_HEADER {
		t.Fatalf("want EOF after columns: %s", describe(p))
	}
	execute := func(idv int64, bound bool) []byte {
		b := binary.LittleEndian.AppendUint32(nil, id)
		b = append(b, 0, 1, 0, 0, 0) // flags, iteration count
		b = append(b, 0)             // null bitmap
		if bound {
			b = append(b, 1, mysql.MYSQL_TYPE_LONGLONG, 0)
		} else {
			b = append(b, 0)
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(idv))
		c.command(mysql.COM_STMT_EXECUTE, b)
		_, rows, _ := c.resultSet(c.mustRead())
		if len(rows) != 1 {
			t.Fatalf("id %d: %d rows", idv, len(rows))
		}
		return rows[0]
	}
	for i, idv := range []int64{2, 3, 1, 2} {
		row := execute(idv, i == 0)
		// binary row: 0x00, null bitmap (2 bytes for 7 columns), id INT (4 bytes)
		if row[0] != 0 || int64(binary.LittleEndian.Uint32(row[3:])) != idv {
			t.Fatalf("execute %d (bound=%v): row %x", i, i == 0, row)
		}
		if idv == 2 && row[1+(6+2)/8]&(1<<((6+2)%8)) == 0 {
			t.Errorf("NULL bit of note not set: %x", row[1:3])
		}
	}
	// No matching row: still a (empty) result set, not an OK packet.
	b := binary.LittleEndian.AppendUint32(nil, id)
	b = append(b, 0, 1, 0, 0, 0, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, 99)
	c.command(mysql.COM_STMT_EXECUTE, b)
	if n, rows, _ := c.resultSet(c.mustRead()); n != 7 || len(rows) != 0 {
		t.Errorf("id 99: %d columns, %d rows", n, len(rows))
	}
	ts.env.mu.Lock()
	types := ts.env.lastTyp
	ts.env.mu.Unlock()
	if len(types) != 1 || types[0].Type != TypeLongLong {
		t.Errorf("kept types %+v", types)
	}

	// COM_STMT_RESET, then COM_STMT_CLOSE (no reply), then executing the
	// closed statement fails without closing the connection.
	c.command(mysql.COM_STMT_RESET, binary.LittleEndian.AppendUint32(nil, id))
	okStatus(t, c.mustRead())
	c.command(mysql.COM_STMT_CLOSE, binary.LittleEndian.AppendUint32(nil, id))
	c.command(mysql.COM_STMT_EXECUTE, append(binary.LittleEndian.AppendUint32(nil, id), 0, 1, 0, 0, 0))
	if code, _, _ := errCode(c.mustRead()); code != mysql.ER_UNKNOWN_STMT_HANDLER {
		t.Error("executing a closed statement did not fail with 1243")
	}
	c.command(mysql.COM_STMT_RESET, binary.LittleEndian.AppendUint32(nil, id))
	if code, _, _ := errCode(c.mustRead()); code != mysql.ER_UNKNOWN_STMT_HANDLER {
		t.Error("resetting a closed statement did not fail with 1243")
	}
	c.command(mysql.COM_PING, nil)
	okStatus(t, c.mustRead())
}

func TestOtherCommands(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.Addr())
	c.login("")
	c.command(mysql.COM_INIT_DB, []byte("nosuch"))
	if code, _, msg := errCode(c.mustRead()); code != 1049 || msg != "Unknown database 'nosuch'" {
		t.Errorf("INIT_DB unknown: %d %s", code, msg)
	}
	c.command(mysql.COM_INIT_DB, []byte("test"))
	okStatus(t, c.mustRead())
	c.command(mysql.COM_PING, nil)
	okStatus(t, c.mustRead())
	c.command(mysql.COM_STATISTICS, nil)
	if p := c.mustRead(); !bytes.HasPrefix(p, []byte("Uptime: ")) || !bytes.Contains(p, []byte("Threads: 1")) {
		t.Errorf("statistics %q", p)
	}
	c.command(mysql.COM_FIELD_LIST, []byte("t\x00"))
	n := 0
	for {
		p := c.mustRead()
		if p[0] == mysql.EOF_HEADER && len(p) == 5 {
			break
		}
		n++
		if n == 2 && !bytes.HasSuffix(p, []byte{1, '0'}) {
			t.Errorf("default value missing in %q", p)
		}
		if n == 1 && p[len(p)-1] != 0xfb {
			t.Errorf("NULL default missing in %q", p)
		}
	}
	if n != len(tableCols) {
		t.Errorf("field list: %d columns", n)
	}
	c.command(mysql.COM_FIELD_LIST, []byte("nope\x00"))
	if code, _, _ := errCode(c.mustRead()); code != mysql.ER_NO_SUCH_TABLE {
		t.Error("field list of unknown table")
	}
	c.command(mysql.COM_SET_OPTION, []byte{1, 0}) // multi-statements off
	if p := c.mustRead(); p[0] != mysql.EOF_HEADER {
		t.Errorf("SET_OPTION: %s", describe(p))
	}
	c.command(mysql.COM_RESET_CONNECTION, nil) // the test handler has no ResetConnection
	if code, _, _ := errCode(c.mustRead()); code != mysql.ER_UNKNOWN_COM_ERROR {
		t.Error("RESET_CONNECTION without support")
	}
	c.command(0x7f, nil)
	if code, state, _ := errCode(c.mustRead()); code != mysql.ER_UNKNOWN_COM_ERROR || state != "08S01" {
		t.Error("unknown command")
	}
	c.command(mysql.COM_STMT_FETCH, []byte{1, 0, 0, 0, 1, 0, 0, 0})
	if code, _, _ := errCode(c.mustRead()); code != mysql.ER_STMT_HAS_NO_OPEN_CURSOR {
		t.Error("fetch without cursor")
	}
	c.command(mysql.COM_QUIT, nil)
	if pk := c.expectClosed(); len(pk) != 0 {
		t.Errorf("COM_QUIT answered %d packets", len(pk))
	}
	ts.env.waitClosed(t, 1)
}

// countConn counts write calls to the socket.
type countConn struct {
	net.Conn
	mu     *sync.Mutex
	writes *int
}

func (c countConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	*c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func TestBufferedWrites(t *testing.T) {
	for _, tc := range []struct {
		size int
		want int
	}{
		{0, 1},   // default buffer: the whole response in one write
		{-1, 13}, // unbuffered: column count, 7 columns, EOF, 3 rows, EOF
	} {
		var mu sync.Mutex
		writes := 0
		ts := startServer(t, Config{WriteBufferSize: tc.size}, func(s *Server) {
			s.wrapConn = func(nc net.Conn) net.Conn { return countConn{nc, &mu, &writes} }
		})
		c := dialRaw(t, ts.Addr())
		c.login("test")
		mu.Lock()
		writes = 0
		mu.Unlock()
		c.command(mysql.COM_QUERY, []byte("SELECT * FROM t"))
		c.resultSet(c.mustRead())
		c.command(mysql.COM_PING, nil) // the response above is complete once the server reads again
		okStatus(t, c.mustRead())
		mu.Lock()
		got := writes - 1 // minus the ping's OK
		mu.Unlock()
		if got != tc.want {
			t.Errorf("WriteBufferSize %d: %d writes for a 3-row result, want %d", tc.size, got, tc.want)
		}
	}
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, Config{MaxConnections: 1})
	c := dialRaw(t, ts.Addr())
	c.login("test")
	c2 := dialRaw(t, ts.Addr())
	pk := c2.expectClosed()
	if len(pk) != 1 {
		t.Fatalf("got %d packets", len(pk))
	}
	if code, state, _ := errCode(pk[0]); code != 1040 || state != "08004" {
		t.Errorf("got %s", describe(pk[0]))
	}
	c.command(mysql.COM_PING, nil)
	okStatus(t, c.mustRead())
}

func TestPortInUse(t *testing.T) {
	ts := startServer(t, Config{})
	_, err := New(Config{Addr: ts.Addr()}, newTestFactory(&testEnv{}))
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+ts.Addr()) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("got %v", err)
	}
	if _, err := New(Config{Addr: "127.0.0.1:0", MaxAllowedPacket: 10}, newTestFactory(&testEnv{})); err == nil {
		t.Error("tiny MaxAllowedPacket accepted")
	}
	if _, err := New(Config{Addr: "127.0.0.1:0", AuthPlugin: "dialog"}, newTestFactory(&testEnv{})); err == nil {
		t.Error("unknown auth plugin accepted")
	}
}

func TestCloseWithActiveConnections(t *testing.T) {
	env := &testEnv{blocked: make(chan struct{})}
	s, err := New(Config{Addr: "127.0.0.1:0", Logger: discardLogger()}, newTestFactory(env))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()

	idle := dialRaw(t, s.Addr())
	idle.login("test")
	busy := dialRaw(t, s.Addr())
	busy.login("test")
	busy.command(mysql.COM_QUERY, []byte("BLOCK"))
	<-env.blocked
	half := dialRaw(t, s.Addr()) // in the handshake
	half.mustRead()

	cancel() // like Close
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if got := len(env.closedIDs()); got != 2 {
		t.Errorf("Close hook ran %d times, want 2", got)
	}
	idle.expectClosed()
	half.expectClosed()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", s.Addr()); err == nil {
		t.Error("listener still open")
	}
}

func TestMariaDBClient(t *testing.T) {
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("mariadb client not installed")
	}
	ts := startServer(t, Config{})
	_, port, _ := net.SplitHostPort(ts.Addr())
	run := func(args ...string) (string, string, error) {
		cmd := exec.Command(bin, append([]string{"-h127.0.0.1", "-P" + port, "-uroot", "--connect-timeout=5"}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	out, stderr, err := run("-Dtest", "--batch", "-e", "SELECT * FROM t")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	want := "id\tbig\tname\tscore\tamount\tcreated\tnote\n" +
		"1\t9000000000\talice\t1.5\t12.34\t2024-01-02 03:04:05\tx\n" +
		"2\t-5\tbob\t-0.25\t-0.50\t1999-12-31 23:59:59\tNULL\n" +
		"3\t0\t\t1e20\t0.00\t2000-02-29 00:00:00\t日本\n"
	if out != want {
		t.Errorf("mariadb output\n%s\nwant\n%s", out, want)
	}
	out, stderr, err = run("--batch", "-e", "SELECT 1; SELECT 2")
	if err != nil || out != "1\n1\n2\n2\n" {
		t.Errorf("multi-statement: %v %q %s", err, out, stderr)
	}
	_, stderr, err = run("-e", "ERROR")
	if err == nil || !strings.Contains(stderr, "ERROR 1146 (42S02)") || !strings.Contains(stderr, "Table 'test.nope' doesn't exist") {
		t.Errorf("error: %v %q", err, stderr)
	}
	_, stderr, err = run("-Dnosuch", "-e", "SELECT 1")
	if err == nil || !strings.Contains(stderr, "1049") {
		t.Errorf("unknown db: %v %q", err, stderr)
	}

	// libmariadb with a password, against both greeting plugins.
	for _, plugin := range []string{mysql.AUTH_NATIVE_PASSWORD, mysql.AUTH_CACHING_SHA2_PASSWORD} {
		ts := startServer(t, Config{AuthPlugin: plugin, Users: map[string]string{"alice": "pw"}})
		_, port, _ := net.SplitHostPort(ts.Addr())
		for _, pass := range []string{"pw", "bad"} {
			cmd := exec.Command(bin, "-h127.0.0.1", "-P"+port, "-ualice", "-p"+pass, "--batch", "-e", "SELECT 3")
			out, err := cmd.CombinedOutput()
			if pass == "pw" && (err != nil || string(out) != "3\n3\n") {
				t.Errorf("%s: %v %q", plugin, err, out)
			}
			if pass == "bad" && (err == nil || !strings.Contains(string(out), "ERROR 1045 (28000)")) {
				t.Errorf("%s, wrong password: %v %q", plugin, err, out)
			}
		}
	}
}

func TestConstantHandler(t *testing.T) {
	ts := startServerWith(t, Config{}, ConstantFactory(""), nil)
	db := openDB(t, ts.dsn("root", "sbtest", ""))
	db.SetMaxOpenConns(1)
	for _, q := range []string{"BEGIN", "COMMIT"} {
		st, err := db.Prepare(q)
		if err != nil {
			t.Fatalf("prepare %s: %v", q, err)
		}
		if _, err := st.Exec(); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	st, err := db.Prepare("SELECT c FROM sbtest1 WHERE id=?")
	if err != nil {
		t.Fatal(err)
	}
	var c string
	if err := st.QueryRow(42).Scan(&c); err != nil || c != DefaultConstantValue {
		t.Fatalf("%q %v", c, err)
	}
	if _, err := db.Exec("UPDATE sbtest1 SET c=? WHERE id=?", "x", 1); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("select c from sbtest1 where id = 1").Scan(&c); err != nil || c != DefaultConstantValue {
		t.Fatalf("%q %v", c, err)
	}
	for q, want := range map[string]int{
		"SELECT c FROM t WHERE id BETWEEN ? AND ?":     2,
		"INSERT INTO t VALUES (?, '?', \"?\", `?`, ?)": 2,
		"SELECT /* ? */ 1 -- ?\n, ? # ?\n":             1,
	} {
		if got := countParams(q); got != want {
			t.Errorf("countParams(%q) = %d, want %d", q, got, want)
		}
	}
	if !returnsRows("  /* x */ (select 1)") || returnsRows("BEGIN") {
		t.Error("returnsRows")
	}
}

func TestValueFormatting(t *testing.T) {
	dbl := NewColumn("d", TypeDouble)
	flt := NewColumn("f", TypeFloat)
	dec := NewColumn("m", TypeNewDecimal)
	dec.Decimals = 2
	dt := NewColumn("dt", TypeDateTime)
	dt.Decimals = 3
	date := NewColumn("da", TypeDate)
	tm := NewColumn("t", TypeTime)
	when := time.Date(2024, 2, 29, 13, 14, 15, 987654321, time.UTC)
	for _, tc := range []struct {
		v    any
		col  Column
		want string
	}{
		{1.5, dbl, "1.5"}, {1e20, dbl, "1e20"}, {1.5e-7, dbl, "1.5e-7"}, {123456789012345.0, dbl, "123456789012345"},
		{0.1, dbl, "0.1"}, {float32(0.1), flt, "0.1"}, {-2.0, dbl, "-2"}, {0.0, dbl, "0"},
		{3.14159, dec, "3.14"}, {"12.30", dec, "12.30"},
		{when, dt, "2024-02-29 13:14:15.987"}, {when, date, "2024-02-29"},
		{-(25*time.Hour + 2*time.Minute + 3*time.Second), tm, "-25:02:03"},
		{true, NewColumn("b", TypeTiny), "1"}, {uint64(math.MaxUint64), NewColumn("u", TypeLongLong), "18446744073709551615"},
	} {
		got, err := appendText(nil, tc.v, &tc.col)
		if err != nil || string(got) != tc.want {
			t.Errorf("appendText(%v) = %q %v, want %q", tc.v, got, err, tc.want)
		}
	}
	if _, err := appendText(nil, struct{}{}, &dbl); err == nil {
		t.Error("unsupported value type accepted")
	}
	for _, s := range []string{"2024-02-29 13:14:15.5", "2024-02-29", "0000-00-00 00:00:00"} {
		if _, ok := parseDateTime(s); !ok {
			t.Errorf("parseDateTime(%q) failed", s)
		}
	}
	for _, s := range []string{"2024-2-29", "2024-02-29 1:2:3", "x"} {
		if _, ok := parseDateTime(s); ok {
			t.Errorf("parseDateTime(%q) accepted", s)
		}
	}
	if d, ok := parseTime("-838:59:59.5"); !ok || d != -(838*time.Hour+59*time.Minute+59*time.Second+500*time.Millisecond) {
		t.Errorf("parseTime: %v %v", d, ok)
	}
}

func TestToError(t *testing.T) {
	for _, tc := range []struct {
		err   error
		code  uint16
		state string
	}{
		{NewError(1213, "40001", "deadlock"), 1213, "40001"},
		{CodeError(mysql.ER_NO_SUCH_TABLE, "a", "b"), 1146, "42S02"},
		{Errorf(mysql.ER_DUP_ENTRY, "Duplicate entry '%d' for key 'PRIMARY'", 1), 1062, "23000"},
		{mysql.NewError(1205, "Lock wait timeout exceeded"), 1205, "HY000"},
		{context.Canceled, 1317, "70100"},
		{errors.New("x"), 1105, "HY000"},
	} {
		e := ToError(tc.err)
		if e.Code != tc.code || e.State != tc.state {
			t.Errorf("%v → %d %s", tc.err, e.Code, e.State)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type resetHandler struct {
	*testHandler
	resets *int
}

func (h resetHandler) ResetConnection(context.Context) error {
	*h.resets++
	h.inTxn = false
	return nil
}

func TestResetConnection(t *testing.T) {
	env := &testEnv{blocked: make(chan struct{})}
	resets := 0
	ts := startServerWith(t, Config{}, func(ci ConnInfo) Handler {
		return resetHandler{&testHandler{env: env, info: ci}, &resets}
	}, env)
	c := dialRaw(t, ts.Addr())
	c.login("test")
	c.command(mysql.COM_STMT_PREPARE, []byte("BEGIN"))
	p := c.mustRead()
	if p[0] != 0 || binary.LittleEndian.Uint16(p[5:]) != 0 || binary.LittleEndian.Uint16(p[7:]) != 0 {
		t.Fatalf("PREPARE BEGIN: %s", describe(p))
	}
	id := binary.LittleEndian.Uint32(p[1:])
	c.command(mysql.COM_STMT_EXECUTE, append(binary.LittleEndian.AppendUint32(nil, id), 0, 1, 0, 0, 0))
	if _, _, st := okStatus(t, c.mustRead()); st&mysql.SERVER_STATUS_IN_TRANS == 0 {
		t.Errorf("BEGIN status %#x", st)
	}
	c.command(mysql.COM_RESET_CONNECTION, nil)
	if _, _, st := okStatus(t, c.mustRead()); st&mysql.SERVER_STATUS_IN_TRANS != 0 || resets != 1 {
		t.Errorf("after reset: status %#x, %d resets", st, resets)
	}
	c.command(mysql.COM_STMT_EXECUTE, append(binary.LittleEndian.AppendUint32(nil, id), 0, 1, 0, 0, 0))
	if code, _, _ := errCode(c.mustRead()); code != mysql.ER_UNKNOWN_STMT_HANDLER {
		t.Error("statement survived COM_RESET_CONNECTION")
	}
}
