package edge_test

// The hostile-input battery: every attack of the security review, sent
// over raw TCP to a running edge, byte for byte. For each one the test
// checks what the attacker got, what a victim asking for the targeted URL
// gets right after (on the attacker's connection, as a front proxy
// sharing it would send it, and on a fresh one), that the cache holds no
// poisoned entry (the victim's answer is a hit of the genuine entry), and
// that the edge keeps serving.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// What the edge's origins hold. An answer carrying hostileSmuggled means a
// smuggled request was answered; hostileSecret must never be served from
// the cache or under another key.
const (
	hostileGenuineX  = "GENUINE-X"
	hostileGenuineY  = "GENUINE-Y"
	hostileSmuggled  = "SMUGGLED-BODY"
	hostileOtherSite = "OTHER-SITE-X"
	hostileSecret    = "SECRET-BYTES"
	// hostileVictim is the victim's request for /x, as a front proxy would
	// send it on the attacker's connection right after the attack.
	hostileVictim = "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"
	// hostileInner is the request an attacker tries to smuggle.
	hostileInner = "GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
)

// hostileStore is the real engine with its reads counted per object.
type hostileStore struct {
	origin.Store
	mu    sync.Mutex
	reads map[string]int // "bucket/key" → GetObject and HeadObject calls
	total int
}

// LastSeq is the engine's.
func (s *hostileStore) LastSeq() (uint64, error) { return s.Store.(*origin.Engine).LastSeq() }

func (s *hostileStore) count(bucket, key string) {
	s.mu.Lock()
	s.reads[bucket+"/"+key]++
	s.total++
	s.mu.Unlock()
}

func (s *hostileStore) GetObject(c context.Context, bucket, key string, opts origin.GetOptions) (*origin.Object, error) {
	s.count(bucket, key)
	return s.Store.GetObject(c, bucket, key, opts)
}

func (s *hostileStore) HeadObject(c context.Context, bucket, key string, opts origin.GetOptions) (origin.ObjectInfo, error) {
	s.count(bucket, key)
	return s.Store.HeadObject(c, bucket, key, opts)
}

func (s *hostileStore) readsOf(bucket, key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[bucket+"/"+key]
}

func (s *hostileStore) allReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// hostileSeen is one request as the upstream application received it.
type hostileSeen struct {
	method, uri string
	header      http.Header
	body        string
}

// hostileApp is a deliberately naive upstream application: it trusts
// every forwarding and rewrite header, reflects the request into its
// answer, and serves account pages whatever follows their path. Its
// genuine answer to GET p is "app GET p" with a Link to app.example.
type hostileApp struct {
	*httptest.Server
	mu   sync.Mutex
	seen []hostileSeen
}

func startHostileApp(t *testing.T) *hostileApp {
	a := &hostileApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *hostileApp) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	a.mu.Lock()
	a.seen = append(a.seen, hostileSeen{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: string(body)})
	a.mu.Unlock()
	path, method := r.URL.Path, r.Method
	for _, h := range []string{"X-Original-URL", "X-Rewrite-URL"} {
		if v := r.Header.Get(h); v != "" {
			path = v
		}
	}
	if v := r.Header.Get("X-HTTP-Method-Override"); v != "" {
		method = v
	}
	scheme, host := "https", "app.example"
	for _, h := range []string{"X-Forwarded-Host", "X-Host", "X-Forwarded-Server", "Forwarded"} {
		if v := r.Header.Get(h); v != "" {
			host = v
		}
	}
	for _, h := range []string{"X-Forwarded-Proto", "X-Forwarded-Scheme"} {
		if v := r.Header.Get(h); v != "" {
			scheme = v
		}
	}
	prefix := r.Header.Get("X-Forwarded-Prefix")
	w.Header().Set("Link", "<"+scheme+"://"+host+prefix+"/static/app.js>; rel=preload")
	w.Header().Set("X-Echo-Path", r.URL.Path) // decoded: CR and LF included
	if to := r.URL.Query().Get("to"); to != "" {
		w.Header().Set("Location", to)
	}
	if strings.HasPrefix(path, "/account") {
		// Whoever's credentials came with the request: the page a web cache
		// deception attack wants stored.
		fmt.Fprintf(w, "account of %q %q", r.Header.Get("Cookie"), r.Header.Get("Authorization"))
		return
	}
	if method == http.MethodGet || method == http.MethodHead {
		w.Header().Set("Cache-Control", "max-age=600")
	}
	fmt.Fprintf(w, "app %s %s", method, path)
}

// requestsFor lists the requests the application got for a path.
func (a *hostileApp) requestsFor(path string) []hostileSeen {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []hostileSeen
	for _, s := range a.seen {
		if p, _, _ := strings.Cut(s.uri, "?"); p == path {
			out = append(out, s)
		}
	}
	return out
}

func (a *hostileApp) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

// since lists the requests the application got after the first n.
func (a *hostileApp) since(n int) []hostileSeen {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.seen[n:])
}

// hostileEdge serves three sites: localhost (and 127.0.0.1,
// cdn.example.com) on bucket public, other.example on bucket other, and
// app.example proxying hostileApp.
type hostileEdge struct {
	*testEdge
	store *hostileStore
	app   *hostileApp
}

func startHostile(t *testing.T) *hostileEdge {
	t.Helper()
	engine, err := origin.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() }) // after the edge's cleanup
	for _, b := range []string{"public", "other"} {
		if err := engine.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	h := &hostileEdge{store: &hostileStore{Store: engine, reads: map[string]int{}}, app: startHostileApp(t)}
	h.testEdge = startEdgeWith(t, edge.Config{Sites: []edge.Site{
		{Hosts: []string{"localhost", "127.0.0.1", "cdn.example.com"}, Bucket: "public"},
		{Hosts: []string{"other.example"}, Bucket: "other"},
		{Hosts: []string{"app.example"}, Upstream: h.app.URL},
	}}, edge.FromStore(h.store))
	h.engine = engine
	cc := origin.Headers{CacheControl: "max-age=600"}
	for key, body := range map[string]string{
		"x": hostileGenuineX, "y": hostileGenuineY, "smuggled": hostileSmuggled,
		"a/b": "SLASH-AB", "a%2Fb": "PERCENT-2F-AB", "a/../x": "DOTDOT-AX", "x?": "QMARK-X",
	} {
		h.put(key, body, cc)
	}
	h.put("secret.txt", hostileSecret, origin.Headers{CacheControl: "private, max-age=600"})
	if _, err := engine.PutObject(ctx, "other", "x", strings.NewReader(hostileOtherSite), origin.PutOptions{Size: int64(len(hostileOtherSite)), Headers: cc}); err != nil {
		t.Fatal(err)
	}
	if r := h.fetch(t, "localhost", "/x"); r.status != 200 || r.body != hostileGenuineX {
		t.Fatalf("warming /x: %d %q", r.status, r.body)
	}
	return h
}

// fetch is a normal client's GET (a victim's), reporting to t.
func (h *hostileEdge) fetch(t *testing.T, host, path string, hdr ...string) response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + h.addr + path)
	req.URI().DisablePathNormalizing = true
	req.UseHostHeader = true
	req.Header.SetHost(host)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if err := h.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	out := response{status: resp.StatusCode(), header: map[string]string{}, body: string(resp.Body())}
	for k, v := range resp.Header.All() {
		out.header[strings.ToLower(string(k))] += string(v)
	}
	return out
}

