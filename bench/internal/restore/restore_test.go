package restore

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestWarmUpLines_AreRatiosOfWhatIsStored(t *testing.T) {
	samples := []warmUpSample{{Sec: 0.25, Entries: 0, RSSBytes: 50}, {Sec: 1.5, Entries: 300, RSSBytes: 250}}
	cached, rss := warmUpLines(samples, 1000, 500)
	if len(cached) != 2 || cached[1].X != 1.5 || cached[1].Y != 0.3 || rss[1].Y != 0.5 || rss[0].Y != 0.1 {
		t.Errorf("cached %v, rss %v; want (1.5, 0.3) and (0.25, 0.1), (1.5, 0.5)", cached, rss)
	}
	// An empty database: gonum refuses non-finite points, so no NaN or Inf.
	cached, rss = warmUpLines([]warmUpSample{{Sec: 1, Entries: 0, RSSBytes: 1 << 20}}, 0, 0)
	for _, p := range append(cached, rss...) {
		if math.IsNaN(p.Y) || math.IsInf(p.Y, 0) {
			t.Errorf("point %v with nothing stored; want a finite one", p)
		}
	}
}

func TestPlotWarmUp_WritesAChartOfOneSample(t *testing.T) {
	// A warm-up faster than the first 250ms sample leaves only the point
	// at /health 200.
	path := filepath.Join(t.TempDir(), "warmup.svg")
	if err := plotWarmUp(path, "t", "x", []warmUpSample{{Sec: 0.2, Entries: 10, RSSBytes: 1 << 20}}, 10, 1<<19); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < 1000 {
		t.Errorf("%s: %d bytes; want a chart", path, st.Size())
	}
}
