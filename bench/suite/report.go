package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/polarsql/polar/bench/sysbench"
)

// report is everything the results page shows.
type report struct {
	opts     *options
	machine  machine
	started  time.Time
	finished time.Time
	configs  []*configResult
}

// side is the aggregate of one server's samples in a cell.
type side struct {
	runs, ok      int
	tps, qps, p95 float64 // medians over the successful rounds
	ignored       int64   // ignored errors, summed over the successful rounds
}

func aggregate(samples []sample) side {
	s := side{runs: len(samples)}
	var tps, qps, p95 []float64
	for _, x := range samples {
		if x.err != nil {
			continue
		}
		s.ok++
		tps = append(tps, x.res.TPS)
		qps = append(qps, x.res.QPS)
		p95 = append(p95, x.res.P95Ms)
		s.ignored += x.res.IgnoredErrors
	}
	s.tps, s.qps, s.p95 = median(tps), median(qps), median(p95)
	return s
}

// median returns the median of v (the mean of the middle two for an even
// count), 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// pairedRatio is the median over rounds of f(a)/f(b), using only the rounds
// where both runs succeeded and f(b) > 0. The two runs of a round ran back
// to back, so their ratio is what drift of the machine affects least. ok is
// false when no round qualifies.
func pairedRatio(a, b []sample, f func(*sysbench.Result) float64) (r float64, ok bool) {
	var v []float64
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].err != nil || b[i].err != nil || f(b[i].res) <= 0 {
			continue
		}
		v = append(v, f(a[i].res)/f(b[i].res))
	}
	if len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

func tpsOf(r *sysbench.Result) float64 { return r.TPS }
func qpsOf(r *sysbench.Result) float64 { return r.QPS }
func p95Of(r *sysbench.Result) float64 { return r.P95Ms }

// cellColumns is the header of a configuration's table.
var cellColumns = []string{"workload", "threads",
	"Polar TPS", "Polar QPS", "Polar p95 ms", "Polar errors",
	"MariaDB TPS", "MariaDB QPS", "MariaDB p95 ms", "MariaDB errors",
	"TPS ratio", "p95 ratio"}

// rows renders the configuration's cells.
func (cr *configResult) rows() [][]string {
	var rows [][]string
	for _, c := range cr.cells {
		row := []string{c.workload, fmt.Sprint(c.threads)}
		row = append(row, sideCols(aggregate(c.polar))...)
		row = append(row, sideCols(aggregate(c.maria))...)
		row = append(row, ratioCol(pairedRatio(c.polar, c.maria, tpsOf)), ratioCol(pairedRatio(c.polar, c.maria, p95Of)))
		rows = append(rows, row)
	}
	return rows
}

func sideCols(s side) []string {
	if s.ok == 0 {
		return []string{"—", "—", "—", "failed"}
	}
	errs := fmt.Sprint(s.ignored)
	if s.ok < s.runs {
		errs += fmt.Sprintf(", %d/%d failed", s.runs-s.ok, s.runs)
	}
	return []string{fmt.Sprintf("%.1f", s.tps), fmt.Sprintf("%.1f", s.qps), fmt.Sprintf("%.2f", s.p95), errs}
}

func ratioCol(r float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f", r)
}

// failures lists every failed run of the configuration, one line each.
func (cr *configResult) failureLines() []string {
	var out []string
	for _, c := range cr.cells {
		for _, x := range []struct {
			who string
			s   []sample
		}{{"Polar", c.polar}, {"MariaDB", c.maria}} {
			for r, s := range x.s {
				if s.err != nil {
					out = append(out, fmt.Sprintf("%s %s %d threads round %d: %s", x.who, c.workload, c.threads, r+1, summarize(s.err)))
				}
			}
		}
	}
	for r, s := range cr.ceiling {
		if s.err != nil {
			out = append(out, fmt.Sprintf("ceiling oltp_point_select %d threads round %d: %s", ceilingThreads, r+1, summarize(s.err)))
		}
	}
	return out
}

// summarize is the first line of an error plus its first FATAL line.
func summarize(err error) string {
	lines := strings.Split(err.Error(), "\n")
	s := strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		if strings.Contains(l, "FATAL") {
			s += " — " + strings.TrimSpace(l)
			break
		}
	}
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// failures counts failed runs and configurations that did not start.
func (r *report) failures() int {
	n := 0
	for _, cr := range r.configs {
		if cr.startup != nil {
			n++
		}
		n += len(cr.failureLines())
	}
	return n
}

// measured reports whether at least one configuration started.
func (r *report) measured() bool {
	for _, cr := range r.configs {
		if cr.startup == nil {
			return true
		}
	}
	return false
}

// rssLine describes the peak RSS of the configuration's servers.
func (cr *configResult) rssLine() string {
	return "Peak RSS: Polar " + rssList(cr.polar) + "; MariaDB " + rssList(cr.maria) + "."
}

