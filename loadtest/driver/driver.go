// Package driver runs a load test's workload: reads through one or more
// edges (with the site's Host), writes and deletes through the S3 API,
// every operation timed (open loop at a target rate, so a slow system
// shows in latency rather than in fewer requests) and every read judged
// by the consistency observer.
package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/edgecdn/edge/loadtest/consistency"
	"github.com/edgecdn/edge/loadtest/keys"
	"github.com/edgecdn/edge/loadtest/latency"
)

// Mix weighs the operations: reads of existing keys, overwrites, deletes,
// creates of keys not written yet (which reads may ask for first), and
// purge API calls for a key.
type Mix struct {
	Read, Overwrite, Delete, Create, Purge int
}

// Config is one run.
type Config struct {
	Edges []string // edge base URLs (http://host:port)
	Host  string   // the site's Host for reads
	// S3, Bucket, Region and the key pair are where writes go.
	S3, Bucket, Region   string
	AccessKey, SecretKey string
	// Duration bounds the run, Ops the number of operations (0: no bound).
	Duration time.Duration
	Ops      int64
	// Concurrency is the number of operations in flight at most; Rate the
	// operations a second scheduled (0: as fast as Concurrency allows).
	Concurrency int
	Rate        float64
	// Keys is the key space; Zipf its popularity exponent (0: uniform).
	Keys int
	Zipf float64
	// Sizes is the object size distribution (one size: every object).
	Sizes []SizeShare
	Mix   Mix
	// Unborn is the percentage of reads, when the mix creates keys, that
	// ask for one of the next keys to be created: reads before the put.
	Unborn int
	// PurgeURL is an edge's purge API (its admin port), PurgeToken its
	// bearer token: for the mix's purges, and after every write when
	// PurgeAfterWrite (what a ttl site's owner does on a deploy). Purges
	// ask the API to wait until every edge applied them.
	PurgeURL, PurgeToken string
	PurgeAfterWrite      bool
	// Window is how stale a read may be and count as within the
	// propagation window (the consistency summary's beyond_window).
	Window time.Duration
	// Prefix starts every key, so runs do not meet each other's objects.
	Prefix string
	// Prefill writes every key once before the timed run (for read-only
	// and hit-throughput runs).
	Prefill bool
	Seed    uint64
	// Progress, when set, gets a status line a second.
	Progress io.Writer
}

// Result is what a run measured.
type Result struct {
	Scenario   string           `json:"scenario,omitempty"`
	Reads      int64            `json:"reads"`
	Writes     int64            `json:"writes"`
	Purges     int64            `json:"purges"`
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	HitRatio   float64          `json:"hit_ratio"`
	Throughput float64          `json:"ops_per_second"`
	// TargetRate is -rate (0: closed loop); Unsent counts the operations
	// it made due that no worker could begin before the run ended: the
	// shortfall a system too slow for the rate causes.
	TargetRate  float64                `json:"target_rate"`
	Unsent      int64                  `json:"unsent"`
	LatencyMs   latency.Quantiles      `json:"latency_ms"`
	ReadMs      latency.Quantiles      `json:"read_latency_ms"`
	WriteMs     latency.Quantiles      `json:"write_latency_ms"`
	PurgeMs     latency.Quantiles      `json:"purge_latency_ms"`
	Origin      Origin                 `json:"origin"`
	Consistency consistency.Summary    `json:"consistency"`
	Edges       map[string]*EdgeResult `json:"edges"`
	// LatencySeries is the read latency of each second, and HitSeries
	// the hit ratio, for the report.
	LatencySeries []latency.Quantiles `json:"latency_series,omitempty"`
	HitSeries     []float64           `json:"hit_series,omitempty"`
}

// EdgeResult is one edge's part of a run.
type EdgeResult struct {
	Reads       int64                `json:"reads"`
	Errors      int64                `json:"errors"`
	HitRatio    float64              `json:"hit_ratio"`
	LatencyMs   latency.Quantiles    `json:"latency_ms"`
	Origin      Origin               `json:"origin"`
	Consistency *consistency.Summary `json:"consistency"`
}

