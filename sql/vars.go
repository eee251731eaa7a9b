package sql

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/polarsql/polar/compute/engine"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/sql/expr"
)

// sysVar describes a system variable clients read or set.
type sysVar struct {
	def     string
	numeric bool
	// readOnly variables cannot be SET.
	readOnly bool
}

// sysVars are the variables Polar knows. Values a client sets on a session
// are kept (and read back); only those marked in applySet change
// behaviour.
var sysVars = map[string]sysVar{
	"autocommit":               {def: "1", numeric: true},
	"auto_increment_increment": {def: "1", numeric: true},
	"auto_increment_offset":    {def: "1", numeric: true},
	"character_set_client":     {def: "utf8mb4"},
	"character_set_connection": {def: "utf8mb4"},
	"character_set_database":   {def: "utf8mb4"},
	"character_set_results":    {def: "utf8mb4"},
	"character_set_server":     {def: "utf8mb4"},
	"character_set_system":     {def: "utf8mb3", readOnly: true},
	"collation_connection":     {def: "utf8mb4_general_ci"},
	"collation_database":       {def: "utf8mb4_general_ci"},
	"collation_server":         {def: "utf8mb4_general_ci"},
	"default_storage_engine":   {def: "InnoDB"},
	"foreign_key_checks":       {def: "1", numeric: true},
	"have_ssl":                 {def: "DISABLED", readOnly: true},
	"hostname":                 {def: "localhost", readOnly: true},
	"init_connect":             {def: ""},
	"innodb_lock_wait_timeout": {def: "50", numeric: true},
	"interactive_timeout":      {def: "28800", numeric: true},
	"license":                  {def: "Apache-2.0", readOnly: true},
	"lower_case_table_names":   {def: "0", numeric: true, readOnly: true},
	"max_allowed_packet":       {def: "67108864", numeric: true},
	"max_connections":          {def: "4096", numeric: true},
	"max_prepared_stmt_count":  {def: "1048576", numeric: true},
	"net_buffer_length":        {def: "16384", numeric: true},
	"net_write_timeout":        {def: "60", numeric: true},
	"net_read_timeout":         {def: "30", numeric: true},
	"performance_schema":       {def: "0", numeric: true, readOnly: true},
	"port":                     {def: "3306", numeric: true, readOnly: true},
	"protocol_version":         {def: "10", numeric: true, readOnly: true},
	"query_cache_size":         {def: "0", numeric: true},
	"query_cache_type":         {def: "OFF"},
	"sql_auto_is_null":         {def: "0", numeric: true},
	"sql_mode":                 {def: "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"},
	"sql_select_limit":         {def: "18446744073709551615", numeric: true},
	"sql_safe_updates":         {def: "0", numeric: true},
	"system_time_zone":         {def: "UTC", readOnly: true},
	"time_zone":                {def: "SYSTEM"},
	"transaction_isolation":    {def: "REPEATABLE-READ"},
	"tx_isolation":             {def: "REPEATABLE-READ"},
	"transaction_read_only":    {def: "0", numeric: true},
	"tx_read_only":             {def: "0", numeric: true},
	"unique_checks":            {def: "1", numeric: true},
	"version":                  {def: Version, readOnly: true},
	"version_comment":          {def: "Polar (MySQL-compatible shared-storage database)", readOnly: true},
	"version_compile_machine":  {def: "x86_64", readOnly: true},
	"version_compile_os":       {def: "Linux", readOnly: true},
	"wait_timeout":             {def: "28800", numeric: true},
	"warning_count":            {def: "0", numeric: true, readOnly: true},
	"error_count":              {def: "0", numeric: true, readOnly: true},
	"last_insert_id":           {def: "0", numeric: true},
	"identity":                 {def: "0", numeric: true},
	"div_precision_increment":  {def: "4", numeric: true},
	"group_concat_max_len":     {def: "1048576", numeric: true},
	"tmp_table_size":           {def: "16777216", numeric: true},
	"max_heap_table_size":      {def: "16777216", numeric: true},
	"net_retry_count":          {def: "10", numeric: true},
	"session_track_schema":     {def: "ON"},
	"datadir":                  {def: "/var/lib/polar/", readOnly: true},
	"socket":                   {def: "", readOnly: true},
	"server_id":                {def: "1", numeric: true},
	"log_bin":                  {def: "0", numeric: true, readOnly: true},
	"read_only":                {def: "0", numeric: true},
	"innodb_buffer_pool_size":  {def: "134217728", numeric: true, readOnly: true},
	"event_scheduler":          {def: "OFF"},
	"big_tables":               {def: "0", numeric: true},
	"sql_log_bin":              {def: "1", numeric: true},
	"sql_notes":                {def: "1", numeric: true},
	"sql_warnings":             {def: "0", numeric: true},
	"names":                    {def: "utf8mb4"},
}

