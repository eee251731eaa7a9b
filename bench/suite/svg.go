package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Chart geometry (pixels).
const (
	svgWidth   = 760
	svgLeft    = 200 // label column
	svgRight   = 50
	svgRowH    = 22
	svgBarH    = 14
	svgHeaderH = 26
	svgTop     = 58
)

var svgColors = []string{"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1"}

// chartRow is one bar: a workload's Polar/MariaDB TPS ratio.
type chartRow struct {
	label string
	ratio float64
	ok    bool
}

// chartGroup is one configuration's bars.
type chartGroup struct {
	title string
	note  string // instead of bars (failed to start)
	rows  []chartRow
}

func (r *report) chartGroups() []chartGroup {
	th := chartThreads(r.opts.threads)
	var groups []chartGroup
	for _, cr := range r.configs {
		g := chartGroup{title: cr.title}
		if cr.startup != nil {
			g.note = "failed to start"
		}
		for _, c := range cr.cells {
			if c.threads != th {
				continue
			}
			ratio, ok := pairedRatio(c.polar, c.maria, tpsOf)
			g.rows = append(g.rows, chartRow{label: c.workload, ratio: ratio, ok: ok})
		}
		groups = append(groups, g)
	}
	return groups
}

// svg is the chart: per configuration, a horizontal bar per workload with
// the Polar/MariaDB TPS ratio at chartThreads, and a vertical line at 1.0.
func (r *report) svg() string {
	th := chartThreads(r.opts.threads)
	title := fmt.Sprintf("Polar / MariaDB TPS ratio, sysbench, %d threads", th)
	sub := fmt.Sprintf("median of per-round ratios; %v per run, %d round(s); %s", r.opts.runTime, r.opts.rounds, r.started.UTC().Format("2006-01-02"))
	if r.opts.quick {
		sub = "SMOKE RUN (BENCH_QUICK=1), NOT A BENCHMARK — " + sub
	}
	return renderSVG(title, sub, r.chartGroups())
}

func renderSVG(title, subtitle string, groups []chartGroup) string {
	maxRatio := 1.0
	for _, g := range groups {
		for _, row := range g.rows {
			if row.ok {
				maxRatio = math.Max(maxRatio, row.ratio)
			}
		}
	}
	// Scale to the next 0.5 above the largest bar, with room for its label.
	xMax := math.Ceil(maxRatio*1.1*2) / 2
	plotW := float64(svgWidth - svgLeft - svgRight)
	x := func(v float64) float64 { return svgLeft + plotW*v/xMax }

	var body strings.Builder
	y := svgTop
	for i, g := range groups {
		color := svgColors[i%len(svgColors)]
		fmt.Fprintf(&body, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+17, esc(g.title))
		y += svgHeaderH
		if g.note != "" || len(g.rows) == 0 {
			note := g.note
			if note == "" {
				note = "no runs at this thread count"
			}
			fmt.Fprintf(&body, `<text x="%d" y="%d" fill="#888">%s</text>`+"\n", svgLeft+6, y+15, esc(note))
			y += svgRowH
			continue
		}
		for _, row := range g.rows {
			fmt.Fprintf(&body, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", svgLeft-8, y+15, esc(row.label))
			if !row.ok {
				fmt.Fprintf(&body, `<text x="%d" y="%d" fill="#888">failed</text>`+"\n", svgLeft+6, y+15)
				y += svgRowH
				continue
			}
			w := x(row.ratio) - svgLeft
			fmt.Fprintf(&body, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", svgLeft, y+(svgRowH-svgBarH)/2, w, svgBarH, color)
			fmt.Fprintf(&body, `<text x="%.1f" y="%d">%.2f</text>`+"\n", x(row.ratio)+4, y+15, row.ratio)
			y += svgRowH
		}
	}
	plotBottom := y + 4
	height := plotBottom + 30

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", svgWidth, height)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", esc(title))
	fmt.Fprintf(&b, `<text x="10" y="38" fill="#555">%s</text>`+"\n", esc(subtitle))
	// Grid and axis labels every 0.5.
	for v := 0.0; v <= xMax+1e-9; v += 0.5 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>`+"\n", x(v), svgTop, x(v), plotBottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%.1f</text>`+"\n", x(v), plotBottom+16, v)
	}
	b.WriteString(body.String())
	// The parity line.
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c00" stroke-width="1.5" stroke-dasharray="5,3"/>`+"\n", x(1), svgTop-4, x(1), plotBottom)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#c00">1.0 = MariaDB</text>`+"\n", x(1)+4, svgTop-6)
	b.WriteString("</svg>\n")
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }
