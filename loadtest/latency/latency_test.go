package latency

import (
	"math"
	"testing"
	"time"
)

// Quantiles of known latencies, within the histogram's three digits, and
// a series per second of when operations began.
func TestRecorder(t *testing.T) {
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r := New(start)
	for i := 1; i <= 1000; i++ { // 1 ms … 1000 ms
		r.Record(start.Add(time.Duration(i%3)*time.Second), time.Duration(i)*time.Millisecond)
	}
	q := r.Quantiles()
	for name, c := range map[string][2]float64{"p50": {q.P50, 500}, "p90": {q.P90, 900}, "p99": {q.P99, 990}, "p999": {q.P999, 999}, "max": {q.Max, 1000}} {
		if math.Abs(c[0]-c[1])/c[1] > 0.002 {
			t.Errorf("%s: %v ms, want %v", name, c[0], c[1])
		}
	}
	if r.Count() != 1000 || len(r.Series()) != 3 {
		t.Errorf("count %d, %d seconds", r.Count(), len(r.Series()))
	}
	if (New(start).Quantiles() != Quantiles{}) {
		t.Error("an empty recorder has quantiles")
	}
}