// Origin is the traffic the edges sent their origin for the reads, as
// their Cache-Status said (RFC 9211: fwd, fwd-status, collapsed), and the
// offload: the share of reads and of bytes served that the origin did
// not have to answer.
type Origin struct {
	Requests       int64   `json:"requests"`
	Bytes          int64   `json:"bytes"`
	BytesServed    int64   `json:"bytes_served"`
	RequestOffload float64 `json:"request_offload"`
	ByteOffload    float64 `json:"byte_offload"`
}

// run is one run's state.
type run struct {
	cfg      Config
	client   *s3.Client
	http     *http.Client
	zipf     *keys.Zipf
	obs      *consistency.Observer
	all      *latency.Recorder
	reads    *latency.Recorder
	writes   *latency.Recorder
	purges   *latency.Recorder
	perEdge  map[string]*edgeState
	locks    []sync.Mutex // per key: writes of one key in version order
	versions []int64      // per key: the last version issued
	created  atomic.Int64 // keys [0, created) may exist; the rest are to create
	errMu    sync.Mutex
	errs     map[string]int64
	nReads   atomic.Int64
	nWrites  atomic.Int64
	nPurges  atomic.Int64
	nHits    atomic.Int64
	start    time.Time
	secMu    sync.Mutex
	secReads []int64 // reads begun in each second since start
	secHits  []int64
	unsent   int64 // operations due (open loop) that no worker began
}

type edgeState struct {
	reads, hits, errors               atomic.Int64
	originReqs, originBytes, bytesOut atomic.Int64
	lat                               *latency.Recorder
}

// Run drives the workload until ctx ends, the duration passes or the
// operations are done.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	z, err := keys.NewZipf(cfg.Keys, cfg.Zipf)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r := &run{
		cfg: cfg, zipf: z, obs: consistency.New(), start: start,
		all: latency.New(start), reads: latency.New(start), writes: latency.New(start), purges: latency.New(start),
		perEdge: map[string]*edgeState{}, locks: make([]sync.Mutex, cfg.Keys), versions: make([]int64, cfg.Keys),
		errs: map[string]int64{},
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency, DisableCompression: true}},
		client: s3.New(s3.Options{
			Region: cfg.Region, BaseEndpoint: aws.String(cfg.S3), UsePathStyle: true, RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
		}),
	}
	for _, e := range cfg.Edges {
		r.perEdge[e] = &edgeState{lat: latency.New(start)}
	}
	if cfg.Mix.Create == 0 {
		r.created.Store(int64(cfg.Keys)) // every key may be read from the start
	}
	if cfg.Prefill {
		if err := r.prefill(ctx); err != nil {
			return nil, err
		}
		start = time.Now()
		r.start = start
		r.obs.MeasureFrom(start)
		r.all, r.reads, r.writes, r.purges = latency.New(start), latency.New(start), latency.New(start), latency.New(start)
		for _, es := range r.perEdge {
			es.lat = latency.New(start)
		}
		r.nWrites.Store(0)
		r.nPurges.Store(0)
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	done, printed := make(chan struct{}), make(chan struct{})
	if cfg.Progress != nil {
		go func() { r.progress(start, done); close(printed) }()
	} else {
		close(printed)
	}
	r.drive(ctx)
	r.http.CloseIdleConnections() // the edges need not wait for them when they stop
	close(done)
	<-printed // the last line is written before Run returns
	return r.result(time.Since(start)), nil
}

// Writes is the weight of the operations that write through S3.
func (m Mix) writes() int { return m.Overwrite + m.Delete + m.Create }

