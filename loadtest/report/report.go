// Package report writes a load test's results as one self-contained HTML
// page: charts of latency and hit ratio over time and of the staleness
// distribution, drawn by Apache ECharts through go-echarts. The ECharts
// script is embedded in the page (ECHARTS-LICENSE), so the report opens
// offline and stays readable as long as the file is kept.
package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/components"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/edgecdn/edge/loadtest/driver"
)

//go:embed echarts.min.js
var echartsJS []byte

// scriptTag is go-echarts' reference to the ECharts script, which the
// page carries inline instead.
var scriptTag = regexp.MustCompile(`<script src="[^"]*echarts\.min\.js"></script>`)

// Write renders res as an HTML page on w.
func Write(w io.Writer, res *driver.Result) error {
	page := components.NewPage().SetPageTitle("loadtest: " + res.Scenario)
	page.AddCharts(latencyChart(res), hitChart(res), stalenessChart(res))
	var buf bytes.Buffer
	if err := page.Render(&buf); err != nil {
		return err
	}
	html := buf.Bytes()
	if !scriptTag.Match(html) {
		return fmt.Errorf("report: go-echarts no longer references echarts.min.js as expected: the page would not be self-contained")
	}
	inline := append(append([]byte("<script>\n"), echartsJS...), "\n</script>"...)
	html = scriptTag.ReplaceAllLiteral(html, inline)
	_, err := w.Write(html)
	return err
}

func seconds(n int) []string {
	xs := make([]string, n)
	for i := range xs {
		xs[i] = strconv.Itoa(i+1) + "s"
	}
	return xs
}

func latencyChart(res *driver.Result) *charts.Line {
	c := charts.NewLine()
	c.SetGlobalOptions(charts.WithTitleOpts(opts.Title{Title: "Read latency over time (ms)", Subtitle: summaryLine(res)}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}), charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "bottom"}))
	series := func(f func(i int) float64) []opts.LineData {
		out := make([]opts.LineData, len(res.LatencySeries))
		for i := range out {
			out[i] = opts.LineData{Value: f(i)}
		}
		return out
	}
	c.SetXAxis(seconds(len(res.LatencySeries))).
		AddSeries("p50", series(func(i int) float64 { return res.LatencySeries[i].P50 })).
		AddSeries("p99", series(func(i int) float64 { return res.LatencySeries[i].P99 })).
		AddSeries("max", series(func(i int) float64 { return res.LatencySeries[i].Max }))
	return c
}

func hitChart(res *driver.Result) *charts.Line {
	c := charts.NewLine()
	c.SetGlobalOptions(charts.WithTitleOpts(opts.Title{Title: "Hit ratio over time (%)"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}))
	data := make([]opts.LineData, len(res.HitSeries))
	for i, h := range res.HitSeries {
		data[i] = opts.LineData{Value: 100 * h}
	}
	c.SetXAxis(seconds(len(res.HitSeries))).AddSeries("hit ratio", data)
	return c
}

func stalenessChart(res *driver.Result) *charts.Bar {
	c := charts.NewBar()
	cs := res.Consistency
	c.SetGlobalOptions(charts.WithTitleOpts(opts.Title{Title: "Reads that were not fresh, by staleness",
		Subtitle: fmt.Sprintf("%d fresh, %d stale, %d served after delete, %d 404 after put; p50 %.1f ms, p99 %.1f ms, max %.1f ms",
			cs.Fresh, cs.Stale, cs.ServedAfterDelete, cs.NotFoundAfterPut, cs.StalenessMs.P50, cs.StalenessMs.P99, cs.StalenessMs.Max)}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}))
	var xs []string
	var data []opts.BarData
	prev := 0.0
	for _, b := range cs.StalenessHistogram {
		label := fmt.Sprintf("%g–%g ms", prev, b.UpToMs)
		if b.UpToMs == 0 {
			label = fmt.Sprintf("> %g ms", prev)
		}
		xs = append(xs, label)
		data = append(data, opts.BarData{Value: b.Count})
		prev = b.UpToMs
	}
	c.SetXAxis(xs).AddSeries("reads", data)
	return c
}

func summaryLine(res *driver.Result) string {
	l := res.LatencyMs
	return fmt.Sprintf("%d reads, %d writes, %d errors, %.0f ops/s, hit %.1f%%; all operations p50 %.2f p99 %.2f p99.9 %.2f max %.2f ms",
		res.Reads, res.Writes, res.Errors, res.Throughput, 100*res.HitRatio, l.P50, l.P99, l.P999, l.Max)
}
