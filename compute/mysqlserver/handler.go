package mysqlserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// Handler executes the statements of one client connection. The server
// creates one Handler per authenticated connection (through the factory
// given to New) and calls it from that connection's goroutine only, one call
// at a time, so a Handler needs no locking for its own session state.
//
// The context passed to the calls is cancelled when the server shuts down
// (Close or the Serve context); a long statement (lock wait, big scan) should
// watch it. Errors are sent to the client as ERR packets: return an *Error (or
// a go-mysql *mysql.MyError) to choose the MySQL code and SQLSTATE; any other
// error is sent as 1105 (HY000) with its text, context.Canceled and
// context.DeadlineExceeded as 1317 (70100) "Query execution was interrupted".
//
// A panic in a Handler method is recovered: it is logged, the client gets
// ERR 1105 and that connection is closed (Close is still called).
//
// The server never modifies what a Handler returns (Results, Columns, rows),
// so a Handler may return shared, pre-built values.
type Handler interface {
	// UseDB selects the default database: COM_INIT_DB, and the database a
	// client names at login (CLIENT_CONNECT_WITH_DB). An error at login is
	// sent instead of the handshake OK and the connection is closed; MySQL
	// answers an unknown database with 1049 (42000) "Unknown database 'x'".
	UseDB(ctx context.Context, db string) error

	// Query runs the text of one COM_QUERY, which may hold several
	// statements separated by ';' when the client enabled multi-statements
	// (ConnInfo.MultiStatements; without it MySQL answers 1064). It returns
	// one Result per statement executed, in order. If a statement fails,
	// Query returns the Results of the statements before it together with
	// the error (MySQL stops at the first failing statement): the client
	// receives those results followed by the ERR packet. No results and no
	// error is answered with a plain OK packet.
	Query(ctx context.Context, sql string) ([]*Result, error)

	// Prepare handles COM_STMT_PREPARE. The server assigns the statement id
	// and keeps the statement (with the returned Prepared data) until the
	// client closes it. A statement that cannot be prepared should fail with
	// 1295 ER_UNSUPPORTED_PS (sysbench then falls back to COM_QUERY; any
	// other code aborts a sysbench run).
	Prepare(ctx context.Context, sql string) (*Prepared, error)

	// Execute handles COM_STMT_EXECUTE. args has stmt.NumParams values,
	// decoded from the binary protocol according to the parameter types the
	// client declared (kept per statement: clients send them only with the
	// first execute). Their Go types:
	//
	//	nil                      NULL (null bitmap or MYSQL_TYPE_NULL)
	//	int64 / uint64           TINY, SHORT, YEAR, INT24, LONG, LONGLONG (uint64 when flagged unsigned)
	//	float64                  FLOAT, DOUBLE
	//	string                   VARCHAR, VAR_STRING, STRING, DECIMAL, NEWDECIMAL, ENUM, SET, JSON
	//	[]byte                   TINY/MEDIUM/LONG BLOB, BLOB, GEOMETRY, BIT, and any parameter sent with COM_STMT_SEND_LONG_DATA
	//	time.Time (UTC)          DATE, DATETIME, TIMESTAMP (a zero date such as 0000-00-00 arrives as the string "0000-00-00 00:00:00")
	//	time.Duration            TIME
	//
	// stmt.ParamTypes tells the declared types. The result is sent in the
	// binary protocol. A Result without Columns for a statement prepared
	// with columns is sent as a result set with stmt.Columns (empty if it
	// has no rows), so a SELECT may return just &Result{Rows: rows}.
	Execute(ctx context.Context, stmt *Stmt, args []any) (*Result, error)

	// CloseStmt is called for COM_STMT_CLOSE (and for every open statement
	// on COM_RESET_CONNECTION). Statements still open when the connection
	// ends are not closed one by one: Close covers them.
	CloseStmt(stmt *Stmt)

	// FieldList handles the deprecated COM_FIELD_LIST (the mysql CLI's
	// tab completion): the columns of table matching wildcard.
	FieldList(ctx context.Context, table, wildcard string) ([]Column, error)

	// Status reports the session's transaction state for the status flags
	// of OK and EOF packets (StatusInTrans, StatusAutocommit, ...). It is
	// called after each statement; the server adds the flags it owns
	// (StatusMoreResultsExists).
	Status() ServerStatus

	// Close is called exactly once when the connection ends for any reason
	// (COM_QUIT, client disconnect, protocol error, panic, server shutdown):
	// roll back an open transaction and free the session here.
	Close()
}

