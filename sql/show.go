package sql

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/sql/expr"
)

// textTable is a result of text columns built by SHOW and
// information_schema.
type textTable struct {
	cols []resultCol
	rows [][]expr.Value
}

func newTextTable(names ...string) *textTable {
	t := &textTable{}
	for _, n := range names {
		t.cols = append(t.cols, resultCol{name: n, typ: expr.Type{Kind: keycodec.KindString,
			Column: catalog.ColumnType{Name: "varchar", Length: 64, Collation: "utf8mb4_general_ci"}}})
	}
	return t
}

// add appends a row; nil entries are NULL, ints become numbers.
func (t *textTable) add(vals ...any) {
	row := make([]expr.Value, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case nil:
		case string:
			row[i] = keycodec.StringValue(x)
		case *string:
			if x != nil {
				row[i] = keycodec.StringValue(*x)
			}
		case int:
			row[i] = keycodec.IntValue(int64(x))
		case int64:
			row[i] = keycodec.IntValue(x)
		case uint64:
			row[i] = keycodec.UintValue(x)
		default:
			row[i] = keycodec.StringValue(fmt.Sprint(x))
		}
	}
	t.rows = append(t.rows, row)
}

// numeric marks column i as BIGINT.
func (t *textTable) numeric(i ...int) *textTable {
	for _, c := range i {
		t.cols[c].typ = expr.Type{Kind: keycodec.KindInt, Column: catalog.ColumnType{Name: "bigint", Length: 21}}
	}
	return t
}

func (t *textTable) result() *mysqlserver.Result { return resultSet(t.cols, t.rows) }

// filter applies SHOW ... LIKE 'pattern' (on the first column) or WHERE.
func (s *Session) filter(t *textTable, n *ast.ShowStmt) (*textTable, error) {
	var cond ast.ExprNode
	if n.Pattern != nil {
		p := *n.Pattern
		p.Expr = &ast.ColumnNameExpr{Name: &ast.ColumnName{Name: ast.NewCIStr(t.cols[0].name)}}
		cond = &p
	} else if n.Where != nil {
		cond = n.Where
	}
	if cond == nil {
		return t, nil
	}
	sc := &scope{}
	sc.add(&source{alias: "show", cols: t.cols})
	e, err := sc.compile(cond, "where clause")
	if err != nil {
		return nil, err
	}
	ec := s.exprContext(nil)
	out := &textTable{cols: t.cols}
	for _, r := range t.rows {
		v, err := e.Eval(ec, r)
		if err != nil {
			return nil, err
		}
		if expr.Truth(v) {
			out.rows = append(out.rows, r)
		}
	}
	return out, nil
}

func (s *Session) runShow(ctx context.Context, n *ast.ShowStmt) (*mysqlserver.Result, error) {
	t, err := s.show(ctx, n)
	if err != nil {
		return nil, err
	}
	if t, err = s.filter(t, n); err != nil {
		return nil, err
	}
	return t.result(), nil
}

