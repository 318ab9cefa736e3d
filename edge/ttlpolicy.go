package edge

import (
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/policy"
	"github.com/edgecdn/edge/policy/rules"
)

// decision is what a fill does with an origin response: package policy's
// answer, adjusted by the site's policy file when it has one.
type decision struct {
	policy.Decision
	// rule names the policy-file rule that changed the outcome ("" for
	// none); it shows in Cache-Status as detail=rule:<name>.
	rule string
	// browserCC, when set, replaces the origin's Cache-Control for
	// clients (a rule's browser_ttl).
	browserCC string
	tags      []string
	// maxObjectSize, when set, is a rule's lower limit for the objects it
	// matches: larger ones stream through.
	maxObjectSize int64
	// consistency, when set, is a rule's for the entry, over the site's.
	consistency Consistency
}

// decide is the site's decision on resp, fetched for req. It runs on
// fills only, never on hits.
func (e *Edge) decide(site *Site, req *fetchRequest, resp policy.Response) decision {
	var f *rules.File
	if site.rules != nil {
		f = site.rules.Load()
	}
	if f == nil {
		return decision{Decision: site.Policy.Decide(policy.Request{Method: http.MethodGet, Header: req.Header}, resp)}
	}
	d := f.Decide(rules.Request{Method: http.MethodGet, Host: site.Hosts[0], Path: req.Path, Query: req.Query, Header: req.Header}, resp)
	out := decision{Decision: d.Decision, rule: d.Rule, tags: d.Tags, maxObjectSize: d.MaxObjectSize, consistency: Consistency(d.Consistency)}
	if d.BrowserTTLSet {
		out.browserCC = "max-age=" + strconv.FormatInt(int64(d.BrowserTTL/time.Second), 10)
	}
	if d.Reason == rules.ReasonBypass {
		out.Reason = "rule:" + d.Rule
	}
	e.decisions.WithLabelValues(site.cacheID, ruleLabel(d.Rule), strconv.FormatBool(d.Store)).Inc()
	return out
}

func ruleLabel(rule string) string {
	if rule == "" {
		return "(defaults)"
	}
	return rule
}

// keyQuery is the query string ctx is keyed by: as sent, or as the site's
// policy file's cache_key rules make it (ignored, sorted, allowlisted).
func keyQuery(ctx *fasthttp.RequestCtx, site *Site, path []byte) []byte {
	q := requestQuery(ctx)
	if len(q) == 0 || site.rules == nil {
		return q
	}
	f := site.rules.Load()
	if f == nil || !f.HasCacheKeys() {
		return q
	}
	return []byte(f.KeyQuery(rules.Request{Method: string(ctx.Method()), Host: site.Hosts[0], Path: string(path), Query: string(q)}))
}

// consistencyOf is the consistency an entry is served by: its rule's, or
// its site's.
func consistencyOf(site *Site, entry *cache.Entry) Consistency {
	if c := metaOf(entry).consistency; c != "" {
		return c
	}
	return site.Consistency
}

// hearsOriginPurges reports whether the origin's write purges apply to a
// site: not to a ttl site, unless a rule of its policy file makes some of
// its entries purge or strong. Purges apply to a site whole, so then its
// ttl entries are purged too: a purge only ever makes the cache fresher.
func (site *Site) hearsOriginPurges() bool {
	if site.Consistency != ConsistencyTTL {
		return true
	}
	f := site.policyFile()
	return f != nil && (f.SetsConsistency(string(ConsistencyPurge)) || f.SetsConsistency(string(ConsistencyStrong)))
}

// policyFile is the site's loaded policy file, nil when it has none.
func (site *Site) policyFile() *rules.File {
	if site.rules == nil {
		return nil
	}
	return site.rules.Load()
}