// ConnectionResetter is an optional Handler interface for
// COM_RESET_CONNECTION (reset session state without re-authenticating).
// Without it the command is answered with 1047 "Unknown command". Before the
// call the server closes every open prepared statement (CloseStmt).
type ConnectionResetter interface {
	ResetConnection(ctx context.Context) error
}

// ConnInfo describes an authenticated connection; it is passed to the Handler
// factory.
type ConnInfo struct {
	ID         uint32            // connection id (CONNECTION_ID()), unique per Server
	User       string            // authenticated user name
	RemoteAddr string            // client "ip:port"
	DB         string            // database named at login ("" if none); UseDB is called for it too
	Collation  uint8             // collation id the client asked for (45 utf8mb4_general_ci, 33 utf8mb3_general_ci, 255 utf8mb4_0900_ai_ci, ...)
	Caps       uint32            // negotiated capability flags (client's ∩ server's), CLIENT_* of the MySQL protocol
	Attributes map[string]string // connection attributes (_client_name, program_name, ...)
	AuthPlugin string            // plugin that authenticated the client
	TLS        bool              // the connection uses TLS
	// Kill closes the connection from any goroutine (KILL CONNECTION):
	// the connection's goroutine then ends it as for a client disconnect
	// and calls the Handler's Close. Nil outside the server.
	Kill func()
}

// MultiStatements reports whether the client allowed several statements per
// COM_QUERY (CLIENT_MULTI_STATEMENTS).
func (ci ConnInfo) MultiStatements() bool { return ci.Caps&mysql.CLIENT_MULTI_STATEMENTS != 0 }

// FoundRows reports CLIENT_FOUND_ROWS: affected rows of UPDATE must count
// matched rather than changed rows.
func (ci ConnInfo) FoundRows() bool { return ci.Caps&mysql.CLIENT_FOUND_ROWS != 0 }

// ServerStatus holds SERVER_STATUS_* flags of OK and EOF packets.
type ServerStatus uint16

// Server status flags a Handler reports through Status.
const (
	StatusInTrans            ServerStatus = ServerStatus(mysql.SERVER_STATUS_IN_TRANS)
	StatusAutocommit         ServerStatus = ServerStatus(mysql.SERVER_STATUS_AUTOCOMMIT)
	StatusMoreResultsExists  ServerStatus = ServerStatus(mysql.SERVER_MORE_RESULTS_EXISTS) // set by the server
	StatusNoBackslashEscapes ServerStatus = ServerStatus(mysql.SERVER_STATUS_NO_BACKSLASH_ESCAPED)
	StatusInTransReadonly    ServerStatus = ServerStatus(mysql.SERVER_STATUS_IN_TRANS_READONLY)
)

// Result is the outcome of one statement: a result set if Columns is not
// empty, otherwise an OK packet (AffectedRows, LastInsertID, Warnings, Info).
type Result struct {
	Columns []Column
	// Rows are sent first, then the rows of Stream (if any). Each row has
	// one value per column; see Column for the Go types accepted.
	Rows   [][]any
	Stream RowIterator

	AffectedRows uint64
	LastInsertID uint64
	Warnings     uint16
	Info         string // OK packet's human-readable info, e.g. "Rows matched: 1  Changed: 1  Warnings: 0"
}

// RowIterator streams the rows of a large result. Next returns the next row,
// or (nil, nil) at the end; the returned slice may be reused by the next
// call. An error from Next is sent to the client as an ERR packet in place
// of the result set's final EOF. Close is always called, also when the
// client disconnects or an earlier error stops the response.
type RowIterator interface {
	Next() ([]any, error)
	Close() error
}

// Prepared is a Handler's answer to COM_STMT_PREPARE.
type Prepared struct {
	NumParams int      // number of '?' placeholders
	Params    []Column // optional parameter definitions (len NumParams); nil sends generic ones
	Columns   []Column // result set columns; empty for statements without one (DML, BEGIN, ...)
	Context   any      // anything the Handler wants back in Execute/CloseStmt (a plan, ...)
}

// Stmt is a prepared statement of one connection, as the server keeps it.
// Handlers must treat it as read-only.
type Stmt struct {
	ID        uint32
	SQL       string
	NumParams int
	Columns   []Column
	Context   any

	params   []Column    // parameter definitions sent with PREPARE_OK
	types    []ParamType // declared by the client with the first execute
	longData [][]byte    // COM_STMT_SEND_LONG_DATA per parameter (nil = none)
	longSet  []bool
	longSize int
}

// ParamType is a parameter type declared by the client in COM_STMT_EXECUTE.
type ParamType struct {
	Type     FieldType
	Unsigned bool
}

// ParamTypes returns the parameter types the client declared (nil before the
// first execute).
func (s *Stmt) ParamTypes() []ParamType { return s.types }