func (s *Session) show(ctx context.Context, n *ast.ShowStmt) (*textTable, error) {
	switch n.Tp {
	case ast.ShowDatabases:
		t := newTextTable("Database")
		dbs, err := s.db.cat.Databases(ctx)
		if err != nil {
			return nil, err
		}
		names := []string{"information_schema"}
		for _, d := range dbs {
			names = append(names, d.Name)
		}
		sort.Strings(names)
		for _, d := range names {
			t.add(d)
		}
		return t, nil
	case ast.ShowTables, ast.ShowTableStatus:
		dbName := n.DBName
		if dbName == "" {
			dbName = s.curDB
		}
		if dbName == "" {
			return nil, codeError(mysql.ER_NO_DB_ERROR)
		}
		if _, err := s.db.cat.Database(ctx, dbName); err != nil {
			return nil, errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", dbName)
		}
		tables, err := s.db.cat.Tables(ctx, dbName)
		if err != nil {
			return nil, err
		}
		if n.Tp == ast.ShowTableStatus {
			t := newTextTable("Name", "Engine", "Version", "Row_format", "Rows", "Avg_row_length", "Data_length",
				"Max_data_length", "Index_length", "Data_free", "Auto_increment", "Create_time", "Update_time",
				"Check_time", "Collation", "Checksum", "Create_options", "Comment")
			for _, tb := range tables {
				t.add(tb.Name, tb.Engine, 10, "Dynamic", 0, 0, 0, 0, 0, 0, nil, nil, nil, nil, tb.Collation, nil, "", tb.Comment)
			}
			return t, nil
		}
		cols := []string{"Tables_in_" + dbName}
		if n.Pattern != nil {
			if v, ok := n.Pattern.Pattern.(ast.ValueExpr); ok {
				cols[0] += " (" + fmt.Sprint(v.GetValue()) + ")"
			}
		}
		if n.Full {
			cols = append(cols, "Table_type")
		}
		t := newTextTable(cols...)
		for _, tb := range tables {
			if n.Full {
				t.add(tb.Name, "BASE TABLE")
			} else {
				t.add(tb.Name)
			}
		}
		return t, nil
	case ast.ShowColumns:
		te, err := s.showTable(ctx, n)
		if err != nil {
			return nil, err
		}
		cols := []string{"Field", "Type", "Null", "Key", "Default", "Extra"}
		if n.Full {
			cols = []string{"Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Privileges", "Comment"}
		}
		t := newTextTable(cols...)
		for i := range te.def.Columns {
			c := &te.def.Columns[i]
			if n.Column != nil && !strings.EqualFold(n.Column.Name.O, c.Name) {
				continue
			}
			null := "YES"
			if c.NotNull {
				null = "NO"
			}
			extra := ""
			if c.AutoIncrement {
				extra = "auto_increment"
			}
			def := defaultText(c)
			if n.Full {
				var coll any
				if c.Type.Kind() == keycodec.KindString && !isBinaryType(c.Type) {
					coll = c.Type.Collation
				}
				t.add(c.Name, typeText(c.Type), coll, null, keyText(te.def, c.Name), def, extra, "select,insert,update,references", c.Comment)
			} else {
				t.add(c.Name, typeText(c.Type), null, keyText(te.def, c.Name), def, extra)
			}
		}
		return t, nil
	case ast.ShowIndex:
		te, err := s.showTable(ctx, n)
		if err != nil {
			return nil, err
		}
		t := newTextTable("Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name", "Collation", "Cardinality",
			"Sub_part", "Packed", "Null", "Index_type", "Comment", "Index_comment", "Visible", "Expression").numeric(1, 3, 6)
		for i, ix := range te.def.Indexes {
			if i == 0 && te.def.HiddenPK {
				continue
			}
			name := ix.Name
			if ix.Primary {
				name = "PRIMARY"
			}
			nonUnique := 1
			if ix.Unique || ix.Primary {
				nonUnique = 0
			}
			for k, c := range ix.Columns {
				null := ""
				if ci := te.def.Column(c); ci >= 0 && !te.def.Columns[ci].NotNull {
					null = "YES"
				}
				t.add(te.def.Name, nonUnique, name, k+1, c, "A", 0, nil, nil, null, "BTREE", "", "", "YES", nil)
			}
		}
		return t, nil
	case ast.ShowCreateTable:
		te, err := s.showTable(ctx, n)
		if err != nil {
			return nil, err
		}
		t := newTextTable("Table", "Create Table")
		t.add(te.def.Name, createTableText(te.def))
		return t, nil
	case ast.ShowCreateDatabase:
		d, err := s.db.cat.Database(ctx, n.DBName)
		if err != nil {
			return nil, errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", n.DBName)
		}
		t := newTextTable("Database", "Create Database")
		t.add(d.Name, fmt.Sprintf("CREATE DATABASE `%s` /*!40100 DEFAULT CHARACTER SET %s COLLATE %s */", d.Name, orDefault(d.Charset, "utf8mb4"), orDefault(d.Collation, "utf8mb4_general_ci")))
		return t, nil
	case ast.ShowVariables:
		t := newTextTable("Variable_name", "Value")
		for _, kv := range s.variableRows(n.GlobalScope) {
			t.add(kv[0], kv[1])
		}
		return t, nil
	case ast.ShowStatus:
		t := newTextTable("Variable_name", "Value")
		for _, kv := range s.statusRows() {
			t.add(kv[0], kv[1])
		}
		return t, nil
	case ast.ShowWarnings, ast.ShowErrors:
		if n.CountWarningsOrErrors {
			t := newTextTable("@@session.warning_count").numeric(0)
			t.add(len(s.warnings))
			return t, nil
		}
		t := newTextTable("Level", "Code", "Message").numeric(1)
		for _, w := range s.warnings {
			if n.Tp == ast.ShowErrors && w.Level != "Error" {
				continue
			}
			t.add(w.Level, int(w.Code), w.Message)
		}
		return t, nil
	case ast.ShowProcessList:
		t := newTextTable("Id", "User", "Host", "db", "Command", "Time", "State", "Info").numeric(0, 5)
		type proc struct {
			id   uint32
			vals []any
		}
		var procs []proc
		s.db.sessions.Range(func(k, v any) bool {
			o := v.(*Session)
			cmd, state, info, since := "Sleep", "", any(nil), o.startAt
			var db any
			o.mu.Lock()
			if r := o.running; r != nil {
				cmd, state, info, since = "Query", "executing", r.text, r.start
				if !n.Full && len(r.text) > 100 {
					info = r.text[:100]
				}
			}
			if o.curDB != "" {
				db = o.curDB
			}
			o.mu.Unlock()
			procs = append(procs, proc{o.info.ID, []any{int64(o.info.ID), o.info.User, orDefault(o.info.RemoteAddr, "localhost"), db, cmd, int64(time.Since(since) / time.Second), state, info}})
			return true
		})
		sort.Slice(procs, func(i, j int) bool { return procs[i].id < procs[j].id })
		for _, p := range procs {
			t.add(p.vals...)
		}
		return t, nil
	case ast.ShowEngines:
		t := newTextTable("Engine", "Support", "Comment", "Transactions", "XA", "Savepoints")
		t.add("InnoDB", "DEFAULT", "Polar shared storage (all engines map to it)", "YES", "NO", "NO")
		return t, nil
	case ast.ShowCharset:
		t := newTextTable("Charset", "Description", "Default collation", "Maxlen").numeric(3)
		t.add("binary", "Binary pseudo charset", "binary", 1)
		t.add("utf8mb4", "UTF-8 Unicode", "utf8mb4_general_ci", 4)
		return t, nil
	case ast.ShowCollation:
		t := newTextTable("Collation", "Charset", "Id", "Default", "Compiled", "Sortlen").numeric(2, 5)
		t.add("binary", "binary", 63, "Yes", "Yes", 1)
		t.add("utf8mb4_bin", "utf8mb4", 46, "", "Yes", 1)
		t.add("utf8mb4_general_ci", "utf8mb4", 45, "Yes", "Yes", 1)
		return t, nil
	case ast.ShowGrants:
		t := newTextTable("Grants for " + s.info.User + "@%")
		t.add("GRANT ALL PRIVILEGES ON *.* TO `" + s.info.User + "`@`%` WITH GRANT OPTION")
		return t, nil
	}
	return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "this SHOW statement")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// showTable resolves the table of SHOW COLUMNS/INDEX/CREATE TABLE.