// victim is the normal request for /x right after an attack: the genuine
// object, from the genuine cache entry (warmed at start: a hit).
func (h *hostileEdge) victim(t *testing.T) {
	t.Helper()
	r := h.fetch(t, "localhost", "/x")
	if r.status != 200 || r.body != hostileGenuineX || !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Errorf("victim GET /x after the attack: %d %q Cache-Status %q, want 200 %q from the cached entry", r.status, r.body, r.h("Cache-Status"), hostileGenuineX)
	}
	if hostileTainted(r) {
		t.Errorf("victim GET /x got attacker-controlled bytes: %v %q", r.header, r.body)
	}
}

// smuggledFills counts the origin requests for the smuggled target.
func (h *hostileEdge) smuggledFills() int {
	return h.store.readsOf("public", "smuggled") + len(h.app.requestsFor("/smuggled"))
}

// noSmuggledFill: since before was read, the smuggled request never
// reached an origin.
func (h *hostileEdge) noSmuggledFill(t *testing.T, before int) {
	t.Helper()
	if n := h.smuggledFills() - before; n != 0 {
		t.Errorf("the smuggled request reached the origin (%d requests)", n)
	}
}

// hostileTainted: a response carries bytes only an attacker sent.
func hostileTainted(r response) bool {
	all := strings.ToLower(r.body + fmt.Sprint(r.header))
	return strings.Contains(all, "evil") || strings.Contains(all, hostileSmuggled)
}

// hostileAnswer is one response read off the wire.
type hostileAnswer struct {
	status int
	header http.Header
	body   string
}

// String is how rows name answers: "400", or "200 GENUINE-X" for a success.
func (a hostileAnswer) String() string {
	if a.status >= 200 && a.status < 300 {
		return strconv.Itoa(a.status) + " " + a.body
	}
	return strconv.Itoa(a.status)
}

// hostileWire is everything the edge sent back on one connection.
type hostileWire struct {
	answers []hostileAnswer
	raw     string
	err     error // bytes that are not a response
}

func (w hostileWire) String() string {
	s := make([]string, len(w.answers))
	for i, a := range w.answers {
		s[i] = strconv.Quote(a.String())
	}
	return "[" + strings.Join(s, " ") + "]"
}

// hostileExchange writes payload on a new connection exactly as given,
// half-closes it (the edge then sees the end of the input, answers what it
// read and closes: no read waits for a timeout) and reads every response.
// heads says which answers (by index) are to HEAD requests.
func hostileExchange(t *testing.T, addr, payload string, heads ...int) hostileWire {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// A write may fail once the edge refused and closed: its answer is
	// still there to read.
	io.WriteString(c, payload)
	c.(*net.TCPConn).CloseWrite()
	raw, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the edge neither answered nor closed in 10 s (read %q)", raw)
	}
	// Any other error is a reset: the edge closed with input unread.
	w := hostileWire{raw: string(raw)}
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		if _, err := br.Peek(1); err != nil {
			break
		}
		var req *http.Request
		if slices.Contains(heads, len(w.answers)) {
			req = &http.Request{Method: http.MethodHead}
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			w.err = err
			break
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			w.err = err
			break
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			continue // 100 Continue: an interim answer
		}
		w.answers = append(w.answers, hostileAnswer{status: resp.StatusCode, header: resp.Header, body: string(body)})
	}
	return w
}

// hostileCheckWire holds for every exchange: every byte is a response, nothing
// smuggled was answered, nothing is a server error, no header was
// injected.
func hostileCheckWire(t *testing.T, w hostileWire) {
	t.Helper()
	if w.err != nil {
		t.Errorf("the edge sent bytes that are not a response (%v): %q", w.err, w.raw)
	}
	if strings.Contains(w.raw, hostileSmuggled) {
		t.Errorf("a smuggled request was answered: %v", w)
	}
	for _, a := range w.answers {
		if a.status >= 500 {
			t.Errorf("a server error for hostile input: %v", w)
		}
		for _, name := range []string{"Set-Cookie", "X-Injected"} {
			if a.header.Get(name) != "" {
				t.Errorf("injected header %s: %q", name, a.header.Get(name))
			}
		}
	}
}

// hostileCheckFirst: the attack's answer is one of want, and what follows on the
// connection, if anything, is the genuine answer to the victim's request.
func hostileCheckFirst(t *testing.T, w hostileWire, want ...string) {
	t.Helper()
	if len(w.answers) == 0 || !slices.Contains(want, w.answers[0].String()) {
		t.Errorf("answers %v, want the first among %q", w, want)
		return
	}
	for _, a := range w.answers[1:] {
		if a.String() != "200 "+hostileGenuineX {
			t.Errorf("answers %v: after the attack, only the victim's genuine %q", w, hostileGenuineX)
		}
	}
	if len(w.answers) > 2 {
		t.Errorf("answers %v: more answers than requests", w)
	}
}

// The attack payloads of the smuggling group.

// hostileInnerFor is the smuggled request aimed at a site.
func hostileInnerFor(host string) string { return strings.Replace(hostileInner, "localhost", host, 1) }

