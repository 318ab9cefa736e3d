package edge_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// /metrics counts each site's requests by method and status class, its
// cache results and bytes, and times the origin's answers.
func TestSiteMetrics(t *testing.T) {
	te := startEdge(t)
	te.put("m", "12345", origin.Headers{CacheControl: "max-age=60"})
	te.get("/m")                          // miss
	te.get("/m")                          // hit
	te.do("HEAD", "/m")                   // hit
	te.get("/missing")                    // miss, 404
	te.do("GET", "/m", "Host", "nowhere") // no site: not counted per site
	rec := httptest.NewRecorder()
	te.edge.AdminHandler(edge.AdminOptions{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`edge_requests_total{method="GET",site="localhost",status="2xx"} 2`,
		`edge_requests_total{method="HEAD",site="localhost",status="2xx"} 1`,
		`edge_requests_total{method="GET",site="localhost",status="4xx"} 1`,
		`edge_cache_results_total{result="hit",site="localhost"} 2`,
		`edge_cache_results_total{result="miss",site="localhost"} 2`,
		`edge_response_bytes_total{site="localhost"} 24`, // 5 + 5 + the 404's 14; HEAD sends none
		`edge_cache_results_total{result="stale",site="localhost"} 0`,
		`edge_cache_results_total{result="pass",site="localhost"} 0`,
		`edge_origin_request_seconds_count{outcome="ok"} 2`,
		`edge_collapsed_requests_total 0`,
		`edge_origin_errors_total 0`,
		`edge_cache_evictions_total `,
		`edge_cache_rejections_total `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `site="nowhere"`) {
		t.Error("a request for no site is counted as a site")
	}
	if t.Failed() {
		var lines []string
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "edge_requests") || strings.HasPrefix(l, "edge_cache_results") || strings.HasPrefix(l, "edge_origin_request_seconds_count") || strings.HasPrefix(l, "edge_response_bytes") {
				lines = append(lines, l)
			}
		}
		t.Log(strings.Join(lines, "\n"))
	}
}