func (s *Session) showTable(ctx context.Context, n *ast.ShowStmt) (*tableEntry, error) {
	tn := *n.Table
	if n.DBName != "" {
		tn.Schema = ast.NewCIStr(n.DBName)
	}
	dbName, err := s.dbOf(&tn)
	if err != nil {
		return nil, err
	}
	return s.db.table(ctx, dbName, tn.Name.O)
}

// statusRows are SHOW STATUS's counters.
func (s *Session) statusRows() [][2]string {
	n := 0
	s.db.sessions.Range(func(any, any) bool { n++; return true })
	st := s.db.eng.Stats()
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	rows := [][2]string{
		{"Innodb_buffer_pool_pages_total", strconv.Itoa(st.Pool.Budget)},
		{"Innodb_buffer_pool_pages_data", strconv.Itoa(st.Pool.Frames)},
		{"Innodb_buffer_pool_read_requests", u(st.Pool.Hits + st.Pool.Misses)},
		{"Innodb_buffer_pool_reads", u(st.Pool.Misses)},
		// Group commit: transactions committed, the redo batches they
		// were packed into, and (embedded storage) the log fsyncs.
		{"Polar_commits", u(st.Commits)},
		{"Polar_commit_batches", u(st.Batches)},
		{"Polar_redo_bytes", u(st.RedoBytes)},
		// Commit latency by stage, in µs summed over commits: divide by
		// Polar_commits for the mean.
		{"Polar_commit_wait_us", u(uint64(st.CommitWait.Microseconds()))},
		{"Polar_commit_write_us", u(uint64(st.CommitWrite.Microseconds()))},
		{"Polar_commit_durable_us", u(uint64(st.CommitDurable.Microseconds()))},
		{"Polar_commit_total_us", u(uint64(st.CommitTotal.Microseconds()))},
	}
	if s.db.cfg.LogSyncs != nil {
		rows = append(rows, [2]string{"Polar_log_syncs", u(s.db.cfg.LogSyncs())})
	}
	return append(rows,
		[2]string{"Questions", u(s.db.questions.Load())},
		[2]string{"Threads_connected", strconv.Itoa(n)},
		[2]string{"Threads_running", "1"},
		[2]string{"Uptime", strconv.FormatInt(int64(time.Since(s.db.started)/time.Second), 10)},
	)
}