// hostileTECL frames a body both ways: a Transfer-Encoding reading ends it
// before the inner request (which is then answered), a Content-Length
// reading swallows the inner request.
func hostileTECL(method, proto, host, framing string) string {
	body := "0\r\n\r\n" + hostileInnerFor(host)
	return method + " /x " + proto + "\r\nHost: " + host + "\r\n" + framing + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// hostileCLTE is the converse: a Content-Length reading ends the body before the
// inner request, a chunked reading keeps it as chunk data.
func hostileCLTE(method, proto, host, framing string) string {
	inner := hostileInnerFor(host)
	size := strconv.FormatInt(int64(len(inner)), 16) + "\r\n"
	return method + " /x " + proto + "\r\nHost: " + host + "\r\n" + framing + "Content-Length: " + strconv.Itoa(len(size)) + "\r\n\r\n" + size + inner + "\r\n0\r\n\r\n"
}

// hostileChunkWrapped has Transfer-Encoding alone: a chunked reading keeps the
// inner request as chunk data, a reading that ignores the coding finds
// garbage.
func hostileChunkWrapped(method, proto, host, framing string) string {
	inner := hostileInnerFor(host)
	size := strconv.FormatInt(int64(len(inner)), 16) + "\r\n"
	return method + " /x " + proto + "\r\nHost: " + host + "\r\n" + framing + "\r\n" + size + inner + "\r\n0\r\n\r\n"
}

// hostileWithBody is GET /x whose body, by its Content-Length header(s), is the
// inner request.
func hostileWithBody(host, framing string) string {
	return "GET /x HTTP/1.1\r\nHost: " + host + "\r\n" + framing + "\r\n" + hostileInnerFor(host)
}

func hostileChunked(chunks string) string {
	return "POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + hostileInner
}

// Request smuggling and desync: the inner request is never answered and
// never reaches an origin; ambiguous framing is refused with 400 and the
// connection closed (the victim's request that follows on it unanswered).
func TestHostileSmuggling(t *testing.T) {
	h := startHostile(t)
	innerLen := strconv.Itoa(len(hostileInner))
	type row struct {
		name    string
		payload string
		// want is the exact list of answers on the connection (the
		// victim's request appended); nil accepts any answers that pass
		// hostileCheckWire, none of them to the inner request.
		want []string
		host string // the site attacked (default localhost)
	}
	refused := []string{"400"}
	var rows []row

	// Transfer-Encoding obfuscations, each with a Content-Length too,
	// framed both ways: ambiguous, so refused.
	obfuscations := []struct{ name, lines string }{
		{"TE chunked", "Transfer-Encoding: chunked\r\n"},
		{"TE xchunked", "Transfer-Encoding: xchunked\r\n"},
		{"TE space before chunked", "Transfer-Encoding:  chunked\r\n"},
		{"TE chunked, identity", "Transfer-Encoding: chunked, identity\r\n"},
		{"TE identity, chunked", "Transfer-Encoding: identity, chunked\r\n"},
		{"TE CHUNKED", "Transfer-Encoding: CHUNKED\r\n"},
		{"TE tab before value", "Transfer-Encoding:\tchunked\r\n"},
		{"TE space and tab before value", "Transfer-Encoding: \tchunked\r\n"},
		{"TE tab after value", "Transfer-Encoding: chunked\t\r\n"},
		{"TE vertical tab before value", "Transfer-Encoding:\x0bchunked\r\n"},
		{"TE lower-case name", "transfer-encoding: chunked\r\n"},
		{"TE duplicated, chunked first", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"},
		{"TE duplicated, chunked last", "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n"},
		{"TE space before colon", "Transfer-Encoding : chunked\r\n"},
		{"TE value on an obs-fold line", "Transfer-Encoding:\r\n chunked\r\n"},
		{"TE after a bare LF", "X-A: b\nTransfer-Encoding: chunked\r\n"},
		{"TE after a bare CR", "X-A: b\rTransfer-Encoding: chunked\r\n"},
	}
	for _, o := range obfuscations {
		rows = append(rows,
			row{name: "CL+" + o.name + " (TE ends first)", payload: hostileTECL("POST", "HTTP/1.1", "localhost", o.lines), want: refused},
			row{name: "CL+" + o.name + " (CL ends first)", payload: hostileCLTE("POST", "HTTP/1.1", "localhost", o.lines), want: refused},
			// Alone, the coding is chunked or refused: never a request.
			row{name: o.name + " alone", payload: hostileChunkWrapped("POST", "HTTP/1.1", "localhost", o.lines)},
		)
	}
	rows = append(rows,
		row{name: "CL before TE (TE ends first)", payload: strings.Replace(hostileTECL("POST", "HTTP/1.1", "localhost", ""), "\r\n\r\n", "\r\nTransfer-Encoding: chunked\r\n\r\n", 1), want: refused},
		row{name: "CL+TE on GET (TE ends first)", payload: hostileTECL("GET", "HTTP/1.1", "localhost", "Transfer-Encoding: chunked\r\n"), want: refused},
		row{name: "CL+TE on GET (CL ends first)", payload: hostileCLTE("GET", "HTTP/1.1", "localhost", "Transfer-Encoding: chunked\r\n"), want: refused},
		row{name: "CL+TE in HTTP/1.0", payload: hostileTECL("POST", "HTTP/1.0", "localhost", "Transfer-Encoding: chunked\r\n"), want: refused},
		// RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; close after.
		row{name: "TE in HTTP/1.0", payload: hostileChunkWrapped("POST", "HTTP/1.0", "localhost", "Transfer-Encoding: chunked\r\n"), want: refused},
		// An obs-fold continuation hides a Transfer-Encoding line from the
		// edge (unfolded into X-Fold) but not from a front end that takes
		// it for a header line of its own: the inner request must not be
		// answered either way.
		row{name: "CL+TE hidden in an obs-fold continuation (TE ends first)", payload: hostileTECL("POST", "HTTP/1.1", "localhost", "X-Fold: a\r\n Transfer-Encoding: chunked\r\n")},
		row{name: "CL+TE hidden in an obs-fold continuation (CL ends first)", payload: hostileCLTE("POST", "HTTP/1.1", "localhost", "X-Fold: a\r\n Transfer-Encoding: chunked\r\n")},

		// Content-Length tricks: the body is the inner request.
		row{name: "two Content-Length, body length first", payload: hostileWithBody("localhost", "Content-Length: "+innerLen+"\r\nContent-Length: 0\r\n"), want: refused},
		row{name: "two Content-Length, zero first", payload: hostileWithBody("localhost", "Content-Length: 0\r\nContent-Length: "+innerLen+"\r\n"), want: refused},
		row{name: "two equal Content-Length", payload: hostileWithBody("localhost", "Content-Length: "+innerLen+"\r\nContent-Length: "+innerLen+"\r\n")},
		row{name: "Content-Length list", payload: hostileWithBody("localhost", "Content-Length: "+innerLen+", 0\r\n"), want: refused},
		row{name: "Content-Length with plus sign", payload: hostileWithBody("localhost", "Content-Length: +"+innerLen+"\r\n"), want: refused},
		row{name: "Content-Length with leading zeros", payload: hostileWithBody("localhost", "Content-Length: 000"+innerLen+"\r\n"), want: []string{"200 " + hostileGenuineX, "200 " + hostileGenuineX}},
		row{name: "Content-Length negative", payload: hostileWithBody("localhost", "Content-Length: -1\r\n"), want: refused},
		row{name: "Content-Length hex", payload: hostileWithBody("localhost", "Content-Length: 0x"+strconv.FormatInt(int64(len(hostileInner)), 16)+"\r\n"), want: refused},
		row{name: "Content-Length huge", payload: hostileWithBody("localhost", "Content-Length: 99999999999999999999999\r\n"), want: refused},
		row{name: "Content-Length over the body limit", payload: hostileWithBody("localhost", "Content-Length: 9999999999\r\n"), want: []string{"413"}},
		row{name: "Content-Length with trailing garbage", payload: hostileWithBody("localhost", "Content-Length: "+innerLen+"x\r\n"), want: refused},
		row{name: "Content-Length empty", payload: hostileWithBody("localhost", "Content-Length: \r\n"), want: refused},
		row{name: "Content-Length space before colon", payload: hostileWithBody("localhost", "Content-Length : "+innerLen+"\r\n"), want: refused},
		row{name: "Content-Length after a bare LF", payload: hostileWithBody("localhost", "X-A: b\nContent-Length: "+innerLen+"\r\n")},

		// Line endings and bytes.
		row{name: "bare LF line endings", payload: "GET /x HTTP/1.1\nHost: localhost\nContent-Length: " + innerLen + "\n\n" + hostileInner, want: []string{"200 " + hostileGenuineX, "200 " + hostileGenuineX}},
		row{name: "bare CR in a header line", payload: "GET /x HTTP/1.1\r\nHost: localhost\r\nX-A: b\rContent-Length: " + innerLen + "\r\n\r\n" + hostileInner, want: refused},
		row{name: "NUL in a header value", payload: "GET /x HTTP/1.1\r\nHost: localhost\r\nX-A: a\x00b\r\n\r\n" + hostileInner, want: refused},
		row{name: "NUL in a header name", payload: "GET /x HTTP/1.1\r\nHost: localhost\r\nX-\x00A: b\r\n\r\n" + hostileInner, want: refused},
		row{name: "NUL in the request line", payload: "GET /x\x00 HTTP/1.1\r\nHost: localhost\r\n\r\n" + hostileInner},
		row{name: "NUL in Content-Length", payload: hostileWithBody("localhost", "Content-Length: "+innerLen+"\x00\r\n"), want: refused},

		// Chunked bodies that are not.
		row{name: "chunk size overflow", payload: hostileChunked("FFFFFFFFFFFFFFFFFFFF\r\nab\r\n0\r\n\r\n"), want: refused},
		row{name: "chunk size 2^63", payload: hostileChunked("8000000000000000\r\nab\r\n0\r\n\r\n"), want: refused},
		row{name: "chunk size invalid", payload: hostileChunked("zz\r\nab\r\n0\r\n\r\n"), want: refused},
		row{name: "chunk size negative", payload: hostileChunked("-2\r\nab\r\n0\r\n\r\n"), want: refused},
		row{name: "chunk size 0x-prefixed", payload: hostileChunked("0x2\r\nab\r\n0\r\n\r\n"), want: refused},
		row{name: "chunk data longer than its size", payload: hostileChunked("2\r\nabcd\r\n0\r\n\r\n"), want: refused},
		row{name: "chunk lines with bare LF", payload: hostileChunked("2\nab\n0\n\n")},
		row{name: "Content-Length in the chunked trailer", payload: hostileChunked("0\r\nContent-Length: " + innerLen + "\r\n\r\n")},
		row{name: "chunk extension", payload: "POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b\r\nab\r\n0\r\n\r\n", want: []string{"405", "200 " + hostileGenuineX}},

		// Bodies on keep-alive connections and pipelining.
		row{name: "GET with a body, then a pipelined request", payload: "GET /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhelloGET /y HTTP/1.1\r\nHost: localhost\r\n\r\n",
			want: []string{"200 " + hostileGenuineX, "200 " + hostileGenuineY, "200 " + hostileGenuineX}},
		row{name: "GET whose body is a request", payload: hostileWithBody("localhost", "Content-Length: "+innerLen+"\r\n"), want: []string{"200 " + hostileGenuineX, "200 " + hostileGenuineX}},
		row{name: "pipelined requests", payload: "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\nGET /y HTTP/1.1\r\nHost: localhost\r\n\r\n",
			want: []string{"200 " + hostileGenuineX, "200 " + hostileGenuineY, "200 " + hostileGenuineX}},
		row{name: "pipelined requests to two sites", payload: "GET /x HTTP/1.1\r\nHost: other.example\r\n\r\nGET /y HTTP/1.1\r\nHost: localhost\r\n\r\n",
			want: []string{"200 " + hostileOtherSite, "200 " + hostileGenuineY, "200 " + hostileGenuineX}},
		row{name: "pipelined HEAD then GET", payload: "HEAD /x HTTP/1.1\r\nHost: localhost\r\n\r\nGET /y HTTP/1.1\r\nHost: localhost\r\n\r\n",
			want: []string{"200 ", "200 " + hostileGenuineY, "200 " + hostileGenuineX}},
		row{name: "pipelined after a misdirected request", payload: "GET /x HTTP/1.1\r\nHost: evil.example\r\n\r\n", want: []string{"421", "200 " + hostileGenuineX}},
		row{name: "Expect: 100-continue with a request as body", payload: "POST /x HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: " + innerLen + "\r\n\r\n" + hostileInner,
			want: []string{"405", "200 " + hostileGenuineX}},
		row{name: "empty lines before the request line", payload: "\r\n\r\nGET /y HTTP/1.1\r\nHost: localhost\r\n\r\n"},

		// Upstream sites: the body reaches the upstream as a body, framed
		// by the edge; the inner request never becomes a request.
		row{name: "chunked POST to an upstream carrying a request", host: "app.example",
			payload: hostileChunkWrapped("POST", "HTTP/1.1", "app.example", "Transfer-Encoding: chunked\r\n")},
		row{name: "CL+TE POST to an upstream (TE ends first)", host: "app.example", want: refused,
			payload: hostileTECL("POST", "HTTP/1.1", "app.example", "Transfer-Encoding: chunked\r\n")},
		row{name: "CL+TE POST to an upstream (CL ends first)", host: "app.example", want: refused,
			payload: hostileCLTE("POST", "HTTP/1.1", "app.example", "Transfer-Encoding: chunked\r\n")},
		row{name: "GET with a request as body to an upstream", host: "app.example",
			payload: hostileWithBody("app.example", "Content-Length: "+strconv.Itoa(len(hostileInnerFor("app.example")))+"\r\n")},
	)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			before, smuggled := h.app.count(), h.smuggledFills()
			var heads []int
			if strings.HasPrefix(r.payload, "HEAD ") {
				heads = []int{0}
			}
			w := hostileExchange(t, h.addr, r.payload+hostileVictim, heads...)
			hostileCheckWire(t, w)
			for _, a := range w.answers {
				if a.status == 200 && a.body != "" && !slices.Contains([]string{hostileGenuineX, hostileGenuineY, hostileOtherSite, "app POST /x", "app GET /x"}, a.body) {
					t.Errorf("answer %q is not a genuine object", a.body)
				}
			}
			if r.want != nil {
				got := make([]string, len(w.answers))
				for i, a := range w.answers {
					got[i] = a.String()
				}
				if !slices.Equal(got, r.want) {
					t.Errorf("answers %q, want %q", got, r.want)
				}
			}
			if r.host == "app.example" {
				// One request at most reached the upstream, as the edge
				// framed it: a request in a body stays a body.
				seen := h.app.since(before)
				switch {
				case r.want != nil && len(seen) != 0:
					t.Errorf("a refused request reached the upstream: %+v", seen)
				case len(seen) > 1:
					t.Errorf("the upstream got %d requests for one attack: %+v", len(seen), seen)
				case len(seen) == 1 && seen[0].method == "POST" && seen[0].body != hostileInnerFor("app.example"):
					t.Errorf("the upstream got the body %q", seen[0].body)
				}
			}
			h.noSmuggledFill(t, smuggled)
			h.victim(t)
		})
	}
}

