package restore

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

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
