package sql

import (
	"context"
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/sql/expr"
)

// infoSchema is the name of the read-only database of views over the
// catalog.
const infoSchema = "information_schema"

// infoSchemaTables lists the views information_schema serves.
var infoSchemaTables = []string{"COLUMNS", "ENGINES", "PROCESSLIST", "SCHEMATA", "STATISTICS", "TABLES"}

// infoSource builds a virtual source over one information_schema view:
// its rows are computed from the catalog when the statement plans.
func (s *Session) infoSource(ctx context.Context, name, alias string) (*source, error) {
	t, err := s.infoTable(ctx, strings.ToUpper(name))
	if err != nil {
		return nil, err
	}
	if alias == "" {
		alias = name
	}
	return &source{alias: alias, db: infoSchema, cols: t.cols, rows: t.rows}, nil
}

// eachTable calls f for every table of every database, in name order.
func (s *Session) eachTable(ctx context.Context, f func(db catalog.Database, t *catalog.Table)) error {
	dbs, err := s.db.cat.Databases(ctx)
	if err != nil {
		return err
	}
	sort.Slice(dbs, func(i, j int) bool { return dbs[i].Name < dbs[j].Name })
	for _, d := range dbs {
		tables, err := s.db.cat.Tables(ctx, d.Name)
		if err != nil {
			return err
		}
		sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
		for _, t := range tables {
			f(d, t)
		}
	}
	return nil
}

