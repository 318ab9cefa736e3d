package edge_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/edgecdn/edge/edge"
)

// forgetfulOrigin varies by Accept-Encoding and Accept-Language without
// ever saying so in Vary, unless varyLanguage is set; it records what it
// was sent.
type forgetfulOrigin struct {
	*httptest.Server
	mu       sync.Mutex
	sentAE   []string
	sentAL   []string
	varyLang bool
}

func startForgetful(t *testing.T, varyLanguage bool) *forgetfulOrigin {
	o := &forgetfulOrigin{varyLang: varyLanguage}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ae, al := r.Header.Get("Accept-Encoding"), r.Header.Get("Accept-Language")
		o.mu.Lock()
		o.sentAE, o.sentAL = append(o.sentAE, ae), append(o.sentAL, al)
		o.mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=60")
		if o.varyLang {
			w.Header().Set("Vary", "Accept-Language")
		}
		body := "plain"
		switch {
		case strings.Contains(ae, "br"):
			w.Header().Set("Content-Encoding", "br")
			body = "BROTLI"
		case strings.Contains(ae, "gzip"):
			w.Header().Set("Content-Encoding", "gzip")
			body = "GZIP"
		}
		w.Write([]byte(body + "/" + al))
	}))
	t.Cleanup(o.Close)
	return o
}

func negotiationEdge(t *testing.T, o *forgetfulOrigin, n edge.Negotiation) *testEdge {
	return startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: o.URL, Negotiation: n}}}, nil)
}

// accept_encoding: key — the coding is reduced to br, gzip or identity,
// sent so and keyed, so each client gets a body it can decode even from an
// origin that forgets Vary.
func TestNegotiationKeyAcceptEncoding(t *testing.T) {
	o := startForgetful(t, false)
	te := negotiationEdge(t, o, edge.Negotiation{AcceptEncoding: edge.NegotiationKey})
	for range 2 {
		for _, c := range []struct{ ae, want, ce string }{
			{"gzip", "GZIP/", "gzip"},
			{"", "plain/", ""},
			{"gzip, deflate, br", "BROTLI/", "br"},
			{"br;q=0, gzip", "GZIP/", "gzip"},
			{"identity", "plain/", ""},
		} {
			r := te.get("/x", "Accept-Encoding", c.ae)
			if r.body != c.want || r.h("Content-Encoding") != c.ce {
				t.Fatalf("Accept-Encoding %q: %q (Content-Encoding %q), want %q", c.ae, r.body, r.h("Content-Encoding"), c.want)
			}
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.sentAE) != 3 {
		t.Fatalf("%d origin requests (sent %q), want 3: one per coding", len(o.sentAE), o.sentAE)
	}
	for _, ae := range o.sentAE {
		if ae != "br" && ae != "gzip" && ae != "identity" {
			t.Fatalf("the origin was sent Accept-Encoding %q, not a normalised one", ae)
		}
	}
}

// accept_encoding: strip — never sent: one uncompressed variant for all.
func TestNegotiationStripAcceptEncoding(t *testing.T) {
	o := startForgetful(t, false)
	te := negotiationEdge(t, o, edge.Negotiation{AcceptEncoding: edge.NegotiationStrip})
	te.get("/x", "Accept-Encoding", "gzip")
	if r := te.get("/x"); r.body != "plain/" || r.h("Content-Encoding") != "" {
		t.Fatalf("a client without Accept-Encoding got %q", r.body)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.sentAE) != 1 || o.sentAE[0] != "" {
		t.Fatalf("sent %q to the origin, want one request without Accept-Encoding", o.sentAE)
	}
}

// The default forwards Accept-Encoding as sent, which is the risk the
// setting exists for: an origin that forgets Vary has one client's coding
// cached for all.
func TestNegotiationDefaultForwards(t *testing.T) {
	o := startForgetful(t, false)
	te := negotiationEdge(t, o, edge.Negotiation{})
	te.get("/x", "Accept-Encoding", "gzip")
	if r := te.get("/x"); r.body != "GZIP/" {
		t.Fatalf("default: %q (the documented risk of forward)", r.body)
	}
}

// accept_language: strip — not sent until the origin says it varies by
// it; then sent and keyed.
func TestNegotiationStripAcceptLanguage(t *testing.T) {
	o := startForgetful(t, false)
	te := negotiationEdge(t, o, edge.Negotiation{AcceptLanguage: edge.NegotiationStrip})
	if r := te.get("/x", "Accept-Language", "<b>fr</b>"); r.body != "plain/" {
		t.Fatalf("Accept-Language reached a forgetful origin: %q", r.body)
	}
	declared := startForgetful(t, true)
	te2 := negotiationEdge(t, declared, edge.Negotiation{AcceptLanguage: edge.NegotiationStrip})
	te2.get("/y", "Accept-Language", "fr") // learns Vary: Accept-Language
	for _, lang := range []string{"fr", "de", "fr"} {
		if r := te2.get("/y", "Accept-Language", lang); r.body != "plain/"+lang {
			t.Fatalf("Vary: Accept-Language declared, client %s got %q", lang, r.body)
		}
	}
}

func TestNegotiationSettingsAreChecked(t *testing.T) {
	for _, n := range []edge.Negotiation{{AcceptEncoding: "gzip"}, {AcceptLanguage: "key"}} {
		_, err := edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{"a.example"}, Upstream: "http://127.0.0.1:1", Negotiation: n}}}, nil)
		if err == nil || !strings.Contains(err.Error(), "negotiation") {
			t.Errorf("%+v: %v", n, err)
		}
	}
}
