package purge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/purge"
)

// The purge API is tested over real HTTP, with real parts around it: an
// in-process bus, this edge's Publisher and Subscriber running, and other
// edges (each a Publisher and Subscriber of its own on the same bus) that
// heartbeat, apply and acknowledge exactly like real ones. Only the caches
// are fakes, which record what they are told.

const (
	hostA = "a.example.com"
	hostB = "b.example.com"
	hostC = "c.example.com"

	tokAll   = "unscoped-token-0123456789abcdef"
	tokAOnly = "a-only-token-0123456789abcdef"
	tokOther = "another-unscoped-token-abcdef0123"
)

// serves is the edge's sites' hosts.
func serves(h string) bool { return h == hostA || h == hostB || h == hostC }

// recTarget is a cache that records what the subscriber and the API tell it.
type recTarget struct {
	mu       sync.Mutex
	applied  []purge.Message
	flushes  int
	degraded bool
}

func (t *recTarget) Apply(m *purge.Message) {
	c := *m
	c.Items = slices.Clone(m.Items)
	c.Scope = slices.Clone(m.Scope)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.applied = append(t.applied, c)
}

func (t *recTarget) Flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flushes++
}

func (t *recTarget) SetDegraded(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.degraded = on
}

func (t *recTarget) Applied() []purge.Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.applied)
}

func (t *recTarget) Flushes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.flushes
}

// node is one edge's purge machinery: what cmd/edge runs.
type node struct {
	pub       *purge.Publisher
	sub       *purge.Subscriber
	target    *recTarget
	stopSub   func() // stops the subscriber: the edge no longer applies nor acks
	stopBeats func() // stops the heartbeats: the edge falls silent
}

func startNode(t *testing.T, bus purge.Bus, beats bool, now func() time.Time) *node {
	n := &node{target: &recTarget{}, pub: purge.NewPublisher(bus, nil), stopBeats: func() {}}
	n.sub = purge.NewSubscriber(purge.SubscriberConfig{Bus: bus, Target: n.target, Self: n.pub, Now: now})
	n.stopSub = goUntilStopped(t, func(ctx context.Context) { n.sub.Run(ctx) })
	if beats {
		n.stopBeats = goUntilStopped(t, func(ctx context.Context) { n.pub.Heartbeats(ctx, 20*time.Millisecond) })
	}
	return n
}