func rssList(list []rss) string {
	if len(list) == 0 {
		return "not measured"
	}
	var parts []string
	var total int64
	for _, x := range list {
		if x.err != nil {
			parts = append(parts, fmt.Sprintf("%s: ? (%v)", x.name, x.err))
			continue
		}
		total += x.bytes
		parts = append(parts, fmt.Sprintf("%s: %s", x.name, mib(x.bytes)))
	}
	if len(list) == 1 {
		return parts[0]
	}
	return fmt.Sprintf("%s total (%s)", mib(total), strings.Join(parts, ", "))
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// ceilingFigures are the protocol-ceiling figures of a configuration.
type ceilingFigures struct {
	ok            bool
	qps           float64 // constant server, median
	polar, maria  float64 // point_select QPS as a fraction of the ceiling (paired median)
	pOK, mOK      bool
	polarQPS, mQP float64
}

func (cr *configResult) ceilingFigures() ceilingFigures {
	var f ceilingFigures
	agg := aggregate(cr.ceiling)
	if agg.ok == 0 {
		return f
	}
	f.ok, f.qps = true, agg.qps
	for _, c := range cr.cells {
		if c.workload == "oltp_point_select" && c.threads == ceilingThreads {
			f.polar, f.pOK = pairedRatio(c.polar, cr.ceiling, qpsOf)
			f.maria, f.mOK = pairedRatio(c.maria, cr.ceiling, qpsOf)
			f.polarQPS, f.mQP = aggregate(c.polar).qps, aggregate(c.maria).qps
		}
	}
	return f
}

func fraction(v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.0f %%", 100*v)
}

// ceilingRows are the ceiling table's rows, one per configuration.
func (r *report) ceilingRows() [][]string {
	var rows [][]string
	for _, cr := range r.configs {
		f := cr.ceilingFigures()
		if !f.ok {
			continue
		}
		rows = append(rows, []string{cr.title, fmt.Sprintf("%.0f", f.qps),
			fmt.Sprintf("%.0f", f.polarQPS), fraction(f.polar, f.pOK),
			fmt.Sprintf("%.0f", f.mQP), fraction(f.maria, f.mOK)})
	}
	return rows
}

var ceilingColumns = []string{"configuration", "ceiling QPS", "Polar QPS", "Polar / ceiling", "MariaDB QPS", "MariaDB / ceiling"}

func (r *report) ceilingText() string {
	rows := r.ceilingRows()
	if len(rows) == 0 {
		return fmt.Sprintf("Protocol ceiling: not measured (needs oltp_point_select at %d threads).\n", ceilingThreads)
	}
	return fmt.Sprintf("Protocol ceiling: oltp_point_select, %d threads, against a constant-row server on Polar's MySQL protocol library:\n", ceilingThreads) +
		textTable(ceilingColumns, rows)
}

// text is the configuration's results as plain text for stdout.
func (cr *configResult) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "== %s\n", cr.title)
	if cr.startup != nil {
		fmt.Fprintf(&b, "FAILED to start: %v\n", cr.startup)
		return b.String()
	}
	b.WriteString(textTable(cellColumns, cr.rows()))
	b.WriteString(cr.rssLine() + "\n")
	for _, l := range cr.failureLines() {
		b.WriteString("failed: " + l + "\n")
	}
	return b.String()
}