func (c *Config) check() error {
	switch {
	case len(c.Edges) == 0:
		return errors.New("loadtest: give at least one edge URL")
	case slices.ContainsFunc(c.Edges, func(e string) bool { return !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") }):
		return fmt.Errorf("loadtest: edges %q: give http:// or https:// URLs", c.Edges)
	case c.Concurrency < 1:
		return errors.New("loadtest: concurrency must be at least 1")
	case c.Keys < 1:
		return errors.New("loadtest: keys must be at least 1")
	case c.Duration <= 0 && c.Ops <= 0:
		return errors.New("loadtest: bound the run with a duration or an operation count")
	case c.Mix.Read < 0 || c.Mix.Overwrite < 0 || c.Mix.Delete < 0 || c.Mix.Create < 0 || c.Mix.Purge < 0:
		return errors.New("loadtest: the mix's weights must not be negative")
	case c.Mix.Read+c.Mix.Overwrite+c.Mix.Delete+c.Mix.Create+c.Mix.Purge <= 0:
		return errors.New("loadtest: the mix has no operations")
	case (c.Prefill || c.Mix.writes() > 0) && (c.S3 == "" || c.Bucket == ""):
		return errors.New("loadtest: writes need the S3 endpoint and bucket")
	case (c.Mix.Purge > 0 || c.PurgeAfterWrite) && (c.PurgeURL == "" || c.PurgeToken == ""):
		return errors.New("loadtest: purges need the purge API's URL and token")
	case c.Window < 0:
		return errors.New("loadtest: the propagation window must not be negative")
	case c.Unborn < 0 || c.Unborn > 100:
		return errors.New("loadtest: the share of reads before the put is a percentage, 0 to 100")
	}
	if len(c.Sizes) == 0 {
		c.Sizes = []SizeShare{{Bytes: 1024, Weight: 1}}
	}
	for i, sh := range c.Sizes {
		if sh.Weight < 1 {
			return fmt.Errorf("loadtest: size %d has weight %d: weights must be at least 1", sh.Bytes, sh.Weight)
		}
		c.Sizes[i].Bytes = max(sh.Bytes, minSize)
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	return nil
}

// drive runs the workers. With a rate (open loop) a scheduler hands out
// the times operations are due, and each is timed from its due time, so
// a slow system shows in latency rather than in fewer requests; due
// operations no worker could take before the end are counted. Without
// one (closed loop) each worker goes again as soon as it is done, timed
// from when it starts.
func (r *run) drive(ctx context.Context) {
	var issued atomic.Int64
	more := func() bool { return r.cfg.Ops <= 0 || issued.Add(1) <= r.cfg.Ops }
	var wg sync.WaitGroup
	if r.cfg.Rate <= 0 {
		for w := range r.cfg.Concurrency {
			rnd := rand.New(rand.NewPCG(r.cfg.Seed, uint64(w)))
			wg.Go(func() {
				for ctx.Err() == nil && more() {
					r.one(ctx, rnd, time.Now())
				}
			})
		}
		wg.Wait()
		return
	}
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	slots := make(chan time.Time, r.cfg.Concurrency)
	var taken atomic.Int64
	begin := time.Now()
	go func() {
		defer close(slots)
		for next := begin; more(); next = next.Add(interval) {
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
			select {
			case <-ctx.Done():
				return
			case slots <- next:
			}
		}
	}()
	for w := range r.cfg.Concurrency {
		rnd := rand.New(rand.NewPCG(r.cfg.Seed, uint64(w)))
		wg.Go(func() {
			for scheduled := range slots {
				if ctx.Err() != nil {
					continue // due, but the run is over: counted below
				}
				taken.Add(1)
				r.one(ctx, rnd, scheduled)
			}
		})
	}
	wg.Wait()
	due := int64(time.Since(begin)/interval) + 1
	if r.cfg.Ops > 0 {
		due = min(due, r.cfg.Ops)
	}
	r.unsent = max(0, due-taken.Load())
}

// prefill writes version 1 of every key, Concurrency at a time.
func (r *run) prefill(ctx context.Context) error {
	keys := make(chan int)
	var wg sync.WaitGroup
	for w := range r.cfg.Concurrency {
		rnd := rand.New(rand.NewPCG(r.cfg.Seed, uint64(w)|1<<32))
		wg.Go(func() {
			for k := range keys {
				r.write(ctx, rnd, k, false, time.Now())
			}
		})
	}
	for k := range r.cfg.Keys {
		select {
		case keys <- k:
		case <-ctx.Done():
		}
	}
	close(keys)
	wg.Wait()
	if n := r.errorCount(); n > 0 {
		return fmt.Errorf("loadtest: prefill: %d writes failed %v: check the S3 endpoint, bucket and key pair", n, r.errs)
	}
	return ctx.Err()
}

// one runs one operation drawn from the mix.
func (r *run) one(ctx context.Context, rnd *rand.Rand, scheduled time.Time) {
	m := r.cfg.Mix
	n := rnd.IntN(m.Read + m.Overwrite + m.Delete + m.Create + m.Purge)
	switch {
	case n < m.Read:
		r.read(ctx, rnd, scheduled)
	case n < m.Read+m.Overwrite:
		r.write(ctx, rnd, r.existingKey(rnd), false, scheduled)
	case n < m.Read+m.Overwrite+m.Delete:
		r.write(ctx, rnd, r.existingKey(rnd), true, scheduled)
	case n < m.Read+m.Overwrite+m.Delete+m.Create:
		k := int(r.created.Add(1) - 1)
		if k >= r.cfg.Keys {
			k = r.existingKey(rnd) // every key exists: an overwrite
		}
		r.write(ctx, rnd, k, false, scheduled)
	default:
		r.purge(ctx, r.existingKey(rnd), scheduled)
	}
}

// existingKey is a key that may exist, by popularity; readKey may also
// name one about to be created (a read before the put).
func (r *run) existingKey(rnd *rand.Rand) int {
	return r.zipf.Next(rnd) % max(1, int(min(r.created.Load(), int64(r.cfg.Keys))))
}

func (r *run) readKey(rnd *rand.Rand) int {
	if r.cfg.Mix.Create > 0 && rnd.IntN(100) < r.cfg.Unborn {
		return min(int(r.created.Load())+rnd.IntN(3), r.cfg.Keys-1) // one not created yet
	}
	return r.existingKey(rnd)
}

func (r *run) key(k int) string { return r.cfg.Prefix + "k" + strconv.Itoa(k) }

// readFail counts a read's error, for the run and its edge.
func (r *run) readFail(es *edgeState, kind string) {
	es.errors.Add(1)
	r.fail(kind)
}

func (r *run) fail(kind string) {
	r.errMu.Lock()
	r.errs[kind]++
	r.errMu.Unlock()
}

// read GETs a key through one of the edges, and judges what it saw.
func (r *run) read(ctx context.Context, rnd *rand.Rand, scheduled time.Time) {
	edge := r.cfg.Edges[rnd.IntN(len(r.cfg.Edges))]
	es := r.perEdge[edge]
	key := r.key(r.readKey(rnd))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(edge, "/")+"/"+key, nil)
	if err != nil {
		r.readFail(es, "read-request")
		return
	}
	req.Host = r.cfg.Host
	start := time.Now()
	resp, err := r.http.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			r.readFail(es, "read-transport")
		}
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	end := time.Now()
	if err != nil {
		if ctx.Err() == nil {
			r.readFail(es, "read-body") // not a body the run's end cut short
		}
		return
	}
	version := int64(consistency.Absent)
	switch resp.StatusCode {
	case http.StatusOK:
		v, ok := parseVersion(body)
		if !ok {
			r.readFail(es, "read-unversioned-body")
			return
		}
		version = v
	case http.StatusNotFound:
	default:
		r.readFail(es, "read-status-"+strconv.Itoa(resp.StatusCode))
		return
	}
	gen, _ := strconv.ParseInt(resp.Header.Get(generationHeader), 10, 64)
	r.obs.ReadDone(consistency.Read{Edge: edge, Key: key, Start: start, End: end, Version: version, Generation: gen})
	r.nReads.Add(1)
	es.reads.Add(1)
	es.bytesOut.Add(int64(len(body)))
	cs := parseCacheStatus(resp.Header.Get("Cache-Status"))
	if cs.hit {
		r.nHits.Add(1)
		es.hits.Add(1)
	}
	if cs.forwarded && !cs.collapsed {
		es.originReqs.Add(1)
		if !cs.notModified {
			es.originBytes.Add(int64(len(body)))
		}
	}
	r.countSecond(scheduled, cs.hit)
	r.all.Record(scheduled, end.Sub(scheduled))
	r.reads.Record(scheduled, end.Sub(scheduled))
	es.lat.Record(scheduled, end.Sub(scheduled))
}

// write puts a new version of key k, or deletes it, one writer per key at
// a time so versions are acknowledged in order (and purged, with
// PurgeAfterWrite, before the next write of the key).
func (r *run) write(ctx context.Context, rnd *rand.Rand, k int, del bool, scheduled time.Time) {
	r.locks[k].Lock()
	defer r.locks[k].Unlock()
	r.versions[k]++
	v := r.versions[k]
	key := r.key(k)
	start := time.Now()
	var err error
	var md middleware.Metadata
	if del {
		var out *s3.DeleteObjectOutput
		if out, err = r.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &r.cfg.Bucket, Key: &key}); err == nil {
			md = out.ResultMetadata
		}
	} else {
		body := versionBody(v, pickSize(rnd, r.cfg.Sizes))
		var out *s3.PutObjectOutput
		if out, err = r.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &r.cfg.Bucket, Key: &key, Body: bytes.NewReader(body),
			ContentLength: aws.Int64(int64(len(body))), CacheControl: aws.String("max-age=60")}); err == nil {
			md = out.ResultMetadata
		}
	}
	ack := time.Now()
	if err != nil {
		if ctx.Err() == nil {
			r.fail(map[bool]string{true: "delete", false: "put"}[del])
		}
		// It may have happened anyway (the answer was lost, or the run
		// ended under it): never acknowledged, it may be seen or not by
		// any read that ends after it was sent.
		r.obs.Wrote(consistency.Write{Key: key, Version: v, Delete: del, Start: start, Ack: consistency.Never})
		return
	}
	r.obs.Wrote(consistency.Write{Key: key, Version: v, Delete: del, Start: start, Ack: ack, Generation: generationOf(md)})
	r.nWrites.Add(1)
	r.all.Record(scheduled, ack.Sub(scheduled))
	r.writes.Record(scheduled, ack.Sub(scheduled))
	if r.cfg.PurgeAfterWrite {
		r.purge(ctx, k, ack)
	}
}