// goUntilStopped runs f until stop (or the end of the test) cancels its
// context; stop returns once f has.
func goUntilStopped(t *testing.T, f func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// env is an edge serving the purge API, and others on the same bus.
type env struct {
	bus    *purge.Local
	self   *node
	others []*node
	url    string // of POST /v1/purge
	base   string
}

type envOptions struct {
	others int           // other edges on the bus
	tokens []purge.Token // default: tokAll, tokAOnly (host A), tokOther
	rate   float64       // default: no practical limit
	burst  int
	// selfBus wraps the bus for this edge's publisher and subscriber.
	selfBus func(*purge.Local) purge.Bus
	// quietSelf: this edge sends no heartbeats, so it never hears itself.
	quietSelf bool
	// selfNow is this edge's subscriber's clock (default time.Now).
	selfNow func() time.Time
	// wrap wraps the API's handler.
	wrap func(http.Handler) http.Handler
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	bus := purge.NewLocal()
	t.Cleanup(func() { bus.Close() }) // runs last: after the nodes stopped
	var selfBus purge.Bus = bus
	if o.selfBus != nil {
		selfBus = o.selfBus(bus)
	}
	e := &env{bus: bus, self: startNode(t, selfBus, !o.quietSelf, o.selfNow)}
	for range o.others {
		e.others = append(e.others, startNode(t, bus, true, nil))
	}
	if o.tokens == nil {
		o.tokens = []purge.Token{{Token: tokAll}, {Token: tokAOnly, Hosts: []string{hostA}}, {Token: tokOther}}
	}
	if o.rate == 0 {
		o.rate, o.burst = 1e6, 1e6
	}
	api, err := purge.NewAPI(purge.APIConfig{
		Tokens: o.tokens, Serves: serves, Target: e.self.target, Publisher: e.self.pub, Subscriber: e.self.sub,
		Rate: o.rate, Burst: o.burst,
	})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = api
	if o.wrap != nil {
		h = o.wrap(api)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.base, e.url = srv.URL, srv.URL+"/v1/purge"

	// Every edge subscribed (else it would miss what is published), and
	// this one hears all of them (else ?wait=1 would not wait for them).
	all := idsOf(e.others...)
	if !o.quietSelf {
		all = e.ids()
	}
	waitFor(t, "every edge subscribed and heard", func() bool {
		for _, n := range e.nodes() {
			if ok, _ := n.sub.Health(); !ok {
				return false
			}
		}
		live := e.self.sub.LiveEdges()
		for _, id := range all {
			if !slices.Contains(live, id) {
				return false
			}
		}
		return true
	})
	return e
}

func (e *env) nodes() []*node { return append([]*node{e.self}, e.others...) }

// ids are all the edges' publisher ids, sorted as the API lists them.
func (e *env) ids() []string { return idsOf(e.nodes()...) }

// idsOf are these edges' publisher ids, sorted.
func idsOf(nodes ...*node) []string {
	out := []string{}
	for _, n := range nodes {
		out = append(out, n.pub.ID())
	}
	slices.Sort(out)
	return out
}

// reply is an HTTP answer, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request; auth is the whole Authorization header (none if
// empty), contentType none if empty.
func do(t *testing.T, method, url, auth, contentType string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, data}
}

// post calls POST /v1/purge<query> with token and a JSON body.
func (e *env) post(t *testing.T, token, query, body string) reply {
	t.Helper()
	return do(t, http.MethodPost, e.url+query, "Bearer "+token, "application/json", strings.NewReader(body))
}

// ok decodes an accepted purge's answer, failing unless the status is want.
func (r reply) ok(t *testing.T, want int) purge.Response {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	var resp purge.Response
	if err := dec.Decode(&resp); err != nil {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	return resp
}

// refused checks a refusal: its status, and a JSON {"error": ...} that
// contains each of wants; it returns the message.
func (r reply) refused(t *testing.T, status int, wants ...string) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	var body struct {
		Error string `json:"error"`
	}
	if err := dec.Decode(&body); err != nil || body.Error == "" {
		t.Fatalf("refusal %s is not {\"error\": message}: %v", r.body, err)
	}
	for _, w := range wants {
		if !strings.Contains(body.Error, w) {
			t.Errorf("error %q does not say %q", body.Error, w)
		}
	}
	return body.Error
}

// nothingDone checks that no refused call purged or published anything.
func (e *env) nothingDone(t *testing.T) {
	t.Helper()
	if got := e.self.target.Applied(); len(got) > 0 {
		t.Errorf("the local cache was purged %d times, first by %d items", len(got), len(got[0].Items))
	}
	if seq := e.self.pub.Seq(); seq != 0 {
		t.Errorf("%d purges were published", seq)
	}
}

func TestAPIAuthentication(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := `{"tags":["t"]}`
	for _, c := range []struct{ name, auth, want string }{
		{"no header", "", "Authorization: Bearer"},
		{"basic scheme", "Basic dXNlcjpwYXNzd29yZA==", "Authorization: Bearer"},
		{"token scheme", "Token " + tokAll, "Authorization: Bearer"},
		{"token without scheme", tokAll, "Authorization: Bearer"},
		{"empty bearer", "Bearer ", "Authorization: Bearer"},
		{"bare bearer", "Bearer", "Authorization: Bearer"},
		{"unknown token", "Bearer not-a-configured-token-at-all", "unknown purge token"},
		{"token prefix", "Bearer " + tokAll[:20], "unknown purge token"},
		{"token and more", "Bearer " + tokAll + "x", "unknown purge token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, http.MethodPost, e.url, c.auth, "application/json", strings.NewReader(body))
			msg := r.refused(t, http.StatusUnauthorized, c.want)
			if !strings.Contains(msg, "token") {
				t.Errorf("error %q does not say what to send", msg)
			}
			// RFC 9110 §15.5.2: a 401 names the scheme to use.
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want the Bearer scheme", got)
			}
		})
	}
	e.nothingDone(t)

	// Any configured token is recognised, not only the first; the scheme
	// is case-insensitive (RFC 9110 §11.1).
	e.post(t, tokOther, "", body).ok(t, http.StatusOK)
	e.post(t, tokAOnly, "", body).ok(t, http.StatusOK)
	do(t, http.MethodPost, e.url, "bearer "+tokAll, "application/json", strings.NewReader(body)).ok(t, http.StatusOK)
	if n := len(e.self.target.Applied()); n != 3 {
		t.Errorf("%d purges applied, want 3", n)
	}
}

