package mysqlserver

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/packet"
)

// bufConn is the net.Conn go-mysql's packet.Conn writes to: writes go into a
// bufio.Writer, which is flushed before every read from the socket (so
// handshake and auth-switch packets are on the wire before the server waits
// for the client's answer) and, explicitly, after every complete response.
// A flush error is returned from Read/Flush and ends the connection.
type bufConn struct {
	net.Conn
	w *bufio.Writer // nil = unbuffered
}

func newBufConn(nc net.Conn, size int) *bufConn {
	bc := &bufConn{Conn: nc}
	if size > 0 {
		bc.w = bufio.NewWriterSize(nc, size)
	}
	return bc
}

func (b *bufConn) Write(p []byte) (int, error) {
	if b.w == nil {
		return b.Conn.Write(p)
	}
	return b.w.Write(p)
}

func (b *bufConn) Read(p []byte) (int, error) {
	if err := b.Flush(); err != nil {
		return 0, err
	}
	return b.Conn.Read(p)
}

func (b *bufConn) Flush() error {
	if b.w == nil || b.w.Buffered() == 0 {
		return nil
	}
	return b.w.Flush()
}

// packetBuffer collects one client packet and enforces max_allowed_packet
// while go-mysql's packet.Conn copies the payload into it (before the whole
// payload has been read: a huge length in a header costs at most the limit).
type packetBuffer struct {
	b        []byte
	limit    int
	tooLarge bool
}

var errPacketTooLarge = errors.New("packet larger than max_allowed_packet")

func (p *packetBuffer) Write(d []byte) (int, error) {
	if len(p.b)+len(d) > p.limit {
		p.tooLarge = true
		return 0, errPacketTooLarge
	}
	p.b = append(p.b, d...)
	return len(d), nil
}

// Reused buffers above this size are dropped after the command.
const keepBufferSize = 256 << 10

// handshakePacketLimit bounds the packets of the login phase.
const handshakePacketLimit = 1 << 20

// conn is one client connection.
type conn struct {
	srv *Server
	id  uint32
	raw net.Conn // as accepted (closed by shutdown)
	nc  net.Conn // raw, or the TLS connection over it
	bc  *bufConn
	pc  *packet.Conn
	log *slog.Logger

	rejected bool // over MaxConnections: send 1040 and close

	closeMu sync.Mutex
	closed  bool
	cancel  context.CancelFunc // cancels the context of Handler calls

	h         Handler
	info      ConnInfo
	caps      uint32 // negotiated capabilities
	collation uint8

	stmts  map[uint32]*Stmt
	stmtID uint32

	rbuf packetBuffer
	wbuf []byte // packet being built; 4 bytes reserved for the header
	tmp  []byte // scratch for value formatting
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{
		srv:   s,
		id:    s.nextID.Add(1),
		raw:   nc,
		nc:    nc,
		log:   s.log,
		stmts: make(map[uint32]*Stmt),
		wbuf:  make([]byte, 4, 1024),
		tmp:   make([]byte, 0, 64),
	}
}

// shutdown closes the socket from another goroutine (server Close): the
// connection's goroutine then fails its read or write and ends.
func (c *conn) shutdown() {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if !c.closed {
		c.closed = true
		_ = c.raw.Close()
		if c.cancel != nil {
			c.cancel()
		}
	}
}

