// Command suite is Polar's end-to-end benchmark (`make bench`): sysbench
// 1.0.20's bundled OLTP workloads against polard and a private MariaDB
// server in the same run, interleaved per workload, threads and round, so
// that drift of a shared machine hits both alike; plus the protocol ceiling
// (the same oltp_point_select against a do-nothing server built on Polar's
// MySQL protocol library). It prints one table per Polar configuration and
// writes docs/benchmarks.md with an SVG chart of the Polar/MariaDB ratios.
//
//	go run ./bench/suite -polard bin/polard            # full run
//	BENCH_QUICK=1 go run ./bench/suite -polard bin/polard  # smoke run
//
// See bench/README.md for the knobs and how to read the results.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/polarsql/polar/bench/mariadb"
	"github.com/polarsql/polar/bench/polard"
	"github.com/polarsql/polar/bench/sysbench"
)

// Shape of the data set.
const (
	tables    = 4
	tableSize = 10000
	// ceilingThreads is the thread count of the protocol-ceiling run and
	// of the chart.
	ceilingThreads = 8
)

// Timeouts of the steps.
const (
	startTimeout   = 3 * time.Minute // a server or cluster up and accepting logins
	prepareTimeout = 5 * time.Minute // CREATE DATABASE + sysbench prepare
	runSlack       = time.Minute     // a sysbench run beyond its --time
)

// allWorkloads are the workloads of a full run, in order (writes after
// reads; oltp_insert grows the tables, the same for both servers).
var allWorkloads = []string{
	"oltp_point_select",
	"oltp_read_only",
	"oltp_read_write",
	"oltp_write_only",
	"oltp_insert",
	"oltp_update_index",
}

// quickWorkloads are the workloads of a BENCH_QUICK run.
var quickWorkloads = []string{"oltp_point_select", "oltp_read_write", "oltp_write_only"}

// Configurations of Polar.
const (
	cfgEmbedded = "embedded"
	cfgCluster  = "cluster"
	cfgReaders  = "readers"
)

var configTitles = map[string]string{
	cfgEmbedded: "Embedded default (1 storage voter in-process)",
	cfgCluster:  "Local cluster (3 storage processes + 1 compute process)",
	cfgReaders:  "Cluster with read replicas",
}

// readersNote explains the missing third configuration.
const readersNote = "Not measured: Polar has no read replicas yet (polard has no reader role). " +
	"This configuration will be added to the suite once they exist."

// options are the suite's settings.
type options struct {
	polard       string
	out          string
	runTime      time.Duration
	rounds       int
	threads      []int
	configs      []string
	workloads    []string
	bufferPoolMB int
	quick        bool
	keep         bool
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "suite:", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "suite:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	o := &options{}
	fs.StringVar(&o.polard, "polard", "bin/polard", "polard binary (make build)")
	fs.StringVar(&o.out, "out", "docs/benchmarks.md", "results page to write; the chart goes next to it (.svg)")
	fs.DurationVar(&o.runTime, "time", 20*time.Second, "duration of each sysbench run (whole seconds)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per cell; the median is reported")
	threads := fs.String("threads", "1,8,32", "sysbench thread counts, comma-separated")
	configs := fs.String("configs", "embedded,cluster", "Polar configurations: embedded, cluster (readers: not available yet)")
	workloads := fs.String("workloads", strings.Join(allWorkloads, ","), "sysbench workloads, comma-separated")
	fs.IntVar(&o.bufferPoolMB, "buffer-pool-mb", 1024, "page cache of polard (--buffer-pool-mb) and MariaDB's innodb_buffer_pool_size, MiB")
	fs.BoolVar(&o.quick, "quick", os.Getenv("BENCH_QUICK") == "1", "smoke run (also BENCH_QUICK=1): 3s runs, 1 round, 8 threads, 3 workloads, unless set explicitly")
	fs.BoolVar(&o.keep, "keep", false, "keep the data directories and logs (they are kept anyway when something failed)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		if !set["time"] {
			o.runTime = 3 * time.Second
		}
		if !set["rounds"] {
			o.rounds = 1
		}
		if !set["threads"] {
			*threads = strconv.Itoa(ceilingThreads)
		}
		if !set["workloads"] {
			*workloads = strings.Join(quickWorkloads, ",")
		}
	}
	if o.runTime < time.Second || o.runTime%time.Second != 0 {
		return nil, fmt.Errorf("-time %v: want whole seconds, at least 1s", o.runTime)
	}
	if o.rounds < 1 {
		return nil, fmt.Errorf("-rounds %d: want at least 1", o.rounds)
	}
	if o.bufferPoolMB < 16 {
		return nil, fmt.Errorf("-buffer-pool-mb %d: want at least 16", o.bufferPoolMB)
	}
	for _, s := range splitList(*threads) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-threads: bad thread count %q", s)
		}
		o.threads = append(o.threads, n)
	}
	o.workloads = splitList(*workloads)
	o.configs = splitList(*configs)
	for _, c := range o.configs {
		if _, ok := configTitles[c]; !ok {
			return nil, fmt.Errorf("-configs: unknown configuration %q (want embedded, cluster, readers)", c)
		}
	}
	if len(o.threads) == 0 || len(o.workloads) == 0 || len(o.configs) == 0 {
		return nil, errors.New("-threads, -workloads and -configs must not be empty")
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// cleanups is a stack of functions undoing what the suite started (servers,
// temporary directories). They run in reverse order when run returns —
// normally, on error, after ^C/SIGTERM (the context is cancelled, sysbench
// is killed, the run unwinds) and during a panic's unwinding.
type cleanups struct{ fns []func() }

func (c *cleanups) push(f func()) { c.fns = append(c.fns, f) }

func (c *cleanups) run() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
	c.fns = nil
}

