package edge_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// recordingOrigin is an upstream whose answer a test writes as a handler,
// and which keeps every request it got.
type recordingOrigin struct {
	*httptest.Server
	mu      sync.Mutex
	handler http.HandlerFunc
	seen    []*http.Request
}

func startRecordingOrigin(t *testing.T, h http.HandlerFunc) *recordingOrigin {
	o := &recordingOrigin{handler: h}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.seen = append(o.seen, r.Clone(r.Context()))
		h := o.handler
		o.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// requests returns the requests the origin got so far.
func (o *recordingOrigin) requests() []*http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*http.Request(nil), o.seen...)
}

func (o *recordingOrigin) last(t *testing.T) *http.Request {
	t.Helper()
	r := o.requests()
	if len(r) == 0 {
		t.Fatal("the origin got no request")
	}
	return r[len(r)-1]
}

func proxyEdge(t *testing.T, o *recordingOrigin, cfg edge.Config, site ...func(*edge.Site)) *testEdge {
	s := edge.Site{Hosts: []string{"localhost"}, Upstream: o.URL}
	for _, f := range site {
		f(&s)
	}
	cfg.Sites = []edge.Site{s}
	return startEdgeWith(t, cfg, nil)
}

// A fill sends the client's end-to-end fields, withholds hop-by-hop ones
// and those an application may take for the URL or host, and adds Via and
// X-Forwarded-For; the client's conditionals and Range are answered from
// the whole representation the fill stores.
func TestFillForwardsTheRequest(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprint(w, "0123456789")
	})
	te := proxyEdge(t, o, edge.Config{})
	r := te.get("/page",
		"Authorization", "Bearer token", "Cookie", "a=1", "Accept-Language", "fr", "X-App", "yes",
		"Connection", "X-Hop", "X-Hop", "1", "Proxy-Thing", "1", "Keep-Alive", "timeout=5",
		"If-None-Match", `"v1"`, "Range", "bytes=0-1",
		"X-Forwarded-Host", "evil.example", "X-Original-URL", "/admin", "Forwarded", "host=evil.example",
		"Via", "1.0 client-proxy", "X-Forwarded-For", "192.0.2.7")
	if r.status != http.StatusNotModified {
		t.Errorf("client's If-None-Match of the stored tag: %d, want 304 from the stored entry", r.status)
	}
	seen := o.last(t)
	for name, want := range map[string]string{
		"Authorization": "Bearer token", "Cookie": "a=1", "Accept-Language": "fr", "X-App": "yes",
		"Via": "1.0 client-proxy, 1.1 edge", "X-Forwarded-For": "192.0.2.7, 127.0.0.1",
		"X-Hop": "", "Proxy-Thing": "", "Keep-Alive": "", "Connection": "",
		"If-None-Match": "", "Range": "", "X-Forwarded-Host": "", "X-Original-Url": "", "Forwarded": "",
	} {
		if got := seen.Header.Get(name); got != want {
			t.Errorf("origin saw %s %q, want %q", name, got, want)
		}
	}
	if host := seen.Host; host != strings.TrimPrefix(o.URL, "http://") {
		t.Errorf("origin saw Host %q, want its own %q", host, strings.TrimPrefix(o.URL, "http://"))
	}
	if r := te.get("/page", "Range", "bytes=2-4"); r.status != http.StatusPartialContent || r.body != "234" ||
		!strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Errorf("range of the stored entry: %d %q %q", r.status, r.body, r.h("Cache-Status"))
	}
	if n := len(o.requests()); n != 1 {
		t.Errorf("origin requests: %d, want 1", n)
	}
}

// A site can forward a withheld field by name, and withhold more.
func TestRequestHeadersPassAndDrop(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "x") })
	te := proxyEdge(t, o, edge.Config{}, func(s *edge.Site) {
		s.RequestHeaders = edge.RequestHeaders{Pass: []string{"x-forwarded-host"}, Drop: []string{"Cookie"}}
	})
	te.get("/", "X-Forwarded-Host", "shop.example", "Cookie", "a=1", "X-Original-URL", "/x")
	seen := o.last(t)
	if got := seen.Header.Get("X-Forwarded-Host"); got != "shop.example" {
		t.Errorf("passed X-Forwarded-Host: %q", got)
	}
	if got := seen.Header.Get("Cookie") + seen.Header.Get("X-Original-Url"); got != "" {
		t.Errorf("dropped fields reached the origin: %q", got)
	}
}

