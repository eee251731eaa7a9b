package sql

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	pmysql "github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/types"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/compute/table"
	"github.com/polarsql/polar/sql/expr"
)

// runDDL runs a schema statement. DDL takes the DB's schema lock
// exclusively, so no statement runs with a definition it changes.
func (s *Session) runDDL(ctx context.Context, st ast.StmtNode) (*mysqlserver.Result, error) {
	s.db.ddlMu.Lock()
	defer s.db.ddlMu.Unlock()
	switch n := st.(type) {
	case *ast.CreateDatabaseStmt:
		d := catalog.Database{Name: n.Name.O, Charset: "utf8mb4", Collation: "utf8mb4_general_ci"}
		for _, o := range n.Options {
			switch o.Tp {
			case ast.DatabaseOptionCharset:
				d.Charset = strings.ToLower(o.Value)
			case ast.DatabaseOptionCollate:
				d.Collation = strings.ToLower(o.Value)
			}
		}
		err := s.db.cat.CreateDatabase(ctx, d, n.IfNotExists)
		if errors.Is(err, catalog.ErrDatabaseExists) {
			return nil, errorf(mysql.ER_DB_CREATE_EXISTS, "Can't create database '%s'; database exists", n.Name.O)
		}
		if err != nil {
			return nil, err
		}
		return &mysqlserver.Result{AffectedRows: 1}, nil
	case *ast.DropDatabaseStmt:
		err := s.db.cat.DropDatabase(ctx, n.Name.O, n.IfExists)
		if errors.Is(err, catalog.ErrNoDatabase) {
			return nil, errorf(mysql.ER_DB_DROP_EXISTS, "Can't drop database '%s'; database doesn't exist", n.Name.O)
		}
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(s.curDB, n.Name.O) {
			s.setDB("")
		}
		return nil, nil
	case *ast.CreateTableStmt:
		return nil, s.createTable(ctx, n)
	case *ast.DropTableStmt:
		if n.IsView {
			return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "views")
		}
		var missing []string
		for _, tn := range n.Tables {
			dbName, err := s.dbOf(tn)
			if err != nil {
				return nil, err
			}
			err = s.db.cat.DropTable(ctx, dbName, tn.Name.O, false)
			if errors.Is(err, catalog.ErrNoTable) || errors.Is(err, catalog.ErrNoDatabase) {
				missing = append(missing, dbName+"."+tn.Name.O)
				continue
			}
			if err != nil {
				return nil, err
			}
		}
		if len(missing) > 0 {
			if !n.IfExists {
				return nil, errorf(mysql.ER_BAD_TABLE_ERROR, "Unknown table '%s'", strings.Join(missing, ","))
			}
			for _, m := range missing {
				s.warnings = append(s.warnings, expr.Warning{Level: "Note", Code: mysql.ER_BAD_TABLE_ERROR, Message: fmt.Sprintf("Unknown table '%s'", m)})
			}
		}
		return nil, nil
	case *ast.TruncateTableStmt:
		return nil, s.truncate(ctx, n.Table)
	case *ast.CreateIndexStmt:
		c := &ast.Constraint{Name: n.IndexName, Keys: n.IndexPartSpecifications, Tp: ast.ConstraintIndex, IfNotExists: n.IfNotExists}
		switch n.KeyType {
		case ast.IndexKeyTypeNone:
		case ast.IndexKeyTypeUnique:
			c.Tp = ast.ConstraintUniq
		default:
			return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "this index type")
		}
		return nil, s.addIndexes(ctx, n.Table, []*ast.Constraint{c})
	case *ast.DropIndexStmt:
		return nil, s.dropIndex(ctx, n.Table, n.IndexName, n.IfExists)
	case *ast.AlterTableStmt:
		return nil, s.alterTable(ctx, n)
	}
	return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "this statement")
}

// dbOf returns the database a table name refers to.
func (s *Session) dbOf(tn *ast.TableName) (string, error) {
	if tn.Schema.O != "" {
		return tn.Schema.O, nil
	}
	if s.curDB == "" {
		return "", codeError(mysql.ER_NO_DB_ERROR)
	}
	return s.curDB, nil
}