// purge asks the purge API to purge key k on the site, everywhere, and
// waits for the answer; only a 200 (every live edge applied it) makes it
// a purge reads may count on.
func (r *run) purge(ctx context.Context, k int, scheduled time.Time) {
	key := r.key(k)
	body, err := json.Marshal(map[string][]string{"files": {"http://" + r.cfg.Host + "/" + key}})
	if err != nil {
		r.fail("purge-request")
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(r.cfg.PurgeURL, "/")+"/v1/purge?wait=1", bytes.NewReader(body))
	if err != nil {
		r.fail("purge-request")
		return
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.PurgeToken)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := r.http.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			r.fail("purge-transport")
		}
		r.obs.Purged(consistency.Purge{Key: key, Start: start, Ack: consistency.Never})
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	end := time.Now()
	ack := consistency.Never
	switch resp.StatusCode {
	case http.StatusOK:
		ack = end
	case http.StatusAccepted:
		r.fail("purge-lagging") // some edge did not confirm it in time
	default:
		r.fail("purge-status-" + strconv.Itoa(resp.StatusCode))
	}
	r.obs.Purged(consistency.Purge{Key: key, Start: start, Ack: ack})
	r.nPurges.Add(1)
	r.all.Record(scheduled, end.Sub(scheduled))
	r.purges.Record(scheduled, end.Sub(scheduled))
}

