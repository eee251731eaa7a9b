package main

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/polarsql/polar/bench/sysbench"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func ok(tps, p95 float64) sample {
	return sample{res: &sysbench.Result{TPS: tps, QPS: 10 * tps, P95Ms: p95}}
}

var failed = sample{err: errors.New("sysbench oltp_insert run: FATAL in output:\nFATAL: boom")}

func TestPairedRatio(t *testing.T) {
	// Round 2 failed on one side: only rounds 1 and 3 count.
	a := []sample{ok(100, 1), failed, ok(300, 3)}
	b := []sample{ok(200, 2), ok(1, 1), ok(300, 1)}
	r, good := pairedRatio(a, b, tpsOf)
	if !good || r != 0.75 {
		t.Errorf("TPS ratio = %v, %v; want 0.75 (median of 0.5 and 1.0)", r, good)
	}
	if _, good := pairedRatio([]sample{failed}, []sample{ok(1, 1)}, tpsOf); good {
		t.Error("ratio of a failed pair reported as valid")
	}
	s := aggregate(a)
	if s.ok != 2 || s.runs != 3 || s.tps != 200 {
		t.Errorf("aggregate = %+v", s)
	}
	if got := sideCols(s)[3]; got != "0, 1/3 failed" {
		t.Errorf("errors column = %q", got)
	}
}

func TestParseFlagsQuick(t *testing.T) {
	o, err := parseFlags([]string{"-quick", "-configs", "embedded"})
	if err != nil {
		t.Fatal(err)
	}
	if o.runTime != 3*time.Second || o.rounds != 1 || len(o.threads) != 1 || o.threads[0] != 8 || len(o.workloads) != 3 {
		t.Errorf("quick options = %+v", o)
	}
	o, err = parseFlags([]string{"-quick", "-rounds", "2", "-threads", "1,32"})
	if err != nil {
		t.Fatal(err)
	}
	if o.rounds != 2 || len(o.threads) != 2 {
		t.Errorf("explicit flags not kept in quick mode: %+v", o)
	}
	if _, err := parseFlags([]string{"-configs", "embedded,bogus"}); err == nil {
		t.Error("unknown configuration accepted")
	}
}

// TestReport renders a page and a chart from made-up results: the SVG must
// be well-formed XML and the page must carry the tables and the smoke-run
// banner.
func TestReport(t *testing.T) {
	o, err := parseFlags([]string{"-quick"})
	if err != nil {
		t.Fatal(err)
	}
	cr := &configResult{name: cfgEmbedded, title: configTitles[cfgEmbedded],
		cells: []*cell{
			{workload: "oltp_point_select", threads: 8, polar: []sample{ok(5000, 2)}, maria: []sample{ok(10000, 1)}},
			{workload: "oltp_write_only", threads: 8, polar: []sample{failed}, maria: []sample{ok(900, 12)}},
		},
		ceiling: []sample{ok(20000, 0.5)},
		polar:   []rss{{name: "polard", bytes: 300 << 20}},
		maria:   []rss{{name: "mariadbd", bytes: 1200 << 20}},
	}
	bad := &configResult{name: cfgCluster, title: configTitles[cfgCluster], startup: errors.New("no leader")}
	r := &report{opts: o, machine: machine{CPU: "Test CPU <1>"}, started: time.Now(), finished: time.Now(), configs: []*configResult{cr, bad}}

	dec := xml.NewDecoder(strings.NewReader(r.svg()))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v\n%s", err, r.svg())
		}
	}
	md := r.markdown()
	for _, want := range []string{
		"Smoke run, not a benchmark",
		"| oltp_point_select | 8 | 5000.0 | 50000.0 | 2.00 | 0 | 10000.0 | 100000.0 | 1.00 | 0 | 0.50 | 2.00 |",
		"| oltp_write_only | 8 | — | — | — | failed |",
		"| Embedded default (1 storage voter in-process) | 200000 | 50000 | 25 % | 100000 | 50 % |",
		"![Polar/MariaDB TPS ratio per workload at 8 threads](benchmarks.svg)",
		"Failed to start",
		"no read replicas yet",
		"FATAL: boom",
		"Peak RSS: Polar polard: 300 MiB; MariaDB mariadbd: 1200 MiB.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("page lacks %q:\n%s", want, md)
		}
	}
	if n := r.failures(); n != 2 {
		t.Errorf("failures = %d, want 2", n)
	}
}