// serve runs the connection until it ends. Handler calls get a context
// derived from ctx (the server's) that is also cancelled when the
// connection is shut down.
func (c *conn) serve(ctx context.Context) {
	c.closeMu.Lock()
	ctx, c.cancel = context.WithCancel(ctx)
	if c.closed {
		c.cancel()
	}
	c.closeMu.Unlock()
	defer c.shutdown()
	defer func() {
		// Last resort: a panic outside a Handler call (they are recovered
		// closer to the call) must not take the server down.
		if r := recover(); r != nil {
			c.log.Error("mysqlserver: panic in connection; closing it", "conn", c.id, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	// packet.Conn for the login phase reads unbuffered (no read-ahead that
	// a TLS upgrade would lose); the command phase reads through a 16 KiB
	// buffer.
	c.bc = newBufConn(c.nc, c.srv.cfg.WriteBufferSize)
	c.pc = packet.NewTLSConn(c.bc)
	if c.rejected {
		_ = c.pc.SetDeadline(time.Now().Add(time.Second))
		_ = c.writeErr(CodeError(mysql.ER_CON_COUNT_ERROR))
		_ = c.bc.Flush()
		return
	}
	if err := c.handshake(ctx); err != nil {
		c.log.Debug("mysqlserver: handshake failed", "conn", c.id, "remote", c.raw.RemoteAddr().String(), "err", err)
		if c.h != nil {
			c.closeHandler()
		}
		return
	}
	defer c.closeHandler()
	c.log.Debug("mysqlserver: connection open", "conn", c.id, "user", c.info.User, "remote", c.info.RemoteAddr)
	c.pc = packet.NewBufferedConn(c.bc, 16<<10)
	c.rbuf.limit = c.srv.cfg.MaxAllowedPacket
	for {
		if err := c.bc.Flush(); err != nil {
			c.log.Debug("mysqlserver: write failed", "conn", c.id, "err", err)
			return
		}
		c.pc.ResetSequence()
		data, err := c.readPacket()
		if err != nil {
			c.readFailed(err)
			return
		}
		if !c.dispatchSafe(ctx, data) {
			_ = c.bc.Flush()
			return
		}
		c.srv.questions.Add(1)
		if cap(c.rbuf.b) > keepBufferSize {
			c.rbuf.b = nil
		}
		if cap(c.wbuf) > keepBufferSize {
			c.wbuf = make([]byte, 4, 1024)
		}
	}
}

// readPacket reads one logical packet (reassembling 16 MiB parts) into
// c.rbuf; the result is valid until the next read.
func (c *conn) readPacket() ([]byte, error) {
	c.rbuf.b = c.rbuf.b[:0]
	c.rbuf.tooLarge = false
	if err := c.pc.ReadPacketTo(&c.rbuf); err != nil {
		if c.rbuf.tooLarge {
			return nil, errPacketTooLarge
		}
		return nil, err
	}
	return c.rbuf.b, nil
}

// readFailed ends the connection after a failed read, telling the client
// why when the failure is its fault.
func (c *conn) readFailed(err error) {
	switch {
	case errors.Is(err, errPacketTooLarge):
		c.log.Info("mysqlserver: packet too large; closing connection", "conn", c.id, "max_allowed_packet", c.rbuf.limit)
		_ = c.writeErr(CodeError(mysql.ER_NET_PACKET_TOO_LARGE))
		c.lingerClose()
	case strings.Contains(err.Error(), "invalid sequence"):
		c.log.Info("mysqlserver: packets out of order; closing connection", "conn", c.id, "err", err)
		_ = c.writeErr(CodeError(mysql.ER_NET_PACKETS_OUT_OF_ORDER))
		c.lingerClose()
	default:
		c.log.Debug("mysqlserver: connection closed by client", "conn", c.id, "err", err)
	}
}

// lingerClose sends what is buffered, half-closes and drains the client's
// pending input for a moment before the socket is closed, so that the final
// ERR packet is not destroyed by a TCP reset (closing a socket with unread
// input resets the connection).
func (c *conn) lingerClose() {
	_ = c.bc.Flush()
	if tc, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.CopyN(io.Discard, c.nc, 64<<20)
}

func (c *conn) closeHandler() {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("mysqlserver: panic in Handler.Close", "conn", c.id, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	c.h.Close()
}

// dispatchSafe runs one command; it reports false when the connection must
// be closed.
func (c *conn) dispatchSafe(ctx context.Context, data []byte) (keep bool) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("mysqlserver: panic while serving a command; closing connection",
				"conn", c.id, "panic", r, "stack", string(debug.Stack()))
			_ = c.writeErr(&Error{Code: mysql.ER_UNKNOWN_ERROR, State: "HY000",
				Message: fmt.Sprintf("internal error: %v", r)})
			keep = false
		}
	}()
	return c.dispatch(ctx, data)
}

// dispatch runs one command and writes its response.
func (c *conn) dispatch(ctx context.Context, data []byte) bool {
	if len(data) == 0 {
		_ = c.writeErr(CodeError(mysql.ER_MALFORMED_PACKET))
		return false
	}
	cmd, data := data[0], data[1:]
	switch cmd {
	case mysql.COM_QUIT:
		return false
	case mysql.COM_PING:
		return c.writeOK(&Result{}, c.status()) == nil
	case mysql.COM_QUERY:
		results, err := c.h.Query(ctx, string(data))
		return c.writeResults(results, err)
	case mysql.COM_INIT_DB:
		if err := c.h.UseDB(ctx, string(data)); err != nil {
			return c.writeErr(err) == nil
		}
		return c.writeOK(&Result{}, c.status()) == nil
	case mysql.COM_FIELD_LIST:
		return c.fieldList(ctx, data)
	case mysql.COM_STATISTICS:
		return c.statistics()
	case mysql.COM_STMT_PREPARE:
		return c.prepare(ctx, string(data))
	case mysql.COM_STMT_EXECUTE:
		return c.execute(ctx, data)
	case mysql.COM_STMT_SEND_LONG_DATA:
		return c.sendLongData(data)
	case mysql.COM_STMT_RESET:
		return c.stmtReset(data)
	case mysql.COM_STMT_CLOSE:
		if len(data) < 4 {
			_ = c.writeErr(CodeError(mysql.ER_MALFORMED_PACKET))
			return false
		}
		id := binary.LittleEndian.Uint32(data)
		if st, ok := c.stmts[id]; ok {
			delete(c.stmts, id)
			c.h.CloseStmt(st)
		}
		return true // no response
	case mysql.COM_STMT_FETCH:
		if len(data) < 4 {
			_ = c.writeErr(CodeError(mysql.ER_MALFORMED_PACKET))
			return false
		}
		return c.writeErr(CodeError(mysql.ER_STMT_HAS_NO_OPEN_CURSOR, binary.LittleEndian.Uint32(data))) == nil
	case mysql.COM_SET_OPTION:
		if len(data) < 2 {
			_ = c.writeErr(CodeError(mysql.ER_MALFORMED_PACKET))
			return false
		}
		switch binary.LittleEndian.Uint16(data) {
		case 0: // MYSQL_OPTION_MULTI_STATEMENTS_ON
			c.caps |= mysql.CLIENT_MULTI_STATEMENTS
		case 1: // MYSQL_OPTION_MULTI_STATEMENTS_OFF
			c.caps &^= mysql.CLIENT_MULTI_STATEMENTS
		default:
			return c.writeErr(CodeError(mysql.ER_UNKNOWN_COM_ERROR)) == nil
		}
		return c.writeEOF(0, c.status()) == nil
	case mysql.COM_RESET_CONNECTION:
		r, ok := c.h.(ConnectionResetter)
		if !ok {
			return c.writeErr(CodeError(mysql.ER_UNKNOWN_COM_ERROR)) == nil
		}
		for id, st := range c.stmts {
			delete(c.stmts, id)
			c.h.CloseStmt(st)
		}
		if err := r.ResetConnection(ctx); err != nil {
			return c.writeErr(err) == nil
		}
		return c.writeOK(&Result{}, c.status()) == nil
	default:
		return c.writeErr(CodeError(mysql.ER_UNKNOWN_COM_ERROR)) == nil
	}
}

// status returns the handler's status flags without the ones the server owns.
func (c *conn) status() ServerStatus {
	return c.h.Status() &^ (StatusMoreResultsExists | ServerStatus(mysql.SERVER_STATUS_CURSOR_EXISTS|mysql.SERVER_STATUS_LAST_ROW_SEND))
}

// writeResults sends the results of a COM_QUERY, then err if not nil.
func (c *conn) writeResults(results []*Result, err error) bool {
	for i, r := range results {
		more := i < len(results)-1 || err != nil
		if more && c.caps&mysql.CLIENT_MULTI_RESULTS == 0 {
			closeStreams(results[i:])
			return c.writeErr(Errorf(mysql.ER_UNKNOWN_ERROR,
				"statement produced several results but the client did not enable CLIENT_MULTI_RESULTS")) == nil
		}
		if r == nil {
			r = &Result{}
		}
		aborted, werr := c.writeResult(r, more, false, nil)
		if werr != nil {
			closeStreams(results[i+1:])
			return false
		}
		if aborted {
			closeStreams(results[i+1:])
			return true
		}
	}
	if err != nil {
		return c.writeErr(err) == nil
	}
	if len(results) == 0 {
		return c.writeOK(&Result{}, c.status()) == nil
	}
	return true
}

func closeStreams(rs []*Result) {
	for _, r := range rs {
		if r != nil && r.Stream != nil {
			_ = r.Stream.Close()
		}
	}
}

// writeResult sends one result: an OK packet or a result set (text or binary
// rows). aborted reports that producing the rows failed and an ERR packet
// ended the response; err is a failure to write (the connection is lost).
func (c *conn) writeResult(r *Result, more, binaryRows bool, defCols []Column) (aborted bool, err error) {
	if r.Stream != nil {
		defer func() { _ = r.Stream.Close() }()
	}
	cols := r.Columns
	if len(cols) == 0 && binaryRows {
		// COM_STMT_EXECUTE of a statement prepared with result columns:
		// always a result set (possibly empty), as the client expects.
		cols = defCols
	}
	status := c.status()
	if more {
		status |= StatusMoreResultsExists
	}
	if len(cols) == 0 {
		return false, c.writeOK(r, status)
	}
	b := c.wbuf[:4]
	b = mysql.AppendLengthEncodedInteger(b, uint64(len(cols)))
	if err := c.writePacket(b); err != nil {
		return false, err
	}
	for i := range cols {
		if err := c.writePacket(c.appendColumnDef(c.wbuf[:4], &cols[i], false)); err != nil {
			return false, err
		}
	}
	if err := c.writeEOF(r.Warnings, status); err != nil {
		return false, err
	}
	writeRow := func(row []any) (bool, error) {
		var perr error
		b := c.wbuf[:4]
		if binaryRows {
			b, perr = c.appendBinaryRow(b, row, cols)
		} else {
			b, perr = c.appendTextRow(b, row, cols)
		}
		if perr != nil {
			return true, c.writeErr(perr)
		}
		return false, c.writePacket(b)
	}
	for _, row := range r.Rows {
		if ab, err := writeRow(row); ab || err != nil {
			return ab, err
		}
	}
	if r.Stream != nil {
		for {
			row, err := r.Stream.Next()
			if err != nil {
				return true, c.writeErr(err)
			}
			if row == nil {
				break
			}
			if ab, err := writeRow(row); ab || err != nil {
				return ab, err
			}
		}
	}
	return false, c.writeEOF(r.Warnings, status)
}

func (c *conn) fieldList(ctx context.Context, data []byte) bool {
	table, wildcard := data, []byte(nil)
	if i := indexByte(data, 0); i >= 0 {
		table, wildcard = data[:i], data[i+1:]
	}
	cols, err := c.h.FieldList(ctx, string(table), string(wildcard))
	if err != nil {
		return c.writeErr(err) == nil
	}
	for i := range cols {
		if err := c.writePacket(c.appendColumnDef(c.wbuf[:4], &cols[i], true)); err != nil {
			return false
		}
	}
	return c.writeEOF(0, c.status()) == nil
}

func (c *conn) statistics() bool {
	s := c.srv
	up := time.Since(s.started)
	q := s.questions.Load()
	secs := max(up.Seconds(), 1)
	msg := fmt.Sprintf("Uptime: %d  Threads: %d  Questions: %d  Slow queries: 0  Opens: 0  Flush tables: 0  Open tables: 0  Queries per second avg: %.3f",
		int64(up.Seconds()), s.NumConnections(), q, float64(q)/secs)
	return c.writePacket(append(c.wbuf[:4], msg...)) == nil
}

func indexByte(b []byte, x byte) int {
	for i, v := range b {
		if v == x {
			return i
		}
	}
	return -1
}

// ---- packets ----

// writePacket writes b (4 header bytes reserved, then the payload) with the
// next sequence number; it goes to the write buffer (or the socket when
// unbuffered). b may be c.wbuf grown: it is kept for reuse.
func (c *conn) writePacket(b []byte) error {
	if cap(b) > cap(c.wbuf) {
		c.wbuf = b[:4]
	}
	return c.pc.WritePacket(b)
}

func (c *conn) writeOK(r *Result, status ServerStatus) error {
	b := append(c.wbuf[:4], mysql.OK_HEADER)
	b = mysql.AppendLengthEncodedInteger(b, r.AffectedRows)
	b = mysql.AppendLengthEncodedInteger(b, r.LastInsertID)
	b = binary.LittleEndian.AppendUint16(b, uint16(status))
	b = binary.LittleEndian.AppendUint16(b, r.Warnings)
	if r.Info != "" {
		// Servers send the info as a length-encoded string (MySQL's
		// net_send_ok; libmariadb reads it so, with or without
		// CLIENT_SESSION_TRACK).
		b = mysql.AppendLengthEncodedInteger(b, uint64(len(r.Info)))
		b = append(b, r.Info...)
	}
	return c.writePacket(b)
}

func (c *conn) writeEOF(warnings uint16, status ServerStatus) error {
	b := append(c.wbuf[:4], mysql.EOF_HEADER)
	b = binary.LittleEndian.AppendUint16(b, warnings)
	b = binary.LittleEndian.AppendUint16(b, uint16(status))
	return c.writePacket(b)
}

// maxErrMessage is MySQL's limit for an error message (MYSQL_ERRMSG_SIZE).
const maxErrMessage = 512

func (c *conn) writeErr(err error) error {
	e := ToError(err)
	b := append(c.wbuf[:4], mysql.ERR_HEADER)
	b = binary.LittleEndian.AppendUint16(b, e.Code)
	b = append(b, '#')
	state := e.State
	if len(state) != 5 {
		state = "HY000"
	}
	b = append(b, state...)
	msg := e.Message
	if len(msg) > maxErrMessage {
		msg = msg[:maxErrMessage]
	}
	b = append(b, msg...)
	return c.writePacket(b)
}

// appendColumnDef appends a ColumnDefinition41 payload.
func (c *conn) appendColumnDef(b []byte, col *Column, withDefault bool) []byte {
	b = appendLenEncString(b, "def")
	b = appendLenEncString(b, col.Schema)
	b = appendLenEncString(b, col.Table)
	b = appendLenEncString(b, col.OrgTable)
	b = appendLenEncString(b, col.Name)
	b = appendLenEncString(b, col.OrgName)
	b = append(b, 0x0c)
	cs := col.Charset
	if cs == 0 {
		if isCharType(col.Type) {
			cs = uint16(c.collation)
		} else {
			cs = CollationBinary
		}
	}
	b = binary.LittleEndian.AppendUint16(b, cs)
	b = binary.LittleEndian.AppendUint32(b, col.Length)
	b = append(b, byte(col.Type))
	b = binary.LittleEndian.AppendUint16(b, col.Flags)
	b = append(b, col.Decimals, 0, 0)
	if withDefault {
		if col.Default == nil {
			b = append(b, 0xfb)
		} else {
			b = mysql.AppendLengthEncodedInteger(b, uint64(len(col.Default)))
			b = append(b, col.Default...)
		}
	}
	return b
}

func appendLenEncString(b []byte, s string) []byte {
	b = mysql.AppendLengthEncodedInteger(b, uint64(len(s)))
	return append(b, s...)
}

// remoteHost is the client's IP for error messages ('user'@'host').
func remoteHost(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	s := a.String()
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}