// typeText renders a column type as SHOW COLUMNS does (MySQL 8 style).
func typeText(ct catalog.ColumnType) string {
	var s string
	switch ct.Name {
	case "decimal":
		s = fmt.Sprintf("decimal(%d,%d)", ct.Precision, ct.Scale)
	case "char", "varchar", "binary", "varbinary":
		s = fmt.Sprintf("%s(%d)", ct.Name, ct.Length)
	case "datetime", "timestamp":
		s = ct.Name
		if ct.Fsp > 0 {
			s = fmt.Sprintf("%s(%d)", ct.Name, ct.Fsp)
		}
	case "tinyint":
		s = ct.Name
		if ct.Length == 1 {
			s = "tinyint(1)"
		}
	default:
		s = ct.Name
	}
	if ct.Unsigned {
		s += " unsigned"
	}
	return s
}

// defaultText renders a column default for SHOW COLUMNS (unquoted).
func defaultText(c *catalog.Column) any {
	if c.Default == nil {
		return nil
	}
	d := *c.Default
	if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
		return strings.ReplaceAll(d[1:len(d)-1], "''", "'")
	}
	return d
}

func keyText(t *catalog.Table, col string) string {
	for i, ix := range t.Indexes {
		if i == 0 && t.HiddenPK || len(ix.Columns) == 0 || !strings.EqualFold(ix.Columns[0], col) {
			continue
		}
		switch {
		case ix.Primary:
			return "PRI"
		case ix.Unique && len(ix.Columns) == 1:
			return "UNI"
		}
		return "MUL"
	}
	return ""
}