// Host and request-target tricks: the site is the configured Host's,
// never another host's; an unknown host never reaches an origin.
func TestHostileHostAndTarget(t *testing.T) {
	h := startHostile(t)
	genuine := "200 " + hostileGenuineX
	rows := []struct {
		name, payload string
		want          []string // allowed answers to the attack
		// reachesOrigin: the request is a legitimate one that may fill.
		reachesOrigin bool
	}{
		{"absolute-form naming another host", "GET http://evil.example/x HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{"400"}, false},
		{"absolute-form naming another configured site", "GET http://other.example/x HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{"400"}, false},
		{"absolute-form naming the site, Host another", "GET http://localhost/x HTTP/1.1\r\nHost: other.example\r\n\r\n", []string{"400"}, false},
		{"absolute-form naming another host, no Host", "GET http://evil.example/x HTTP/1.1\r\n\r\n", []string{"400"}, false},
		{"absolute-form naming another host with its port", "GET http://evil.example:80/x HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{"400"}, false},
		{"absolute-form naming the site", "GET http://localhost/x HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{genuine, "400"}, false},
		{"absolute-form https naming the site", "GET https://localhost/x HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{genuine, "400"}, false},
		{"absolute-form with userinfo", "GET http://user@localhost/x HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{"400"}, false},
		{"absolute-form with userinfo naming another host", "GET http://localhost@evil.example/x HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{"400"}, false},
		{"absolute-form without scheme", "GET //evil.example/x HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{"404"}, true}, // the key "/evil.example/x"
		{"authority-form target", "GET localhost:80 HTTP/1.1\r\nHost: localhost\r\n\r\n", []string{"400"}, false},
		{"userinfo in Host", "GET /x HTTP/1.1\r\nHost: user@localhost\r\n\r\n", []string{"400"}, false},
		{"userinfo in Host naming another host", "GET /x HTTP/1.1\r\nHost: localhost@evil.example\r\n\r\n", []string{"400"}, false},
		{"userinfo in Host after a port", "GET /x HTTP/1.1\r\nHost: localhost:80@evil.example\r\n\r\n", []string{"400"}, false},
		{"duplicate Host, site first", "GET /x HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n", []string{"400"}, false},
		{"duplicate Host, evil first", "GET /x HTTP/1.1\r\nHost: evil.example\r\nHost: localhost\r\n\r\n", []string{"400"}, false},
		{"duplicate Host, two sites", "GET /x HTTP/1.1\r\nHost: other.example\r\nHost: localhost\r\n\r\n", []string{"400"}, false},
		{"Host with trailing dot", "GET /x HTTP/1.1\r\nHost: localhost.\r\n\r\n", []string{"421", genuine}, false},
		{"Host with port", "GET /x HTTP/1.1\r\nHost: localhost:8080\r\n\r\n", []string{genuine}, false},
		{"Host upper case", "GET /x HTTP/1.1\r\nHost: LOCALHOST\r\n\r\n", []string{genuine}, false},
		{"Host of the other site, mixed case", "GET /x HTTP/1.1\r\nHost: Other.Example\r\n\r\n", []string{"200 " + hostileOtherSite}, true},
		{"Host IPv4 configured", "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", []string{genuine}, false},
		{"Host IPv6 literal not configured", "GET /x HTTP/1.1\r\nHost: [::1]\r\n\r\n", []string{"421"}, false},
		{"Host missing on HTTP/1.1", "GET /x HTTP/1.1\r\n\r\n", []string{"400"}, false},
		{"Host missing on HTTP/1.0", "GET /x HTTP/1.0\r\n\r\n", []string{"400", "421"}, false},
		{"Host empty", "GET /x HTTP/1.1\r\nHost: \r\n\r\n", []string{"400", "421"}, false},
		{"Host not configured", "GET /x HTTP/1.1\r\nHost: evil.example\r\n\r\n", []string{"421"}, false},
		{"Host suffixed with another domain", "GET /x HTTP/1.1\r\nHost: localhost.evil.example\r\n\r\n", []string{"421"}, false},
		{"Host with a path", "GET /x HTTP/1.1\r\nHost: localhost/evil\r\n\r\n", []string{"400", "421"}, false},
		{"Host with a tab", "GET /x HTTP/1.1\r\nHost: local\thost\r\n\r\n", []string{"400", "421"}, false},
		{"Host with a space", "GET /x HTTP/1.1\r\nHost: localhost evil.example\r\n\r\n", []string{"400", "421"}, false},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			reads := h.store.allReads()
			w := hostileExchange(t, h.addr, r.payload+hostileVictim)
			hostileCheckWire(t, w)
			hostileCheckFirst(t, w, r.want...)
			if !r.reachesOrigin && h.store.allReads() != reads {
				t.Errorf("the origin was read %d times", h.store.allReads()-reads)
			}
			h.victim(t)
		})
	}
	// The other site's object is its own, and /x of localhost still ours.
	if r := h.fetch(t, "other.example", "/x"); r.body != hostileOtherSite {
		t.Errorf("other.example/x: %q", r.body)
	}
}

// Unkeyed request headers an application may trust (forwarding,
// rewrites, method overrides) never change what is served or cached: the
// attacker sends them on a miss, the victim gets the genuine object.
func TestHostileUnkeyedHeaders(t *testing.T) {
	h := startHostile(t)
	headers := []struct{ name, value string }{
		{"X-Forwarded-Host", "evil.example"},
		{"X-Host", "evil.example"},
		{"X-Forwarded-Server", "evil.example"},
		{"X-Original-URL", "/evil"},
		{"X-Rewrite-URL", "/evil"},
		{"X-Forwarded-Scheme", "evil"},
		{"X-Forwarded-Proto", "evil"},
		{"Forwarded", "host=evil.example;proto=evil"},
		{"X-Forwarded-Prefix", "/evil"},
		{"X-HTTP-Method-Override", "EVIL"},
	}
	for i, hd := range headers {
		for _, site := range []string{"app.example", "localhost"} {
			t.Run(hd.name+" on "+site, func(t *testing.T) {
				path := "/unkeyed/" + strconv.Itoa(i)
				genuine := "app GET " + path
				if site == "localhost" {
					genuine = "object " + strconv.Itoa(i)
					h.put(strings.TrimPrefix(path, "/"), genuine, origin.Headers{CacheControl: "max-age=600"})
				}
				w := hostileExchange(t, h.addr, "GET "+path+" HTTP/1.1\r\nHost: "+site+"\r\n"+hd.name+": "+hd.value+"\r\n\r\n")
				hostileCheckWire(t, w)
				if len(w.answers) != 1 || w.answers[0].status != 200 || w.answers[0].body != genuine ||
					strings.Contains(strings.ToLower(fmt.Sprint(w.answers[0].header)), "evil") {
					t.Errorf("attacker's miss: %v %v, want 200 %q", w, w.answers, genuine)
				}
				for range 2 {
					r := h.fetch(t, site, path)
					if r.status != 200 || r.body != genuine || hostileTainted(r) {
						t.Errorf("victim: %d %q %v, want the genuine %q", r.status, r.body, r.header, genuine)
					}
					if !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
						t.Errorf("victim: Cache-Status %q, want a hit of the entry the attacker's miss stored", r.h("Cache-Status"))
					}
				}
				if site == "app.example" {
					if l := h.fetch(t, site, path).h("Link"); l != "<https://app.example/static/app.js>; rel=preload" {
						t.Errorf("victim's Link: %q", l)
					}
				}
				h.victim(t)
			})
		}
	}
	t.Run("X-Original-URL on a missing key", func(t *testing.T) {
		w := hostileExchange(t, h.addr, "GET /missing HTTP/1.1\r\nHost: localhost\r\nX-Original-URL: /x\r\nX-Rewrite-URL: /x\r\n\r\n")
		hostileCheckWire(t, w)
		hostileCheckFirst(t, w, "404")
		if r := h.fetch(t, "localhost", "/missing"); r.status != 404 {
			t.Errorf("victim of /missing: %d %q", r.status, r.body)
		}
		h.victim(t)
	})
}

// Path tricks: the key is the raw path decoded once; dot segments,
// doubled slashes, backslashes, NUL, %2F, overlong UTF-8, '?' and '#'
// never reach another object, and each path keeps its own entry.
func TestHostilePaths(t *testing.T) {
	h := startHostile(t)
	genuine := "200 " + hostileGenuineX
	rows := []struct {
		name, target string
		want         []string // allowed answers, the same on the second try (a hit)
	}{
		{"dot-dot segment", "/a/../x", []string{"200 DOTDOT-AX"}},
		{"dot-dot segment encoded", "/a/%2e%2e/x", []string{"200 DOTDOT-AX"}},
		{"dot-dot above the root", "/../x", []string{"404", "400"}},
		{"dot-dot encoded above the root", "/%2e%2e/x", []string{"404", "400"}},
		{"dot-dot and slash encoded", "/%2E%2E%2Fx", []string{"404", "400"}},
		{"dot segment", "/./x", []string{"404", "400"}},
		{"double slash", "//x", []string{"404", "400"}},
		{"double slash inside", "/a//b", []string{"404", "400"}},
		{"backslashes", "/a\\..\\x", []string{"404", "400"}},
		{"encoded backslashes", "/a%5c..%5cx", []string{"404", "400"}},
		{"NUL", "/x%00", []string{"404", "400"}},
		{"NUL before an extension", "/x%00.css", []string{"404", "400"}},
		{"slash", "/a/b", []string{"200 SLASH-AB"}},
		{"%2F is the same S3 key as slash", "/a%2Fb", []string{"200 SLASH-AB"}},
		{"%252F is the key a%2Fb", "/a%252Fb", []string{"200 PERCENT-2F-AB"}},
		{"overlong UTF-8 slash", "/a%c0%afb", []string{"404", "400"}},
		{"overlong UTF-8 dots", "/%c0%ae%c0%ae/x", []string{"404", "400"}},
		{"raw overlong UTF-8", "/a\xc0\xafb", []string{"404", "400"}},
		{"invalid percent escape", "/x%zz", []string{"404", "400"}},
		{"lone percent", "/x%", []string{"404", "400"}},
		{"empty query", "/x?", []string{genuine}},
		{"two question marks", "/x??", []string{genuine}},
		{"question marks in the query", "/x?a?b=/../y", []string{genuine}},
		{"encoded question mark", "/x%3F", []string{"200 QMARK-X"}},
		{"query at the root", "/?x", []string{"404", "400"}},
		{"root", "/", []string{"404", "400"}},
		{"fragment on the wire", "/x#frag", []string{genuine, "400", "404"}},
		{"fragment hiding dot-dot", "/x#/../smuggled", []string{genuine, "400", "404"}},
		{"path over the key limit", "/" + strings.Repeat("k", 1100), []string{"404", "414"}},
		{"8 KiB path", "/" + strings.Repeat("k", 8<<10), []string{"404", "414", "431"}},
		{"20 KiB path", "/" + strings.Repeat("k", 20<<10), []string{"414", "431"}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			smuggled := h.smuggledFills()
			var first string
			for try := range 2 {
				w := hostileExchange(t, h.addr, "GET "+r.target+" HTTP/1.1\r\nHost: localhost\r\n\r\n"+hostileVictim)
				hostileCheckWire(t, w)
				hostileCheckFirst(t, w, r.want...)
				if len(w.answers) == 0 {
					return
				}
				if try == 0 {
					first = w.answers[0].String()
				} else if w.answers[0].String() != first {
					t.Errorf("the second try got %q, the first %q: the cache changed the answer", w.answers[0], first)
				}
				if try == 1 && w.answers[0].status == 200 && !strings.HasPrefix(w.answers[0].header.Get("Cache-Status"), "edge; hit") {
					t.Errorf("second try: Cache-Status %q, want a hit", w.answers[0].header.Get("Cache-Status"))
				}
			}
			h.noSmuggledFill(t, smuggled)
			h.victim(t)
		})
	}
	for key, body := range map[string]string{"a/b": "SLASH-AB", "a%2Fb": "PERCENT-2F-AB", "a/../x": "DOTDOT-AX", "x?": "QMARK-X"} {
		if got, err := h.engine.GetObject(ctx, "public", key, origin.GetOptions{}); err != nil {
			t.Errorf("%s: %v", key, err)
		} else {
			b, _ := io.ReadAll(got.Body)
			got.Body.Close()
			if string(b) != body {
				t.Errorf("%s now holds %q", key, b)
			}
		}
	}
}

// Web cache deception: a path that looks like a static file under a
// private object's URL never serves or caches the private object's bytes
// under the deceptive key (keys are exact: it is a 404); the private
// object itself is never stored.
func TestHostileCacheDeception(t *testing.T) {
	h := startHostile(t)
	rows := []struct {
		name, target string
		secret       bool // the target names the secret object itself
	}{
		{"path suffix", "/secret.txt/x.css", false},
		{"semicolon suffix", "/secret.txt;x.css", false},
		{"encoded semicolon", "/secret.txt%3bx.css", false},
		{"encoded slash", "/secret.txt%2fx.css", false},
		{"encoded NUL", "/secret.txt%00.css", false},
		{"encoded hash", "/secret.txt%23x.css", false},
		{"dot file suffix", "/secret.txt/.css", false},
		{"dot-dot back to the secret", "/static/..%2fsecret.txt", false},
		{"static prefix with dot-dot", "/x.css/../secret.txt", false},
		{"encoded newline suffix", "/secret.txt%0ax.css", false},
		{"query that looks like a file", "/secret.txt?x.css", true},
		{"fragment that looks like a file", "/secret.txt#x.css", true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			for try := range 2 {
				w := hostileExchange(t, h.addr, "GET "+r.target+" HTTP/1.1\r\nHost: localhost\r\n\r\n"+hostileVictim)
				hostileCheckWire(t, w)
				if !r.secret {
					hostileCheckFirst(t, w, "404", "400")
				}
				for _, a := range w.answers {
					if a.body == hostileSecret && (!r.secret || strings.Contains(a.header.Get("Cache-Status"), "hit")) {
						t.Errorf("try %d: the private object was served (Cache-Status %q)", try, a.header.Get("Cache-Status"))
					}
				}
			}
			h.victim(t)
		})
	}
	// On an upstream that ignores what follows /account (as frameworks
	// do), a victim's credentials never end up in a page anyone else gets.
	for _, p := range []string{"/account/x.css", "/account;x.css", "/account/..%2fx.css"} {
		t.Run("upstream "+p, func(t *testing.T) {
			v := h.fetch(t, "app.example", p, "Cookie", "session=victim-secret", "Authorization", "Bearer victim-secret")
			if strings.Contains(v.body, "victim-secret") {
				// The victim's own page: fine, as long as nobody else gets it.
				t.Logf("the upstream saw the victim's credentials on %s", p)
			}
			w := hostileExchange(t, h.addr, "GET "+p+" HTTP/1.1\r\nHost: app.example\r\n\r\n")
			hostileCheckWire(t, w)
			if strings.Contains(w.raw, "victim-secret") {
				t.Errorf("the attacker got the victim's page: %q", w.raw)
			}
		})
	}
}

// Response splitting: CR and LF in the path or query, raw or encoded
// (also as the UTF-8 characters some servers truncate to CR LF), never
// produce a header or a response of their own.
func TestHostileResponseSplitting(t *testing.T) {
	h := startHostile(t)
	rows := []struct{ name, host, target string }{
		{"CRLF in the path", "localhost", "/x%0d%0aSet-Cookie:%20evil=1"},
		{"LF in the path", "localhost", "/x%0aX-Injected:%20evil"},
		{"CR in the path", "localhost", "/x%0dX-Injected:%20evil"},
		{"CRLF CRLF and a body in the path", "localhost", "/x%0d%0a%0d%0a%3Cscript%3Eevil%3C/script%3E"},
		{"CRLF in the query", "localhost", "/x?a=%0d%0aSet-Cookie:%20evil=1"},
		{"UTF-8 look-alikes of CRLF", "localhost", "/x%E5%98%8A%E5%98%8DSet-Cookie:%20evil=1"},
		{"CRLF in an upstream path", "app.example", "/split%0d%0aSet-Cookie:%20evil=1"},
		{"CRLF in an upstream redirect target", "app.example", "/redirect?to=/home%0d%0aSet-Cookie:%20evil=1"},
		{"LF in an upstream redirect target", "app.example", "/redirect?to=/home%0aX-Injected:%20evil"},
		{"CRLF CRLF and a body in an upstream path", "app.example", "/split%0d%0a%0d%0a%3Cscript%3Eevil%3C/script%3E"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			for range 2 { // the miss, then the cached answer
				w := hostileExchange(t, h.addr, "GET "+r.target+" HTTP/1.1\r\nHost: "+r.host+"\r\n\r\n"+hostileVictim)
				hostileCheckWire(t, w)
				if len(w.answers) != 2 || w.answers[1].String() != "200 "+hostileGenuineX {
					t.Errorf("answers %v: want the attack's and the victim's", w)
				}
			}
			h.victim(t)
		})
	}
	t.Run("raw CRLF in the request line", func(t *testing.T) {
		w := hostileExchange(t, h.addr, "GET /x\r\nX-Injected: evil HTTP/1.1\r\nHost: localhost\r\n\r\n"+hostileVictim)
		hostileCheckWire(t, w)
		hostileCheckFirst(t, w, "400")
		h.victim(t)
	})
}

// Range abuse: bounded answers (206, 416 or the whole object), never more
// bytes than twice the object, and the cached entry unharmed.
func TestHostileRanges(t *testing.T) {
	h := startHostile(t)
	const size = 4096
	object := strings.Repeat("0123456789abcdef", size/16)
	h.put("r.bin", object, origin.Headers{CacheControl: "max-age=600", ContentType: "application/octet-stream"})
	h.put("miss.bin", object, origin.Headers{CacheControl: "max-age=600"})
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return "bytes=" + strings.Join(parts, ",")
	}
	rows := []struct {
		name, path, rng string
		want            []int
	}{
		{"1000 ranges", "/r.bin", many(1000, func(i int) string { return fmt.Sprintf("%d-%d", i*2, i*2) }), []int{200, 206, 416}},
		{"1000 ranges on a miss", "/miss.bin", many(1000, func(i int) string { return fmt.Sprintf("%d-%d", i*2, i*2) }), []int{200, 206, 416}},
		{"16 ranges", "/r.bin", many(16, func(i int) string { return fmt.Sprintf("%d-%d", i*100, i*100+9) }), []int{206}},
		{"17 ranges", "/r.bin", many(17, func(i int) string { return fmt.Sprintf("%d-%d", i*100, i*100+9) }), []int{200, 206}},
		{"overlapping ranges", "/r.bin", many(100, func(int) string { return "0-4095" }), []int{200, 206}},
		{"bytes=0-0 many times", "/r.bin", many(3000, func(int) string { return "0-0" }), []int{200, 206}},
		{"suffix ranges many times", "/r.bin", many(1000, func(int) string { return "-4096" }), []int{200, 206}},
		{"huge last position", "/r.bin", "bytes=0-99999999999999999999999", []int{200, 206}},
		{"huge first position", "/r.bin", "bytes=99999999999999999999999-", []int{200, 416}},
		{"first position past the end", "/r.bin", "bytes=99999999999-", []int{416}},
		{"last position past the end", "/r.bin", "bytes=4000-99999999999", []int{206}},
		{"negative first position", "/r.bin", "bytes=-5-10", []int{200, 416}},
		{"double minus", "/r.bin", "bytes=--1", []int{200, 416}},
		{"suffix zero", "/r.bin", "bytes=-0", []int{200, 416}},
		{"suffix over the length", "/r.bin", "bytes=-999999", []int{200, 206}},
		{"reversed", "/r.bin", "bytes=10-5", []int{200, 416}},
		{"garbage", "/r.bin", "bytes=abc", []int{200, 416}},
		{"empty set", "/r.bin", "bytes=", []int{200, 416}},
		{"no unit", "/r.bin", "0-10", []int{200}},
		{"other unit", "/r.bin", "items=0-10", []int{200}},
		{"thousands of commas", "/r.bin", "bytes=" + strings.Repeat(",", 5000) + "0-1", []int{200, 206}},
		{"semicolon parameters", "/r.bin", "bytes=0-1;evil=1", []int{200, 416}},
		{"whitespace everywhere", "/r.bin", "bytes = 0 - 1 , 2 - 3", []int{200, 206, 416}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				var heads []int
				if method == "HEAD" {
					heads = []int{0}
				}
				w := hostileExchange(t, h.addr, method+" "+r.path+" HTTP/1.1\r\nHost: localhost\r\nRange: "+r.rng+"\r\n\r\n"+hostileVictim, heads...)
				hostileCheckWire(t, w)
				if len(w.answers) != 2 || w.answers[1].String() != "200 "+hostileGenuineX {
					t.Errorf("%s answers %v: want the attack's and the victim's", method, w)
				}
				if len(w.answers) == 0 {
					continue
				}
				a := w.answers[0]
				if !slices.Contains(r.want, a.status) {
					t.Errorf("%s: status %d, want one of %v", method, a.status, r.want)
				}
				if len(a.body) > 2*size {
					t.Errorf("%s: %d bytes for a %d-byte object", method, len(a.body), size)
				}
				if n, err := strconv.Atoi(a.header.Get("Content-Length")); err == nil && n > 2*size {
					t.Errorf("%s: Content-Length %d for a %d-byte object", method, n, size)
				}
				if method == "HEAD" {
					if a.body != "" {
						t.Errorf("HEAD answered with a body")
					}
					continue
				}
				switch a.status {
				case 200:
					if a.body != object {
						t.Errorf("200 with %d bytes, want the whole object", len(a.body))
					}
				case 206:
					var first, last int
					if _, err := fmt.Sscanf(a.header.Get("Content-Range"), "bytes %d-%d/4096", &first, &last); err == nil {
						if a.body != object[first:last+1] {
							t.Errorf("206 %q carries other bytes", a.header.Get("Content-Range"))
						}
					} else if !strings.HasPrefix(a.header.Get("Content-Type"), "multipart/byteranges") {
						t.Errorf("206 with neither a Content-Range nor parts: %v", a.header)
					}
				case 416:
					if a.header.Get("Content-Range") != "bytes */4096" {
						t.Errorf("416 Content-Range %q", a.header.Get("Content-Range"))
					}
				}
			}
			r2 := h.fetch(t, "localhost", r.path)
			if r2.status != 200 || r2.body != object || !strings.HasPrefix(r2.h("Cache-Status"), "edge; hit") {
				t.Errorf("victim of %s: %d, %d bytes, Cache-Status %q", r.path, r2.status, len(r2.body), r2.h("Cache-Status"))
			}
			h.victim(t)
		})
	}
}

