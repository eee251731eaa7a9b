// Package sysbench runs sysbench 1.0.20's bundled OLTP workloads
// (/usr/share/sysbench/oltp_*.lua) against a MySQL-compatible server and
// parses the report.
package sysbench

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DefaultBinary is the sysbench executable.
const DefaultBinary = "/usr/bin/sysbench"

// Database is the database sysbench uses (--mysql-db).
const Database = "sbtest"

// Commands of a workload.
const (
	CmdPrepare = "prepare"
	CmdRun     = "run"
	CmdCleanup = "cleanup"
)

// Workloads are the bundled OLTP workloads, in the order a full suite runs
// them (oltp_delete last: it empties the tables it touches).
var Workloads = []string{
	"oltp_point_select",
	"oltp_read_only",
	"oltp_read_write",
	"oltp_write_only",
	"oltp_insert",
	"oltp_update_index",
	"oltp_update_non_index",
	"oltp_delete",
}

// Options describe one sysbench invocation.
type Options struct {
	// Binary is the sysbench executable; empty means DefaultBinary.
	Binary string
	// Workload is the lua script name, e.g. "oltp_read_write".
	Workload string
	// Command is CmdPrepare, CmdRun or CmdCleanup.
	Command string
	// Host is the server's address; empty means 127.0.0.1 (TCP: "localhost"
	// would make libmariadb use a Unix socket).
	Host string
	// Port is the server's TCP port.
	Port int
	// User is the MySQL user; empty means root. The password is empty.
	User string
	// Tables is --tables; TableSize is --table-size.
	Tables, TableSize int
	// Threads is --threads.
	Threads int
	// Time is --time (whole seconds, at least 1).
	Time time.Duration
	// PSMode is --db-ps-mode: "auto" (prepared statements, the default
	// when empty) or "disable" (every statement via COM_QUERY).
	PSMode string
	// RandType is --rand-type (uniform, gaussian, special, pareto); empty
	// keeps sysbench's default (special).
	RandType string
	// Extra are further options placed before the command.
	Extra []string
	// Logger receives the command line; nil means slog.Default().
	Logger *slog.Logger
}

// Result is a parsed sysbench report. For CmdPrepare and CmdCleanup only Raw is
// set.
type Result struct {
	// Transactions is the number of events; TPS is events per second.
	Transactions int64
	TPS          float64
	// Queries is the number of statements; QPS is statements per second.
	Queries int64
	QPS     float64
	// IgnoredErrors counts events retried after error 1213/1205/1020.
	IgnoredErrors int64
	// Reconnects counts client reconnections.
	Reconnects int64
	// Latency per event in milliseconds.
	MinMs, AvgMs, MaxMs, P95Ms float64
	// Reads, Writes and Other break Queries down ("other": BEGIN, COMMIT
	// and DML that affected no rows).
	Reads, Writes, Other int64
	// TotalTime is sysbench's "total time".
	TotalTime time.Duration
	// Raw is sysbench's complete output (stdout and stderr).
	Raw string
}

