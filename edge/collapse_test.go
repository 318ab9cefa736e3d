package edge_test

import (
	"cmp"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/policy"
)

// heldOrigin answers with handler, holding the first request (the fill's
// leader) until release is closed, so a test can line up waiters behind it.
type heldOrigin struct {
	*httptest.Server
	requests atomic.Int64
	entered  chan struct{}
	release  chan struct{}
}

func startHeldOrigin(t *testing.T, handler http.HandlerFunc) *heldOrigin {
	o := &heldOrigin{entered: make(chan struct{}), release: make(chan struct{})}
	var first sync.Once
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		first.Do(func() { close(o.entered); <-o.release })
		handler(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// collapse sends the attacker's request, waits until the origin holds it,
// sends the victims' requests and waits until every one of them has joined
// a fill (the attacker's, unless the edge sends it on its own), then lets
// the origin answer. It returns the attacker's and the victims' answers.
func collapse(t *testing.T, te *testEdge, o *heldOrigin, path string, attacker []string, victims int, victim []string) (response, []response) {
	t.Helper()
	first := make(chan response, 1)
	go func() { first <- te.get(path, attacker...) }()
	recv(t, o.entered, "the origin to hold the first request")
	out := make([]response, victims)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() { defer wg.Done(); out[i] = te.get(path, victim...) }()
	}
	waitFor(t, "every victim to join a fill", func() bool { return te.edge.Stats().FillRequests >= uint64(victims+1) })
	close(o.release)
	wg.Wait()
	return recv(t, first, "the first request"), out
}

func upstreamSite(t *testing.T, o *heldOrigin) *testEdge {
	return startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: o.URL}}}, nil)
}

// A page that reflects a request header, with no caching headers, is not
// storable: concurrent victims never get the attacker's page; each gets
// its own.
func TestCollapseNeverSharesAReflectedPage(t *testing.T) {
	o := startHeldOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<p>lang=" + r.Header.Get("Accept-Language") + "</p>"))
	})
	te := upstreamSite(t, o)
	evil := "<script>steal()</script>"
	att, victims := collapse(t, te, o, "/page", []string{"Accept-Language", evil}, 23, []string{"Accept-Language", "en"})
	if !strings.Contains(att.body, evil) {
		t.Fatalf("the attacker's own page: %q", att.body)
	}
	for i, v := range victims {
		if strings.Contains(v.body, "script") || v.body != "<p>lang=en</p>" {
			t.Fatalf("victim %d got %q (%s)", i, v.body, v.h("Cache-Status"))
		}
	}
	if r := te.get("/page", "Accept-Language", "fr"); r.body != "<p>lang=fr</p>" {
		t.Fatalf("after the attack: %q", r.body)
	}
}

// An error the attacker's request provokes, uncacheable, reaches only the
// attacker; a cacheable error (a 404 with a lifetime) is shared.
func TestCollapseNeverSharesAnUncacheableError(t *testing.T) {
	o := startHeldOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Language") == "zz" {
			http.Error(w, "bad language", http.StatusBadRequest)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte("page"))
	})
	te := upstreamSite(t, o)
	att, victims := collapse(t, te, o, "/p", []string{"Accept-Language", "zz"}, 10, []string{"Accept-Language", "en"})
	if att.status != 400 {
		t.Fatalf("attacker: %d", att.status)
	}
	for i, v := range victims {
		if v.status != 200 || v.body != "page" {
			t.Fatalf("victim %d: %d %q (%s)", i, v.status, v.body, v.h("Cache-Status"))
		}
	}

	gone := startHeldOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		http.Error(w, "no such page", http.StatusNotFound)
	})
	te2 := upstreamSite(t, gone)
	_, victims = collapse(t, te2, gone, "/missing", nil, 20, nil)
	for i, v := range victims {
		if v.status != 404 || !strings.HasSuffix(v.h("Cache-Status"), "collapsed") {
			t.Fatalf("waiter %d on a cacheable 404: %d %q", i, v.status, v.h("Cache-Status"))
		}
	}
	if n := gone.requests.Load(); n != 1 {
		t.Fatalf("%d origin requests for 21 requests of a cacheable 404, want 1", n)
	}
}