func TestNewAPIRefusesBadConfig(t *testing.T) {
	bus := purge.NewLocal()
	defer bus.Close()
	target := &recTarget{}
	pub := purge.NewPublisher(bus, nil)
	sub := purge.NewSubscriber(purge.SubscriberConfig{Bus: bus, Target: target, Self: pub})
	config := func(tokens ...purge.Token) purge.APIConfig {
		return purge.APIConfig{Tokens: tokens, Serves: serves, Target: target, Publisher: pub, Subscriber: sub}
	}
	for _, c := range []struct {
		name string
		cfg  purge.APIConfig
		want string // in the error; "" for none
	}{
		{"no token", config(), "token"},
		{"short token", config(purge.Token{Token: tokAll}, purge.Token{Token: "fifteen-chars-x"}), "token 2 is shorter than 16"},
		{"16 characters", config(purge.Token{Token: "sixteen-chars-xx"}), ""},
		{"unserved host", config(purge.Token{Token: tokAll, Hosts: []string{hostA, "other.example.org"}}), `"other.example.org", which no site serves`},
		{"host in capitals", config(purge.Token{Token: tokAll, Hosts: []string{"A.Example.com"}}), ""},
		{"no target", purge.APIConfig{Tokens: []purge.Token{{Token: tokAll}}, Serves: serves, Publisher: pub, Subscriber: sub}, "target"},
		{"no served hosts", purge.APIConfig{Tokens: []purge.Token{{Token: tokAll}}, Target: target, Publisher: pub, Subscriber: sub}, "served hosts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			api, err := purge.NewAPI(c.cfg)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want == "" && api == nil:
				t.Fatal("no API")
			case c.want != "" && err == nil:
				t.Fatal("accepted")
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestAPIScope(t *testing.T) {
	e := newEnv(t, envOptions{others: 1})
	other := e.others[0]
	for _, c := range []struct{ name, body string }{
		{"file", `{"files":["https://b.example.com/img/a.png"]}`},
		{"prefix", `{"prefixes":["b.example.com/img/"]}`},
		{"host", `{"hosts":["b.example.com"]}`},
		{"host in capitals", `{"hosts":["B.Example.com"]}`},
		{"allowed file then another host's", `{"files":["https://a.example.com/x","https://b.example.com/x"]}`},
		{"allowed host, tags, then another host's", `{"hosts":["a.example.com","b.example.com"],"tags":["t"]}`},
		{"another host's prefix with everything", `{"prefixes":["b.example.com/"],"purge_everything":true}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.post(t, tokAOnly, "", c.body).refused(t, http.StatusForbidden, hostB, "may not purge")
		})
	}
	// Refused whole: nothing purged here, nothing sent to the others.
	e.nothingDone(t)

	want := []struct {
		token, body string
		items       []purge.Item
		scope       []string
	}{
		// A scoped token's tags and purge_everything reach only its hosts.
		{tokAOnly, `{"tags":["t1"]}`, []purge.Item{{Kind: purge.KindTag, Key: "t1"}}, []string{hostA}},
		{tokAOnly, `{"purge_everything":true}`, []purge.Item{{Kind: purge.KindEverything}}, []string{hostA}},
		{tokAOnly, `{"files":["https://a.example.com/x"]}`, []purge.Item{{Kind: purge.KindURL, Host: hostA, Key: "/x"}}, []string{hostA}},
		// An unscoped token's reach everything.
		{tokAll, `{"tags":["t1"]}`, []purge.Item{{Kind: purge.KindTag, Key: "t1"}}, nil},
		{tokAll, `{"purge_everything":true}`, []purge.Item{{Kind: purge.KindEverything}}, nil},
	}
	for _, w := range want {
		e.post(t, w.token, "", w.body).ok(t, http.StatusOK)
	}
	check := func(where string, got []purge.Message) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d purges applied, want %d: %+v", where, len(got), len(want), got)
		}
		for i, w := range want {
			if m := got[i]; m.Seq != uint64(i+1) || !slices.Equal(m.Items, w.items) || !slices.Equal(m.Scope, w.scope) {
				t.Errorf("%s: purge %d is seq %d %+v scope %q, want seq %d %+v scope %q", where, i, m.Seq, m.Items, m.Scope, i+1, w.items, w.scope)
			}
		}
	}
	check("this edge", e.self.target.Applied())
	// The other edge gets the same, scope included, and nothing else: the
	// refused calls were never published.
	waitFor(t, "the other edge to apply the purges", func() bool { return len(other.target.Applied()) >= len(want) })
	check("the other edge", other.target.Applied())
}

func TestAPIValidation(t *testing.T) {
	e := newEnv(t, envOptions{})
	items := func(n int) string {
		tags := make([]string, n)
		for i := range tags {
			tags[i] = fmt.Sprintf("tag-%d", i)
		}
		b, _ := json.Marshal(map[string][]string{"tags": tags})
		return string(b)
	}
	for _, c := range []struct {
		name   string
		method string // default POST
		path   string // default /v1/purge
		query  string
		ctype  string // default application/json; "-" for none
		body   string
		status int
		want   []string
	}{
		{name: "bad JSON", body: `{"files": [`, status: 400, want: []string{"not the purge JSON"}},
		{name: "not an object", body: `["https://a.example.com/x"]`, status: 400, want: []string{"not the purge JSON"}},
		{name: "wrong type", body: `{"files":"https://a.example.com/x"}`, status: 400, want: []string{"not the purge JSON"}},
		{name: "unknown field", body: `{"file":["https://a.example.com/x"]}`, status: 400, want: []string{`unknown field "file"`, "files, prefixes"}},
		{name: "trailing object", body: `{"tags":["x"]} {"tags":["y"]}`, status: 400, want: []string{"after the JSON object"}},
		{name: "trailing garbage", body: `{"tags":["x"]}]`, status: 400, want: []string{"after the JSON object"}},
		{name: "empty body", body: ``, status: 400, want: []string{"not the purge JSON"}},
		{name: "empty request", body: `{}`, status: 400, want: []string{"nothing to purge"}},
		{name: "empty lists", body: `{"files":[],"tags":[],"purge_everything":false,"soft":true}`, status: 400, want: []string{"nothing to purge"}},
		{name: "1001 items", body: items(1001), status: 400, want: []string{"1001 items", "at most 1000"}},
		{name: "1000 items and everything", body: strings.Replace(items(1000), "{", `{"purge_everything":true,`, 1), status: 400, want: []string{"1001 items"}},
		{name: "file path only", body: `{"files":["/img/a.png"]}`, status: 400, want: []string{`"/img/a.png"`, "absolute http"}},
		{name: "file without scheme", body: `{"files":["a.example.com/img/a.png"]}`, status: 400, want: []string{"absolute http"}},
		{name: "file scheme-relative", body: `{"files":["//a.example.com/img/a.png"]}`, status: 400, want: []string{"absolute http"}},
		{name: "file ftp", body: `{"files":["ftp://a.example.com/a.png"]}`, status: 400, want: []string{"ftp://", "absolute http"}},
		{name: "file with user", body: `{"files":["https://user:pw@a.example.com/a.png"]}`, status: 400, want: []string{"absolute http"}},
		{name: "file without host", body: `{"files":["https:///a.png"]}`, status: 400, want: []string{"absolute http"}},
		{name: "file unparsable", body: `{"files":["https://a.example.com/%zz"]}`, status: 400, want: []string{"absolute http"}},
		{name: "file of unserved host", body: `{"files":["https://d.example.com/a.png"]}`, status: 400, want: []string{`"d.example.com" is not served`}},
		{name: "prefix with scheme", body: `{"prefixes":["https://a.example.com/img/"]}`, status: 400, want: []string{"without scheme"}},
		{name: "prefix without path", body: `{"prefixes":["a.example.com"]}`, status: 400, want: []string{`"a.example.com"`, "path prefix"}},
		{name: "prefix without host", body: `{"prefixes":["/img/"]}`, status: 400, want: []string{"host"}},
		{name: "prefix with query", body: `{"prefixes":["a.example.com/img?x=1"]}`, status: 400, want: []string{"path prefix"}},
		{name: "prefix with a bad escape", body: `{"prefixes":["a.example.com/100%"]}`, status: 400, want: []string{`"a.example.com/100%"`, "escape"}},
		{name: "prefix of unserved host", body: `{"prefixes":["d.example.com/img/"]}`, status: 400, want: []string{"not served"}},
		{name: "host with path", body: `{"hosts":["a.example.com/img"]}`, status: 400, want: []string{"bare host name"}},
		{name: "host URL", body: `{"hosts":["https://a.example.com"]}`, status: 400, want: []string{"bare host name"}},
		{name: "host empty", body: `{"hosts":[""]}`, status: 400, want: []string{"bare host name"}},
		{name: "host unserved", body: `{"hosts":["d.example.com"]}`, status: 400, want: []string{`"d.example.com" is not served`}},
		{name: "tag empty", body: `{"tags":[""]}`, status: 400, want: []string{"tag", "1 to 1024 bytes"}},
		{name: "tag with newline", body: `{"tags":["a\nb"]}`, status: 400, want: []string{"control characters"}},
		{name: "tag with DEL", body: `{"tags":["a\u007fb"]}`, status: 400, want: []string{"control characters"}},
		{name: "tag too long", body: `{"tags":["` + strings.Repeat("t", 1025) + `"]}`, status: 400, want: []string{"1 to 1024 bytes"}},
		{name: "wait=maybe", query: "?wait=maybe", body: `{"tags":["t"]}`, status: 400, want: []string{`wait="maybe"`, "wait=1"}},
		{name: "timeout=forever", query: "?wait=1&timeout=forever", body: `{"tags":["t"]}`, status: 400, want: []string{`timeout="forever"`, "at most 1m0s"}},
		{name: "timeout=2m", query: "?wait=1&timeout=2m", body: `{"tags":["t"]}`, status: 400, want: []string{`timeout="2m"`}},
		{name: "timeout=0s", query: "?wait=1&timeout=0s", body: `{"tags":["t"]}`, status: 400, want: []string{`timeout="0s"`}},
		{name: "timeout=-1s", query: "?wait=1&timeout=-1s", body: `{"tags":["t"]}`, status: 400, want: []string{`timeout="-1s"`}},
		{name: "body over 1 MiB", body: `{"tags":["` + strings.Repeat("t", 1<<20) + `"]}`, status: 413, want: []string{"over 1048576 bytes"}},
		// Every byte of these tags is 6 in the bus message (JSON escapes
		// &): under 1 MiB here, over the bus's 4 MiB limit there.
		{name: "message over the bus limit", body: strings.ReplaceAll(items(1000), "tag-", strings.Repeat("&", 1000)), status: 413, want: []string{"too large"}},
		{name: "text/plain", ctype: "text/plain", body: `{"tags":["t"]}`, status: 415, want: []string{"application/json"}},
		{name: "form", ctype: "application/x-www-form-urlencoded", body: `{"tags":["t"]}`, status: 415, want: []string{"application/json"}},
		{name: "json lookalike", ctype: "application/jsonp", body: `{"tags":["t"]}`, status: 415, want: []string{"application/json"}},
		{name: "GET", method: http.MethodGet, ctype: "-", status: 405, want: []string{"POST /v1/purge"}},
		{name: "PUT", method: http.MethodPut, body: `{"tags":["t"]}`, status: 405, want: []string{"POST /v1/purge"}},
		{name: "other path", path: "/v1/purge/all", body: `{"tags":["t"]}`, status: 404, want: []string{"POST /v1/purge"}},
		{name: "root", path: "/", body: `{"tags":["t"]}`, status: 404, want: []string{"POST /v1/purge"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			method, path, ctype := c.method, c.path, c.ctype
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/v1/purge"
			}
			switch ctype {
			case "":
				ctype = "application/json"
			case "-":
				ctype = ""
			}
			r := do(t, method, e.base+path+c.query, "Bearer "+tokAll, ctype, strings.NewReader(c.body))
			r.refused(t, c.status, c.want...)
			if c.status == http.StatusMethodNotAllowed && r.header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q, want POST", r.header.Get("Allow"))
			}
		})
	}
	e.nothingDone(t)

	// What is valid goes through.
	for _, c := range []struct{ name, ctype, body string }{
		{"JSON with charset", "application/json; charset=utf-8", `{"tags":["t"]}`},
		{"media type in capitals", "Application/JSON", `{"tags":["t"]}`},
		{"no Content-Type", "", `{"tags":["t"]}`},
		{"trailing white space", "application/json", "{\"tags\":[\"t\"]}\r\n\t "},
		{"1000 items", "application/json", items(1000)},
		{"999 items and everything", "application/json", strings.Replace(items(999), "{", `{"purge_everything":true,`, 1)},
		{"longest tags", "application/json", strings.ReplaceAll(items(1000), "tag-", strings.Repeat("t", 1016))},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, http.MethodPost, e.url, "Bearer "+tokAll, c.ctype, strings.NewReader(c.body))
			r.ok(t, http.StatusOK)
		})
	}
}

func TestAPIMapping(t *testing.T) {
	e := newEnv(t, envOptions{others: 1})
	body := `{
		"files": [
			"https://A.Example.COM:8443/img/a%20b.png?v=2#top",
			"http://b.example.com",
			"https://c.example.com/caf%C3%A9/x.png",
			"https://c.example.com/café/y.png"
		],
		"prefixes": ["b.example.com/img/", "C.EXAMPLE.COM:443/", "c.example.com/café/", "c.example.com/caf%C3%A9/"],
		"hosts": ["A.example.com", "b.example.com:8080"],
		"tags": ["product-42", "Mixed-Case"],
		"purge_everything": true,
		"soft": true
	}`
	want := []purge.Item{
		{Kind: purge.KindURL, Host: hostA, Key: "/img/a%20b.png"},
		{Kind: purge.KindURL, Host: hostB, Key: "/"},
		{Kind: purge.KindURL, Host: hostC, Key: "/caf%C3%A9/x.png"},
		{Kind: purge.KindURL, Host: hostC, Key: "/caf%C3%A9/y.png"},
		{Kind: purge.KindPrefix, Host: hostB, Key: "/img/"},
		{Kind: purge.KindPrefix, Host: hostC, Key: "/"},
		// A prefix names paths as the files do: escaped, however written.
		{Kind: purge.KindPrefix, Host: hostC, Key: "/caf%C3%A9/"},
		{Kind: purge.KindPrefix, Host: hostC, Key: "/caf%C3%A9/"},
		{Kind: purge.KindHost, Host: hostA},
		{Kind: purge.KindHost, Host: hostB},
		{Kind: purge.KindTag, Key: "product-42"},
		{Kind: purge.KindTag, Key: "Mixed-Case"},
		{Kind: purge.KindEverything},
	}
	resp := e.post(t, tokAll, "", body).ok(t, http.StatusOK)
	if resp.Items != len(want) || !resp.Soft {
		t.Errorf("answer %+v, want %d items, soft", resp, len(want))
	}
	// Applied here before the answer was written: read at once, no waiting,
	// as the very next request to this edge would.
	got := e.self.target.Applied()
	if len(got) != 1 {
		t.Fatalf("%d purges applied before the answer, want 1", len(got))
	}
	m := got[0]
	if !slices.Equal(m.Items, want) {
		t.Errorf("items\n%+v, want\n%+v", m.Items, want)
	}
	if m.Type != purge.TypePurge || m.Role != purge.RoleEdge || m.Publisher != e.self.pub.ID() || m.Seq != 1 || !m.Soft || m.Scope != nil {
		t.Errorf("message %+v", m)
	}

	// The same message reaches the other edges.
	other := e.others[0].target
	waitFor(t, "the other edge to apply it", func() bool { return len(other.Applied()) == 1 })
	if om := other.Applied()[0]; !slices.Equal(om.Items, want) || !om.Soft || om.Seq != 1 {
		t.Errorf("the other edge applied %+v", om)
	}

	// soft is carried as given, false by default.
	e.post(t, tokAll, "", `{"files":["https://a.example.com/x"],"soft":false}`).ok(t, http.StatusOK)
	e.post(t, tokAll, "", `{"files":["https://a.example.com/x"]}`).ok(t, http.StatusOK)
	for _, m := range e.self.target.Applied()[1:] {
		if m.Soft {
			t.Errorf("purge %d is soft", m.Seq)
		}
	}
}

func TestAPIResponse(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.self.pub.ID()
	for i, c := range []struct {
		body  string
		items int
		soft  bool
	}{
		{`{"tags":["a","b"],"soft":true}`, 2, true},
		{`{"files":["https://a.example.com/x"],"hosts":["b.example.com"],"purge_everything":true}`, 3, false},
	} {
		r := e.post(t, tokAll, "", c.body)
		resp := r.ok(t, http.StatusOK)
		seq := uint64(i + 1)
		want := purge.Response{ID: fmt.Sprintf("%s:%d", id, seq), Seq: seq, Items: c.items, Soft: c.soft, AppliedBy: []string{}, Lagging: []string{}}
		if !equalResponse(resp, want) {
			t.Errorf("answer %+v, want %+v", resp, want)
		}
		// Lists are [] rather than null, for clients that iterate them.
		if !bytes.Contains(r.body, []byte(`"applied_by":[]`)) || !bytes.Contains(r.body, []byte(`"lagging":[]`)) {
			t.Errorf("answer %s", r.body)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
	}

	// Concurrent calls get distinct numbers, and each is applied here.
	const n = 20
	seqs := make(chan uint64, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(`{"tags":["c"]}`))
			req.Header.Set("Authorization", "Bearer "+tokAll)
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer r.Body.Close()
			var resp purge.Response
			if err := json.NewDecoder(r.Body).Decode(&resp); r.StatusCode != http.StatusOK || err != nil {
				t.Errorf("status %d, %v", r.StatusCode, err)
			}
			seqs <- resp.Seq
		})
	}
	wg.Wait()
	close(seqs)
	var got []uint64
	for s := range seqs {
		got = append(got, s)
	}
	slices.Sort(got)
	for i, s := range got {
		if s != uint64(i+3) {
			t.Fatalf("numbers %v, want 3…%d", got, n+2)
		}
	}
	if a := len(e.self.target.Applied()); a != n+2 {
		t.Errorf("%d purges applied, want %d", a, n+2)
	}
}

func equalResponse(a, b purge.Response) bool {
	return a.ID == b.ID && a.Seq == b.Seq && a.Items == b.Items && a.Soft == b.Soft && a.Waited == b.Waited &&
		slices.Equal(a.AppliedBy, b.AppliedBy) && slices.Equal(a.Lagging, b.Lagging)
}

func TestAPIRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{rate: 1, burst: 2})
	body := `{"tags":["t"]}`
	e.post(t, tokAll, "", body).ok(t, http.StatusOK)
	e.post(t, tokAll, "", body).ok(t, http.StatusOK)
	r := e.post(t, tokAll, "", body)
	r.refused(t, http.StatusTooManyRequests, "too many", "at most 1 a second (burst 2)")
	if ra := r.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	if seq := e.self.pub.Seq(); seq != 2 {
		t.Errorf("%d purges published, want 2", seq)
	}
	// Each token has its own budget.
	e.post(t, tokOther, "", body).ok(t, http.StatusOK)
	e.post(t, tokAOnly, "", body).ok(t, http.StatusOK)
	e.post(t, tokAOnly, "", body).ok(t, http.StatusOK)
	e.post(t, tokAOnly, "", body).refused(t, http.StatusTooManyRequests)
}

func TestAPIWait(t *testing.T) {
	t.Run("every edge applies", func(t *testing.T) {
		e := newEnv(t, envOptions{others: 2})
		resp := e.post(t, tokAll, "?wait=1", `{"tags":["t"]}`).ok(t, http.StatusOK)
		if !resp.Waited || !slices.Equal(resp.AppliedBy, e.ids()) || len(resp.Lagging) != 0 {
			t.Errorf("answer %+v, want applied by all of %q", resp, e.ids())
		}
		// Acknowledged means applied: no waiting needed.
		for i, n := range e.others {
			if got := n.target.Applied(); len(got) != 1 || got[0].Publisher != e.self.pub.ID() {
				t.Errorf("edge %d applied %+v", i+1, got)
			}
		}
		// wait=true too; the seq moves on and is waited for anew.
		resp = e.post(t, tokAll, "?wait=true&timeout=5s", `{"tags":["u"]}`).ok(t, http.StatusOK)
		if resp.Seq != 2 || !slices.Equal(resp.AppliedBy, e.ids()) {
			t.Errorf("answer %+v", resp)
		}
	})

	t.Run("an edge that does not apply lags", func(t *testing.T) {
		e := newEnv(t, envOptions{others: 2})
		good, stuck := e.others[0], e.others[1]
		// stuck is heard (its heartbeats go on) but applies nothing: the
		// edge the caller must be told about.
		stuck.stopSub()
		if !slices.Contains(e.self.sub.LiveEdges(), stuck.pub.ID()) {
			t.Fatal("the stuck edge is not live")
		}
		start := time.Now()
		resp := e.post(t, tokAll, "?wait=1&timeout=300ms", `{"tags":["t"]}`).ok(t, http.StatusAccepted)
		if took := time.Since(start); took < 300*time.Millisecond {
			t.Errorf("answered after %v, before the timeout", took)
		}
		if !resp.Waited || !slices.Equal(resp.Lagging, []string{stuck.pub.ID()}) || !slices.Equal(resp.AppliedBy, idsOf(e.self, good)) {
			t.Errorf("answer %+v, want applied by %q, lagging %q", resp, idsOf(e.self, good), stuck.pub.ID())
		}
		if len(stuck.target.Applied()) != 0 {
			t.Error("the stuck edge applied the purge")
		}
	})

	t.Run("an edge long silent is not waited for", func(t *testing.T) {
		var ahead atomic.Int64 // this edge's clock, ahead of the real one
		now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
		e := newEnv(t, envOptions{others: 2, selfNow: now})
		good, gone := e.others[0], e.others[1]
		gone.stopBeats()
		gone.stopSub()
		// Past the liveness window (seconds) though not yet forgotten (a
		// minute): the edges that still heartbeat are heard anew, the
		// stopped one is not live any more.
		ahead.Store(int64(10 * time.Second))
		waitFor(t, "the stopped edge to drop out of the live edges", func() bool {
			return slices.Equal(e.self.sub.LiveEdges(), idsOf(e.self, good))
		})
		resp := e.post(t, tokAll, "?wait=1&timeout=5s", `{"tags":["t"]}`).ok(t, http.StatusOK)
		if !slices.Equal(resp.AppliedBy, idsOf(e.self, good)) || len(resp.Lagging) != 0 {
			t.Errorf("answer %+v, want applied by %q", resp, idsOf(e.self, good))
		}
	})

	t.Run("this edge counts before its heartbeats go round", func(t *testing.T) {
		// This edge has never heard itself, but it applied the purge
		// before answering: it is among those that did.
		e := newEnv(t, envOptions{others: 1, quietSelf: true})
		if slices.Contains(e.self.sub.LiveEdges(), e.self.pub.ID()) {
			t.Fatal("this edge heard itself")
		}
		resp := e.post(t, tokAll, "?wait=1&timeout=2s", `{"tags":["t"]}`).ok(t, http.StatusOK)
		if !slices.Equal(resp.AppliedBy, e.ids()) {
			t.Errorf("answer %+v, want applied by %q", resp, e.ids())
		}
	})
}

// failingBus is a bus whose Publish fails while fail is set, like Redis
// when it is down.
type failingBus struct {
	*purge.Local
	fail atomic.Bool
}

func (b *failingBus) Publish(ctx context.Context, data []byte) error {
	if b.fail.Load() {
		return errors.New("dial tcp 10.0.0.9:6379: connect: connection refused")
	}
	return b.Local.Publish(ctx, data)
}

func TestAPIBusDown(t *testing.T) {
	fb := &failingBus{}
	e := newEnv(t, envOptions{others: 1, selfBus: func(l *purge.Local) purge.Bus { fb.Local = l; return fb }})
	other := e.others[0]
	flushes := other.target.Flushes()

	fb.fail.Store(true)
	r := e.post(t, tokAll, "?wait=1", `{"files":["https://a.example.com/x"]}`)
	id := e.self.pub.ID() + ":1"
	r.refused(t, http.StatusServiceUnavailable, "unavailable", "connection refused", id, "applied on this edge only", "Retry")
	// This edge was purged all the same.
	got := e.self.target.Applied()
	if len(got) != 1 || !slices.Equal(got[0].Items, []purge.Item{{Kind: purge.KindURL, Host: hostA, Key: "/x"}}) {
		t.Fatalf("this edge applied %+v", got)
	}

	// As the answer says: once the bus is back, the other edges hear of a
	// purge they missed and flush.
	fb.fail.Store(false)
	waitFor(t, "the other edge to flush", func() bool { return other.target.Flushes() > flushes })
	if got := other.target.Applied(); len(got) != 0 {
		t.Errorf("the other edge applied %+v", got)
	}
}

// holdingBus holds the first purge published after arm until release,
// then publishes it unless its context ended meanwhile (as go-redis does).
type holdingBus struct {
	*purge.Local
	armed            atomic.Bool
	entered, release chan struct{}
}

func (b *holdingBus) Publish(ctx context.Context, data []byte) error {
	if m, err := purge.Decode(data); err == nil && m.Type == purge.TypePurge && b.armed.CompareAndSwap(true, false) {
		close(b.entered)
		<-b.release
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return b.Local.Publish(ctx, data)
}

func TestAPIClientGoneMidPublish(t *testing.T) {
	hb := &holdingBus{entered: make(chan struct{}), release: make(chan struct{})}
	hungUp := make(chan struct{}) // the server saw the client go
	e := newEnv(t, envOptions{
		others:  1,
		selfBus: func(l *purge.Local) purge.Bus { hb.Local = l; return hb },
		wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				go func() { <-r.Context().Done(); close(hungUp) }()
				h.ServeHTTP(w, r)
			})
		},
	})
	hb.armed.Store(true)

	// The client gives up while the purge is being published.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.url, strings.NewReader(`{"tags":["t"]}`))
	req.Header.Set("Authorization", "Bearer "+tokAll)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-hb.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the call ended with %v", err)
	}
	select {
	case <-hungUp:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not see the client go")
	}
	close(hb.release)

	// The purge was numbered: it must still reach the other edges, or
	// they would all flush for a purge they missed.
	other := e.others[0].target
	waitFor(t, "the other edge to apply the purge", func() bool { return len(other.Applied()) == 1 })
	if got := e.self.target.Applied(); len(got) != 1 {
		t.Errorf("this edge applied %d purges, want 1", len(got))
	}
}

func TestLoadOrCreateToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "edge") // made as needed
	path := filepath.Join(dir, purge.TokenFile)
	token, created, err := purge.LoadOrCreateToken(dir)
	if err != nil || !created {
		t.Fatalf("created %v, err %v", created, err)
	}
	if len(token) < 32 || !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(token) {
		t.Errorf("token %q: want 32 or more characters fit for a header", token)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %v, want 0600", perm)
	}
	if data, _ := os.ReadFile(path); strings.TrimSpace(string(data)) != token {
		t.Errorf("file holds %q, want %q", data, token)
	}
	// The saved token is usable by the API.
	if _, err := purge.NewAPI(purge.APIConfig{
		Tokens: []purge.Token{{Token: token}}, Serves: serves, Target: &recTarget{},
		Publisher: purge.NewPublisher(purge.NewLocal(), nil), Subscriber: purge.NewSubscriber(purge.SubscriberConfig{Bus: purge.NewLocal(), Target: &recTarget{}}),
	}); err != nil {
		t.Errorf("NewAPI refuses the generated token: %v", err)
	}

	// Created once; then the same token, to be printed no more.
	for range 2 {
		again, created, err := purge.LoadOrCreateToken(dir)
		if err != nil || created || again != token {
			t.Fatalf("again: %q, created %v, err %v; want %q", again, created, err, token)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the data directory holds %d files, want the token's only", len(entries))
	}

	// Another data directory, another token.
	if other, _, err := purge.LoadOrCreateToken(t.TempDir()); err != nil || other == token {
		t.Errorf("another directory's token %q, err %v", other, err)
	}
}

func TestLoadOrCreateTokenDamaged(t *testing.T) {
	for _, content := range []string{"", "\n", "short\n", "  fifteen-chars-x  \n"} {
		dir := t.TempDir()
		path := filepath.Join(dir, purge.TokenFile)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		token, _, err := purge.LoadOrCreateToken(dir)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "delete it") {
			t.Errorf("file %q: token %q, err %v; want an error naming %s", content, token, err, path)
		}
		// Left as it was, for its owner to look at.
		if data, _ := os.ReadFile(path); string(data) != content {
			t.Errorf("file %q became %q", content, data)
		}
	}
}

func TestLoadOrCreateTokenNeverWorldReadable(t *testing.T) {
	// A temporary file left by a crash, with a looser mode, must not lend
	// it to the token.
	dir := t.TempDir()
	path := filepath.Join(dir, purge.TokenFile)
	if err := os.WriteFile(path+".tmp", []byte("left over\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, created, err := purge.LoadOrCreateToken(dir); err != nil || !created {
		t.Fatalf("created %v, err %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %v, want 0600", perm)
	}
}

func TestLoadOrCreateTokenUnreadable(t *testing.T) {
	// A directory where the file should be: an error, not a new token.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, purge.TokenFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if token, created, err := purge.LoadOrCreateToken(dir); err == nil {
		t.Errorf("token %q, created %v, no error", token, created)
	}
}
