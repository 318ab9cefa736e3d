package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgecdn/edge/loadtest/driver"
	"github.com/edgecdn/edge/loadtest/report"
	"github.com/edgecdn/edge/origin/s3"
	"github.com/edgecdn/edge/purge"
)

// scenario is a named workload.
type scenario struct {
	mix             driver.Mix
	purgeAfterWrite bool
}

// scenarios are the named workloads. The edges decide what each shows:
// cache-no-purge is meant for ttl sites (stale overwrites, content after
// delete, sticky 404s, as a bucket behind a plain cache), purge for purge
// sites with the bus on, strong for strong sites, purge-api for ttl sites
// whose owner calls the purge API after every write, and 404-before-put
// reads keys just before they are first written (the old S3 caveat).
var scenarios = map[string]scenario{
	"cache-no-purge": {mix: driver.Mix{Read: 80, Overwrite: 15, Delete: 5}},
	"purge":          {mix: driver.Mix{Read: 80, Overwrite: 15, Delete: 5}},
	"strong":         {mix: driver.Mix{Read: 80, Overwrite: 15, Delete: 5}},
	"purge-api":      {mix: driver.Mix{Read: 80, Overwrite: 15, Delete: 5}, purgeAfterWrite: true},
	"404-before-put": {mix: driver.Mix{Read: 50, Create: 50}},
	"read-only":      {mix: driver.Mix{Read: 100}},
}

// run parses the flags, drives the scenario and writes the results.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		scenario = fs.String("scenario", "purge", "workload: "+strings.Join(scenarioNames(), ", "))
		duration = fs.Duration("duration", 10*time.Second, "how long to run")
		ops      = fs.Int64("ops", 0, "stop after this many operations (0: the duration decides)")
		edges    = fs.String("edges", "http://127.0.0.1:8080", "edge base URLs, comma-separated")
		host     = fs.String("host", "localhost", "the site's Host for reads")
		s3URL    = fs.String("s3", "http://127.0.0.1:9000", "the S3 endpoint writes go to")
		bucket   = fs.String("bucket", "public", "the bucket the site serves")
		out      = fs.String("out", "", "directory for result.json (default: loadtest-results/<scenario>-<time>)")
		conc     = fs.Int("concurrency", 32, "operations in flight at most")
		rate     = fs.Float64("rate", 0, "operations a second, open loop (0: as fast as concurrency allows)")
		nkeys    = fs.Int("keys", 1000, "the key space")
		zipf     = fs.Float64("zipf", 1, "key popularity exponent (0: uniform)")
		sizes    = fs.String("size", "1k", "object size (bytes, or with k or m), or sizes with weights: 1k=80,64k=15,1m=5")
		mixFlag  = fs.String("mix", "", "operation weights in place of the scenario's, e.g. read=80,overwrite=10,delete=5,create=5,purge=1")
		purgeURL = fs.String("purge", "http://127.0.0.1:8081", "an edge's purge API (its admin port), for purges; token from EDGE_PURGE_TOKEN or the data directory")
		window   = fs.Duration("window", time.Second, "the propagation window: reads staler than this count as beyond it")
		unborn   = fs.Int("unborn", 25, "percentage of reads that ask for a key about to be created (when the mix creates)")
		prefix   = fs.String("prefix", "", "key prefix (default: one per run)")
		prefill  = fs.Bool("prefill", false, "write every key once before the timed run")
		dataDir  = fs.String("data", "./data", "the all-in-one's data directory, whose generated S3 key pair is used when the environment has none")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	sc, ok := scenarios[*scenario]
	if !ok {
		return fmt.Errorf("-scenario %q: use one of %s", *scenario, strings.Join(scenarioNames(), ", "))
	}
	if *mixFlag != "" {
		m, err := parseMix(*mixFlag)
		if err != nil {
			return err
		}
		sc.mix = m
	}
	sizeDist, err := driver.ParseSizes(*sizes)
	if err != nil {
		return fmt.Errorf("-size: %v", err)
	}
	start := time.Now()
	if *prefix == "" {
		*prefix = "lt-" + start.UTC().Format("20060102T150405") + "/"
	}
	if *out == "" {
		*out = filepath.Join("loadtest-results", *scenario+"-"+start.UTC().Format("20060102T150405"))
	}
	cfg := driver.Config{
		Edges: splitList(*edges), Host: *host, S3: *s3URL, Bucket: *bucket,
		AccessKey: os.Getenv("EDGE_ACCESS_KEY_ID"), SecretKey: os.Getenv("EDGE_SECRET_ACCESS_KEY"),
		Duration: *duration, Ops: *ops, Concurrency: *conc, Rate: *rate, Keys: *nkeys, Zipf: *zipf, Sizes: sizeDist,
		Mix: sc.mix, PurgeAfterWrite: sc.purgeAfterWrite, Window: *window, Unborn: *unborn,
		Prefix: *prefix, Prefill: *prefill, Seed: uint64(start.UnixNano()), Progress: stderr,
	}
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		cfg.AccessKey, cfg.SecretKey = generatedKeys(*dataDir)
	}
	if (cfg.Prefill || cfg.Mix.Overwrite+cfg.Mix.Delete+cfg.Mix.Create > 0) && (cfg.AccessKey == "" || cfg.SecretKey == "") {
		return fmt.Errorf("scenario %s writes: set EDGE_ACCESS_KEY_ID and EDGE_SECRET_ACCESS_KEY to the S3 key pair, or point -data at the all-in-one's data directory", *scenario)
	}
	if cfg.Mix.Purge > 0 || cfg.PurgeAfterWrite {
		cfg.PurgeURL, cfg.PurgeToken = *purgeURL, os.Getenv("EDGE_PURGE_TOKEN")
		if cfg.PurgeToken == "" {
			cfg.PurgeToken = generatedPurgeToken(*dataDir)
		}
		if cfg.PurgeToken == "" {
			return fmt.Errorf("scenario %s purges: set EDGE_PURGE_TOKEN to a purge API token, or point -data at the all-in-one's data directory", *scenario)
		}
	}
	res, err := driver.Run(ctx, cfg)
	if err != nil {
		return err
	}
	res.Scenario = *scenario
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "result.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	var page bytes.Buffer
	if err := report.Write(&page, res); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "report.html"), page.Bytes(), 0o644); err != nil {
		return err
	}
	printTable(stdout, res)
	for _, w := range siteWarnings(*scenario, res) {
		fmt.Fprintln(stdout, "note:", w)
	}
	fmt.Fprintf(stdout, "\nresults: %s, %s\n", filepath.Join(*out, "result.json"), filepath.Join(*out, "report.html"))
	return nil
}

