package edge

import (
	"cmp"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/policy"
)

// An Origin is where bucket sites read their objects: the embedded store
// (FromStore) or a remote S3-compatible endpoint (FromS3). Upstream sites
// read their own URL with Config.HTTPClient.
type Origin interface {
	fetch(ctx context.Context, req *fetchRequest) (*originResponse, error)
	// ready reports what keeps the edge from serving: a store that no
	// longer reads. A remote origin's outage does not: cached and
	// stale-if-error entries are still served, and misses say 502/504.
	ready() error
}

// Store is what the edge needs of an object store: reads, and the number
// of its newest change, which a 404 carries so that a write racing with
// the negative fill wins (cache fences). *origin.Engine is one.
type Store interface {
	GetObject(ctx context.Context, bucket, key string, opts origin.GetOptions) (*origin.Object, error)
	HeadObject(ctx context.Context, bucket, key string, opts origin.GetOptions) (origin.ObjectInfo, error)
	LastSeq() (uint64, error)
}

// FromStore reads bucket sites from a store in this process.
func FromStore(s Store) Origin { return &storeOrigin{store: s} }

// FromS3 reads bucket sites from an S3-compatible endpoint's public,
// path-style URLs (<endpoint>/<bucket>/<key>), such as cmd/origin's, with
// client (nil: DefaultHTTPClient). NewS3Origin reads private buckets.
func FromS3(endpoint *url.URL, client *http.Client) Origin {
	o, err := NewS3Origin(S3Endpoint{URL: endpoint.String()}, client)
	if err != nil {
		panic(err) // only a URL that is not http(s) fails, which url.Parse callers check
	}
	return o
}

// DefaultHTTPClient is the client origins are read with when none is
// given: an answer's head must arrive within timeout (default 30 s),
// kept-alive connections, no compression (bodies are cached as sent:
// asking for gzip would store a representation the client did not ask
// for), redirects not followed. No timeout covers a whole body: fills and
// streams bound each wait for the origin (originWait), a pass-through its
// whole exchange with a context.
func DefaultHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			DisableCompression:    true,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// originResponse is what a fill got from the origin.
type originResponse struct {
	Status int
	// Header holds the representation headers to keep (canonical names).
	Header http.Header
	Body   io.ReadCloser // nil for 304 and HEAD-less negative answers
	Size   int64         // body length, -1 if unknown
	// Generation is the object's generation; for a 404, the store's
	// sequence number read before the lookup (its fence).
	Generation int64
	ETag       string
	LastMod    time.Time
	Tags       []string
}

// revalidating makes r a conditional request for what stale holds: by its
// entity-tag, else by its Last-Modified (RFC 9111 §4.3.1); an origin with
// generations (the embedded store, cmd/origin) is asked by generation,
// which also changes when only the metadata does.
func (r *fetchRequest) revalidating(stale *cache.Entry) {
	if stale == nil {
		return
	}
	if !stale.Negative && stale.Generation > 0 {
		r.revalidatingGeneration = stale.Generation
	}
	r.revalidatingLastMod = stale.LastModified
	if stale.ETag != "" {
		r.IfNoneMatch = stale.ETag
	} else if !stale.LastModified.IsZero() {
		r.IfModifiedSince = stale.LastModified
	}
}

// fetchRequest is one origin request: of a fill (for the cache) or of a
// request served to its client alone.
type fetchRequest struct {
	Site *Site
	// Method is GET, or HEAD for a HEAD served alone.
	Method string
	// Path is the raw request path (for an upstream) and Key the decoded
	// object key (for a bucket).
	Path, Query string
	Key         string
	// Header holds the client's fields the origin gets (forward.go).
	Header http.Header
	// IfNoneMatch, else IfModifiedSince, revalidates a stored entry; they
	// replace any conditional of the client's.
	IfNoneMatch     string
	IfModifiedSince time.Time
	// Primary is the cache key without Vary values.
	Primary string
	// revalidatingGeneration is the stored entry's generation, when its
	// origin has them, and revalidatingLastMod its Last-Modified.
	revalidatingGeneration int64
	revalidatingLastMod    time.Time
	// interim, when set, relays the origin's 1xx interim responses to
	// the client of the request (none for a background refresh).
	interim func(status int, h textproto.MIMEHeader)
}

// storeOrigin reads the embedded origin store directly.
type storeOrigin struct {
	store Store
}