func run(o *options) (err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cl cleanups
	defer cl.run()
	polard.QuietDriverLog()

	if err := checkTools(o); err != nil {
		return err
	}
	bin, err := filepath.Abs(o.polard)
	if err != nil {
		return fmt.Errorf("polard binary: %w", err)
	}
	o.polard = bin

	workDir, err := os.MkdirTemp("", "polar-bench-")
	if err != nil {
		return fmt.Errorf("work directory: %w", err)
	}
	keep := o.keep
	cl.push(func() {
		if keep {
			fmt.Printf("data directories and logs kept in %s\n", workDir)
			return
		}
		os.RemoveAll(workDir)
	})

	started := time.Now()
	machine := describeMachine(workDir)
	fmt.Print(o.plan())

	ceiling, err := startCeiling(ctx, &cl)
	if err != nil {
		return err
	}

	rep := &report{opts: o, machine: machine, started: started}
	for _, name := range o.configs {
		if name == cfgReaders {
			fmt.Printf("\n== %s: %s\n", configTitles[cfgReaders], readersNote)
			continue
		}
		cr := runConfig(ctx, o, name, filepath.Join(workDir, name), ceiling)
		rep.configs = append(rep.configs, cr)
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted (%w); %s not written", ctx.Err(), o.out)
		}
		fmt.Print("\n" + cr.text())
	}
	rep.finished = time.Now()

	fmt.Print("\n" + rep.ceilingText() + "\n" + readersNote + "\n")
	if !rep.measured() {
		keep = true
		return fmt.Errorf("no configuration could be measured; %s not written", o.out)
	}
	if err := rep.write(); err != nil {
		keep = true
		return err
	}
	fmt.Printf("\nwrote %s and %s (%v)\n", o.out, svgPath(o.out), rep.finished.Sub(started).Round(time.Second))
	if n := rep.failures(); n > 0 {
		keep = true
		return fmt.Errorf("%d runs or configurations failed (see %s)", n, o.out)
	}
	return nil
}

// checkTools fails early when a binary the suite needs is missing.
func checkTools(o *options) error {
	fi, err := os.Stat(o.polard)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("polard binary %s is not an executable file (run make build, or pass -polard)", o.polard)
	}
	for _, b := range []string{sysbench.DefaultBinary, mariadb.DefaultServerBinary, mariadb.DefaultInstallBinary} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s is required: %w", b, err)
		}
	}
	return nil
}

// plan describes the run about to start, with its approximate duration.
func (o *options) plan() string {
	n := 0
	for _, c := range o.configs {
		if c != cfgReaders {
			n++
		}
	}
	runs := n * len(o.workloads) * len(o.threads) * o.rounds * 2
	if slices.Contains(o.threads, ceilingThreads) && slices.Contains(o.workloads, "oltp_point_select") {
		runs += n * o.rounds
	}
	est := time.Duration(runs)*(o.runTime+time.Second) + time.Duration(n)*30*time.Second
	mode := "full run"
	if o.quick {
		mode = "QUICK smoke run (not a benchmark)"
	}
	return fmt.Sprintf("Polar vs MariaDB sysbench suite, %s: configs %s; workloads %s; threads %v; %v per run, %d round(s); "+
		"%d tables x %d rows; %d sysbench runs, about %v\n",
		mode, strings.Join(o.configs, ","), strings.Join(o.workloads, ","), o.threads, o.runTime, o.rounds,
		tables, tableSize, runs, est.Round(time.Minute))
}
