package purge_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/edgecdn/edge/purge"
)

// fuzzHosts are the hosts the fuzzed edge serves.
var fuzzHosts = []string{"a.example.com", "b.example.com", "k.example.com"}

const (
	fuzzTokAll    = "fuzz-unscoped-token-0123456789abcdef"
	fuzzTokScoped = "fuzz-scoped-token-0123456789abcdef"
	fuzzScopeHost = "b.example.com"
)

// checkingTarget is a cache that keeps the messages the API applies.
type checkingTarget struct {
	mu      sync.Mutex
	applied []*purge.Message
}

func (c *checkingTarget) Apply(m *purge.Message) {
	cp := *m
	cp.Items = slices.Clone(m.Items)
	cp.Scope = slices.Clone(m.Scope)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied = append(c.applied, &cp)
}

func (c *checkingTarget) Flush()           {}
func (c *checkingTarget) SetDegraded(bool) {}

// take returns and forgets what was applied since the last call.
func (c *checkingTarget) take() []*purge.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.applied
	c.applied = nil
	return out
}

// FuzzPurgeRequest drives the purge API's handler with arbitrary bodies,
// query strings and Content-Types, from a token allowed every host or one
// scoped to a single host. The answer is always one of the API's statuses
// (never a 5xx other than 503) with a JSON body that decodes; an accepted
// purge was applied once, before the answer, as a message that encodes
// for the bus and carries exactly the items asked for, each naming only
// served hosts (only the token's, for a scoped token) and decodable
// paths; a refused one applied nothing.
func FuzzPurgeRequest(f *testing.F) {
	for _, c := range []struct {
		body, query, ctype string
		scoped             bool
	}{
		{`{"files":["https://a.example.com/img/a.png"]}`, "", "application/json", false},
		{`{"files":["https://A.Example.COM:8443/img/a%20b.png?v=2#top","http://b.example.com"],"soft":true}`, "wait=1", "application/json; charset=utf-8", false},
		{`{"prefixes":["b.example.com/img/","c.example.com/caf%C3%A9/","b.example.com/café/"]}`, "", "", true},
		{`{"hosts":["B.example.com:8080"],"tags":["product-42"]}`, "wait=1&timeout=5s", "application/json", true},
		{`{"tags":["t"],"purge_everything":true}`, "wait=true&timeout=1ms", "Application/JSON", false},
		{`{"files":["https://user:pw@a.example.com/a"]}`, "", "application/json", false},
		{`{"prefixes":["a.example.com/100%"]}`, "", "application/json", false},
		{`{"tags":["a\nb"]}`, "wait=maybe", "application/json", false},
		{`{"tags":["x"]} {"tags":["y"]}`, "", "text/plain", false},
		{`{"files":["https://a.example.com/x"]}`, "timeout=2m&wait=1", "application/json", true},
		{`{}`, "", "application/json", false},
		{``, "", "", false},
	} {
		f.Add([]byte(c.body), c.query, c.ctype, c.scoped)
	}

	bus := purge.NewLocal()
	f.Cleanup(func() { bus.Close() })
	target := &checkingTarget{}
	pub := purge.NewPublisher(bus, nil)
	sub := purge.NewSubscriber(purge.SubscriberConfig{Bus: bus, Target: target, Self: pub})
	api, err := purge.NewAPI(purge.APIConfig{
		Tokens: []purge.Token{{Token: fuzzTokAll}, {Token: fuzzTokScoped, Hosts: []string{fuzzScopeHost}}},
		Serves: func(h string) bool { return slices.Contains(fuzzHosts, h) },
		Target: target, Publisher: pub, Subscriber: sub,
		Rate: 1e9, Burst: 1e9,
	})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, body []byte, query, ctype string, scoped bool) {
		r := httptest.NewRequest(http.MethodPost, "/v1/purge", bytes.NewReader(body))
		r.URL.RawQuery = query
		tok := fuzzTokAll
		if scoped {
			tok = fuzzTokScoped
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		if ctype != "" {
			r.Header["Content-Type"] = []string{ctype}
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		applied := target.take()

		status := w.Code
		switch status {
		case 200, 202, 400, 413, 415, 429, 503:
		case 403:
			if !scoped {
				t.Fatalf("status 403 for the unscoped token: %s", w.Body)
			}
		default:
			t.Fatalf("status %d: %s", status, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("status %d with Content-Type %q", status, ct)
		}
		dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
		dec.DisallowUnknownFields()
		accepted := status == 200 || status == 202
		var resp purge.Response
		if accepted {
			if err := dec.Decode(&resp); err != nil {
				t.Fatalf("status %d answer %q does not decode: %v", status, w.Body, err)
			}
		} else {
			var refusal struct {
				Error string `json:"error"`
			}
			if err := dec.Decode(&refusal); err != nil || refusal.Error == "" {
				t.Fatalf("status %d answer %q is not {\"error\": message}: %v", status, w.Body, err)
			}
		}

		// A refusal purges nothing; an accepted purge (and a 503: applied
		// here, not published) was applied exactly once.
		if !accepted && status != 503 {
			if len(applied) > 0 {
				t.Fatalf("status %d, yet %d purges were applied", status, len(applied))
			}
			return
		}
		if len(applied) != 1 {
			t.Fatalf("status %d, %d purges applied, want 1", status, len(applied))
		}
		m := applied[0]
		data, err := purge.Encode(m)
		if err != nil {
			t.Fatalf("the applied purge does not encode for the bus: %v\n%+v", err, m)
		}
		if _, err := purge.Decode(data); err != nil {
			t.Fatalf("the applied purge does not decode: %v\n%s", err, data)
		}
		if m.Type != purge.TypePurge || m.Role != purge.RoleEdge || m.Publisher != pub.ID() {
			t.Fatalf("applied message %+v", m)
		}
		if accepted && (resp.Items != len(m.Items) || resp.Seq != m.Seq || resp.ID != m.Publisher+":"+strconv.FormatUint(m.Seq, 10)) {
			t.Fatalf("answer %+v for message %s", resp, data)
		}

		// The items are what the body asked for, one each.
		var req purge.Request
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("accepted body %q does not unmarshal: %v", body, err)
		}
		want := len(req.Files) + len(req.Prefixes) + len(req.Tags) + len(req.Hosts)
		if req.PurgeEverything {
			want++
		}
		if len(m.Items) != want || m.Soft != req.Soft {
			t.Fatalf("body %q gave %d items (soft %v), want %d (soft %v)", body, len(m.Items), m.Soft, want, req.Soft)
		}

		allowed := fuzzHosts
		if scoped {
			allowed = []string{fuzzScopeHost}
			if !slices.Equal(m.Scope, allowed) {
				t.Fatalf("scoped token: message scope %q, want %q", m.Scope, allowed)
			}
		} else if len(m.Scope) > 0 {
			t.Fatalf("unscoped token: message scope %q", m.Scope)
		}
		for i, it := range m.Items {
			switch it.Kind {
			case purge.KindURL, purge.KindPrefix:
				if _, err := url.PathUnescape(it.Key); err != nil {
					t.Fatalf("item %d %+v: the path does not decode: %v", i, it, err)
				}
				fallthrough
			case purge.KindHost:
				if !slices.Contains(allowed, it.Host) {
					t.Fatalf("item %d %+v names host %q, not one of %q", i, it, it.Host, allowed)
				}
			case purge.KindTag, purge.KindEverything:
				if it.Host != "" || it.Bucket != "" {
					t.Fatalf("item %d %+v", i, it)
				}
			default:
				t.Fatalf("item %d: the API made a %q item", i, it.Kind)
			}
		}
	})
}
