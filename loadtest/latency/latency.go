// Package latency records a load test's operation latencies in an HDR
// histogram (github.com/HdrHistogram/hdrhistogram-go): quantiles to three
// significant digits from a microsecond to an hour, in constant memory,
// and a histogram per second for the report's latency over time.
package latency

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Recorder records latencies; its methods are safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	start   time.Time
	all     *hdrhistogram.Histogram
	seconds []*hdrhistogram.Histogram // one per second since start
}

const (
	lowest  = 1 // µs
	highest = int64(time.Hour / time.Microsecond)
	digits  = 3
)

// New is a recorder whose time series starts at start.
func New(start time.Time) *Recorder {
	return &Recorder{start: start, all: hdrhistogram.New(lowest, highest, digits)}
}

// Record adds one operation that began at began (its scheduled time, in
// an open-loop test) and took d.
func (r *Recorder) Record(began time.Time, d time.Duration) {
	us := min(max(int64(d/time.Microsecond), lowest), highest)
	sec := max(0, int(began.Sub(r.start)/time.Second))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all.RecordValue(us)
	for len(r.seconds) <= sec {
		r.seconds = append(r.seconds, hdrhistogram.New(lowest, highest, digits))
	}
	r.seconds[sec].RecordValue(us)
}

// Quantiles are latencies in milliseconds.
type Quantiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

func quantiles(h *hdrhistogram.Histogram) Quantiles {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if h.TotalCount() == 0 {
		return Quantiles{}
	}
	return Quantiles{P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max())}
}

// Count is how many operations were recorded.
func (r *Recorder) Count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all.TotalCount()
}

// Quantiles of every operation recorded.
func (r *Recorder) Quantiles() Quantiles {
	r.mu.Lock()
	defer r.mu.Unlock()
	return quantiles(r.all)
}

// Series is the quantiles of each second since start.
func (r *Recorder) Series() []Quantiles {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Quantiles, len(r.seconds))
	for i, h := range r.seconds {
		out[i] = quantiles(h)
	}
	return out
}
