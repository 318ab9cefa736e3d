package edge

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// httpFetcher fills from an HTTP origin: a site's plain upstream, or, for
// bucket sites, an S3-compatible endpoint's path-style public URLs
// (<origin>/<bucket>/<key>), such as our own origin server.
type httpFetcher struct {
	client *http.Client
	// s3 is the S3 endpoint for bucket sites; nil when there is none.
	s3 *url.URL
}

func newHTTPFetcher(s3 *url.URL, timeout time.Duration) *httpFetcher {
	return &httpFetcher{
		s3: s3,
		client: &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     90 * time.Second,
				// Bodies are cached as sent: asking for gzip would store a
				// representation the client did not ask for.
				DisableCompression: true,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// hopHeaders are connection-level and never stored or forwarded (RFC 9110 §7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Te", "Trailer", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization"}

func (f *httpFetcher) fetch(ctx context.Context, req *fetchRequest) (*originResponse, error) {
	var target string
	switch {
	case req.Site.upstream != nil:
		target = strings.TrimSuffix(req.Site.upstream.String(), "/") + req.Path
		if req.Query != "" {
			target += "?" + req.Query
		}
	case f.s3 != nil:
		target = strings.TrimSuffix(f.s3.String(), "/") + "/" + req.Site.Bucket + req.Path
	default:
		return nil, errors.New("edge: bucket site without an origin store or S3 endpoint")
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	for name, v := range req.Header {
		hreq.Header.Set(name, v)
	}
	if req.IfNoneMatch != "" {
		hreq.Header.Set("If-None-Match", req.IfNoneMatch)
	}
	resp, err := f.client.Do(hreq)
	if err != nil {
		return nil, errors.Join(errOriginDown, err)
	}
	h := resp.Header.Clone()
	for _, name := range hopHeaders {
		h.Del(name)
	}
	gen, _ := strconv.ParseInt(resp.Header.Get("X-Object-Generation"), 10, 64)
	out := &originResponse{Status: resp.StatusCode, Header: h, Size: resp.ContentLength, Generation: gen, ETag: strings.Trim(strings.TrimPrefix(h.Get("ETag"), "W/"), `"`)}
	if t, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		out.LastMod = t
	}
	if tags := h.Get("X-Amz-Meta-Cache-Tag"); tags != "" {
		out.Tags = splitList(tags)
	} else if tags := h.Get("Cache-Tag"); tags != "" {
		out.Tags = splitList(tags)
	}
	if resp.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		return out, nil
	}
	out.Body = resp.Body
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