// createTableText renders SHOW CREATE TABLE.
func createTableText(t *catalog.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE `%s` (\n", t.Name)
	var lines []string
	for i := range t.Columns {
		c := &t.Columns[i]
		l := fmt.Sprintf("  `%s` %s", c.Name, typeText(c.Type))
		if c.Type.Kind() == keycodec.KindString && !isBinaryType(c.Type) && c.Type.Collation != "" && c.Type.Collation != t.Collation {
			l += " COLLATE " + c.Type.Collation
		}
		if c.NotNull {
			l += " NOT NULL"
		}
		if c.AutoIncrement {
			l += " AUTO_INCREMENT"
		}
		if c.Default != nil {
			l += " DEFAULT " + *c.Default
		} else if c.HasDefault || !c.NotNull && !c.AutoIncrement {
			l += " DEFAULT NULL"
		}
		if c.Comment != "" {
			l += " COMMENT '" + strings.ReplaceAll(c.Comment, "'", "''") + "'"
		}
		lines = append(lines, l)
	}
	for i, ix := range t.Indexes {
		if i == 0 && t.HiddenPK {
			continue
		}
		cols := "`" + strings.Join(ix.Columns, "`,`") + "`"
		switch {
		case ix.Primary:
			lines = append(lines, fmt.Sprintf("  PRIMARY KEY (%s)", cols))
		case ix.Unique:
			lines = append(lines, fmt.Sprintf("  UNIQUE KEY `%s` (%s)", ix.Name, cols))
		default:
			lines = append(lines, fmt.Sprintf("  KEY `%s` (%s)", ix.Name, cols))
		}
	}
	b.WriteString(strings.Join(lines, ",\n"))
	fmt.Fprintf(&b, "\n) ENGINE=%s DEFAULT CHARSET=%s COLLATE=%s", orDefault(t.Engine, "InnoDB"), orDefault(t.Charset, "utf8mb4"), orDefault(t.Collation, "utf8mb4_general_ci"))
	if t.Comment != "" {
		fmt.Fprintf(&b, " COMMENT='%s'", strings.ReplaceAll(t.Comment, "'", "''"))
	}
	return b.String()
}

// runExplain runs EXPLAIN (and DESCRIBE table).
func (s *Session) runExplain(ctx context.Context, n *ast.ExplainStmt) (*mysqlserver.Result, error) {
	if sh, ok := n.Stmt.(*ast.ShowStmt); ok {
		return s.runShow(ctx, sh)
	}
	t := newTextTable("id", "select_type", "table", "partitions", "type", "possible_keys", "key", "key_len", "ref", "rows", "filtered", "Extra").numeric(0)
	var steps []*joinStep
	extra := ""
	switch st := n.Stmt.(type) {
	case *ast.SelectStmt:
		p, err := s.planSelect(ctx, st)
		if err != nil {
			return nil, err
		}
		steps = p.steps
		if p.order != nil {
			extra = "Using filesort"
		}
		if p.noFrom {
			t.add(1, "SIMPLE", nil, nil, nil, nil, nil, nil, nil, nil, nil, "No tables used")
		}
	case *ast.UpdateStmt:
		p, err := s.planChange(ctx, st.TableRefs, st.Where, st.Order, st.Limit, st.List)
		if err != nil {
			return nil, err
		}
		steps = []*joinStep{{src: p.src, acc: p.acc}}
	case *ast.DeleteStmt:
		p, err := s.planChange(ctx, st.TableRefs, st.Where, st.Order, st.Limit, nil)
		if err != nil {
			return nil, err
		}
		steps = []*joinStep{{src: p.src, acc: p.acc}}
	default:
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "EXPLAIN of this statement")
	}
	for i, st := range steps {
		typ, key, ex := st.acc.describe()
		var possible, k any
		if key != "" {
			possible, k = key, key
		}
		if i == 0 && extra != "" {
			ex = strings.TrimPrefix(ex+"; "+extra, "; ")
		}
		if st.acc.reverse {
			ex = strings.TrimPrefix(ex+"; Backward index scan", "; ")
		}
		t.add(1, "SIMPLE", st.src.alias, nil, typ, possible, k, nil, nil, nil, "100.00", ex)
	}
	return t.result(), nil
}

// runKill runs KILL [CONNECTION | QUERY] id.
func (s *Session) runKill(n *ast.KillStmt) error {
	v, ok := s.db.sessions.Load(uint32(n.ConnectionID))
	if !ok {
		return errorf(mysql.ER_NO_SUCH_THREAD, "Unknown thread id: %d", n.ConnectionID)
	}
	o := v.(*Session)
	o.mu.Lock()
	running := o.running
	o.mu.Unlock()
	if running != nil {
		running.cancel()
	}
	if !n.Query {
		if o.info.Kill == nil {
			return errorf(mysql.ER_NOT_SUPPORTED_YET, "KILL CONNECTION of an embedded session; use KILL QUERY")
		}
		o.info.Kill()
	}
	return nil
}