func (f *storeOrigin) ready() error {
	_, err := f.store.LastSeq()
	return err
}

func (f *storeOrigin) fetch(ctx context.Context, req *fetchRequest) (*originResponse, error) {
	seq, err := f.store.LastSeq()
	if err != nil {
		return nil, err
	}
	opts, ranged := storeOptions(req)
	obj, err := f.store.GetObject(ctx, req.Site.Bucket, req.Key, opts)
	switch {
	case errors.Is(err, origin.ErrNoSuchKey), errors.Is(err, origin.ErrNoSuchBucket),
		errors.Is(err, origin.ErrInvalidKey), errors.Is(err, origin.ErrKeyTooLong):
		return &originResponse{Status: http.StatusNotFound, Header: http.Header{}, Generation: int64(seq)}, nil
	case errors.Is(err, origin.ErrNotModified), errors.Is(err, origin.ErrPreconditionFailed), errors.Is(err, origin.ErrInvalidRange):
		info, herr := f.store.HeadObject(ctx, req.Site.Bucket, req.Key, origin.GetOptions{})
		if herr != nil {
			return f.fetch(ctx, &fetchRequest{Site: req.Site, Method: req.Method, Key: req.Key}) // gone meanwhile
		}
		if errors.Is(err, origin.ErrNotModified) && (info.Generation != req.revalidatingGeneration && req.revalidatingGeneration > 0 ||
			req.revalidatingGeneration == 0 && req.IfNoneMatch != "" && `"`+info.ETag+`"` != req.IfNoneMatch) {
			// The edge's revalidation, and it changed between the two
			// reads: fetch it whole.
			return f.fetch(ctx, &fetchRequest{Site: req.Site, Method: req.Method, Key: req.Key})
		}
		resp := &originResponse{Status: http.StatusNotModified, Header: objectHeader(&info), Generation: info.Generation, ETag: `"` + info.ETag + `"`, LastMod: info.LastModified, Tags: info.Tags}
		switch {
		case errors.Is(err, origin.ErrPreconditionFailed):
			resp.Status = http.StatusPreconditionFailed
		case errors.Is(err, origin.ErrInvalidRange):
			resp.Status = http.StatusRequestedRangeNotSatisfiable
			resp.Header.Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
		}
		return resp, nil
	case err != nil:
		return nil, err
	}
	resp := &originResponse{
		Status: http.StatusOK, Header: objectHeader(&obj.Info), Body: obj.Body, Size: obj.Length,
		Generation: obj.Info.Generation, ETag: `"` + obj.Info.ETag + `"`, LastMod: obj.Info.LastModified, Tags: obj.Info.Tags,
	}
	if ranged {
		resp.Status = http.StatusPartialContent
		resp.Header.Set("Content-Range", "bytes "+strconv.FormatInt(obj.Start, 10)+"-"+strconv.FormatInt(obj.Start+obj.Length-1, 10)+"/"+strconv.FormatInt(obj.Info.Size, 10))
	}
	if req.Method == http.MethodHead {
		obj.Body.Close()
		resp.Body = nil
	}
	return resp, nil
}

// storeOptions are the read options of req: the edge's validator, or the
// conditionals and the one range of a request served alone (a store
// reads one range; a multi-range request is answered whole).
func storeOptions(req *fetchRequest) (opts origin.GetOptions, ranged bool) {
	h := req.Header
	opts.Conditions = origin.Conditions{IfMatch: h.Get("If-Match"), IfNoneMatch: h.Get("If-None-Match")}
	opts.Conditions.IfModifiedSince, _ = policy.ParseHTTPDate(h.Get("If-Modified-Since"))
	opts.Conditions.IfUnmodifiedSince, _ = policy.ParseHTTPDate(h.Get("If-Unmodified-Since"))
	if req.revalidatingGeneration > 0 {
		opts.Conditions = origin.Conditions{IfGenerationNotMatch: &req.revalidatingGeneration}
	} else if req.IfNoneMatch != "" || !req.IfModifiedSince.IsZero() {
		opts.Conditions = origin.Conditions{IfNoneMatch: req.IfNoneMatch, IfModifiedSince: req.IfModifiedSince}
	}
	for name, cond := range map[string]**int64{"X-If-Generation-Match": &opts.Conditions.IfGenerationMatch, "X-If-Generation-Not-Match": &opts.Conditions.IfGenerationNotMatch} {
		if n, err := strconv.ParseInt(h.Get(name), 10, 64); err == nil && req.revalidatingGeneration == 0 {
			*cond = &n
		}
	}
	if r := h.Get("Range"); r != "" && h.Get("If-Range") == "" {
		if spec, ok := origin.ParseRange(r); ok {
			opts.Range, ranged = &spec, true
		}
	}
	return opts, ranged
}