// FieldType is a MySQL column type code (MYSQL_TYPE_*).
type FieldType uint8

// Column types.
const (
	TypeDecimal    FieldType = 0
	TypeTiny       FieldType = 1
	TypeShort      FieldType = 2
	TypeLong       FieldType = 3
	TypeFloat      FieldType = 4
	TypeDouble     FieldType = 5
	TypeNull       FieldType = 6
	TypeTimestamp  FieldType = 7
	TypeLongLong   FieldType = 8
	TypeInt24      FieldType = 9
	TypeDate       FieldType = 10
	TypeTime       FieldType = 11
	TypeDateTime   FieldType = 12
	TypeYear       FieldType = 13
	TypeNewDate    FieldType = 14
	TypeVarchar    FieldType = 15
	TypeBit        FieldType = 16
	TypeJSON       FieldType = 245
	TypeNewDecimal FieldType = 246
	TypeEnum       FieldType = 247
	TypeSet        FieldType = 248
	TypeTinyBlob   FieldType = 249
	TypeMediumBlob FieldType = 250
	TypeLongBlob   FieldType = 251
	TypeBlob       FieldType = 252
	TypeVarString  FieldType = 253
	TypeString     FieldType = 254
	TypeGeometry   FieldType = 255
)

// Column flags (column definition "flags").
const (
	FlagNotNull       uint16 = 1
	FlagPriKey        uint16 = 2
	FlagUniqueKey     uint16 = 4
	FlagMultipleKey   uint16 = 8
	FlagBlob          uint16 = 16
	FlagUnsigned      uint16 = 32
	FlagZerofill      uint16 = 64
	FlagBinary        uint16 = 128
	FlagEnum          uint16 = 256
	FlagAutoIncrement uint16 = 512
	FlagTimestamp     uint16 = 1024
	FlagSet           uint16 = 2048
	FlagNoDefault     uint16 = 4096
	FlagOnUpdateNow   uint16 = 8192
	FlagNum           uint16 = 32768
)

// CollationBinary is the collation id of binary (non-character) columns.
const CollationBinary = 63

// Column is a column definition of a result set (or of a prepared statement's
// parameters, or of COM_FIELD_LIST).
//
// Values in rows may be: nil (NULL); any Go integer type, bool; float32,
// float64; string, []byte; time.Time (DATE/DATETIME/TIMESTAMP, sent in its
// own location's wall clock); time.Duration (TIME); or any type implementing
// encoding.TextAppender or fmt.Stringer (e.g. a decimal type). The text
// protocol formats a value by its Go type (time values and floats also by the
// column type and Decimals); the binary protocol encodes it as the column's
// Type requires (an int64 in a DOUBLE column is converted, a string in a
// DATETIME column is parsed, ...), so Type must describe the values.
type Column struct {
	Schema   string
	Table    string // table alias
	OrgTable string
	Name     string // column alias
	OrgName  string
	Type     FieldType
	Flags    uint16
	// Charset is the collation id; 0 means the connection's collation for
	// character types (CHAR, VARCHAR, TEXT via VAR_STRING/STRING/ENUM/SET/
	// JSON) and binary (63) for everything else, BLOBs included.
	Charset  uint16
	Length   uint32 // display length in bytes (VARCHAR(n) in utf8mb4: 4n)
	Decimals uint8  // digits after the point (DECIMAL scale, fractional seconds); 31 = not fixed (FLOAT/DOUBLE)
	// Default is the column default sent by COM_FIELD_LIST (nil = NULL).
	Default []byte
}

// NewColumn returns a column definition with MySQL's usual length, decimals
// and flags for the type (INT → length 11, DOUBLE → 22/31, DATETIME → 19,
// numeric types flagged BINARY|NUM, VARCHAR-like types length 0 — set
// Length for them). Adjust the fields as needed.
func NewColumn(name string, t FieldType) Column {
	c := Column{Name: name, OrgName: name, Type: t}
	switch t {
	case TypeTiny:
		c.Length = 4
	case TypeShort:
		c.Length = 6
	case TypeInt24:
		c.Length = 9
	case TypeLong:
		c.Length = 11
	case TypeLongLong:
		c.Length = 20
	case TypeYear:
		c.Length = 4
		c.Flags |= FlagUnsigned | FlagZerofill
	case TypeFloat:
		c.Length, c.Decimals = 12, 31
	case TypeDouble:
		c.Length, c.Decimals = 22, 31
	case TypeDecimal, TypeNewDecimal:
		c.Length = 12
	case TypeDate, TypeNewDate:
		c.Length = 10
	case TypeTime:
		c.Length = 10
	case TypeDateTime, TypeTimestamp:
		c.Length = 19
	case TypeBlob, TypeTinyBlob, TypeMediumBlob, TypeLongBlob:
		c.Length = 65535
		c.Flags |= FlagBlob | FlagBinary
	case TypeNull:
		c.Flags |= FlagBinary
	}
	if isNumeric(t) {
		c.Flags |= FlagBinary | FlagNum
	} else if isTemporal(t) {
		c.Flags |= FlagBinary
	}
	return c
}