// A request served alone (too big to cache) carries the client's Range
// and conditionals, and gets the origin's 206 or 304.
func TestStreamThroughForwardsRangeAndConditionals(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"big"`)
		http.ServeContent(w, r, "big", time.Time{}, strings.NewReader(strings.Repeat("b", 4096)))
	})
	te := proxyEdge(t, o, edge.Config{MaxObjectSize: 1024})
	te.get("/big") // learns it is too big
	if r := te.get("/big", "Range", "bytes=10-19"); r.status != http.StatusPartialContent || r.body != "bbbbbbbbbb" ||
		r.h("Content-Range") != "bytes 10-19/4096" {
		t.Errorf("range of a streamed object: %d %q %q", r.status, r.body, r.h("Content-Range"))
	}
	if got := o.last(t).Header.Get("Range"); got != "bytes=10-19" {
		t.Errorf("origin saw Range %q", got)
	}
	if r := te.get("/big", "If-None-Match", `"big"`); r.status != http.StatusNotModified {
		t.Errorf("conditional of a streamed object: %d", r.status)
	}
}

// When the edge revalidates, its own validators win over the client's.
func TestRevalidationUsesTheEdgesValidators(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, "body")
	})
	te := proxyEdge(t, o, edge.Config{})
	te.get("/r")
	te.clock.Advance(time.Minute)
	r := te.get("/r", "If-None-Match", `"other"`, "If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")
	if r.status != http.StatusOK || r.body != "body" {
		t.Errorf("after revalidation: %d %q, want the stored body", r.status, r.body)
	}
	seen := o.last(t)
	if got := seen.Header.Get("If-None-Match"); got != `"v1"` || seen.Header.Get("If-Modified-Since") != "" {
		t.Errorf("origin saw If-None-Match %q If-Modified-Since %q, want the edge's \"v1\" alone", got, seen.Header.Get("If-Modified-Since"))
	}
}

// RFC 9111 §3.5: a response to a request with Authorization is stored
// only with public, must-revalidate or s-maxage.
func TestAuthorizedResponsesStoredOnlyWhenAllowed(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", strings.TrimPrefix(r.URL.Path, "/"))
		fmt.Fprint(w, "for "+r.Header.Get("Authorization"))
	})
	te := proxyEdge(t, o, edge.Config{})
	for cc, stored := range map[string]bool{
		"max-age=60": false, "public, max-age=60": true, "s-maxage=60": true, "max-age=60, must-revalidate": true,
	} {
		r := te.get("/"+cc, "Authorization", "Bearer a")
		if got := strings.Contains(r.h("Cache-Status"), "stored"); got != stored {
			t.Errorf("%s: Cache-Status %q, stored %v, want %v", cc, r.h("Cache-Status"), got, stored)
		}
		if !stored && !strings.Contains(r.h("Cache-Status"), "detail=authorization") {
			t.Errorf("%s: Cache-Status %q does not say why", cc, r.h("Cache-Status"))
		}
	}
}

// A fill's 304 or 206 that no client of the fill asked for is never
// stored as the whole representation nor handed to coalesced waiters.
func TestUnaskedPartialOrNotModifiedIsNotShared(t *testing.T) {
	for _, status := range []int{http.StatusPartialContent, http.StatusNotModified} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			release := make(chan struct{})
			o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				<-release
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("ETag", `"v"`)
				if status == http.StatusPartialContent {
					w.Header().Set("Content-Range", "bytes 0-1/10")
				}
				w.WriteHeader(status)
				if status == http.StatusPartialContent {
					fmt.Fprint(w, "01")
				}
			})
			te := proxyEdge(t, o, edge.Config{})
			var wg sync.WaitGroup
			results := make(chan response, 3)
			for range 3 {
				wg.Go(func() { results <- te.get("/p") })
			}
			waitFor(t, "all three to make or join the fill", func() bool { return te.edge.Stats().FillRequests >= 3 })
			close(release)
			wg.Wait()
			close(results)
			for r := range results {
				if r.status != status {
					t.Errorf("client got %d, want the origin's own %d", r.status, status)
				}
			}
			if n := len(o.requests()); n != 3 {
				t.Errorf("origin requests: %d, want 3 (each client its own answer)", n)
			}
			if r := te.get("/p"); strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
				t.Errorf("a %d was stored and served as a hit: %q", status, r.h("Cache-Status"))
			}
		})
	}
}

// startRawOrigin answers every request on a connection with the bytes
// answer gives for its request line, written as they are: responses no
// well-behaved server library would send.
func startRawOrigin(t *testing.T, answer func(requestLine string) string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close() // the edge's idle keep-alive connections
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if _, err := io.WriteString(c, answer(req.Method+" "+req.RequestURI)); err != nil {
						return
					}
				}
			})
		}
	})
	return "http://" + ln.Addr().String()
}

// Fields the origin's Connection field names are its connection's own:
// neither stored nor served (RFC 9110 §7.6.1).
func TestConnectionNamedResponseFieldsRemoved(t *testing.T) {
	url := startRawOrigin(t, func(string) string {
		return "HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nX-Secret: 1\r\nX-Kept: 2\r\n" +
			"Cache-Control: max-age=60\r\nContent-Length: 2\r\n\r\nok"
	})
	te := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: url}}}, nil)
	for i := range 2 {
		r := te.get("/c")
		if r.body != "ok" || r.h("X-Secret") != "" || r.h("X-Kept") != "2" {
			t.Errorf("request %d: body %q X-Secret %q X-Kept %q", i, r.body, r.h("X-Secret"), r.h("X-Kept"))
		}
	}
}

// An origin's answer the edge cannot frame is a 502 that says so, at
// once, and nothing is stored.
func TestUnknownTransferEncodingIsBadGateway(t *testing.T) {
	url := startRawOrigin(t, func(string) string {
		return "HTTP/1.1 200 OK\r\nTransfer-Encoding: x-custom\r\nCache-Control: max-age=60\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
	})
	// The fetch timeout is longer than the client's (10 s): an edge that
	// waited for the body's end instead of refusing it would fail the get.
	te := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: url}}, FetchTimeout: time.Hour}, nil)
	for range 2 {
		r := te.get("/te")
		if r.status != http.StatusBadGateway || r.h("Cache-Status") != "edge; detail=origin-bad-framing" {
			t.Errorf("got %d %q, want 502 with detail=origin-bad-framing", r.status, r.h("Cache-Status"))
		}
	}
}

// The origin's Age is kept on a miss and grows on hits; a response
// without one gets none on its miss (RFC 9111 §5.1).
func TestOriginAgeKeptAndAddedTo(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		switch r.URL.Path {
		case "/aged":
			w.Header().Set("Age", "100")
		case "/too-old": // stale on arrival, not stored
			w.Header().Set("Age", "7200")
		}
		fmt.Fprint(w, "x")
	})
	te := proxyEdge(t, o, edge.Config{})
	if r := te.get("/aged"); r.h("Age") != "100" {
		t.Errorf("miss: Age %q, want the origin's 100", r.h("Age"))
	}
	te.clock.Advance(10 * time.Second)
	if r := te.get("/aged"); r.h("Age") != "110" || !strings.Contains(r.h("Cache-Status"), "ttl=490") {
		t.Errorf("hit 10 s later: Age %q, Cache-Status %q, want 110 and ttl=490", r.h("Age"), r.h("Cache-Status"))
	}
	if r := te.get("/too-old"); r.h("Age") != "7200" || !strings.Contains(r.h("Cache-Status"), "detail=stale-no-validator") {
		t.Errorf("a response not stored: Age %q (%s), want the origin's 7200", r.h("Age"), r.h("Cache-Status"))
	}
	if r := te.get("/fresh"); r.h("Age") != "" {
		t.Errorf("miss without an origin Age: Age %q, want none", r.h("Age"))
	}
}

// 1xx interim responses reach the client ahead of the final one and are
// never stored.
func TestInterimResponsesRelayed(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "page")
	})
	te := proxyEdge(t, o, edge.Config{})
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, fmt.Sprint(code, " ", h.Get("Link")))
		return nil
	}}
	get := func() (*http.Response, string) {
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, "http://"+te.addr+"/p", nil)
		req.Host = "localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get()
	if resp.StatusCode != 200 || body != "page" || len(hints) != 1 || hints[0] != "103 </style.css>; rel=preload" {
		t.Fatalf("miss: %d %q, interim responses %q", resp.StatusCode, body, hints)
	}
	resp, body = get()
	if resp.StatusCode != 200 || body != "page" || !strings.HasPrefix(resp.Header.Get("Cache-Status"), "edge; hit") || len(hints) != 1 {
		t.Fatalf("hit: %d %q %q, interim responses %q", resp.StatusCode, body, resp.Header.Get("Cache-Status"), hints)
	}
}

// no-cache="field" keeps the field from responses served from the cache,
// not from the response that filled it.
func TestNoCacheFieldStrippedOnlyFromStoredResponses(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", `max-age=60, no-cache="X-Token"`)
		w.Header().Set("X-Token", "t1")
		fmt.Fprint(w, "x")
	})
	te := proxyEdge(t, o, edge.Config{})
	if r := te.get("/n"); r.h("X-Token") != "t1" {
		t.Errorf("the filling response lost X-Token: %q", r.h("X-Token"))
	}
	if r := te.get("/n"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") || r.h("X-Token") != "" {
		t.Errorf("hit: %q, X-Token %q, want a hit without it", r.h("Cache-Status"), r.h("X-Token"))
	}
}

// A 5xx that states its freshness is stored (RFC 9111 §3), unless the
// site refuses server errors.
func TestServerErrorWithFreshnessStored(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "down")
	})
	for _, refuse := range []bool{false, true} {
		te := proxyEdge(t, o, edge.Config{}, func(s *edge.Site) { s.Policy.RefuseServerErrors = refuse })
		te.get("/e")
		r := te.get("/e")
		if r.status != 503 || r.body != "down" || strings.HasPrefix(r.h("Cache-Status"), "edge; hit") == refuse {
			t.Errorf("refuse_server_errors %v: %d %q %q", refuse, r.status, r.body, r.h("Cache-Status"))
		}
	}
}

// The first response with Vary is stored, under the values its request
// sent; other values are other variants.
func TestFirstVaryResponseStored(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "X-Variant")
		fmt.Fprint(w, "variant "+r.Header.Get("X-Variant"))
	})
	te := proxyEdge(t, o, edge.Config{})
	te.get("/v", "X-Variant", "1")
	if r := te.get("/v", "X-Variant", "1"); r.body != "variant 1" || !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Errorf("second request of the first variant: %q %q, want a hit", r.body, r.h("Cache-Status"))
	}
	if r := te.get("/v", "X-Variant", "2"); r.body != "variant 2" || strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Errorf("another variant: %q %q, want its own miss", r.body, r.h("Cache-Status"))
	}
	if r := te.get("/v"); r.body != "variant " {
		t.Errorf("no value: %q", r.body)
	}
}

// rawGet sends one GET over its own connection and returns the response
// head as sent, and the body.
func rawGet(t *testing.T, addr, path string, hdr ...string) (head, body string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
	for i := 0; i+1 < len(hdr); i += 2 {
		req += hdr[i] + ": " + hdr[i+1] + "\r\n"
	}
	io.WriteString(c, req+"\r\n")
	b, _ := io.ReadAll(c)
	head, body, _ = strings.Cut(string(b), "\r\n\r\n")
	return head, body
}

// dates lists the Date lines of a response head.
func dates(head string) []string {
	var out []string
	for line := range strings.SplitSeq(head, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Date: "); ok {
			out = append(out, v)
		}
	}
	return out
}

// A stored response keeps its Date on every hit (RFC 9110 §6.6.1): the
// origin's, or the time it arrived when the origin sent none; the Date
// answers If-Modified-Since for a response without Last-Modified.
func TestHitKeepsTheStoredDate(t *testing.T) {
	const originDate = "Tue, 24 Nov 2026 11:59:00 GMT"
	url := startRawOrigin(t, func(line string) string {
		date := "Date: " + originDate + "\r\n"
		if strings.Contains(line, "undated") {
			date = ""
		}
		return "HTTP/1.1 200 OK\r\n" + date + "Cache-Control: max-age=600\r\nContent-Length: 4\r\n\r\nbody"
	})
	te := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: url}}}, nil)
	for i := range 3 {
		head, body := rawGet(t, te.addr, "/dated")
		if d := dates(head); body != "body" || len(d) != 1 || d[0] != originDate {
			t.Errorf("request %d: Date lines %q, body %q, want exactly the origin's %q", i, d, body, originDate)
		}
		te.clock.Advance(time.Minute)
	}
	arrived := te.clock.Now().UTC().Format(http.TimeFormat)
	rawGet(t, te.addr, "/undated")
	te.clock.Advance(time.Minute)
	if head, _ := rawGet(t, te.addr, "/undated"); len(dates(head)) != 1 || dates(head)[0] != arrived {
		t.Errorf("a response without Date: Date lines %q on its hit, want when it arrived, %q", dates(head), arrived)
	}
	head, _ := rawGet(t, te.addr, "/dated", "If-Modified-Since", originDate)
	if !strings.HasPrefix(head, "HTTP/1.1 304") {
		t.Errorf("If-Modified-Since the stored Date, no Last-Modified: %q, want 304", strings.SplitN(head, "\r\n", 2)[0])
	}
	head, _ = rawGet(t, te.addr, "/dated", "Range", "bytes=0-1")
	if !strings.HasPrefix(head, "HTTP/1.1 206 Partial Content\r\n") {
		t.Errorf("a range of a stored response: %q, want the 206's own reason phrase", strings.SplitN(head, "\r\n", 2)[0])
	}
	head, _ = rawGet(t, te.addr, "/dated", "If-Modified-Since", "Tue, 24 Nov 2026 11:58:59 GMT")
	if !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Errorf("If-Modified-Since before the stored Date: %q, want 200", strings.SplitN(head, "\r\n", 2)[0])
	}
}

// A 206 from the origin is stored as the range it holds (RFC 9111 §3.3):
// it answers later requests for ranges inside it, never one for the whole.
func TestPartialResponseStoredAndReused(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"whole"`)
		w.Header().Set("Content-Range", "bytes 4-9/10")
		w.WriteHeader(http.StatusPartialContent)
		fmt.Fprint(w, "456789")
	})
	te := proxyEdge(t, o, edge.Config{})
	for i, c := range []struct {
		rng, body, contentRange string
		hit                     bool
	}{
		{"bytes=-5", "56789", "bytes 5-9/10", false},
		{"bytes=-5", "56789", "bytes 5-9/10", true},
		{"bytes=6-7", "67", "bytes 6-7/10", true},
		{"bytes=0-3", "456789", "bytes 4-9/10", false}, // not held: the origin's own 206
	} {
		r := te.get("/p", "Range", c.rng)
		if r.status != 206 || r.body != c.body || r.h("Content-Range") != c.contentRange || strings.HasPrefix(r.h("Cache-Status"), "edge; hit") != c.hit {
			t.Errorf("request %d (%s): %d %q %q %q, want 206 %q %q hit %v", i, c.rng, r.status, r.body, r.h("Content-Range"), r.h("Cache-Status"), c.body, c.contentRange, c.hit)
		}
	}
	if r := te.get("/p"); strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Errorf("a request for the whole was answered from a stored range: %q", r.h("Cache-Status"))
	}
}

