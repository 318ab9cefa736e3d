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
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgecdn/edge/loadtest/driver"
	"github.com/edgecdn/edge/loadtest/report"
	"github.com/edgecdn/edge/origin/s3"
)

// scenarios are the named workloads. The edges decide what each shows:
// cache-no-purge is meant for ttl sites (stale overwrites, content after
// delete, sticky 404s, as a bucket behind a plain cache), purge for purge
// sites with the bus on, strong for strong sites, and 404-before-put
// reads keys just before they are first written (the old S3 caveat).
var scenarios = map[string]driver.Mix{
	"cache-no-purge": {Read: 80, Overwrite: 15, Delete: 5},
	"purge":          {Read: 80, Overwrite: 15, Delete: 5},
	"strong":         {Read: 80, Overwrite: 15, Delete: 5},
	"404-before-put": {Read: 50, Create: 50},
	"read-only":      {Read: 100},
}

// run parses the flags, drives the scenario and writes the results.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		scenario = fs.String("scenario", "cache-no-purge", "workload: "+strings.Join(scenarioNames(), ", "))
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
		size     = fs.Int("size", 1024, "object size in bytes")
		prefix   = fs.String("prefix", "", "key prefix (default: one per run)")
		prefill  = fs.Bool("prefill", false, "write every key once before the timed run")
		dataDir  = fs.String("data", "./data", "the all-in-one's data directory, whose generated S3 key pair is used when the environment has none")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	mix, ok := scenarios[*scenario]
	if !ok {
		return fmt.Errorf("-scenario %q: use one of %s", *scenario, strings.Join(scenarioNames(), ", "))
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
		Duration: *duration, Ops: *ops, Concurrency: *conc, Rate: *rate, Keys: *nkeys, Zipf: *zipf, Size: *size,
		Mix: mix, Prefix: *prefix, Prefill: *prefill, Seed: uint64(start.UnixNano()), Progress: stderr,
	}
	if cfg.AccessKey == "" && cfg.SecretKey == "" {
		cfg.AccessKey, cfg.SecretKey = generatedKeys(*dataDir)
	}
	if (cfg.Prefill || cfg.Mix.Overwrite+cfg.Mix.Delete+cfg.Mix.Create > 0) && (cfg.AccessKey == "" || cfg.SecretKey == "") {
		return fmt.Errorf("scenario %s writes: set EDGE_ACCESS_KEY_ID and EDGE_SECRET_ACCESS_KEY to the S3 key pair, or point -data at the all-in-one's data directory", *scenario)
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
	fmt.Fprintf(tw, "operations\t%d reads, %d writes, %d errors %v\n", r.Reads, r.Writes, r.Errors, r.ErrorKinds)
	fmt.Fprintf(tw, "throughput\t%.0f ops/s\n", r.Throughput)
	fmt.Fprintf(tw, "hit ratio\t%.1f%%\n", 100*r.HitRatio)
	l := r.LatencyMs
	fmt.Fprintf(tw, "latency ms\tp50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", l.P50, l.P90, l.P99, l.P999, l.Max)
	fmt.Fprintf(tw, "reads\t%d fresh, %d stale, %d served after delete, %d 404 after put, %d unexplained\n",
		c.Fresh, c.Stale, c.ServedAfterDelete, c.NotFoundAfterPut, c.Unexplained)
	fmt.Fprintf(tw, "staleness ms\tp50 %.1f  p99 %.1f  max %.1f\n", c.StalenessMs.P50, c.StalenessMs.P99, c.StalenessMs.Max)
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
		fmt.Fprintf(tw, "edge %s\t%d reads, hit %.1f%%, p99 %.2f ms, %d not fresh\n", e, er.Reads, 100*er.HitRatio, er.LatencyMs.P99, stale)
	}
	tw.Flush()
}
