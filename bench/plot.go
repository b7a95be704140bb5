package main

import (
	"fmt"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotLatency writes the latency distribution (the share of requests
// answered within each latency, on a log scale) of every result to path;
// the extension, .svg or .png, picks the format. gonum/plot draws it: a
// maintained plotting library that writes both formats without cgo.
func plotLatency(path, title string, results []loadResult) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "latency (ms, log scale)"
	p.Y.Label.Text = "share of requests answered within"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())

	var lines []any
	for _, r := range results {
		lat, frac := r.hist.cdf()
		pts := make(plotter.XYs, 0, len(lat))
		for i := range lat {
			ms := float64(lat[i]) / float64(time.Millisecond)
			pts = append(pts, plotter.XY{X: max(ms, 0.001), Y: frac[i]}) // a log axis has no zero
		}
		unit := r.rateUnit
		if unit == "" {
			unit = "req/s"
		}
		p99 := r.hist.quantile(0.99).Round(10 * time.Microsecond)
		lines = append(lines, fmt.Sprintf("%s: p99 %s, %.0f %s", r.Name, p99, r.RPS, unit), pts)
	}
	if err := plotutil.AddLines(p, lines...); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.YOffs = vg.Points(40)
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}

// warmUpLines turns orderd's start into the two lines of plotWarmUp: the
// orders cached as a share of the orders stored, and the RSS as a multiple
// of the stored JSON's bytes, each over the seconds since the start.
func warmUpLines(samples []warmUpSample, orders, jsonBytes int64) (cached, rss plotter.XYs) {
	cached = make(plotter.XYs, 0, len(samples))
	rss = make(plotter.XYs, 0, len(samples))
	for _, s := range samples {
		cached = append(cached, plotter.XY{X: s.Sec, Y: float64(s.Entries) / float64(max(orders, 1))})
		rss = append(rss, plotter.XY{X: s.Sec, Y: float64(s.RSSBytes) / float64(max(jsonBytes, 1))})
	}
	return cached, rss
}

// plotWarmUp writes orderd's start, from samples, to path (.svg or .png):
// both lines share one y axis as ratios, since orders and bytes do not.
func plotWarmUp(path, title, xLabel string, samples []warmUpSample, orders, jsonBytes int64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = "share / ratio"
	p.X.Min, p.Y.Min = 0, 0
	p.Add(plotter.NewGrid())
	cached, rss := warmUpLines(samples, orders, jsonBytes)
	if err := plotutil.AddLinePoints(p, "orders cached / orders stored", cached, "RSS / JSON bytes", rss); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	// Both lines rise from 0, so the top left is where they are not.
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(10)
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}