// Ranges of one representation (the same strong ETag and length) are
// combined (RFC 9111 §3.4); once they cover it, it is a complete entry.
func TestPartialResponsesCombined(t *testing.T) {
	var n atomic.Int64
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"whole"`)
		if n.Add(1) == 1 {
			w.Header().Set("Content-Range", "bytes 0-4/10")
			w.WriteHeader(http.StatusPartialContent)
			fmt.Fprint(w, "01234")
			return
		}
		w.Header().Set("Content-Range", "bytes 5-9/10")
		w.WriteHeader(http.StatusPartialContent)
		fmt.Fprint(w, "56789")
	})
	te := proxyEdge(t, o, edge.Config{})
	if r := te.get("/c", "Range", "bytes=0-1"); r.status != 206 || r.body != "01" {
		t.Fatalf("first range: %d %q", r.status, r.body)
	}
	if r := te.get("/c", "Range", "bytes=7-8"); r.status != 206 || r.body != "78" || r.h("Content-Range") != "bytes 7-8/10" {
		t.Fatalf("second range: %d %q %q", r.status, r.body, r.h("Content-Range"))
	}
	r := te.get("/c")
	if r.status != 200 || r.body != "0123456789" || !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") || r.h("Content-Range") != "" {
		t.Fatalf("the whole, combined: %d %q %q Content-Range %q", r.status, r.body, r.h("Cache-Status"), r.h("Content-Range"))
	}
	if got := n.Load(); got != 2 {
		t.Errorf("origin requests: %d, want 2", got)
	}
}

// An unsafe method is forwarded by the same rules as a fill: no
// hop-by-hop or withheld fields, Via and X-Forwarded-For added.
func TestPassThroughForwardsLikeAFill(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	te := proxyEdge(t, o, edge.Config{})
	te.do(http.MethodPost, "/form", "Connection", "X-Hop", "X-Hop", "1", "X-Forwarded-Host", "evil.example",
		"Proxy-Thing", "1", "Authorization", "Bearer t", "If-Match", `"v"`)
	seen := o.last(t)
	for name, want := range map[string]string{
		"X-Hop": "", "X-Forwarded-Host": "", "Proxy-Thing": "", "Authorization": "Bearer t", "If-Match": `"v"`,
		"Via": "1.1 edge", "X-Forwarded-For": "127.0.0.1",
	} {
		if got := seen.Header.Get(name); got != want {
			t.Errorf("origin saw %s %q, want %q", name, got, want)
		}
	}
}

// What a site keeps from its clients (private x-amz-meta-*, a hidden
// CDN-Cache-Control) is kept from responses served alone too.
func TestStreamThroughHidesWhatTheSiteHides(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) {
		c.MaxObjectSize = 4
		c.Sites[0].PrivateMeta = []string{"secret"}
	})
	if _, err := te.engine.PutObject(ctx, "public", "big", strings.NewReader("0123456789"), origin.PutOptions{Size: 10,
		UserMeta: map[string]string{"secret": "s", "owner": "ana"}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r := te.get("/big")
		if r.body != "0123456789" || r.h("X-Amz-Meta-Secret") != "" || r.h("X-Amz-Meta-Owner") != "ana" {
			t.Errorf("streamed: %q secret %q owner %q (%s)", r.body, r.h("X-Amz-Meta-Secret"), r.h("X-Amz-Meta-Owner"), r.h("Cache-Status"))
		}
	}
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("CDN-Cache-Control", "max-age=60")
		fmt.Fprint(w, "0123456789")
	})
	up := proxyEdge(t, o, edge.Config{MaxObjectSize: 4}, func(s *edge.Site) { s.HideCDNCacheControl = true })
	for range 2 {
		if r := up.get("/big"); r.body != "0123456789" || r.h("Cdn-Cache-Control") != "" {
			t.Errorf("streamed from an upstream: %q CDN-Cache-Control %q", r.body, r.h("Cdn-Cache-Control"))
		}
	}
}

// A site with its own S3 origin hears no purges of that server's writes:
// purge consistency is refused for it.
func TestOwnS3OriginNeedsStrongOrTTL(t *testing.T) {
	ep := &edge.S3Endpoint{URL: "http://127.0.0.1:1"}
	_, err := edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{"a.example"}, Bucket: "b", S3: ep}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "strong or ttl") {
		t.Errorf("purge site with its own s3: %v", err)
	}
	e, err := edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{"a.example"}, Bucket: "b", S3: ep, Consistency: edge.ConsistencyStrong}}}, nil)
	if err != nil {
		t.Fatalf("strong site with its own s3: %v", err)
	}
	e.Close()
}

// Through the edge: an Expires that is not a valid HTTP-date means
// already expired (RFC 9111 §5.3), and a CDN-Cache-Control with a
// directive of the wrong type is ignored as a whole (RFC 9213 §2.1).
func TestMalformedFreshnessFields(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/expires-one-digit-hour":
			w.Header().Set("Expires", "Thu, 01 Jan 2099 1:00:00 GMT")
		case "/expires-lower-case-zone":
			w.Header().Set("Expires", "Thu, 01 Jan 2099 01:00:00 gmt")
		case "/expires-valid":
			w.Header().Set("Expires", "Thu, 01 Jan 2099 01:00:00 GMT")
		case "/cdn-string":
			w.Header().Set("CDN-Cache-Control", `max-age="600"`)
			w.Header().Set("Cache-Control", "no-store")
		}
		fmt.Fprint(w, "x")
	})
	te := proxyEdge(t, o, edge.Config{})
	for path, hit := range map[string]bool{
		"/expires-one-digit-hour": false, "/expires-lower-case-zone": false, "/expires-valid": true, "/cdn-string": false,
	} {
		te.get(path)
		if r := te.get(path); strings.HasPrefix(r.h("Cache-Status"), "edge; hit") != hit {
			t.Errorf("%s: second request %q, want hit %v", path, r.h("Cache-Status"), hit)
		}
	}
}

// A stored range is judged by its representation's validators: If-Match
// of another tag is 412, If-None-Match of its own 304.
func TestPartialAnswersPreconditions(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"whole"`)
		w.Header().Set("Content-Range", "bytes 4-9/10")
		w.WriteHeader(http.StatusPartialContent)
		fmt.Fprint(w, "456789")
	})
	te := proxyEdge(t, o, edge.Config{})
	te.get("/p", "Range", "bytes=-5")
	if r := te.get("/p", "Range", "bytes=5-9", "If-Match", `"other"`); r.status != http.StatusPreconditionFailed {
		t.Errorf("If-Match of another tag on a stored range: %d %q", r.status, r.body)
	}
	if r := te.get("/p", "Range", "bytes=5-9", "If-None-Match", `"whole"`); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match of its tag on a stored range: %d %q", r.status, r.body)
	}
	if r := te.get("/p", "Range", "bytes=5-9", "If-Match", `"whole"`); r.status != 206 || r.body != "56789" {
		t.Errorf("If-Match of its tag on a stored range: %d %q", r.status, r.body)
	}
}