func (s *Session) createTable(ctx context.Context, n *ast.CreateTableStmt) error {
	dbName, err := s.dbOf(n.Table)
	if err != nil {
		return err
	}
	if n.Select != nil {
		return codeError(mysql.ER_NOT_SUPPORTED_YET, "CREATE TABLE ... SELECT")
	}
	if n.TemporaryKeyword != ast.TemporaryNone {
		return codeError(mysql.ER_NOT_SUPPORTED_YET, "temporary tables")
	}
	if _, err := s.db.cat.Database(ctx, dbName); err != nil {
		return errorf(mysql.ER_BAD_DB_ERROR, "Unknown database '%s'", dbName)
	}
	var t *catalog.Table
	if n.ReferTable != nil {
		refDB, err := s.dbOf(n.ReferTable)
		if err != nil {
			return err
		}
		te, err := s.db.table(ctx, refDB, n.ReferTable.Name.O)
		if err != nil {
			return err
		}
		t = cloneDef(te.def)
	} else {
		if t, err = buildTable(n); err != nil {
			return err
		}
		if err := s.checkDefaults(t); err != nil {
			return err
		}
	}
	t.Database, t.Name = dbName, n.Table.Name.O
	err = s.db.cat.CreateTable(ctx, t, n.IfNotExists)
	if errors.Is(err, catalog.ErrTableExists) {
		return errorf(mysql.ER_TABLE_EXISTS_ERROR, "Table '%s' already exists", n.Table.Name.O)
	}
	if err != nil {
		return toMySQLError(err)
	}
	return nil
}

// cloneDef copies a definition for CREATE TABLE ... LIKE and TRUNCATE:
// same columns and indexes, no ids.
func cloneDef(d *catalog.Table) *catalog.Table {
	t := &catalog.Table{Engine: d.Engine, Charset: d.Charset, Collation: d.Collation, Comment: d.Comment}
	t.Columns = append([]catalog.Column(nil), d.Columns...)
	for i, ix := range d.Indexes {
		if i == 0 && d.HiddenPK {
			continue
		}
		ix.ID = 0
		ix.Columns = append([]string(nil), ix.Columns...)
		t.Indexes = append(t.Indexes, ix)
	}
	return t
}

// checkDefaults rejects DEFAULT values that do not fit their column
// (1067 Invalid default value).
func (s *Session) checkDefaults(t *catalog.Table) error {
	te := &tableEntry{def: t}
	defs, err := te.defaultExprs()
	if err != nil {
		return errorf(mysql.ER_INVALID_DEFAULT, "Invalid default value: %v", err)
	}
	ec := s.exprContext(nil)
	ec.Strict = true
	for i, e := range defs {
		if e == nil {
			continue
		}
		v, err := e.Eval(ec, nil)
		if err == nil {
			_, err = expr.Cast(ec, v, &t.Columns[i], 1)
		}
		if err != nil || (v.Kind == 0 && t.Columns[i].NotNull) {
			return errorf(mysql.ER_INVALID_DEFAULT, "Invalid default value for '%s'", t.Columns[i].Name)
		}
	}
	return nil
}

// buildTable turns CREATE TABLE's AST into a definition.
func buildTable(n *ast.CreateTableStmt) (*catalog.Table, error) {
	t := &catalog.Table{Engine: "InnoDB", Charset: "utf8mb4", Collation: "utf8mb4_general_ci"}
	for _, o := range n.Options {
		switch o.Tp {
		case ast.TableOptionEngine:
			t.Engine = o.StrValue
		case ast.TableOptionCharset:
			t.Charset = strings.ToLower(o.StrValue)
			if t.Charset == "binary" {
				t.Collation = "binary"
			}
		case ast.TableOptionCollate:
			t.Collation = strings.ToLower(o.StrValue)
		case ast.TableOptionComment:
			t.Comment = o.StrValue
		}
	}
	var pk *catalog.Index
	var indexes []catalog.Index
	for _, cd := range n.Cols {
		col, colPK, colUnique, err := buildColumn(cd, t)
		if err != nil {
			return nil, err
		}
		if t.Column(col.Name) >= 0 {
			return nil, errorf(mysql.ER_DUP_FIELDNAME, "Duplicate column name '%s'", col.Name)
		}
		t.Columns = append(t.Columns, col)
		if colPK {
			if pk != nil {
				return nil, codeError(mysql.ER_MULTIPLE_PRI_KEY)
			}
			pk = &catalog.Index{Name: "PRIMARY", Primary: true, Unique: true, Columns: []string{col.Name}}
		}
		if colUnique {
			indexes = append(indexes, catalog.Index{Name: col.Name, Unique: true, Columns: []string{col.Name}})
		}
	}
	for _, c := range n.Constraints {
		ix, err := constraintIndex(c, t)
		if err != nil {
			return nil, err
		}
		if ix == nil {
			continue
		}
		if ix.Primary {
			if pk != nil {
				return nil, codeError(mysql.ER_MULTIPLE_PRI_KEY)
			}
			pk = ix
			continue
		}
		indexes = append(indexes, *ix)
	}
	if pk != nil {
		for _, c := range pk.Columns {
			// Primary key columns are NOT NULL.
			t.Columns[t.Column(c)].NotNull = true
		}
		t.Indexes = append(t.Indexes, *pk)
	}
	used := map[string]bool{"primary": true}
	for i := range indexes {
		ix := &indexes[i]
		if used[strings.ToLower(ix.Name)] {
			if ix.Name == ix.Columns[0] || ix.Name == "" {
				// MySQL names unnamed indexes after their first column,
				// with _2, _3... on clashes.
				base := ix.Columns[0]
				for k := 2; ; k++ {
					name := fmt.Sprintf("%s_%d", base, k)
					if !used[strings.ToLower(name)] {
						ix.Name = name
						break
					}
				}
			} else {
				return nil, errorf(mysql.ER_DUP_KEYNAME, "Duplicate key name '%s'", ix.Name)
			}
		}
		used[strings.ToLower(ix.Name)] = true
		t.Indexes = append(t.Indexes, *ix)
	}
	ai := 0
	for i := range t.Columns {
		if t.Columns[i].AutoIncrement {
			ai++
			if !leadsIndex(t, t.Columns[i].Name) {
				return nil, codeError(mysql.ER_WRONG_AUTO_KEY)
			}
		}
	}
	if ai > 1 {
		return nil, codeError(mysql.ER_WRONG_AUTO_KEY)
	}
	if len(t.Columns) == 0 {
		return nil, codeError(mysql.ER_TABLE_MUST_HAVE_COLUMNS)
	}
	return t, nil
}

func leadsIndex(t *catalog.Table, col string) bool {
	for _, ix := range t.Indexes {
		if len(ix.Columns) > 0 && strings.EqualFold(ix.Columns[0], col) {
			return true
		}
	}
	return false
}

// constraintIndex turns a table constraint into an index (nil for
// constraints that are accepted but not enforced).
func constraintIndex(c *ast.Constraint, t *catalog.Table) (*catalog.Index, error) {
	ix := &catalog.Index{Name: c.Name}
	switch c.Tp {
	case ast.ConstraintPrimaryKey:
		ix.Primary, ix.Unique, ix.Name = true, true, "PRIMARY"
	case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
		ix.Unique = true
	case ast.ConstraintKey, ast.ConstraintIndex:
	case ast.ConstraintForeignKey, ast.ConstraintCheck:
		return nil, nil // accepted, not enforced (as MariaDB with foreign_key_checks=0)
	default:
		return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "this index type")
	}
	for _, k := range c.Keys {
		if k.Expr != nil || k.Column == nil {
			return nil, codeError(mysql.ER_NOT_SUPPORTED_YET, "expression indexes")
		}
		i := t.Column(k.Column.Name.O)
		if i < 0 {
			return nil, errorf(mysql.ER_KEY_COLUMN_DOES_NOT_EXITS, "Key column '%s' doesn't exist in table", k.Column.Name.O)
		}
		ix.Columns = append(ix.Columns, t.Columns[i].Name)
	}
	if ix.Name == "" && len(ix.Columns) > 0 {
		ix.Name = ix.Columns[0]
	}
	return ix, nil
}