// cacheStatus is what a response's Cache-Status (RFC 9211) said of the
// cache nearest the client, the list's last member.
type cacheStatus struct {
	hit, forwarded, notModified, collapsed bool
}

func parseCacheStatus(v string) cacheStatus {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	var cs cacheStatus
	_, params, _ := strings.Cut(v, ";")
	for _, p := range strings.Split(params, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch name {
		case "hit":
			cs.hit = value == "" || value == "?1"
		case "fwd":
			cs.forwarded = true
		case "fwd-status":
			cs.notModified = value == "304"
		case "collapsed":
			cs.collapsed = value == "" || value == "?1"
		}
	}
	return cs
}

// generationHeader is where this product's S3 API and edge say an
// object's generation; other servers leave it out.
const generationHeader = "X-Object-Generation"

// generationOf is the generation a write's answer reported (0: none).
func generationOf(md middleware.Metadata) int64 {
	raw, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if !ok {
		return 0
	}
	g, _ := strconv.ParseInt(raw.Header.Get(generationHeader), 10, 64)
	return g
}

// versionBody is an object's body: its version on the first line, then
// padding to size.
func versionBody(v int64, size int) []byte {
	b := fmt.Appendf(nil, "v%d\n", v)
	for len(b) < size {
		b = append(b, 'x')
	}
	return b
}

