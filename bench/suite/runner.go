package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/polarsql/polar/bench/mariadb"
	"github.com/polarsql/polar/bench/polard"
	"github.com/polarsql/polar/bench/sysbench"
	"github.com/polarsql/polar/compute/mysqlserver"
)

// target is a server sysbench runs against.
type target struct {
	name string // "Polar", "MariaDB", "ceiling"
	port int
	// alive returns an error once the server (any of its processes) has
	// exited.
	alive func() error
	// broken, if set, fails every run without starting sysbench (the
	// server did not prepare).
	broken error
}

// sample is the outcome of one sysbench run.
type sample struct {
	res *sysbench.Result // nil if err
	err error
}

// cell is one workload at one thread count: a sample per round per server.
type cell struct {
	workload string
	threads  int
	polar    []sample
	maria    []sample
}

// rss is the peak resident set size of one server process.
type rss struct {
	name  string
	bytes int64
	err   error
}

// configResult is the outcome of one Polar configuration.
type configResult struct {
	name    string
	title   string
	startup error // the configuration could not be set up; no cells
	cells   []*cell
	ceiling []sample // constant server, oltp_point_select at ceilingThreads, per round
	polar   []rss
	maria   []rss
}

// runConfig starts the Polar configuration name and a fresh MariaDB server
// under dir, prepares both, runs every workload × threads × round
// interleaved (the order of the two servers alternates per round), records
// the peak RSS of both, and stops them. ceiling is the constant server's
// target, run after the pair in the oltp_point_select cell at
// ceilingThreads.
func runConfig(ctx context.Context, o *options, name, dir string, ceiling *target) *configResult {
	cr := &configResult{name: name, title: configTitles[name]}
	fmt.Printf("\n== %s\n", cr.title)
	var cl cleanups
	defer cl.run()

	// Polar.
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	pcfg := polard.Config{Binary: o.polard, Dir: filepath.Join(dir, "polar"), BufferPoolMB: o.bufferPoolMB, ReadyTimeout: startTimeout}
	var polar *target
	var polarProcs []*polard.Process
	switch name {
	case cfgEmbedded:
		e, err := polard.StartEmbedded(startCtx, pcfg)
		if err != nil {
			cr.startup = fmt.Errorf("start polard (embedded): %w", err)
			return cr
		}
		cl.push(func() { stopLogged(e.Stop(0)) })
		polar = &target{name: "Polar", port: e.MySQLPort, alive: e.Alive}
		polarProcs = []*polard.Process{e.Process}
		fmt.Printf("polard (pid %d) on %s, data in %s\n", e.Pid(), e.Addr(), pcfg.Dir)
	case cfgCluster:
		c, err := polard.StartCluster(startCtx, pcfg, 3)
		if err != nil {
			cr.startup = fmt.Errorf("start polard cluster: %w", err)
			return cr
		}
		cl.push(func() { stopLogged(c.Stop()) })
		polar = &target{name: "Polar", port: c.MySQLPort, alive: c.Alive}
		polarProcs = c.Processes()
		fmt.Printf("polard cluster: compute (pid %d) on %s, 3 storage nodes, data in %s\n", c.Compute.Pid(), c.Addr(), pcfg.Dir)
	default:
		cr.startup = fmt.Errorf("configuration %q cannot be run", name)
		return cr
	}

	// MariaDB, fresh for every configuration so both start from the same
	// data.
	cancel()
	startCtx, cancel = context.WithTimeout(ctx, startTimeout)
	defer cancel()
	m, err := mariadb.Start(startCtx, mariadb.Config{Dir: filepath.Join(dir, "mariadb"), BufferPoolSize: int64(o.bufferPoolMB) << 20})
	if err != nil {
		cr.startup = fmt.Errorf("start MariaDB: %w", err)
		return cr
	}
	cl.push(func() { stopLogged(m.Close()) })
	maria := &target{name: "MariaDB", port: m.Port(), alive: func() error {
		select {
		case <-m.Done():
			return fmt.Errorf("mariadbd (pid %d) exited; error log ends:\n%s", m.Pid(), m.ErrorLogTail(20))
		default:
			return nil
		}
	}}

	for _, tg := range []*target{polar, maria} {
		start := time.Now()
		if err := prepare(ctx, tg); err != nil {
			tg.broken = err
			fmt.Printf("%s: %v\n", tg.name, err)
			continue
		}
		fmt.Printf("%s: %d tables x %d rows prepared in %v\n", tg.name, tables, tableSize, time.Since(start).Round(100*time.Millisecond))
	}

	total := len(o.workloads) * len(o.threads)
	i := 0
	for _, w := range o.workloads {
		for _, th := range o.threads {
			i++
			c := &cell{workload: w, threads: th}
			cr.cells = append(cr.cells, c)
			withCeiling := w == "oltp_point_select" && th == ceilingThreads
			for r := 0; r < o.rounds; r++ {
				order := []*target{polar, maria}
				if r%2 == 1 {
					order = []*target{maria, polar}
				}
				for _, tg := range order {
					s := runOnce(ctx, o, tg, w, th)
					progress(name, i, total, w, th, r, o.rounds, tg.name, s)
					if tg == polar {
						c.polar = append(c.polar, s)
					} else {
						c.maria = append(c.maria, s)
					}
				}
				if withCeiling {
					s := runOnce(ctx, o, ceiling, w, th)
					progress(name, i, total, w, th, r, o.rounds, ceiling.name, s)
					cr.ceiling = append(cr.ceiling, s)
				}
				if ctx.Err() != nil {
					return cr
				}
			}
		}
	}

	for _, p := range polarProcs {
		n, err := p.PeakRSS()
		cr.polar = append(cr.polar, rss{name: p.Name, bytes: n, err: err})
	}
	n, err := m.PeakRSS()
	cr.maria = append(cr.maria, rss{name: "mariadbd", bytes: n, err: err})
	return cr
}

