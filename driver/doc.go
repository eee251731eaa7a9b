// Package driver is Polar's embedded database/sql driver: it runs a whole
// Polar database (storage node, engine, SQL) inside the calling process,
// with no server and no network round trips.
//
//	import (
//		"database/sql"
//		_ "github.com/polarsql/polar/driver"
//	)
//
//	db, err := sql.Open("polar", "file:/var/lib/myapp/polar") // persistent
//	db, err := sql.Open("polar", "mem:")                     // in memory
//	defer db.Close() // shuts the database down
//
// # Data source names
//
//	file:PATH        a persistent database in directory PATH (created if
//	                 missing; the storage node lives in PATH/storage, the
//	                 same layout as polard --data=PATH, so polard can serve
//	                 it later — not at the same time: the directory is locked)
//	mem:             a private in-memory database: every sql.Open("polar",
//	                 "mem:") is a separate, empty database, gone at db.Close
//	mem:NAME         a named in-memory database, shared by every *sql.DB of
//	                 the process that opened "mem:NAME" until the last one
//	                 is closed
//
// Options follow a '?', separated by '&': multiStatements=true (several
// statements in one Query/Exec text, as go-sql-driver/mysql's option; off
// by default so concatenated input cannot smuggle in a second statement),
// clientFoundRows=true (UPDATE reports matched rather than changed rows),
// logLevel=debug|info|warn|error (what the database logs to
// slog.Default(); default warn).
//
// "In memory" is a directory on tmpfs (/dev/shm) when the machine has one,
// else in os.TempDir(), removed at Close: the storage node needs a real
// directory (see package compute/instance).
//
// Two *sql.DB opened with the same file: path (or mem:NAME) in one process
// share one database; the database starts at the first connection and shuts
// down when the last of those *sql.DB is closed.
//
// # Semantics
//
// A database/sql connection is one SQL session, exactly like a client
// connection to polard: session variables, the default database (USE) and
// transactions are per connection. Statements with arguments are prepared
// and executed on the session (the MySQL binary protocol's path: arguments
// are never spliced into the SQL text); statements without arguments run as
// text queries. Arguments may be nil, integers, floats, bool (sent as 0/1),
// string, []byte, time.Time (sent as its UTC wall clock, like go-sql-driver's
// default loc=UTC) and time.Duration (TIME); named arguments are refused.
//
// Result values are int64 (integer columns; uint64 for unsigned values above
// math.MaxInt64), float64, string, []byte (DECIMAL, BLOB, TIME as
// "HH:MM:SS[.ffffff]"), time.Time (DATE/DATETIME/TIMESTAMP) and nil.
// A multi-statement Query starts at the first statement that returns
// columns; Rows.NextResultSet moves to the next one that does.
//
// BeginTx maps TxOptions to SET TRANSACTION ISOLATION LEVEL ... and START
// TRANSACTION [READ ONLY].
//
// # Errors
//
// Errors of statements are the SQL layer's, typically
// *mysqlserver.Error with the MySQL error number and SQLSTATE — the same a
// polard client would get:
//
//	var me *mysqlserver.Error
//	if errors.As(err, &me) && me.Code == 1062 { ... duplicate key ... }
//
// After db.Close, in-flight statements are interrupted, open transactions
// roll back and further use fails.
package driver