// Args returns sysbench's command line (without the binary).
func (o Options) Args() []string {
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	user := o.User
	if user == "" {
		user = "root"
	}
	ps := o.PSMode
	if ps == "" {
		ps = "auto"
	}
	secs := int((o.Time + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	args := []string{
		o.Workload,
		"--db-driver=mysql",
		"--mysql-host=" + host,
		"--mysql-port=" + strconv.Itoa(o.Port),
		"--mysql-user=" + user,
		"--mysql-password=",
		"--mysql-db=" + Database,
		"--tables=" + strconv.Itoa(o.Tables),
		"--table-size=" + strconv.Itoa(o.TableSize),
		"--threads=" + strconv.Itoa(o.Threads),
		"--time=" + strconv.Itoa(secs),
		"--report-interval=0",
		"--db-ps-mode=" + ps,
		"--percentile=95",
	}
	if o.RandType != "" {
		args = append(args, "--rand-type="+o.RandType)
	}
	args = append(args, o.Extra...)
	return append(args, o.Command)
}

// Run runs sysbench once and parses its report. A non-zero exit status,
// "FATAL" in the output or (for CmdRun) a report that cannot be parsed is an
// error that quotes the end of the output; the Result, with Raw set, is
// returned alongside such errors when sysbench produced output. ctx bounds
// the run: sysbench is killed when it ends.
func Run(ctx context.Context, o Options) (*Result, error) {
	switch o.Command {
	case CmdPrepare, CmdRun, CmdCleanup:
	default:
		return nil, fmt.Errorf("sysbench: unknown command %q", o.Command)
	}
	if o.Workload == "" || o.Port == 0 || o.Tables <= 0 || o.TableSize <= 0 || o.Threads <= 0 {
		return nil, fmt.Errorf("sysbench: incomplete options (workload %q, port %d, tables %d, table size %d, threads %d)",
			o.Workload, o.Port, o.Tables, o.TableSize, o.Threads)
	}
	bin := o.Binary
	if bin == "" {
		bin = DefaultBinary
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	args := o.Args()
	log.Debug("sysbench", "cmd", bin+" "+strings.Join(args, " "))
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	res := &Result{Raw: out.String()}
	what := o.Workload + " " + o.Command
	switch {
	case ctx.Err() != nil && runErr != nil:
		return res, fmt.Errorf("sysbench %s: killed after %v: %w; output ends:\n%s", what, time.Since(start).Round(time.Millisecond), ctx.Err(), lastLines(res.Raw, 15))
	case runErr != nil:
		return res, fmt.Errorf("sysbench %s: %w; output ends:\n%s", what, runErr, lastLines(res.Raw, 15))
	case strings.Contains(res.Raw, "FATAL"):
		return res, fmt.Errorf("sysbench %s: FATAL in output:\n%s", what, lastLines(res.Raw, 15))
	}
	if o.Command != CmdRun {
		return res, nil
	}
	if err := Parse(res.Raw, res); err != nil {
		return res, fmt.Errorf("sysbench %s: %w; output ends:\n%s", what, err, lastLines(res.Raw, 15))
	}
	return res, nil
}

// Parse fills r's statistics from the report of a sysbench run. It does
// not touch r.Raw.
func Parse(out string, r *Result) error {
	seen := map[string]bool{}
	section := ""
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		if val == "" { // section headers: "SQL statistics:", "Latency (ms):", ...
			section = key
			continue
		}
		f := strings.Fields(val)
		var err error
		switch {
		case key == "read" && section == "queries performed":
			r.Reads, err = parseInt(f[0])
		case key == "write" && section == "queries performed":
			r.Writes, err = parseInt(f[0])
		case key == "other" && section == "queries performed":
			r.Other, err = parseInt(f[0])
		case key == "transactions":
			r.Transactions, r.TPS, err = countAndRate(f)
		case key == "queries":
			r.Queries, r.QPS, err = countAndRate(f)
		case key == "ignored errors":
			r.IgnoredErrors, _, err = countAndRate(f)
		case key == "reconnects":
			r.Reconnects, _, err = countAndRate(f)
		case key == "total time":
			var secs float64
			secs, err = strconv.ParseFloat(strings.TrimSuffix(f[0], "s"), 64)
			r.TotalTime = time.Duration(secs * float64(time.Second))
		case key == "min" && section == "Latency (ms)":
			r.MinMs, err = strconv.ParseFloat(f[0], 64)
		case key == "avg" && section == "Latency (ms)":
			r.AvgMs, err = strconv.ParseFloat(f[0], 64)
		case key == "max" && section == "Latency (ms)":
			r.MaxMs, err = strconv.ParseFloat(f[0], 64)
		case strings.HasSuffix(key, "th percentile") && section == "Latency (ms)":
			r.P95Ms, err = strconv.ParseFloat(f[0], 64)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("parse %q: %w", line, err)
		}
		seen[key] = true
	}
	var missing []string
	for _, k := range []string{"transactions", "queries", "ignored errors", "reconnects", "avg", "max", "95th percentile"} {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no %s in sysbench report", strings.Join(missing, ", "))
	}
	return nil
}

// countAndRate parses "958    (475.64 per sec.)".
func countAndRate(f []string) (int64, float64, error) {
	n, err := parseInt(f[0])
	if err != nil {
		return 0, 0, err
	}
	if len(f) < 2 {
		return 0, 0, errors.New("no rate")
	}
	rate, err := strconv.ParseFloat(strings.TrimPrefix(f[1], "("), 64)
	if err != nil {
		return 0, 0, err
	}
	return n, rate, nil
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// lastLines returns the last n non-empty lines of s.
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// CreateDatabase runs CREATE DATABASE IF NOT EXISTS `sbtest` as root
// (empty password) on the server at addr ("host:port").
func CreateDatabase(ctx context.Context, addr string) error {
	c := mysql.NewConfig()
	c.User = "root"
	c.Net = "tcp"
	c.Addr = addr
	c.Timeout = 5 * time.Second
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return fmt.Errorf("sysbench: create database: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+Database+"`"); err != nil {
		return fmt.Errorf("sysbench: create database %s on %s: %w", Database, addr, err)
	}
	return nil
}
