// Package mysqlserver is Polar's MySQL wire-protocol front end. It accepts
// client connections (mysql/mariadb CLI, go-sql-driver, sysbench's
// libmariadb, ...), authenticates them and hands every command to a Handler,
// one per connection, which the SQL layer implements. The package knows
// nothing about SQL: it frames, decodes and encodes.
//
// # Use
//
//	srv, err := mysqlserver.New(mysqlserver.Config{Addr: "127.0.0.1:3306"},
//		func(ci mysqlserver.ConnInfo) mysqlserver.Handler { return sql.NewSession(ci) })
//	if err != nil { ... }          // e.g. "cannot listen on ...: address already in use"
//	err = srv.Serve(ctx)           // until ctx is cancelled or srv.Close()
//
// ConstantHandler answers every statement with a constant row; serving it
// measures the protocol stack's ceiling (see BenchmarkPointSelect* and the
// sysbench figures in the package's issue note).
//
// # Relation to go-mysql
//
// The wire layer is go-mysql v1.13.0: packet.Conn frames packets (sequence
// numbers, 16 MiB splitting), the mysql package supplies the protocol
// constants, error codes/messages/SQLSTATEs and the password scrambles. The
// connection and command phases are implemented here rather than with
// go-mysql's server.Conn, because in v1.13.0 that type
//   - forgets parameter values/types after each COM_STMT_EXECUTE: a client
//     that binds types only on the first execute (libmariadb, sysbench) gets
//     NULL for every parameter afterwards;
//   - sends placeholder definitions (no type, no name) for the result columns
//     in PREPARE_OK, while libmariadb decodes binary rows by them;
//   - has no multi-result framing (SERVER_MORE_RESULTS_EXISTS) and no
//     max_allowed_packet limit (any length in a header is allocated);
//   - offers a fixed capability set without CLIENT_MULTI_STATEMENTS,
//     CLIENT_MULTI_RESULTS and CLIENT_PS_MULTI_RESULTS;
//   - needs the Handler before the user is known and calls UseDB for the
//     login database before checking the password, and reports an unknown
//     user as 1449 instead of 1045;
//   - writes one syscall per packet.
//
// # Protocol support
//
// Handshake v10; the greeting offers CLIENT_LONG_PASSWORD (= CLIENT_MYSQL,
// so MariaDB clients speak plain MySQL protocol), PROTOCOL_41,
// SECURE_CONNECTION, PLUGIN_AUTH(+LENENC data), CONNECT_WITH_DB,
// CONNECT_ATTRS, TRANSACTIONS, MULTI_STATEMENTS, MULTI_RESULTS,
// PS_MULTI_RESULTS, FOUND_ROWS, LONG_FLAG, IGNORE_SPACE, INTERACTIVE, and
// SSL when Config.TLSConfig is set. Not offered: DEPRECATE_EOF (classic EOF
// packets are always sent), SESSION_TRACK, COMPRESS, QUERY_ATTRIBUTES,
// LOCAL_FILES. Pre-4.1 clients are refused.
//
// Authentication: mysql_native_password (default greeting plugin) and
// caching_sha2_password. Passwords are held in plain text (Config.Users), so
// caching_sha2_password always completes on its fast path (scramble check,
// AuthMoreData 0x03, OK) and never needs the full RSA/TLS exchange; a client
// answering with any other plugin (sha256_password, client_ed25519, ...) is
// sent an AuthSwitchRequest to mysql_native_password. A wrong password or an
// unknown user gets 1045 (28000) "Access denied for user 'u'@'ip' (using
// password: YES|NO)". The login database is selected with Handler.UseDB
// after authentication; its error (1049) replaces the OK.
//
// Commands: COM_QUERY (text protocol, several results with
// SERVER_MORE_RESULTS_EXISTS), COM_STMT_PREPARE/EXECUTE (binary protocol;
// parameter types kept per statement; cursor flags are ignored and the full
// result set is sent without SERVER_STATUS_CURSOR_EXISTS, which clients
// accept as "no cursor"), COM_STMT_SEND_LONG_DATA, COM_STMT_RESET,
// COM_STMT_CLOSE, COM_INIT_DB, COM_PING, COM_QUIT, COM_FIELD_LIST,
// COM_STATISTICS, COM_SET_OPTION (multi-statements on/off; the Handler sees
// the login-time setting in ConnInfo), COM_RESET_CONNECTION (if the Handler
// implements ConnectionResetter). COM_STMT_FETCH fails with 1421 (no cursor
// is ever open); COM_CHANGE_USER, COM_BINLOG_DUMP and the other commands
// fail with 1047 "Unknown command" and the connection stays usable.
//
// # Buffering
//
// Each connection writes through a bufio.Writer (Config.WriteBufferSize,
// default 32 KiB) that is flushed when the server is about to read the next
// packet from the client — after a complete response, and before waiting for
// a handshake or auth-switch answer — so a response normally costs one write
// syscall; larger responses are flushed as the buffer fills. A failed flush
// closes the connection.
//
// # Robustness
//
// A packet larger than Config.MaxAllowedPacket (counted while it is read) is
// answered with 1153 (08S01) and the connection is closed; packets out of
// order get 1156, malformed command packets 1835, both closing the
// connection; a client vanishing mid-packet or mid-response just ends its
// connection. A panic in the Handler is recovered, logged with its stack,
// reported as 1105 and closes that connection. In every case Handler.Close
// runs exactly once (for connections that got past authentication).
// Connections beyond Config.MaxConnections receive 1040 (08004); the login
// phase is bounded by Config.HandshakeTimeout.
package mysqlserver