// buildColumn turns a column definition into a catalog column.
func buildColumn(cd *ast.ColumnDef, t *catalog.Table) (col catalog.Column, pk, unique bool, err error) {
	col.Name = cd.Name.Name.O
	col.Type, err = columnType(cd.Tp, t)
	if err != nil {
		return col, false, false, err
	}
	if cd.Tp.GetType() == pmysql.TypeTimestamp {
		// TIMESTAMP columns are NOT NULL unless declared NULL in MySQL 5.x;
		// MySQL 8 and MariaDB 10.10+ treat them like other columns.
	}
	for _, o := range cd.Options {
		switch o.Tp {
		case ast.ColumnOptionNotNull:
			col.NotNull = true
		case ast.ColumnOptionNull:
			col.NotNull = false
		case ast.ColumnOptionPrimaryKey:
			pk = true
		case ast.ColumnOptionUniqKey:
			unique = true
		case ast.ColumnOptionAutoIncrement:
			if k := col.Type.Kind(); k > 3 { // only integer and float types
				return col, false, false, errorf(mysql.ER_WRONG_FIELD_SPEC, "Incorrect column specifier for column '%s'", col.Name)
			}
			col.AutoIncrement = true
		case ast.ColumnOptionDefaultValue:
			col.HasDefault = true
			if v, ok := o.Expr.(ast.ValueExpr); ok && v.GetValue() == nil {
				col.Default = nil
				continue
			}
			txt := restore(o.Expr)
			col.Default = &txt
		case ast.ColumnOptionComment:
			col.Comment = restore(o.Expr)
			if len(col.Comment) >= 2 && col.Comment[0] == '\'' {
				col.Comment = strings.ReplaceAll(col.Comment[1:len(col.Comment)-1], "''", "'")
			}
		case ast.ColumnOptionCollate:
			col.Type.Collation = strings.ToLower(o.StrValue)
		case ast.ColumnOptionOnUpdate, ast.ColumnOptionReference, ast.ColumnOptionCheck, ast.ColumnOptionColumnFormat, ast.ColumnOptionStorage:
			// accepted; ON UPDATE CURRENT_TIMESTAMP is not applied
		case ast.ColumnOptionGenerated:
			return col, false, false, codeError(mysql.ER_NOT_SUPPORTED_YET, "generated columns")
		}
	}
	if col.NotNull && col.HasDefault && col.Default == nil {
		return col, false, false, errorf(mysql.ER_INVALID_DEFAULT, "Invalid default value for '%s'", col.Name)
	}
	if pk {
		col.NotNull = true
	}
	if col.AutoIncrement && col.Default != nil {
		return col, false, false, errorf(mysql.ER_INVALID_DEFAULT, "Invalid default value for '%s'", col.Name)
	}
	return col, pk, unique, nil
}