// strict reports STRICT_TRANS_TABLES / STRICT_ALL_TABLES in sql_mode.
func (s *Session) strict() bool {
	mode := sysVars["sql_mode"].def
	if v, ok := s.vars["sql_mode"]; ok {
		mode = string(v.Str)
	}
	mode = strings.ToUpper(mode)
	return strings.Contains(mode, "STRICT_TRANS_TABLES") || strings.Contains(mode, "STRICT_ALL_TABLES") || strings.Contains(mode, "TRADITIONAL")
}

// divZeroError reports whether division by zero in stored values fails
// (strict mode with ERROR_FOR_DIVISION_BY_ZERO).
func (s *Session) divZeroError() bool {
	mode := sysVars["sql_mode"].def
	if v, ok := s.vars["sql_mode"]; ok {
		mode = string(v.Str)
	}
	return s.strict() && strings.Contains(strings.ToUpper(mode), "ERROR_FOR_DIVISION_BY_ZERO")
}

// sysVar reads @@name for expressions.
func (s *Session) sysVar(name string, global bool) (expr.Value, error) {
	name = strings.ToLower(name)
	switch name {
	case "autocommit":
		if !global {
			return boolValue(s.autocommit), nil
		}
	case "transaction_isolation", "tx_isolation":
		if !global {
			return keycodec.StringValue(isoName(s.isolation)), nil
		}
	case "last_insert_id", "identity":
		return keycodec.UintValue(s.lastInsertID), nil
	case "warning_count":
		return keycodec.UintValue(uint64(len(s.warnings))), nil
	case "innodb_lock_wait_timeout":
		if !global && s.lockWait > 0 {
			return keycodec.IntValue(int64(s.lockWait / time.Second)), nil
		}
	}
	sv, ok := sysVars[name]
	if !ok {
		return expr.Value{}, errorf(mysql.ER_UNKNOWN_SYSTEM_VARIABLE, "Unknown system variable '%s'", name)
	}
	if v, ok := s.vars[name]; ok && !global {
		return v, nil
	}
	if sv.numeric {
		if n, err := strconv.ParseInt(sv.def, 10, 64); err == nil {
			return keycodec.IntValue(n), nil
		}
		if n, err := strconv.ParseUint(sv.def, 10, 64); err == nil {
			return keycodec.UintValue(n), nil
		}
	}
	return keycodec.StringValue(sv.def), nil
}

func boolValue(b bool) expr.Value {
	if b {
		return keycodec.IntValue(1)
	}
	return keycodec.IntValue(0)
}

func isoName(i engine.Isolation) string {
	if i == engine.ReadCommitted {
		return "READ-COMMITTED"
	}
	return "REPEATABLE-READ"
}

// parseIsolation maps an isolation level name to the engine's. READ
// UNCOMMITTED runs as READ COMMITTED and SERIALIZABLE as REPEATABLE READ
// (a consistent snapshot), both stronger than asked.
func parseIsolation(v string) (engine.Isolation, bool) {
	switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(v), " ", "-")) {
	case "READ-COMMITTED", "READ-UNCOMMITTED":
		return engine.ReadCommitted, true
	case "REPEATABLE-READ", "SERIALIZABLE":
		return engine.RepeatableRead, true
	}
	return 0, false
}