// Cache poisoning through the fields a response varies by: what is
// stored under a value is what the origin answered for that value —
// whether the attacker's request repeats the field or names it in its
// Connection (so it is not sent).
func TestVaryKeyIsWhatWasSent(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "X-Lang")
		fmt.Fprint(w, "lang="+strings.Join(r.Header.Values("X-Lang"), "|"))
	})
	te := proxyEdge(t, o, edge.Config{})
	te.get("/v", "X-Lang", "en") // the edge learns the Vary
	rawGet(t, te.addr, "/v", "X-Lang", "fr", "Connection", "X-Lang")
	if r := te.get("/v", "X-Lang", "fr"); r.body != "lang=fr" {
		t.Errorf("after an attack naming X-Lang in Connection, X-Lang: fr got %q (%s)", r.body, r.h("Cache-Status"))
	}
	rawGet(t, te.addr, "/d", "X-Lang", "de", "X-Lang", "<script>evil</script>")
	if r := te.get("/d", "X-Lang", "de"); r.body != "lang=de" {
		t.Errorf("after an attack repeating X-Lang, X-Lang: de got %q (%s)", r.body, r.h("Cache-Status"))
	}
}

// A 304 from a stored entry carries no Content-Length of its own (the
// representation's is 4 bytes; RFC 9110 §8.6).
func TestNotModifiedHitHasNoContentLengthZero(t *testing.T) {
	url := startRawOrigin(t, func(string) string {
		return "HTTP/1.1 200 OK\r\nETag: \"v\"\r\nCache-Control: max-age=600\r\nContent-Length: 4\r\n\r\nbody"
	})
	te := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: url}}}, nil)
	rawGet(t, te.addr, "/x")
	head, _ := rawGet(t, te.addr, "/x", "If-None-Match", `"v"`)
	if !strings.HasPrefix(head, "HTTP/1.1 304") || strings.Contains(head, "Content-Length: 0") {
		t.Errorf("304 from the cache:\n%s", head)
	}
	if head, body := rawGet(t, te.addr, "/x"); !strings.Contains(head, "Content-Length: 4\r\n") || body != "body" {
		t.Errorf("200 from the cache:\n%s\n%q", head, body)
	}
}

// Generation conditions the cache cannot judge — on a miss, or on an
// entry without a generation (an upstream that has none) — go to the
// origin, which decides; they are not lost in the fill.
func TestGenerationConditionsForwardedWhenUnknown(t *testing.T) {
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.Header.Get("X-If-Generation-Match") == "7" {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		fmt.Fprint(w, "x")
	})
	te := proxyEdge(t, o, edge.Config{})
	if r := te.get("/miss", "X-If-Generation-Match", "7"); r.status != http.StatusPreconditionFailed {
		t.Errorf("miss with a generation condition: %d %q, want the origin's 412", r.status, r.h("Cache-Status"))
	}
	te.get("/g")
	if r := te.get("/g"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Fatalf("not stored: %q", r.h("Cache-Status"))
	}
	r := te.get("/g", "X-If-Generation-Match", "7")
	if r.status != http.StatusPreconditionFailed || !strings.Contains(r.h("Cache-Status"), "generation-unknown") {
		t.Errorf("generation condition on an entry without one: %d %q, want the origin's 412", r.status, r.h("Cache-Status"))
	}
	if got := o.last(t).Header.Get("X-If-Generation-Match"); got != "7" {
		t.Errorf("origin saw X-If-Generation-Match %q", got)
	}
}