// columnType maps a parser field type to a catalog type.
func columnType(ft *types.FieldType, t *catalog.Table) (catalog.ColumnType, error) {
	ct := catalog.ColumnType{Unsigned: pmysql.HasUnsignedFlag(ft.GetFlag())}
	flen := ft.GetFlen()
	binaryCS := ft.GetCharset() == "binary" || pmysql.HasBinaryFlag(ft.GetFlag()) && ft.GetCharset() == ""
	switch ft.GetType() {
	case pmysql.TypeTiny:
		ct.Name = "tinyint"
	case pmysql.TypeShort:
		ct.Name = "smallint"
	case pmysql.TypeInt24:
		ct.Name = "mediumint"
	case pmysql.TypeLong:
		ct.Name = "int"
	case pmysql.TypeLonglong:
		ct.Name = "bigint"
	case pmysql.TypeNewDecimal:
		ct.Name = "decimal"
		ct.Precision, ct.Scale = flen, ft.GetDecimal()
		if ct.Precision <= 0 {
			ct.Precision = 10
		}
		if ct.Scale < 0 {
			ct.Scale = 0
		}
		if ct.Precision > 65 {
			return ct, errorf(mysql.ER_TOO_BIG_PRECISION, "Too big precision %d specified. Maximum is 65.", ct.Precision)
		}
		if ct.Scale > 30 || ct.Scale > ct.Precision {
			return ct, errorf(mysql.ER_TOO_BIG_SCALE, "Too big scale %d specified. Maximum is 30.", ct.Scale)
		}
	case pmysql.TypeFloat:
		ct.Name = "float"
		if flen > 24 {
			ct.Name = "double"
		}
	case pmysql.TypeDouble:
		ct.Name = "double"
	case pmysql.TypeString:
		ct.Name, ct.Length = "char", flen
		if binaryCS {
			ct.Name = "binary"
		}
		if ct.Length < 0 {
			ct.Length = 1
		}
		if ct.Length > 255 {
			return ct, errorf(mysql.ER_TOO_BIG_FIELDLENGTH, "Column length too big for column (max = 255); use BLOB or TEXT instead")
		}
	case pmysql.TypeVarchar, pmysql.TypeVarString:
		ct.Name, ct.Length = "varchar", flen
		if binaryCS {
			ct.Name = "varbinary"
		}
		if ct.Length < 0 {
			return ct, codeError(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax: VARCHAR needs a length")
		}
		if ct.Length > 16383 && !binaryCS || ct.Length > 65535 {
			return ct, errorf(mysql.ER_TOO_BIG_FIELDLENGTH, "Column length too big (max = 16383); use BLOB or TEXT instead")
		}
	case pmysql.TypeBlob, pmysql.TypeTinyBlob, pmysql.TypeMediumBlob, pmysql.TypeLongBlob:
		ct.Name = "text"
		if binaryCS {
			ct.Name = "blob"
		}
	case pmysql.TypeDate:
		ct.Name = "date"
	case pmysql.TypeDatetime:
		ct.Name, ct.Fsp = "datetime", max(ft.GetDecimal(), 0)
	case pmysql.TypeTimestamp:
		ct.Name, ct.Fsp = "timestamp", max(ft.GetDecimal(), 0)
	default:
		return ct, errorf(mysql.ER_NOT_SUPPORTED_YET, "This version of Polar doesn't yet support 'column type %s'", ft.String())
	}
	switch ct.Name {
	case "tinyint", "smallint", "mediumint", "int", "bigint":
		if flen > 0 {
			ct.Length = flen
		}
	}
	if ct.Kind() == 5 /* string */ && !isBinaryType(ct) {
		ct.Charset = "utf8mb4"
		ct.Collation = t.Collation
		if c := ft.GetCollate(); c != "" {
			ct.Collation = strings.ToLower(c)
		}
		if ct.Collation == "" || ct.Collation == "binary" && ft.GetCharset() != "binary" {
			ct.Collation = "utf8mb4_general_ci"
		}
	} else if isBinaryType(ct) {
		ct.Charset, ct.Collation = "binary", "binary"
	}
	return ct, nil
}

// truncate empties a table: it is dropped and created again (new trees,
// AUTO_INCREMENT restarts), as MySQL does.
func (s *Session) truncate(ctx context.Context, tn *ast.TableName) error {
	dbName, err := s.dbOf(tn)
	if err != nil {
		return err
	}
	te, err := s.db.table(ctx, dbName, tn.Name.O)
	if err != nil {
		return err
	}
	t := cloneDef(te.def)
	t.Database, t.Name = dbName, te.def.Name
	if err := s.db.cat.DropTable(ctx, dbName, te.def.Name, false); err != nil {
		return err
	}
	return s.db.cat.CreateTable(ctx, t, false)
}

// addIndexes adds indexes to a table and fills them from its rows.
func (s *Session) addIndexes(ctx context.Context, tn *ast.TableName, cs []*ast.Constraint) error {
	dbName, err := s.dbOf(tn)
	if err != nil {
		return err
	}
	te, err := s.db.table(ctx, dbName, tn.Name.O)
	if err != nil {
		return err
	}
	old := te.def
	t := *old
	t.Columns = append([]catalog.Column(nil), old.Columns...)
	t.Indexes = append([]catalog.Index(nil), old.Indexes...)
	first := len(t.Indexes)
	for _, c := range cs {
		ix, err := constraintIndex(c, &t)
		if err != nil {
			return err
		}
		if ix == nil {
			continue
		}
		if ix.Primary {
			return codeError(mysql.ER_NOT_SUPPORTED_YET, "adding a primary key")
		}
		for _, o := range t.Indexes {
			if strings.EqualFold(o.Name, ix.Name) {
				if c.IfNotExists {
					ix = nil
					break
				}
				return errorf(mysql.ER_DUP_KEYNAME, "Duplicate key name '%s'", ix.Name)
			}
		}
		if ix != nil {
			t.Indexes = append(t.Indexes, *ix)
		}
	}
	if len(t.Indexes) == first {
		return nil
	}
	if err := s.db.cat.AlterTable(ctx, &t); err != nil {
		return err
	}
	nte, err := s.db.table(ctx, dbName, t.Name)
	if err != nil {
		return err
	}
	for i := first; i < len(nte.def.Indexes); i++ {
		if err := nte.tbl.BuildIndex(ctx, i); err != nil {
			// Undo: the definition without the new indexes.
			back := *nte.def
			back.Indexes = append([]catalog.Index(nil), nte.def.Indexes[:first]...)
			if berr := s.db.cat.AlterTable(context.WithoutCancel(ctx), &back); berr != nil {
				s.db.log.Error("drop failed index", "table", t.Name, "err", berr)
			}
			var dup *table.DuplicateKeyError
			if errors.As(err, &dup) {
				return errorf(mysql.ER_DUP_ENTRY, "%s", dup.Error())
			}
			return err
		}
	}
	return nil
}

func (s *Session) dropIndex(ctx context.Context, tn *ast.TableName, name string, ifExists bool) error {
	dbName, err := s.dbOf(tn)
	if err != nil {
		return err
	}
	te, err := s.db.table(ctx, dbName, tn.Name.O)
	if err != nil {
		return err
	}
	t := *te.def
	t.Indexes = nil
	found := false
	for i, ix := range te.def.Indexes {
		if i > 0 && strings.EqualFold(ix.Name, name) {
			found = true
			continue
		}
		t.Indexes = append(t.Indexes, ix)
	}
	if !found {
		if strings.EqualFold(name, "PRIMARY") {
			return codeError(mysql.ER_NOT_SUPPORTED_YET, "dropping the primary key")
		}
		if ifExists {
			return nil
		}
		return errorf(mysql.ER_CANT_DROP_FIELD_OR_KEY, "Can't DROP INDEX `%s`; check that it exists", name)
	}
	return s.db.cat.AlterTable(ctx, &t)
}

func (s *Session) alterTable(ctx context.Context, n *ast.AlterTableStmt) error {
	for _, spec := range n.Specs {
		var err error
		switch spec.Tp {
		case ast.AlterTableOption:
		case ast.AlterTableAddConstraint:
			err = s.addIndexes(ctx, n.Table, []*ast.Constraint{spec.Constraint})
		case ast.AlterTableDropIndex:
			err = s.dropIndex(ctx, n.Table, spec.Name, spec.IfExists)
		default:
			err = codeError(mysql.ER_NOT_SUPPORTED_YET, "this ALTER TABLE operation")
		}
		if err != nil {
			return err
		}
	}
	return nil
}