// objectHeader is the HTTP form of an object's stored headers, as the
// origin's S3 API would send them.
func objectHeader(info *origin.ObjectInfo) http.Header {
	h := http.Header{}
	h.Set("ETag", `"`+info.ETag+`"`)
	h.Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
	ct := info.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	for _, f := range info.Fields() {
		h.Set(f[0], f[1])
	}
	for name, v := range info.UserMeta { // as S3 sends them (R2 custom domains serve them too)
		h.Set("X-Amz-Meta-"+name, v)
	}
	h.Set("X-Object-Generation", strconv.FormatInt(info.Generation, 10))
	return h
}

// upstreamOrigin reads an upstream site's URL, path for path.
type upstreamOrigin struct {
	client *http.Client
}

func (o *upstreamOrigin) ready() error { return nil }

func (o *upstreamOrigin) fetch(ctx context.Context, req *fetchRequest) (*originResponse, error) {
	target := strings.TrimSuffix(req.Site.upstream.String(), "/") + req.Path
	if req.Query != "" {
		target += "?" + req.Query
	}
	return fetchHTTP(ctx, o.client, target, req, nil)
}

// hopHeaders are connection-level and never stored or forwarded (RFC 9110 §7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Te", "Trailer", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization"}

// fetchHTTP sends req to target, signed by sign when it is not nil.
func fetchHTTP(ctx context.Context, client *http.Client, target string, req *fetchRequest, sign func(*http.Request) error) (*originResponse, error) {
	if req.interim != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			if code != http.StatusContinue && code != http.StatusSwitchingProtocols {
				req.interim(code, h)
			}
			return nil
		}})
	}
	hreq, err := http.NewRequestWithContext(ctx, cmp.Or(req.Method, http.MethodGet), target, nil)
	if err != nil {
		return nil, err
	}
	maps.Copy(hreq.Header, req.Header)
	if req.IfNoneMatch != "" || !req.IfModifiedSince.IsZero() {
		for name := range clientOwned { // the edge's validators win
			hreq.Header.Del(name)
		}
	}
	switch {
	case req.revalidatingGeneration > 0:
		// An origin with generations: the entity-tag would miss a change
		// of metadata alone.
		hreq.Header.Set("X-If-Generation-Not-Match", strconv.FormatInt(req.revalidatingGeneration, 10))
	case req.IfNoneMatch != "":
		hreq.Header.Set("If-None-Match", req.IfNoneMatch)
	case !req.IfModifiedSince.IsZero():
		hreq.Header.Set("If-Modified-Since", req.IfModifiedSince.UTC().Format(http.TimeFormat))
	}
	if sign != nil {
		if err := sign(hreq); err != nil {
			return nil, err
		}
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, err
	}
	h := endToEnd(resp.Header)
	gen, _ := strconv.ParseInt(resp.Header.Get("X-Object-Generation"), 10, 64)
	out := &originResponse{Status: resp.StatusCode, Header: h, Size: resp.ContentLength, Generation: gen, ETag: validETag(h.Get("ETag"))}
	if t, ok := policy.ParseHTTPDate(h.Get("Last-Modified")); ok {
		out.LastMod = t
	}
	if tags := h.Get("X-Amz-Meta-Cache-Tag"); tags != "" {
		out.Tags = splitList(tags)
	} else if tags := h.Get("Cache-Tag"); tags != "" {
		out.Tags = splitList(tags)
	}
	if resp.StatusCode == http.StatusNotModified || req.Method == http.MethodHead {
		resp.Body.Close()
		return out, nil
	}
	out.Body = resp.Body
	return out, nil
}

// endToEnd is a copy of an origin's response fields without the
// hop-by-hop ones and those its Connection names, which are for that
// connection only (RFC 9110 §7.6.1).
func endToEnd(header http.Header) http.Header {
	h := header.Clone()
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
	return h
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