// Waiters that send another value of a field the response varies by get
// their own variant, collapsed among themselves: never the leader's.
func TestCollapseRespectsVary(t *testing.T) {
	o := startHeldOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("GZIPPED"))
			return
		}
		w.Write([]byte("plain"))
	})
	te := upstreamSite(t, o)
	first := make(chan response, 1)
	go func() { first <- te.get("/v", "Accept-Encoding", "gzip") }()
	recv(t, o.entered, "the origin to hold the first request")
	plain := make([]response, 10)
	gz := make([]response, 10)
	var wg sync.WaitGroup
	for i := range plain {
		wg.Add(2)
		go func() { defer wg.Done(); plain[i] = te.get("/v") }()
		go func() { defer wg.Done(); gz[i] = te.get("/v", "Accept-Encoding", "gzip") }()
	}
	waitFor(t, "every request to join a fill", func() bool { return te.edge.Stats().FillRequests >= 21 })
	close(o.release)
	wg.Wait()
	if r := recv(t, first, "the first request"); r.body != "GZIPPED" || r.h("Content-Encoding") != "gzip" {
		t.Fatalf("leader: %q %q", r.body, r.h("Content-Encoding"))
	}
	for i := range plain {
		if plain[i].body != "plain" || plain[i].h("Content-Encoding") != "" {
			t.Fatalf("client %d without Accept-Encoding got %q (Content-Encoding %q, %s)", i, plain[i].body, plain[i].h("Content-Encoding"), plain[i].h("Cache-Status"))
		}
		if gz[i].body != "GZIPPED" {
			t.Fatalf("gzip client %d got %q", i, gz[i].body)
		}
	}
	// The plain waiters collapsed among themselves: one more origin request,
	// not ten.
	if n := o.requests.Load(); n != 2 {
		t.Fatalf("%d origin requests, want 2 (one per variant)", n)
	}
	if r := te.get("/v"); r.body != "plain" || !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Fatalf("the plain variant afterwards: %q %s", r.body, r.h("Cache-Status"))
	}
	if r := te.get("/v", "Accept-Encoding", "gzip"); r.body != "GZIPPED" || !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Fatalf("the gzip variant afterwards: %q %s", r.body, r.h("Cache-Status"))
	}
}

// A response with Set-Cookie reaches the client whose request caused it,
// cookie included; by default the rest of it is stored and shared without
// the cookie, and with set_cookie: refuse it is neither stored nor shared.
// No client ever gets another client's cookie.
func TestSetCookieReachesItsClientOnly(t *testing.T) {
	for _, rule := range []policy.SetCookieRule{policy.SetCookieStrip, policy.SetCookieRefuse} {
		t.Run(string(cmp.Or(rule, "strip")), func(t *testing.T) {
			var n atomic.Int64
			o := startHeldOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Set-Cookie", "session="+string(rune('a'+n.Add(1)-1)))
				w.Write([]byte("hello"))
			})
			te := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: o.URL,
				Policy: policy.Defaults{SetCookie: rule}}}}, nil)
			att, victims := collapse(t, te, o, "/login", nil, 5, nil)
			if att.h("Set-Cookie") != "session=a" {
				t.Fatalf("the client that caused the fill lost its cookie: %q", att.h("Set-Cookie"))
			}
			seen := map[string]bool{"session=a": true}
			for i, v := range victims {
				c := v.h("Set-Cookie")
				if (c != "" && seen[c]) || (rule == policy.SetCookieRefuse && c == "") || (rule == policy.SetCookieStrip && c != "") {
					t.Fatalf("client %d got cookie %q: another client's, or none where its own was due", i, c)
				}
				seen[c] = true
			}
			r := te.get("/login")
			if hit := strings.HasPrefix(r.h("Cache-Status"), "edge; hit"); hit != (rule == policy.SetCookieStrip) || r.h("Set-Cookie") == "session=a" {
				t.Fatalf("afterwards: %s, Set-Cookie %q", r.h("Cache-Status"), r.h("Set-Cookie"))
			}
		})
	}
}
