package s3

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the S3 API's, per handler (no global registry): requests
// by operation and status, their time, and the bytes in and out.
type metrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	in, out  prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s3_requests_total", Help: "S3 API requests by operation and status."}, []string{"op", "status"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "s3_request_seconds", Help: "S3 API request time by operation, to the end of the handler (a streamed GET body goes on after).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"op"}),
		in:  prometheus.NewCounter(prometheus.CounterOpts{Name: "s3_bytes_received_total", Help: "Request body bytes the S3 API read (uploads)."}),
		out: prometheus.NewCounter(prometheus.CounterOpts{Name: "s3_bytes_sent_total", Help: "Response body bytes the S3 API sent, by Content-Length."}),
	}
}

func (m *metrics) observe(r *request, start time.Time) {
	op := r.op
	if op == "" {
		op = "unknown" // refused before routing
	}
	m.requests.WithLabelValues(op, strconv.Itoa(r.ctx.Response.StatusCode())).Inc()
	m.seconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
	m.in.Add(float64(r.bytesIn))
	if n := r.ctx.Response.Header.ContentLength(); n > 0 {
		m.out.Add(float64(n))
	}
}

// Collectors are the handler's metrics, for the process's /metrics.
func (h *Handler) Collectors() []prometheus.Collector {
	return []prometheus.Collector{h.metrics.requests, h.metrics.seconds, h.metrics.in, h.metrics.out}
}
