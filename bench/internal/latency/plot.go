package latency

import (
	"fmt"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot writes the latency distribution (the share of requests
// answered within each latency, on a log scale) of every result to path;
// the extension, .svg or .png, picks the format. gonum/plot draws it: a
// maintained plotting library that writes both formats without cgo.
func Plot(path, title string, results []Result) error {
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
		lat, frac := r.Hist.CDF()
		pts := make(plotter.XYs, 0, len(lat))
		for i := range lat {
			ms := float64(lat[i]) / float64(time.Millisecond)
			pts = append(pts, plotter.XY{X: max(ms, 0.001), Y: frac[i]}) // a log axis has no zero
		}
		unit := r.RateUnit
		if unit == "" {
			unit = "req/s"
		}
		p99 := r.Hist.Quantile(0.99).Round(10 * time.Microsecond)
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
