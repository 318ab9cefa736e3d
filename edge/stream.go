package edge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/internal/pacing"
	"github.com/edgecdn/edge/policy"
)

// streamThrough proxies the origin's answer to this request alone, without
// buffering or caching it; detail says why (Cache-Status detail=). The
// request carries the client's conditionals and Range: the answer is its
// own.
func (e *Edge) streamThrough(ctx *fasthttp.RequestCtx, site *Site, path []byte, detail string) {
	req := e.newFetchRequest(ctx, site, path, e.varyOf(primaryKey(ctx, site, path)), true)
	req.interim = interimRelay(ctx)
	// A large object to a slow client takes as long as it takes: the
	// fetch timeout bounds each wait for the origin (originWait).
	ow := e.newOriginWait()
	e.stats.originFetches.Add(1)
	start := time.Now()
	resp, err := e.originOf(site).fetch(ow.ctx, req)
	err = ow.headed(resp, err)
	e.observeOrigin(start, err)
	if err != nil {
		ow.done()
		e.fail(ctx, requestFailure(err))
		return
	}
	e.relayHeader(ctx, resp.Header, func(name string) bool { return storedHeaderSkip[name] || site.hidden(name) })
	ctx.Response.Header.Set("Cache-Status", "edge; fwd=bypass; detail="+detail)
	ctx.SetStatusCode(resp.Status)
	if resp.Body == nil || ctx.IsHead() {
		ow.done()
		if resp.Body != nil {
			resp.Body.Close()
		}
		if resp.Size >= 0 {
			ctx.Response.Header.SetContentLength(int(resp.Size))
			ctx.Response.SkipBody = true
		}
		return
	}
	// Paced: each chunk to the client under a renewed write deadline.
	ctx.SetBodyStream(pacing.NewReader(ow.body(resp.Body)), int(resp.Size))
}

// passThrough forwards an unsafe method to a site's upstream and, when it
// succeeds, invalidates what RFC 9111 §4.4 names: the target URI, and the
// Location and Content-Location URIs of the same site.
func (e *Edge) passThrough(ctx *fasthttp.RequestCtx, site *Site) {
	site.metrics.result(ctx, resultPass, false)
	path := requestPath(ctx)
	target := strings.TrimSuffix(site.upstream.String(), "/") + string(path)
	if q := requestQuery(ctx); len(q) > 0 {
		target += "?" + string(q)
	}
	fctx, cancel := context.WithTimeout(context.Background(), e.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(fctx, string(ctx.Method()), target, bytes.NewReader(ctx.PostBody()))
	if err != nil {
		e.fail(ctx, errBadTarget)
		return
	}
	req.Header = originHeader(ctx, site, nil, true)
	resp, err := e.cfg.HTTPClient.Do(req)
	if err != nil {
		e.fail(ctx, requestFailure(err))
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, e.cfg.MaxObjectSize+1))
	if err != nil {
		e.fail(ctx, originFailure("origin-body-cut", err))
		return
	}
	if int64(len(body)) > e.cfg.MaxObjectSize {
		// Never a silently cut body: too big to relay is a gateway error.
		e.fail(ctx, &failure{status: fasthttp.StatusBadGateway, detail: "answer-too-big", cause: fmt.Errorf("over %d bytes", e.cfg.MaxObjectSize)})
		return
	}
	if resp.StatusCode < 400 {
		bucket := site.cacheID
		e.cache.Purge(cache.Selector{Kind: cache.ByKey, Bucket: bucket, Value: string(path)})
		for _, h := range []string{"Location", "Content-Location"} {
			if u, err := url.Parse(resp.Header.Get(h)); err == nil && u.Path != "" && (u.Host == "" || e.sites.lookup([]byte(u.Host)) == site) {
				e.cache.Purge(cache.Selector{Kind: cache.ByKey, Bucket: bucket, Value: u.EscapedPath()})
			}
		}
	}
	e.relayHeader(ctx, endToEnd(resp.Header), func(name string) bool {
		return name == "Content-Length" || site.hidden(name)
	})
	ctx.SetStatusCode(resp.StatusCode)
	setBody(ctx, body)
}

// relayHeader gives ctx's response the origin's fields but those skip
// names, and the origin's Date (or now, when it sent none).
func (e *Edge) relayHeader(ctx *fasthttp.RequestCtx, h http.Header, skip func(name string) bool) {
	var pairs [][2][]byte
	for name, vs := range h {
		if name != "Date" && !skip(name) { // Date: the template's own
			for _, v := range vs {
				pairs = append(pairs, [2][]byte{[]byte(name), []byte(v)})
			}
		}
	}
	date, ok := policy.ParseHTTPDate(h.Get("Date"))
	if !ok {
		date = e.cfg.Now()
	}
	if t := e.headerTemplate(pairs, date); t != nil {
		t.CopyTo(&ctx.Response.Header)
		return
	}
	serverDate(&ctx.Response.Header)
	for _, p := range pairs {
		ctx.Response.Header.AddBytesKV(p[0], p[1])
	}
}