// generatedKeys is the key pair an all-in-one without configured
// credentials generated into its data directory ("" when there is none).
func generatedKeys(dir string) (id, secret string) {
	data, err := os.ReadFile(filepath.Join(dir, s3.KeysFile))
	if err != nil {
		return "", ""
	}
	var k s3.Keys
	if json.Unmarshal(data, &k) != nil {
		return "", ""
	}
	return k.AccessKeyID, k.SecretAccessKey
}

// siteWarnings say when a run's figures suggest -host is not the kind of
// site its scenario is meant for: the edge decides what a scenario shows.
func siteWarnings(scenario string, r *driver.Result) []string {
	c := r.Consistency
	var out []string
	if scenario == "cache-no-purge" && r.Writes > 0 && c.Stale+c.ServedAfterDelete+c.NotFoundAfterPut == 0 && r.HitRatio > 0 {
		out = append(out, "no read was stale: cache-no-purge is meant for a site in consistency ttl; is -host one?")
	}
	if scenario == "strong" && r.HitRatio > 0 {
		out = append(out, "some reads were hits served without asking the origin: strong is meant for a site in consistency strong; is -host one?")
	}
	return out
}

// generatedPurgeToken is the purge API token an all-in-one without
// configured tokens generated into its data directory ("" when none).
func generatedPurgeToken(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, purge.TokenFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// parseMix reads operation weights: read=80,overwrite=15,…
func parseMix(s string) (driver.Mix, error) {
	var m driver.Mix
	fields := map[string]*int{"read": &m.Read, "overwrite": &m.Overwrite, "delete": &m.Delete, "create": &m.Create, "purge": &m.Purge}
	for _, part := range splitList(s) {
		name, value, _ := strings.Cut(part, "=")
		f, ok := fields[strings.TrimSpace(name)]
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if !ok || err != nil || n < 0 {
			return m, fmt.Errorf("-mix %q: give name=weight pairs, names read, overwrite, delete, create, purge and weights 0 or more", part)
		}
		*f = n
	}
	if m.Read+m.Overwrite+m.Delete+m.Create+m.Purge == 0 {
		return m, fmt.Errorf("-mix %q: no operation has a weight", s)
	}
	return m, nil
}

// splitList is a comma-separated list without its empty members.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func scenarioNames() []string {
	var names []string
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// printTable writes the human summary.
func printTable(w io.Writer, r *driver.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	c := r.Consistency
	fmt.Fprintf(tw, "scenario\t%s\n", r.Scenario)
	fmt.Fprintf(tw, "operations\t%d reads, %d writes, %d purges, %d errors %v\n", r.Reads, r.Writes, r.Purges, r.Errors, r.ErrorKinds)
	fmt.Fprintf(tw, "throughput\t%.0f ops/s\n", r.Throughput)
	if r.TargetRate > 0 {
		fmt.Fprintf(tw, "target rate\t%.0f ops/s, %d operations due but never begun\n", r.TargetRate, r.Unsent)
	}
	fmt.Fprintf(tw, "hit ratio\t%.1f%%\n", 100*r.HitRatio)
	fmt.Fprintf(tw, "origin\t%d requests, %s of %s served (offload: %.1f%% of reads, %.1f%% of bytes)\n",
		r.Origin.Requests, bytesText(r.Origin.Bytes), bytesText(r.Origin.BytesServed), 100*r.Origin.RequestOffload, 100*r.Origin.ByteOffload)
	l := r.LatencyMs
	fmt.Fprintf(tw, "latency ms\tp50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", l.P50, l.P90, l.P99, l.P999, l.Max)
	if r.Purges > 0 {
		p := r.PurgeMs
		fmt.Fprintf(tw, "purge ms\tp50 %.2f  p99 %.2f  max %.2f (until every edge applied it)\n", p.P50, p.P99, p.Max)
	}
	fmt.Fprintf(tw, "reads\t%d fresh, %d stale, %d served after delete, %d 404 after put, %d unexplained\n",
		c.Fresh, c.Stale, c.ServedAfterDelete, c.NotFoundAfterPut, c.Unexplained)
	fmt.Fprintf(tw, "staleness ms\tp50 %.1f  p99 %.1f  max %.1f  (%d reads beyond the %.0f ms window, %d after a purge had landed)\n",
		c.StalenessMs.P50, c.StalenessMs.P99, c.StalenessMs.Max, c.BeyondWindow, c.WindowMs, c.AfterPurge)
	fmt.Fprintf(tw, "versions behind\tp50 %.0f  p99 %.0f  max %.0f\n", c.VersionsBehind.P50, c.VersionsBehind.P99, c.VersionsBehind.Max)
	fmt.Fprintf(tw, "propagation ms\tp50 %.1f  p99 %.1f  max %.1f  (%d writes not seen everywhere)\n",
		c.PropagationMs.P50, c.PropagationMs.P99, c.PropagationMs.Max, c.Unpropagated)
	edges := make([]string, 0, len(r.Edges))
	for e := range r.Edges {
		edges = append(edges, e)
	}
	slices.Sort(edges)
	for _, e := range edges {
		er := r.Edges[e]
		stale := 0
		if er.Consistency != nil {
			stale = er.Consistency.Stale + er.Consistency.ServedAfterDelete + er.Consistency.NotFoundAfterPut
		}
		fmt.Fprintf(tw, "edge %s\t%d reads, %d errors, hit %.1f%%, p99 %.2f ms, %d origin requests, %d not fresh\n",
			e, er.Reads, er.Errors, 100*er.HitRatio, er.LatencyMs.P99, er.Origin.Requests, stale)
	}
	tw.Flush()
}

// bytesText is a byte count for people.
func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