// textTable aligns a table for a terminal: the first two columns left, the
// others right.
func textTable(header []string, rows [][]string) string {
	w := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			w[i] = max(w[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			pad := strings.Repeat(" ", w[i]-len([]rune(c)))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < 2 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// mdTable renders a Markdown table: the first left columns left-aligned,
// the others right-aligned.
func mdTable(header []string, rows [][]string, left int) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for i := range header {
		if i < left {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	return b.String()
}

// svgPath is the chart's path: the page's path with .svg.
func svgPath(out string) string { return strings.TrimSuffix(out, filepath.Ext(out)) + ".svg" }

// write writes the page and its chart.
func (r *report) write() error {
	if err := os.MkdirAll(filepath.Dir(r.opts.out), 0o755); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if err := os.WriteFile(svgPath(r.opts.out), []byte(r.svg()), 0o644); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	if err := os.WriteFile(r.opts.out, []byte(r.markdown()), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// markdown is the results page.
func (r *report) markdown() string {
	o := r.opts
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks: Polar vs MariaDB (sysbench)\n\n")
	if o.quick {
		p("> **Smoke run, not a benchmark.** This page comes from a `BENCH_QUICK=1` run (%v per run, %d round, threads %s, "+
			"workloads %s): it only shows that the suite works end to end. Its figures are noise; run `make bench` for numbers.\n\n",
			o.runTime, o.rounds, intList(o.threads), strings.Join(o.workloads, ", "))
	}
	p("Generated by `go run ./bench/suite` (`make bench`) on %s in %v. Do not edit: the suite overwrites this page and `%s`.\n\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.finished.Sub(r.started).Round(time.Second), filepath.Base(svgPath(o.out)))

	p("## How to reproduce\n\n```sh\n")
	p("make bench                  # Go microbenchmarks, then this suite (about %s for the defaults)\n", "1.5 h")
	p("BENCH_QUICK=1 make bench    # smoke run: 3 s per run, 1 round, 8 threads, 3 workloads\n")
	p("make build && go run ./bench/suite -polard bin/polard -configs embedded -time 10s -rounds 3 -threads 8\n")
	p("```\n\nThe knobs and how the suite works are in [bench/README.md](../bench/README.md).\n\n")

	p("## Machine\n\n")
	for _, kv := range r.machine.rows() {
		p("- **%s**: %s\n", kv[0], kv[1])
	}
	p("\n## Setup\n\n")
	p("- sysbench %s bundled workloads (`/usr/share/sysbench/oltp_*.lua`), `--db-ps-mode=auto` (prepared statements), default `--rand-type`; "+
		"%d tables × %s rows created with `sysbench oltp_read_write prepare` once per server and configuration; "+
		"threads %s; %v per run; %d round(s) per cell, the median reported.\n",
		r.machine.Sysbench, tables, formatThousands(tableSize), intList(o.threads), o.runTime, o.rounds)
	p("- Workloads run in this order on the same tables: %s. Writes change the data and `oltp_insert` grows the tables — identically for both servers.\n",
		"`"+strings.Join(o.workloads, "`, `")+"`")
	p("- Interleaving: for every workload × threads, each round runs Polar and MariaDB back to back (Polar first in odd rounds, MariaDB first in even ones).\n")
	p("- Polar: `polard` from this repository (%s), fresh data directory, `--buffer-pool-mb=%d`.\n", r.machine.Polar, o.bufferPoolMB)
	p("- MariaDB %s: fresh data directory per configuration, InnoDB, `innodb_flush_log_at_trx_commit=1`, binary log off, "+
		"`innodb_buffer_pool_size` %d MiB, otherwise defaults (`--no-defaults`).\n", r.machine.MariaDB, o.bufferPoolMB)
	p("- Everything (servers, sysbench) runs on the one machine over 127.0.0.1.\n\n")

	p("## Protocol ceiling\n\n")
	p("The same `oltp_point_select` (%d threads) against a do-nothing server built on Polar's MySQL protocol library "+
		"(`compute/mysqlserver` with `ConstantHandler`: every query answered with one constant row, in the suite's process), "+
		"run in the same rounds as the Polar/MariaDB pair. It is the most this protocol stack, sysbench and the loopback network "+
		"can do on this machine; Polar's and MariaDB's point-select QPS are shown as a fraction of it. "+
		"It bounds Polar, which serves MySQL through this library; MariaDB has its own protocol implementation (C, a thread per connection), "+
		"so its fraction can exceed 100 %%.\n\n", ceilingThreads)
	if rows := r.ceilingRows(); len(rows) > 0 {
		p("%s\n", mdTable(ceilingColumns, rows, 1))
	} else {
		p("Not measured in this run (it needs `oltp_point_select` at %d threads).\n\n", ceilingThreads)
	}

	p("## Polar / MariaDB at %d threads\n\n", chartThreads(o.threads))
	p("![Polar/MariaDB TPS ratio per workload at %d threads](%s)\n\n", chartThreads(o.threads), filepath.Base(svgPath(o.out)))
	p("Bars: Polar TPS ÷ MariaDB TPS (median of the per-round ratios); right of the 1.0 line Polar is faster.\n\n")

	for _, cr := range r.configs {
		p("## %s\n\n", cr.title)
		if cr.startup != nil {
			p("**Failed to start:**\n\n```\n%s\n```\n\n", cr.startup)
			continue
		}
		p("%s\n", mdTable(cellColumns, cr.rows(), 2))
		p("%s\n\n", cr.rssLine())
		if fl := cr.failureLines(); len(fl) > 0 {
			p("Failed runs:\n\n")
			for _, l := range fl {
				p("- `%s`\n", strings.ReplaceAll(l, "`", "'"))
			}
			p("\n")
		}
	}
	p("## %s\n\n%s\n\n", configTitles[cfgReaders], readersNote)

	p("## How to read the numbers\n\n")
	p("- TPS: sysbench transactions (events) per second; QPS: statements per second; p95: 95th-percentile latency of a transaction in ms; " +
		"errors: sysbench's ignored errors (deadlocks, lock wait timeouts — the transaction was retried), summed over the rounds, " +
		"plus runs that failed (sysbench FATAL or exit status; listed under the table).\n")
	p("- TPS ratio: Polar ÷ MariaDB, above 1 Polar is faster. p95 ratio: Polar ÷ MariaDB, below 1 Polar has the lower latency. " +
		"Both are medians of the per-round ratios of back-to-back runs, so they need not equal the quotient of the median columns.\n")
	p("- Only the ratios mean anything, and only within one run: this machine is shared, and its throughput drifts by 15–25 %% " +
		"within minutes. Absolute figures from different runs (or different machines) are not comparable.\n")
	p("- Peak RSS is VmHWM of each server process at the end of its configuration (for the cluster: every polard process).\n")
	return b.String()
}

func intList(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

func formatThousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// chartThreads is the thread count the chart shows: ceilingThreads if it
// was run, else the first one.
func chartThreads(threads []int) int {
	if slices.Contains(threads, ceilingThreads) {
		return ceilingThreads
	}
	return threads[0]
}
