package sql

import (
	"time"

	"github.com/polarsql/polar/compute/catalog"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
	"github.com/polarsql/polar/sql/expr"
)

// wireColumn describes a result column for the protocol.
func wireColumn(c *resultCol) mysqlserver.Column {
	ct := c.typ.Column
	var col mysqlserver.Column
	switch ct.Name {
	case "tinyint":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeTiny)
	case "smallint":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeShort)
	case "mediumint":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeInt24)
	case "int":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeLong)
	case "bigint":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeLongLong)
	case "decimal":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeNewDecimal)
		col.Length = uint32(ct.Precision + 1)
		if ct.Scale > 0 {
			col.Length++
		}
		col.Decimals = uint8(ct.Scale)
	case "float":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeFloat)
	case "double":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeDouble)
	case "date":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeDate)
	case "datetime", "timestamp":
		t := mysqlserver.TypeDateTime
		if ct.Name == "timestamp" {
			t = mysqlserver.TypeTimestamp
		}
		col = mysqlserver.NewColumn(c.name, t)
		if ct.Fsp > 0 {
			col.Length += uint32(ct.Fsp + 1)
			col.Decimals = uint8(ct.Fsp)
		}
	case "char", "binary":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeString)
		col.Length = charLength(ct)
	case "text", "blob":
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeBlob)
		col.Length = 65535
		if ct.Name == "text" {
			col.Flags &^= mysqlserver.FlagBinary
			col.Length = 65535 * 4
		}
	default:
		if c.typ.Kind == keycodec.KindNull {
			col = mysqlserver.NewColumn(c.name, mysqlserver.TypeNull)
			break
		}
		col = mysqlserver.NewColumn(c.name, mysqlserver.TypeVarString)
		col.Length = charLength(ct)
	}
	if isBinaryType(ct) {
		col.Charset = mysqlserver.CollationBinary
		col.Flags |= mysqlserver.FlagBinary
	}
	if ct.Unsigned {
		col.Flags |= mysqlserver.FlagUnsigned
	}
	if c.typ.NotNull {
		col.Flags |= mysqlserver.FlagNotNull
	}
	col.Flags |= c.flags
	col.OrgName = c.orgName
	col.Table = c.table
	col.OrgTable = c.orgTable
	col.Schema = c.schema
	return col
}

func isBinaryType(ct catalog.ColumnType) bool {
	switch ct.Name {
	case "binary", "varbinary", "blob":
		return true
	}
	return ct.Collation == "binary"
}

func charLength(ct catalog.ColumnType) uint32 {
	n := ct.Length
	if n <= 0 {
		n = 255
	}
	if isBinaryType(ct) {
		return uint32(n)
	}
	return uint32(n * 4)
}

// baseCol is the result column of a table column.
func baseCol(src *source, i int, alias string, t expr.Type) resultCol {
	c := resultCol{name: alias, typ: t, table: src.alias, schema: src.db}
	if src.def != nil {
		col := &src.def.Columns[i]
		c.orgName = col.Name
		c.orgTable = src.def.Name
		if c.name == "" {
			c.name = col.Name
		}
		if col.AutoIncrement {
			c.flags |= mysqlserver.FlagAutoIncrement
		}
		for j, ix := range src.def.Indexes {
			if len(ix.Columns) == 0 || ix.Columns[0] != col.Name {
				continue
			}
			switch {
			case j == 0 && !src.def.HiddenPK:
				c.flags |= mysqlserver.FlagPriKey
			case ix.Unique:
				c.flags |= mysqlserver.FlagUniqueKey
			default:
				c.flags |= mysqlserver.FlagMultipleKey
			}
		}
	} else if c.name == "" {
		c.name = src.cols[i].name
	}
	return c
}

// wireValue converts a value of type t for the protocol (see
// mysqlserver.Column).
func wireValue(v expr.Value, t *expr.Type) any {
	switch v.Kind {
	case keycodec.KindNull:
		return nil
	case keycodec.KindInt:
		return v.Int
	case keycodec.KindUint:
		return v.Uint
	case keycodec.KindFloat:
		// Text formatted by the type (FLOAT's 6 digits, fixed decimals);
		// the binary protocol parses it back.
		return expr.AppendFormat(nil, v, *t)
	case keycodec.KindString:
		return v.Str
	case keycodec.KindDate, keycodec.KindDateTime, keycodec.KindTimestamp:
		t := v.Time
		if t.Month == 0 || t.Day == 0 {
			return expr.Text(v) // zero dates have no time.Time
		}
		return time.Date(int(t.Year), time.Month(t.Month), int(t.Day), int(t.Hour), int(t.Minute), int(t.Second), int(t.Microsecond)*1000, time.UTC)
	}
	return expr.Format(v, *t) // decimals with the type's scale
}

// wireColumns describes result columns for the protocol.
func wireColumns(cols []resultCol) []mysqlserver.Column {
	out := make([]mysqlserver.Column, len(cols))
	for i := range cols {
		out[i] = wireColumn(&cols[i])
	}
	return out
}

// resultSet builds a protocol result from columns and rows.
func resultSet(cols []resultCol, rows [][]expr.Value) *mysqlserver.Result {
	return resultRows(wireColumns(cols), cols, rows)
}

// resultRows builds a protocol result with ready column definitions
// (shared: the server never modifies them).
func resultRows(wire []mysqlserver.Column, cols []resultCol, rows [][]expr.Value) *mysqlserver.Result {
	r := &mysqlserver.Result{Columns: wire, Rows: make([][]any, len(rows))}
	flat := make([]any, len(rows)*len(cols))
	for i, row := range rows {
		out := flat[i*len(cols) : (i+1)*len(cols) : (i+1)*len(cols)]
		for j := range cols {
			out[j] = wireValue(row[j], &cols[j].typ)
		}
		r.Rows[i] = out
	}
	return r
}