func isNumeric(t FieldType) bool {
	switch t {
	case TypeTiny, TypeShort, TypeInt24, TypeLong, TypeLongLong, TypeFloat, TypeDouble,
		TypeDecimal, TypeNewDecimal, TypeYear:
		return true
	}
	return false
}

func isTemporal(t FieldType) bool {
	switch t {
	case TypeDate, TypeNewDate, TypeTime, TypeDateTime, TypeTimestamp:
		return true
	}
	return false
}

// isCharType reports whether a column of type t carries the connection's
// character set by default.
func isCharType(t FieldType) bool {
	switch t {
	case TypeVarchar, TypeVarString, TypeString, TypeEnum, TypeSet, TypeJSON:
		return true
	}
	return false
}

// Error is a MySQL error: code, SQLSTATE and message, sent as an ERR packet.
type Error struct {
	Code    uint16
	State   string // 5 characters, e.g. "42S02"
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("ERROR %d (%s): %s", e.Code, e.State, e.Message)
}

// NewError returns an Error with an explicit code, SQLSTATE and message.
func NewError(code uint16, state, message string) *Error {
	return &Error{Code: code, State: state, Message: message}
}

// Errorf returns an Error with the given code, the SQLSTATE MySQL uses for
// it (HY000 if unknown) and a formatted message.
func Errorf(code uint16, format string, args ...any) *Error {
	return &Error{Code: code, State: stateOf(code), Message: fmt.Sprintf(format, args...)}
}

// CodeError returns the Error MySQL sends for code, with the message
// template of MySQL's error list filled with args, e.g.
// CodeError(1146, "db.t") → 1146 (42S02) "Table 'db.t' doesn't exist".
// Error codes are go-mysql's mysql.ER_* constants.
func CodeError(code uint16, args ...any) *Error {
	e := mysql.NewDefaultError(code, args...)
	return &Error{Code: e.Code, State: e.State, Message: e.Message}
}

func stateOf(code uint16) string {
	if s, ok := mysql.MySQLState[code]; ok {
		return s
	}
	return mysql.DEFAULT_MYSQL_STATE
}

// ToError converts any error into the Error the client will receive:
// *Error and *mysql.MyError keep their code, context cancellation becomes
// 1317 (70100), anything else 1105 (HY000) with the error's text.
func ToError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var me *mysql.MyError
	if errors.As(err, &me) {
		return &Error{Code: me.Code, State: me.State, Message: me.Message}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return CodeError(mysql.ER_QUERY_INTERRUPTED)
	}
	return &Error{Code: mysql.ER_UNKNOWN_ERROR, State: "HY000", Message: err.Error()}
}

// BaseHandler implements every Handler method with a neutral default
// (UseDB accepts any name; Query fails with 1235, Prepare/Execute with
// 1295, FieldList with 1047; autocommit status; no-op Close). Embed it to implement only what you need.
type BaseHandler struct{}

// UseDB accepts any database.
func (BaseHandler) UseDB(context.Context, string) error { return nil }

// Query fails with 1235 ER_NOT_SUPPORTED_YET.
func (BaseHandler) Query(context.Context, string) ([]*Result, error) {
	return nil, CodeError(mysql.ER_NOT_SUPPORTED_YET, "COM_QUERY")
}

// Prepare fails with 1295 ER_UNSUPPORTED_PS.
func (BaseHandler) Prepare(context.Context, string) (*Prepared, error) {
	return nil, CodeError(mysql.ER_UNSUPPORTED_PS)
}

// Execute fails with 1295 ER_UNSUPPORTED_PS.
func (BaseHandler) Execute(context.Context, *Stmt, []any) (*Result, error) {
	return nil, CodeError(mysql.ER_UNSUPPORTED_PS)
}

// CloseStmt does nothing.
func (BaseHandler) CloseStmt(*Stmt) {}

// FieldList fails with 1047.
func (BaseHandler) FieldList(context.Context, string, string) ([]Column, error) {
	return nil, CodeError(mysql.ER_UNKNOWN_COM_ERROR)
}

// Status reports autocommit, no transaction.
func (BaseHandler) Status() ServerStatus { return StatusAutocommit }

// Close does nothing.
func (BaseHandler) Close() {}
