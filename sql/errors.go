package sql

import (
	"context"
	"errors"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/compute/table"
)

// errorf returns a MySQL error with code's SQLSTATE and a formatted
// message.
func errorf(code uint16, format string, args ...any) error {
	return mysqlserver.Errorf(code, format, args...)
}

// codeError returns MySQL's own message for code.
func codeError(code uint16, args ...any) error {
	return mysqlserver.CodeError(code, args...)
}

// toMySQLError maps errors of the layers below to the MySQL error a client
// expects. Errors that already carry a MySQL code pass through.
func toMySQLError(err error) error {
	if err == nil {
		return nil
	}
	var me *mysqlserver.Error
	if errors.As(err, &me) {
		return me
	}
	var dup *table.DuplicateKeyError
	if errors.As(err, &dup) {
		return errorf(mysql.ER_DUP_ENTRY, "%s", dup.Error())
	}
	var nn *table.NotNullError
	if errors.As(err, &nn) {
		return errorf(mysql.ER_BAD_NULL_ERROR, "Column '%s' cannot be null", nn.Column)
	}
	switch {
	case errors.Is(err, engine.ErrDeadlock):
		return codeError(mysql.ER_LOCK_DEADLOCK)
	case errors.Is(err, engine.ErrLockTimeout):
		return codeError(mysql.ER_LOCK_WAIT_TIMEOUT)
	case errors.Is(err, engine.ErrReadOnly):
		return codeError(mysql.ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION)
	case errors.Is(err, catalog.ErrNoDatabase):
		return errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", quotedName(err))
	case errors.Is(err, catalog.ErrDatabaseExists):
		return errorf(mysql.ER_DB_CREATE_EXISTS, "Can't create database '%s'; database exists", quotedName(err))
	case errors.Is(err, catalog.ErrTableExists):
		return errorf(mysql.ER_TABLE_EXISTS_ERROR, "Table '%s' already exists", quotedName(err))
	case errors.Is(err, catalog.ErrNoTable):
		return errorf(mysql.ER_NO_SUCH_TABLE, "Table '%s' doesn't exist", quotedName(err))
	case errors.Is(err, catalog.ErrInvalid):
		return errorf(mysql.ER_WRONG_TABLE_NAME+0, "%s", strings.TrimPrefix(err.Error(), "catalog: invalid definition: "))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return codeError(mysql.ER_QUERY_INTERRUPTED)
	}
	return err
}

// quotedName extracts the first '…' quoted name of an error message.
func quotedName(err error) string {
	s := err.Error()
	i := strings.IndexByte(s, '\'')
	if i < 0 {
		return s
	}
	j := strings.IndexByte(s[i+1:], '\'')
	if j < 0 {
		return s[i+1:]
	}
	return s[i+1 : i+1+j]
}

// isTxnAbort reports errors after which MySQL has rolled back the whole
// transaction (not just the statement).
func isTxnAbort(err error) bool {
	var me *mysqlserver.Error
	if errors.As(err, &me) {
		return me.Code == mysql.ER_LOCK_DEADLOCK
	}
	return errors.Is(err, engine.ErrDeadlock) || errors.Is(err, engine.ErrWritesStopped)
}