// runSet runs SET.
func (s *Session) runSet(ctx context.Context, n *ast.SetStmt, params []expr.Value) error {
	ec := s.exprContext(params)
	for _, a := range n.Variables {
		name := strings.ToLower(a.Name)
		if name == ast.SetNames || name == ast.SetCharset || strings.EqualFold(a.Name, ast.SetNames) || strings.EqualFold(a.Name, ast.SetCharset) {
			continue // the connection always speaks utf8mb4
		}
		var v expr.Value
		if a.Value != nil {
			if _, isDefault := a.Value.(*ast.DefaultExpr); isDefault {
				if a.IsSystem {
					delete(s.vars, name)
					if err := s.applySet(name, keycodec.StringValue(sysVars[name].def)); err != nil {
						return err
					}
				}
				continue
			}
			// SET x = ON / OFF / identifier: a bare name is a string.
			if c, ok := a.Value.(*ast.ColumnNameExpr); ok && a.IsSystem && c.Name.Table.L == "" {
				v = keycodec.StringValue(c.Name.Name.O)
			} else {
				e, err := expr.Compile(a.Value, &scope{})
				if err != nil {
					return err
				}
				if v, err = e.Eval(ec, nil); err != nil {
					return err
				}
			}
		}
		if !a.IsSystem {
			s.userVars[name] = cloneValue(v)
			continue
		}
		sv, ok := sysVars[name]
		if name == "tx_isolation_one_shot" {
			iso, ok := parseIsolation(expr.Text(v))
			if !ok {
				return errorf(mysql.ER_WRONG_VALUE_FOR_VAR, "Variable 'transaction_isolation' can't be set to the value of '%s'", expr.Text(v))
			}
			if a.IsGlobal {
				continue
			}
			s.nextIso = &iso
			continue
		}
		if !ok {
			return errorf(mysql.ER_UNKNOWN_SYSTEM_VARIABLE, "Unknown system variable '%s'", a.Name)
		}
		if sv.readOnly {
			return errorf(mysql.ER_INCORRECT_GLOBAL_LOCAL_VAR, "Variable '%s' is a read only variable", name)
		}
		if a.IsGlobal {
			continue // global settings are not kept across restarts; accepted
		}
		if err := s.applySet(name, v); err != nil {
			return err
		}
		if name == "autocommit" {
			continue
		}
		s.vars[name] = cloneValue(v)
	}
	return nil
}

// applySet gives session variables their effect.
func (s *Session) applySet(name string, v expr.Value) error {
	switch name {
	case "autocommit":
		on, ok := onOff(v)
		if !ok {
			return errorf(mysql.ER_WRONG_VALUE_FOR_VAR, "Variable 'autocommit' can't be set to the value of '%s'", expr.Text(v))
		}
		if on && !s.autocommit && s.txn != nil {
			// Turning autocommit on commits the open transaction.
			if err := s.commitOpen(context.Background()); err != nil {
				return err
			}
		}
		s.autocommit = on
	case "transaction_isolation", "tx_isolation":
		iso, ok := parseIsolation(expr.Text(v))
		if !ok {
			return errorf(mysql.ER_WRONG_VALUE_FOR_VAR, "Variable '%s' can't be set to the value of '%s'", name, expr.Text(v))
		}
		s.isolation = iso
	case "innodb_lock_wait_timeout":
		n, err := strconv.ParseInt(expr.Text(v), 10, 64)
		if err != nil || n < 1 {
			return errorf(mysql.ER_WRONG_TYPE_FOR_VAR, "Incorrect argument type to variable 'innodb_lock_wait_timeout'")
		}
		s.lockWait = time.Duration(n) * time.Second
		if s.txn != nil {
			s.txn.SetLockWaitTimeout(s.lockWait)
		}
	case "last_insert_id", "identity":
		n, _ := strconv.ParseUint(expr.Text(v), 10, 64)
		s.lastInsertID = n
	}
	return nil
}

func onOff(v expr.Value) (bool, bool) {
	switch strings.ToUpper(expr.Text(v)) {
	case "1", "ON", "TRUE":
		return true, true
	case "0", "OFF", "FALSE":
		return false, true
	}
	return false, false
}

// variableRows lists variables for SHOW VARIABLES.
func (s *Session) variableRows(global bool) [][2]string {
	names := make([]string, 0, len(sysVars))
	for n := range sysVars {
		if n == "names" {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([][2]string, 0, len(names))
	for _, n := range names {
		v, err := s.sysVar(n, global)
		if err != nil {
			continue
		}
		txt := expr.Text(v)
		if n == "autocommit" || n == "foreign_key_checks" || n == "unique_checks" || n == "sql_auto_is_null" || n == "big_tables" || n == "sql_log_bin" || n == "sql_notes" || n == "sql_warnings" || n == "transaction_read_only" || n == "tx_read_only" || n == "read_only" || n == "sql_safe_updates" || n == "log_bin" || n == "performance_schema" {
			if txt == "1" {
				txt = "ON"
			} else if txt == "0" {
				txt = "OFF"
			}
		}
		out = append(out, [2]string{n, txt})
	}
	return out
}