func (s *Session) infoTable(ctx context.Context, name string) (*textTable, error) {
	switch name {
	case "SCHEMATA":
		t := newTextTable("CATALOG_NAME", "SCHEMA_NAME", "DEFAULT_CHARACTER_SET_NAME", "DEFAULT_COLLATION_NAME", "SQL_PATH")
		t.add("def", infoSchema, "utf8mb3", "utf8mb3_general_ci", nil)
		dbs, err := s.db.cat.Databases(ctx)
		if err != nil {
			return nil, err
		}
		sort.Slice(dbs, func(i, j int) bool { return dbs[i].Name < dbs[j].Name })
		for _, d := range dbs {
			t.add("def", d.Name, orDefault(d.Charset, "utf8mb4"), orDefault(d.Collation, "utf8mb4_general_ci"), nil)
		}
		return t, nil
	case "TABLES":
		t := newTextTable("TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "TABLE_TYPE", "ENGINE", "VERSION", "ROW_FORMAT",
			"TABLE_ROWS", "AVG_ROW_LENGTH", "DATA_LENGTH", "MAX_DATA_LENGTH", "INDEX_LENGTH", "DATA_FREE", "AUTO_INCREMENT",
			"CREATE_TIME", "UPDATE_TIME", "CHECK_TIME", "TABLE_COLLATION", "CHECKSUM", "CREATE_OPTIONS", "TABLE_COMMENT").numeric(5, 7, 8, 9, 10, 11, 12, 13)
		for _, v := range infoSchemaTables {
			t.add("def", infoSchema, v, "SYSTEM VIEW", nil, 10, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, "utf8mb3_general_ci", nil, "", "")
		}
		err := s.eachTable(ctx, func(d catalog.Database, tb *catalog.Table) {
			t.add("def", d.Name, tb.Name, "BASE TABLE", orDefault(tb.Engine, "InnoDB"), 10, "Dynamic", 0, 0, 0, 0, 0, 0, nil, nil, nil, nil,
				orDefault(tb.Collation, "utf8mb4_general_ci"), nil, "", tb.Comment)
		})
		return t, err
	case "COLUMNS":
		t := newTextTable("TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "ORDINAL_POSITION", "COLUMN_DEFAULT",
			"IS_NULLABLE", "DATA_TYPE", "CHARACTER_MAXIMUM_LENGTH", "CHARACTER_OCTET_LENGTH", "NUMERIC_PRECISION", "NUMERIC_SCALE",
			"DATETIME_PRECISION", "CHARACTER_SET_NAME", "COLLATION_NAME", "COLUMN_TYPE", "COLUMN_KEY", "EXTRA", "PRIVILEGES",
			"COLUMN_COMMENT").numeric(4, 8, 9, 10, 11, 12)
		err := s.eachTable(ctx, func(d catalog.Database, tb *catalog.Table) {
			for i := range tb.Columns {
				c := &tb.Columns[i]
				null := "YES"
				if c.NotNull {
					null = "NO"
				}
				extra := ""
				if c.AutoIncrement {
					extra = "auto_increment"
				}
				var maxLen, octets, prec, scale, dtPrec, cs, coll any
				ct := c.Type
				switch ct.Kind() {
				case keycodec.KindString:
					n := ct.Length
					if ct.Name == "text" || ct.Name == "blob" {
						n = 65535
					}
					maxLen, octets = n, n
					if !isBinaryType(ct) {
						octets = n * 4
						if ct.Name == "text" {
							octets = 65535
						}
						cs, coll = "utf8mb4", ct.Collation
					}
				case keycodec.KindInt, keycodec.KindUint:
					prec, scale = intPrecision(ct), 0
				case keycodec.KindDecimal:
					prec, scale = ct.Precision, ct.Scale
				case keycodec.KindFloat:
					if ct.Name == "float" {
						prec = 12
					} else {
						prec = 22
					}
				case keycodec.KindDateTime, keycodec.KindTimestamp:
					dtPrec = ct.Fsp
				}
				t.add("def", d.Name, tb.Name, c.Name, i+1, defaultText(c), null, ct.Name, maxLen, octets, prec, scale, dtPrec, cs, coll,
					typeText(ct), keyText(tb, c.Name), extra, "select,insert,update,references", c.Comment)
			}
		})
		return t, err
	case "STATISTICS":
		t := newTextTable("TABLE_CATALOG", "TABLE_SCHEMA", "TABLE_NAME", "NON_UNIQUE", "INDEX_SCHEMA", "INDEX_NAME", "SEQ_IN_INDEX",
			"COLUMN_NAME", "COLLATION", "CARDINALITY", "SUB_PART", "PACKED", "NULLABLE", "INDEX_TYPE", "COMMENT", "INDEX_COMMENT").numeric(3, 6, 9, 10)
		err := s.eachTable(ctx, func(d catalog.Database, tb *catalog.Table) {
			for i, ix := range tb.Indexes {
				if i == 0 && tb.HiddenPK {
					continue
				}
				name, nonUnique := ix.Name, 1
				if ix.Primary {
					name = "PRIMARY"
				}
				if ix.Unique || ix.Primary {
					nonUnique = 0
				}
				for k, c := range ix.Columns {
					null := ""
					if ci := tb.Column(c); ci >= 0 && !tb.Columns[ci].NotNull {
						null = "YES"
					}
					t.add("def", d.Name, tb.Name, nonUnique, d.Name, name, k+1, c, "A", 0, nil, nil, null, "BTREE", "", "")
				}
			}
		})
		return t, err
	case "ENGINES":
		return s.show(ctx, &ast.ShowStmt{Tp: ast.ShowEngines})
	case "PROCESSLIST":
		t, err := s.show(ctx, &ast.ShowStmt{Tp: ast.ShowProcessList, Full: true})
		if err != nil {
			return nil, err
		}
		for i := range t.cols {
			t.cols[i].name = strings.ToUpper(t.cols[i].name)
		}
		return t, nil
	}
	return nil, errorf(mysql.ER_UNKNOWN_TABLE, "Unknown table '%s' in information_schema", strings.ToLower(name))
}

// intPrecision is NUMERIC_PRECISION of an integer type.
func intPrecision(ct catalog.ColumnType) int {
	switch ct.Name {
	case "tinyint":
		return 3
	case "smallint":
		return 5
	case "mediumint":
		return 7
	case "int":
		return 10
	}
	if ct.Unsigned {
		return 20
	}
	return 19
}

// virtualRows returns a copy of a virtual source's rows.
func virtualRows(src *source) []([]expr.Value) {
	out := make([][]expr.Value, len(src.rows))
	copy(out, src.rows)
	return out
}