// Header floods: bounded answers (431 over the limit), never a crash.
func TestHostileHeaderFloods(t *testing.T) {
	h := startHostile(t)
	genuine := "200 " + hostileGenuineX
	repeat := func(line string, n int) string { return strings.Repeat(line, n) }
	rows := []struct {
		name, headers string
		want          []string
	}{
		{"20 KiB header", "X-Big: " + strings.Repeat("a", 20<<10) + "\r\n", []string{"431"}},
		{"256 KiB header", "X-Big: " + strings.Repeat("a", 256<<10) + "\r\n", []string{"431"}},
		{"1000 small headers", repeat("X-H: v\r\n", 1000), []string{genuine, "431"}},
		{"3000 small headers", repeat("X-H: v\r\n", 3000), []string{"431"}},
		{"1000 distinct headers", func() string {
			var b strings.Builder
			for i := range 1000 {
				fmt.Fprintf(&b, "X-H%d: v\r\n", i)
			}
			return b.String()
		}(), []string{genuine, "431"}},
		{"500 Cookie headers", repeat("Cookie: a=b\r\n", 500), []string{genuine, "431"}},
		{"500 Range headers", repeat("Range: bytes=0-0\r\n", 500), []string{genuine, "206 G", "400", "431"}},
		{"12 KiB header name", strings.Repeat("N", 12<<10) + ": v\r\n", []string{genuine, "400", "431"}},
		{"20 KiB header name", strings.Repeat("N", 20<<10) + ": v\r\n", []string{"431"}},
		{"header without a colon", "NoColonHere\r\n", []string{"400"}},
		{"header with an empty name", ": v\r\n", []string{"400"}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			w := hostileExchange(t, h.addr, "GET /x HTTP/1.1\r\nHost: localhost\r\n"+r.headers+"\r\n"+hostileVictim)
			hostileCheckWire(t, w)
			hostileCheckFirst(t, w, r.want...)
			h.victim(t)
		})
	}
}