// stopLogged reports a failed shutdown; the run goes on.
func stopLogged(err error) {
	if err != nil {
		fmt.Printf("warning: %v\n", err)
	}
}

// prepare creates database sbtest and loads the tables.
func prepare(ctx context.Context, tg *target) error {
	ctx, cancel := context.WithTimeout(ctx, prepareTimeout)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(tg.port))
	if err := sysbench.CreateDatabase(ctx, addr); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	_, err := sysbench.Run(ctx, sysbench.Options{
		Workload: "oltp_read_write", Command: sysbench.CmdPrepare, Port: tg.port,
		Tables: tables, TableSize: tableSize, Threads: tables,
	})
	if err != nil {
		return fmt.Errorf("prepare: %w%s", err, serverState(tg))
	}
	return nil
}

// runOnce runs one sysbench workload against tg for o.runTime.
func runOnce(ctx context.Context, o *options, tg *target, workload string, threads int) sample {
	if tg.broken != nil {
		return sample{err: fmt.Errorf("not run: %w", tg.broken)}
	}
	if err := ctx.Err(); err != nil {
		return sample{err: fmt.Errorf("not run: %w", err)}
	}
	if err := tg.alive(); err != nil {
		return sample{err: fmt.Errorf("not run: server down: %w", err)}
	}
	rctx, cancel := context.WithTimeout(ctx, o.runTime+runSlack)
	defer cancel()
	res, err := sysbench.Run(rctx, sysbench.Options{
		Workload: workload, Command: sysbench.CmdRun, Port: tg.port,
		Tables: tables, TableSize: tableSize, Threads: threads, Time: o.runTime,
	})
	if err != nil {
		return sample{err: fmt.Errorf("%w%s", err, serverState(tg))}
	}
	return sample{res: res}
}

// serverState says whether tg's server is down, for an error message.
func serverState(tg *target) string {
	if err := tg.alive(); err != nil {
		return "\n(server: " + err.Error() + ")"
	}
	return ""
}

func progress(cfg string, i, total int, w string, th, r, rounds int, who string, s sample) {
	head := fmt.Sprintf("%s [%d/%d] %-18s %2d thr  round %d/%d  %-7s", time.Now().Format("15:04:05"), i, total, w, th, r+1, rounds, who)
	if s.err != nil {
		fmt.Printf("%s  FAILED: %s\n", head, indent(s.err.Error()))
		return
	}
	fmt.Printf("%s %10.1f tps %10.1f qps  p95 %8.2f ms  %d errors\n", head, s.res.TPS, s.res.QPS, s.res.P95Ms, s.res.IgnoredErrors)
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// startCeiling starts the protocol-ceiling server in-process: Polar's MySQL
// protocol library with the ConstantHandler, which answers every query with
// one constant row and does no other work.
func startCeiling(ctx context.Context, cl *cleanups) (*target, error) {
	srv, err := mysqlserver.New(mysqlserver.Config{Addr: "127.0.0.1:0"}, mysqlserver.ConstantFactory(""))
	if err != nil {
		return nil, fmt.Errorf("protocol-ceiling server: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	cl.push(func() {
		srv.Close()
		<-done
	})
	_, portStr, err := net.SplitHostPort(srv.Addr())
	if err != nil {
		return nil, fmt.Errorf("protocol-ceiling server address %q: %w", srv.Addr(), err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("protocol-ceiling server address %q: %w", srv.Addr(), err)
	}
	alive := func() error {
		select {
		case err := <-done:
			done <- err
			if err == nil {
				err = errors.New("closed")
			}
			return fmt.Errorf("protocol-ceiling server stopped: %w", err)
		default:
			return nil
		}
	}
	return &target{name: "ceiling", port: port, alive: alive}, nil
}
