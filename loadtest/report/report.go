// Package report writes a load test's results as one self-contained HTML
// page: charts of latency and hit ratio over time, of the staleness
// distribution, of each edge's figures and of the errors by kind, drawn by Apache ECharts through go-echarts. The ECharts
// script is embedded in the page (ECHARTS-LICENSE), so the report opens
// offline and stays readable as long as the file is kept.
package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
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
	page.AddCharts(latencyChart(res), hitChart(res), stalenessChart(res), edgeChart(res), edgeConsistencyChart(res), errorChart(res))
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
	return fmt.Sprintf("%d reads, %d writes, %d purges, %d errors, %.0f ops/s, hit %.1f%%, origin offload %.1f%% of reads and %.1f%% of bytes; all operations p50 %.2f p99 %.2f p99.9 %.2f max %.2f ms",
		res.Reads, res.Writes, res.Purges, res.Errors, res.Throughput, 100*res.HitRatio, 100*res.Origin.RequestOffload, 100*res.Origin.ByteOffload, l.P50, l.P99, l.P999, l.Max)
}

// bars is a bar chart with one category per name and one series per
// label, each value from f(name, series index).
func bars(title, subtitle string, names, labels []string, f func(name string, series int) float64) *charts.Bar {
	c := charts.NewBar()
	c.SetGlobalOptions(charts.WithTitleOpts(opts.Title{Title: title, Subtitle: subtitle}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}), charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "bottom"}))
	c.SetXAxis(names)
	for i, label := range labels {
		data := make([]opts.BarData, len(names))
		for j, n := range names {
			data[j] = opts.BarData{Value: f(n, i)}
		}
		c.AddSeries(label, data)
	}
	return c
}

func edgeChart(res *driver.Result) *charts.Bar {
	edges := slices.Sorted(maps.Keys(res.Edges))
	return bars("Per edge: hit ratio, offload and latency", "", edges,
		[]string{"hit ratio (%)", "origin offload, reads (%)", "read p99 (ms)", "read max (ms)"},
		func(e string, i int) float64 {
			er := res.Edges[e]
			return [...]float64{100 * er.HitRatio, 100 * er.Origin.RequestOffload, er.LatencyMs.P99, er.LatencyMs.Max}[i]
		})
}

func edgeConsistencyChart(res *driver.Result) *charts.Bar {
	edges := slices.Sorted(maps.Keys(res.Edges))
	cs := res.Consistency
	return bars("Per edge: reads not fresh, and propagation",
		fmt.Sprintf("window %.0f ms: %d reads beyond it, %d after a purge had landed; propagation to every edge p50 %.1f p99 %.1f max %.1f ms, %d writes not seen everywhere",
			cs.WindowMs, cs.BeyondWindow, cs.AfterPurge, cs.PropagationMs.P50, cs.PropagationMs.P99, cs.PropagationMs.Max, cs.Unpropagated),
		edges, []string{"not fresh (reads)", "beyond the window (reads)", "propagation p99 (ms)", "propagation max (ms)"},
		func(e string, i int) float64 {
			c := res.Edges[e].Consistency
			if c == nil {
				return 0
			}
			return [...]float64{float64(c.Stale + c.ServedAfterDelete + c.NotFoundAfterPut), float64(c.BeyondWindow), c.PropagationMs.P99, c.PropagationMs.Max}[i]
		})
}

func errorChart(res *driver.Result) *charts.Bar {
	kinds := slices.Sorted(maps.Keys(res.ErrorKinds))
	sub := fmt.Sprintf("%d errors", res.Errors)
	if res.Errors == 0 {
		sub = "no errors"
	}
	return bars("Errors by kind", sub, kinds, []string{"errors"}, func(k string, _ int) float64 { return float64(res.ErrorKinds[k]) })
}