// Methods: unknown, TRACE, CONNECT, OPTIONS *, lower-case: never a
// server error, never a fill of another method, never an echo.
func TestHostileMethods(t *testing.T) {
	h := startHostile(t)
	bucket := []struct{ name, request string }{
		{"unknown method", "FOO /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"TRACE with a cookie", "TRACE /x HTTP/1.1\r\nHost: localhost\r\nCookie: evil-cookie\r\n\r\n"},
		{"TRACK", "TRACK /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"CONNECT to another host", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n"},
		{"CONNECT to the site", "CONNECT localhost:80 HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"OPTIONS on an object", "OPTIONS /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"lower-case get", "get /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"mixed-case Get", "Get /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"lower-case head", "head /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"PROPFIND", "PROPFIND /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"},
		{"DELETE an object", "DELETE /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"PUT an object", "PUT /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nEVIL"},
		{"POST to an object", "POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nEVIL"},
		{"PATCH an object", "PATCH /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nEVIL"},
		{"PURGE", "PURGE /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"1000-byte method", strings.Repeat("M", 1000) + " /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"NUL in the method", "GE\x00T /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
		{"no method", " /x HTTP/1.1\r\nHost: localhost\r\n\r\n"},
	}
	for _, r := range bucket {
		t.Run(r.name, func(t *testing.T) {
			reads := h.store.allReads()
			w := hostileExchange(t, h.addr, r.request+hostileVictim)
			hostileCheckWire(t, w)
			hostileCheckFirst(t, w, "400", "405", "501")
			if len(w.answers) > 0 && w.answers[0].status == 501 {
				t.Errorf("501: a server error for a client's method")
			}
			if strings.Contains(w.raw, "evil-cookie") {
				t.Errorf("the request was echoed: %q", w.raw)
			}
			if n := h.store.allReads() - reads; n != 0 {
				t.Errorf("%d origin reads for a %q request", n, strings.Fields(r.request + " x")[0])
			}
			obj, err := h.engine.GetObject(ctx, "public", "x", origin.GetOptions{})
			if err != nil {
				t.Fatalf("the object is gone: %v", err)
			}
			b, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			if string(b) != hostileGenuineX {
				t.Errorf("the object now holds %q", b)
			}
			h.victim(t)
		})
	}
	// On an upstream site other methods pass through as they are: never
	// as a GET, never stored for the GETs that follow.
	upstream := []string{"FOO", "get", "Get", "TRACE", "PROPFIND", "DELETE", "PUT", "POST", "PATCH", "OPTIONS"}
	for i, m := range upstream {
		t.Run("upstream "+m, func(t *testing.T) {
			path := "/m/" + strconv.Itoa(i)
			w := hostileExchange(t, h.addr, m+" "+path+" HTTP/1.1\r\nHost: app.example\r\nContent-Length: 4\r\n\r\nEVIL"+hostileVictim)
			hostileCheckWire(t, w)
			if len(w.answers) != 2 || w.answers[1].String() != "200 "+hostileGenuineX {
				t.Errorf("answers %v: want the attack's and the victim's", w)
			}
			for _, s := range h.app.requestsFor(path) {
				if s.method != m {
					t.Errorf("%s reached the upstream as %s", m, s.method)
				}
			}
			for i := range 2 {
				r := h.fetch(t, "app.example", path)
				if r.status != 200 || r.body != "app GET "+path {
					t.Errorf("victim GET after %s: %d %q", m, r.status, r.body)
				}
				if cs := r.h("Cache-Status"); (i == 0) == strings.HasPrefix(cs, "edge; hit") {
					t.Errorf("victim %d: Cache-Status %q: the attack's answer was stored, or the victim's was not", i, cs)
				}
			}
			h.victim(t)
		})
	}
}

// Slowloris: a connection that sends its request a byte at a time is cut
// by the read timeout, and other clients are served meanwhile.
func TestHostileSlowloris(t *testing.T) {
	h := startHostile(t)
	addr := serveOn(t, edge.NewServer(h.edge, edge.ServerConfig{ReadTimeout: 300 * time.Millisecond})) // stops before the edge closes

	rows := []struct{ name, prefix, trickle string }{
		{"headers a byte at a time", "", "GET /x HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + strings.Repeat("s", 200)},
		{"request line a byte at a time", "", "GET /" + strings.Repeat("x", 200)},
		{"body a byte at a time", "POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n", strings.Repeat("b", 1000)},
		{"headers sent, never finished", "GET /x HTTP/1.1\r\nHost: localhost\r\n", strings.Repeat("X-A: b\r\n", 100)},
	}
	const conns = 8
	type cut struct {
		after time.Duration
		got   string
	}
	results := make(chan cut, len(rows)*conns)
	for _, r := range rows {
		for range conns {
			go func() {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					results <- cut{got: err.Error()}
					return
				}
				defer c.Close()
				start := time.Now()
				c.SetDeadline(start.Add(5 * time.Second))
				io.WriteString(c, r.prefix)
				readDone := make(chan string, 1)
				go func() { b, _ := io.ReadAll(c); readDone <- string(b) }()
				tick := time.NewTicker(25 * time.Millisecond) // the attacker's pace, not an ordering device
				defer tick.Stop()
				for i := 0; ; i++ {
					select {
					case got := <-readDone:
						results <- cut{after: time.Since(start), got: got}
						return
					case <-tick.C:
						if i < len(r.trickle) {
							c.Write([]byte{r.trickle[i]})
						}
					}
				}
			}()
		}
	}
	// Other clients are served while the slow connections hang on.
	for range 5 {
		r, err := hostileGet(addr, "/x")
		if err != nil || r != hostileGenuineX {
			t.Errorf("a normal request during the slowloris: %q, %v", r, err)
		}
	}
	for range len(rows) * conns {
		c := <-results
		if c.after > 3*time.Second {
			t.Errorf("a slow connection lasted %v with a 300 ms read timeout", c.after)
		}
		if c.got != "" && !strings.HasPrefix(c.got, "HTTP/1.1 408") && !strings.HasPrefix(c.got, "HTTP/1.1 400") {
			t.Errorf("a slow connection was answered %.60q", c.got)
		}
	}
	if r, err := hostileGet(addr, "/x"); err != nil || r != hostileGenuineX {
		t.Errorf("after the slowloris: %q, %v", r, err)
	}
	h.victim(t)
}

// hostileGet is a plain GET /x on its own connection.
func hostileGet(addr, path string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