func parseVersion(body []byte) (int64, bool) {
	line, _, _ := bytes.Cut(body, []byte("\n"))
	v, err := strconv.ParseInt(string(bytes.TrimPrefix(line, []byte("v"))), 10, 64)
	return v, err == nil && len(line) > 1 && line[0] == 'v'
}

// progress prints a status line a second until done, and a last one.
func (r *run) progress(start time.Time, done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	line := func() {
		reads, writes := r.nReads.Load(), r.nWrites.Load()
		el := time.Since(start).Seconds()
		fmt.Fprintf(r.cfg.Progress, "\r%5.0fs  %d reads  %d writes  %d purges  %.0f ops/s  hit %.1f%%  errors %d   ",
			el, reads, writes, r.nPurges.Load(), float64(reads+writes+r.nPurges.Load())/el, 100*ratio(r.nHits.Load(), reads), r.errorCount())
	}
	for {
		select {
		case <-done:
			line()
			fmt.Fprintln(r.cfg.Progress)
			return
		case <-t.C:
			line()
		}
	}
}

// countSecond counts a read, and whether it hit, in its second.
func (r *run) countSecond(t time.Time, hit bool) {
	sec := max(0, int(t.Sub(r.start)/time.Second))
	r.secMu.Lock()
	defer r.secMu.Unlock()
	for len(r.secReads) <= sec {
		r.secReads, r.secHits = append(r.secReads, 0), append(r.secHits, 0)
	}
	r.secReads[sec]++
	if hit {
		r.secHits[sec]++
	}
}

func (r *run) errorCount() int64 {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	n := int64(0)
	for _, c := range r.errs {
		n += c
	}
	return n
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (r *run) result(elapsed time.Duration) *Result {
	res := &Result{
		Reads: r.nReads.Load(), Writes: r.nWrites.Load(), Purges: r.nPurges.Load(), Errors: r.errorCount(), ErrorKinds: r.errs,
		HitRatio: ratio(r.nHits.Load(), r.nReads.Load()), LatencyMs: r.all.Quantiles(),
		ReadMs: r.reads.Quantiles(), WriteMs: r.writes.Quantiles(), PurgeMs: r.purges.Quantiles(),
		Consistency: r.obs.Summary(r.cfg.Window), Edges: map[string]*EdgeResult{}, LatencySeries: r.reads.Series(),
	}
	res.Throughput = float64(res.Reads+res.Writes+res.Purges) / elapsed.Seconds()
	res.TargetRate, res.Unsent = r.cfg.Rate, r.unsent
	r.secMu.Lock()
	for i := range r.secReads {
		res.HitSeries = append(res.HitSeries, ratio(r.secHits[i], r.secReads[i]))
	}
	r.secMu.Unlock()
	for e, s := range r.perEdge {
		c := res.Consistency.Edges[e]
		if c == nil {
			c = &consistency.Summary{WindowMs: res.Consistency.WindowMs} // no read succeeded there
		}
		er := &EdgeResult{Reads: s.reads.Load(), Errors: s.errors.Load(), HitRatio: ratio(s.hits.Load(), s.reads.Load()),
			LatencyMs: s.lat.Quantiles(), Consistency: c,
			Origin: offload(s.reads.Load(), s.originReqs.Load(), s.originBytes.Load(), s.bytesOut.Load())}
		res.Edges[e] = er
		res.Origin.Requests += er.Origin.Requests
		res.Origin.Bytes += er.Origin.Bytes
		res.Origin.BytesServed += er.Origin.BytesServed
	}
	res.Origin = offload(res.Reads, res.Origin.Requests, res.Origin.Bytes, res.Origin.BytesServed)
	return res
}

func offload(reads, originReqs, originBytes, served int64) Origin {
	o := Origin{Requests: originReqs, Bytes: originBytes, BytesServed: served}
	if reads > 0 {
		o.RequestOffload = 1 - ratio(originReqs, reads)
	}
	if served > 0 {
		o.ByteOffload = 1 - ratio(originBytes, served)
	}
	return o
}
