package rules

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

// randomPolicy is a file of n rules with random matches and actions.
func randomPolicy(r *rand.Rand, n int) string {
	durs := []string{"0s", "1s", "30s", "5m", "1h", "24h"}
	d := func() string { return durs[r.IntN(len(durs))] }
	var b strings.Builder
	fmt.Fprintf(&b, "defaults:\n  respect_origin: %v\n  negative_ttl: %s\nrules:\n", r.IntN(2) == 0, d())
	for i := range n {
		fmt.Fprintf(&b, "  - name: r%d\n", i)
		switch r.IntN(4) {
		case 0:
			b.WriteString("    match: {path_prefix: /a/}\n")
		case 1:
			b.WriteString("    match: {extensions: [css, png]}\n")
		case 2:
			b.WriteString("    match: {status: [2xx, 404]}\n")
		}
		for _, field := range []string{"edge_ttl", "min_ttl", "browser_ttl", "negative_ttl", "stale_while_revalidate"} {
			if r.IntN(3) == 0 {
				fmt.Fprintf(&b, "    %s: %s\n", field, d())
			}
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "    respect_origin: %v\n", r.IntN(2) == 0)
		}
		if r.IntN(4) == 0 {
			fmt.Fprintf(&b, "    bypass: %v\n", r.IntN(2) == 0)
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "    max_ttl: %s\n", []string{"1h", "24h", "48h"}[r.IntN(3)])
		}
	}
	return b.String()
}

// The RFC invariants hold whatever the rules say: no-store and private
// are never stored, s-maxage beats max-age when the origin is respected,
// and a stored TTL never exceeds the deciding max_ttl.
func TestRuleInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	paths := []string{"/a/x.css", "/a/y", "/b/z.png", "/"}
	controls := []string{"", "max-age=60", "s-maxage=600, max-age=60", "no-store", "private, max-age=600", "no-store, max-age=600", "public, max-age=86400"}
	skipped := 0
	defer func() {
		if skipped > 100 {
			t.Errorf("%d of 400 generated policies were refused: the generator tests too little", skipped)
		}
	}()
	for i := range 400 {
		src := randomPolicy(r, 1+r.IntN(5))
		f, err := Parse("p.yaml", []byte(src))
		if err != nil {
			if strings.Contains(err.Error(), "is over max_ttl") {
				skipped++ // a rule with min_ttl over its own max_ttl is refused, rightly
				continue
			}
			t.Fatalf("generated policy %d: %v\n%s", i, err, src)
		}
		for range 20 {
			cc := controls[r.IntN(len(controls))]
			status := []int{200, 404, 500}[r.IntN(3)]
			req := Request{Method: http.MethodGet, Host: "h", Path: paths[r.IntN(len(paths))]}
			h := http.Header{}
			if cc != "" {
				h.Set("Cache-Control", cc)
			}
			now := time.Unix(1e9, 0)
			d := f.Decide(req, Response{Status: status, Header: h, RequestedAt: now, ReceivedAt: now})
			fail := func(what string) {
				t.Fatalf("%s\npolicy:\n%s\nrequest %s, status %d, Cache-Control %q: %+v", what, src, req.Path, status, cc, d)
			}
			if d.Store && (strings.Contains(cc, "no-store") || strings.HasPrefix(cc, "private")) {
				fail("a no-store or private response was stored")
			}
			a, _ := f.actions(req, status)
			respect := a.RespectOrigin == nil && (f.Defaults.RespectOrigin == nil || *f.Defaults.RespectOrigin) || a.RespectOrigin != nil && *a.RespectOrigin
			if d.Store && respect && strings.HasPrefix(cc, "s-maxage=600") && a.MinTTL == nil && a.MaxTTL == nil && d.Lifetime != 600*time.Second {
				fail("s-maxage did not win over max-age")
			}
			if d.Store && a.MaxTTL != nil && d.Lifetime > time.Duration(*a.MaxTTL) {
				fail("the TTL exceeds max_ttl")
			}
		}
	}
}
