package latency

import (
	"fmt"
	"time"
)

// Result is one measured run.
type Result struct {
	Name     string            `json:"name"`
	Requests uint64            `json:"requests"`
	Seconds  float64           `json:"seconds"`
	RPS      float64           `json:"requests_per_second"`
	Hits     uint64            `json:"hits"`
	Misses   uint64            `json:"misses"` // 404s for the ids of -miss
	Errors   map[string]uint64 `json:"errors"`
	Latency  Summary           `json:"latency"`
	Hist     *Histogram        `json:"-"`
	RateUnit string            `json:"-"` // for the chart's legend; req/s when empty
}

type Summary struct {
	Mean   string  `json:"mean"`
	P50    string  `json:"p50"`
	P90    string  `json:"p90"`
	P99    string  `json:"p99"`
	P999   string  `json:"p999"`
	Max    string  `json:"max"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	P999MS float64 `json:"p999_ms"`
	MaxMS  float64 `json:"max_ms"`
}

func Of(h *Histogram) Summary {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Summary{
		Mean: h.Mean().String(), P50: h.Quantile(0.5).String(), P90: h.Quantile(0.9).String(),
		P99: h.Quantile(0.99).String(), P999: h.Quantile(0.999).String(), Max: h.max.String(),
		MeanMS: ms(h.Mean()), P50MS: ms(h.Quantile(0.5)), P90MS: ms(h.Quantile(0.9)),
		P99MS: ms(h.Quantile(0.99)), P999MS: ms(h.Quantile(0.999)), MaxMS: ms(h.max),
	}
}

func (r Result) Print(w interface{ Write([]byte) (int, error) }) {
	l := r.Latency
	fmt.Fprintf(w, "%-9s %10.0f req/s  %d requests in %.1fs  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
		r.Name, r.RPS, r.Requests, r.Seconds, l.P50, l.P90, l.P99, l.P999, l.Max)
	if r.Misses > 0 {
		fmt.Fprintf(w, "%-9s %d hits, %d misses (404 as expected)\n", "", r.Hits, r.Misses)
	}
	for kind, n := range r.Errors {
		fmt.Fprintf(w, "%-9s errors: %d %s\n", "", n, kind)
	}
}
