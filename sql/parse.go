package sql

import (
	"strings"
	"sync"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal and parameter AST nodes
)

// A Parser is not safe for concurrent use and costly to build: keep a pool.
var parsers = sync.Pool{New: func() any { return parser.New() }}

// parse parses the text of one COM_QUERY or COM_STMT_PREPARE.
func parse(text string) ([]ast.StmtNode, error) {
	p := parsers.Get().(*parser.Parser)
	defer parsers.Put(p)
	stmts, _, err := p.ParseSQL(text)
	if err != nil {
		return nil, syntaxError(err)
	}
	// The parser reuses its result slice on its next parse: copy it
	// before the parser goes back to the pool.
	return append([]ast.StmtNode(nil), stmts...), nil
}

// syntaxError turns a parser error into MySQL's 1064 with the parser's
// position text ("... near 'x' at line 1").
func syntaxError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "You have an error"); i >= 0 {
		msg = msg[i:]
	} else if i := strings.Index(msg, "near "); i >= 0 {
		msg = "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use " + msg[i:]
	}
	return errorf(mysql.ER_PARSE_ERROR, "%s", msg)
}
