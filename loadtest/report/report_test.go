package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgecdn/edge/loadtest/consistency"
	"github.com/edgecdn/edge/loadtest/driver"
	"github.com/edgecdn/edge/loadtest/latency"
)

// The page carries its charts' data and the ECharts script itself: it
// references nothing outside the file.
func TestReportIsSelfContained(t *testing.T) {
	res := &driver.Result{
		Scenario: "cache-no-purge", Reads: 10, Writes: 2, HitRatio: 0.5,
		LatencySeries: []latency.Quantiles{{P50: 1.5, P99: 9.25, Max: 12}, {P50: 2, P99: 8, Max: 10}},
		HitSeries:     []float64{0.25, 0.75},
		Consistency:   consistency.Summary{Stale: 3, StalenessHistogram: []consistency.Bucket{{UpToMs: 1, Count: 2}, {UpToMs: 0, Count: 1}}},
		Errors:        7, ErrorKinds: map[string]int64{"read-status-502": 7},
		Edges: map[string]*driver.EdgeResult{
			"http://edge-a": {Reads: 6, HitRatio: 0.5, Consistency: &consistency.Summary{Stale: 2, BeyondWindow: 1}},
			"http://edge-b": {Reads: 4, HitRatio: 0.25, Consistency: &consistency.Summary{Stale: 1}},
		},
	}
	var buf bytes.Buffer
	if err := Write(&buf, res); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"Read latency over time", "Hit ratio over time", "by staleness", "9.25", `{"value":75}`, "0–1 ms", "> 1 ms", "Apache",
		"Per edge", "http://edge-b", "beyond the window", "Errors by kind", "read-status-502", "7 errors"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script src=") || strings.Contains(page, "https://") && strings.Contains(page, "echarts.min.js") {
		t.Error("the page loads a script from elsewhere")
	}
}
