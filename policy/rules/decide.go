package rules

import (
	"cmp"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/edgecdn/edge/policy"
)

// Request is what a decision needs of the client's request.
type Request struct {
	Method string
	Host   string // without port, any case
	Path   string // as sent, escaped
	Query  string // raw, without '?'
	Header http.Header
}

// Response is the origin's response; see policy.Response.
type Response = policy.Response

// Decision is what the edge does with one origin response.
type Decision struct {
	// Decision is package policy's answer under the file's TTLs: Store,
	// Reason, Lifetime (the edge TTL), the stale windows.
	policy.Decision
	// BrowserTTL, when BrowserTTLSet, is the max-age clients are sent in
	// place of the origin's Cache-Control.
	BrowserTTL    time.Duration
	BrowserTTLSet bool
	// MaxObjectSize and Consistency are a rule's, 0 and "" when none set
	// them (the site's apply).
	MaxObjectSize int64
	Consistency   string
	// Tags are the purge tags rules add.
	Tags []string
	// CacheKey is a rule's cache key option (nil: the whole query).
	CacheKey *CacheKey
	// Matched lists the rules that matched, in file order; Rule is the
	// last of them that changed the outcome ("" when the rules changed
	// nothing: the defaults decided).
	Matched []string
	Rule    string
}

// Decide is the file's decision for req and the origin's resp.
func (f *File) Decide(req Request, resp Response) Decision {
	a, matched := f.actions(req, resp.Status)
	d := f.decide(a, req, resp)
	d.Matched = matched
	if len(matched) > 0 && !sameOutcome(d, f.decide(Actions{}, req, resp)) {
		d.Rule = matched[len(matched)-1]
	}
	return d
}

// Explanation is a decision with the rules behind it, for edgectl.
type Explanation struct {
	Decision Decision
	Rules    []RuleMatch
}

// RuleMatch is one rule and whether it matched.
type RuleMatch struct {
	Name    string
	Matched bool
}

// Explain is Decide with every rule's match shown.
func (f *File) Explain(req Request, resp Response) Explanation {
	x := Explanation{Decision: f.Decide(req, resp)}
	for i := range f.Rules {
		x.Rules = append(x.Rules, RuleMatch{f.Rules[i].Name, f.Rules[i].Match.holds(req, resp.Status)})
	}
	return x
}

// actions merges the actions of the rules that match, later over earlier.
func (f *File) actions(req Request, status int) (Actions, []string) {
	var a Actions
	var matched []string
	for i := range f.Rules {
		r := &f.Rules[i]
		if !r.Match.holds(req, status) {
			continue
		}
		matched = append(matched, r.Name)
		a.merge(&r.Actions)
		if r.EdgeTTL != nil {
			a.edgeTTLStatuses = len(r.Match.Status) > 0
		}
	}
	return a, matched
}

func (a *Actions) merge(o *Actions) {
	set := func(dst **Duration, src *Duration) {
		if src != nil {
			*dst = src
		}
	}
	set(&a.EdgeTTL, o.EdgeTTL)
	set(&a.BrowserTTL, o.BrowserTTL)
	set(&a.MinTTL, o.MinTTL)
	set(&a.MaxTTL, o.MaxTTL)
	set(&a.NegativeTTL, o.NegativeTTL)
	set(&a.StaleWhileRevalidate, o.StaleWhileRevalidate)
	set(&a.StaleIfError, o.StaleIfError)
	if o.RespectOrigin != nil {
		a.RespectOrigin = o.RespectOrigin
	}
	if o.Bypass != nil {
		a.Bypass = o.Bypass
	}
	if o.CacheKey != nil {
		a.CacheKey = o.CacheKey
	}
	if o.MaxObjectSize != nil {
		a.MaxObjectSize = o.MaxObjectSize
	}
	if o.Consistency != nil {
		a.Consistency = o.Consistency
	}
	for _, t := range o.Tags {
		if !slices.Contains(a.Tags, t) {
			a.Tags = append(a.Tags, t)
		}
	}
}

// holds reports whether the match holds for req and the response status.
func (m *Match) holds(req Request, status int) bool {
	if len(m.Hosts) > 0 && !slices.Contains(m.Hosts, strings.ToLower(req.Host)) {
		return false
	}
	if m.glob != nil && !m.glob.MatchString(req.Path) {
		return false
	}
	if m.PathPrefix != "" && !strings.HasPrefix(req.Path, m.PathPrefix) {
		return false
	}
	if len(m.Extensions) > 0 {
		ext := strings.ToLower(strings.TrimPrefix(path.Ext(req.Path), "."))
		if ext == "" || !slices.Contains(m.Extensions, ext) {
			return false
		}
	}
	if len(m.Methods) > 0 && !slices.Contains(m.Methods, cmp.Or(req.Method, http.MethodGet)) {
		return false
	}
	if len(m.Status) > 0 && (status == 0 || !m.Status.holds(status)) {
		return false
	}
	switch m.Query {
	case "present":
		return req.Query != ""
	case "absent":
		return req.Query == ""
	}
	return true
}

// decide is the decision under the defaults and the merged actions a.
func (f *File) decide(a Actions, req Request, resp Response) Decision {
	out := Decision{Tags: a.Tags, CacheKey: a.CacheKey}
	if a.MaxObjectSize != nil {
		out.MaxObjectSize = *a.MaxObjectSize
	}
	if a.Consistency != nil {
		out.Consistency = *a.Consistency
	}
	if a.BrowserTTL != nil {
		out.BrowserTTL, out.BrowserTTLSet = time.Duration(*a.BrowserTTL), true
	}
	if a.Bypass != nil && *a.Bypass {
		out.Decision = policy.Decision{Reason: ReasonBypass}
		return out
	}
	d := policy.Defaults{AllowPartial: true, SilentTTL: f.silentTTL(a)}
	if v := pick(a.StaleWhileRevalidate, f.Defaults.StaleWhileRevalidate); v != nil {
		d.StaleWhileRevalidate = time.Duration(*v)
	}
	if v := pick(a.StaleIfError, f.Defaults.StaleIfError); v != nil {
		d.StaleIfError = time.Duration(*v)
	}
	respect := true
	if v := pickBool(a.RespectOrigin, f.Defaults.RespectOrigin); v != nil {
		respect = *v
	}
	if !respect {
		if ttl, ok := d.SilentTTL(resp.Status); ok {
			d.OverrideTTL = &ttl
		}
	}
	out.Decision = d.Decide(policy.Request{Method: cmp.Or(req.Method, http.MethodGet), Header: req.Header}, resp)
	if out.Store {
		if a.MinTTL != nil {
			out.Lifetime = max(out.Lifetime, time.Duration(*a.MinTTL))
		}
		if a.MaxTTL != nil {
			out.Lifetime = min(out.Lifetime, time.Duration(*a.MaxTTL))
		}
	}
	return out
}

// ReasonBypass is the Reason of a decision a rule's bypass made.
const ReasonBypass = "bypass"

// silentTTL is the TTL by status for an origin that states no freshness
// (or, without respect_origin, for any): a rule's negative_ttl for 404 and
// 410, its edge_ttl for the statuses the table caches or its match names,
// else the file's table over the built-in one.
func (f *File) silentTTL(a Actions) func(int) (time.Duration, bool) {
	return func(status int) (time.Duration, bool) {
		negative := status == http.StatusNotFound || status == http.StatusGone
		if negative {
			if v := pick(a.NegativeTTL, f.Defaults.NegativeTTL); v != nil {
				return time.Duration(*v), true
			}
		}
		ttl, ok := f.statusTTL(status)
		if a.EdgeTTL != nil && !negative && (ok || a.edgeTTLStatuses) {
			return time.Duration(*a.EdgeTTL), true
		}
		return ttl, ok
	}
}

// statusTTL is the file's status_ttl over the built-in table.
func (f *File) statusTTL(status int) (time.Duration, bool) {
	best, found := time.Duration(0), false
	for k, v := range f.Defaults.StatusTTL {
		m, err := parseStatus(k)
		if err != nil || status < m.lo || status > m.hi {
			continue
		}
		if m.lo == m.hi { // a code beats its class
			return time.Duration(v), true
		}
		best, found = time.Duration(v), true
	}
	if found {
		return best, true
	}
	ttl, ok := defaultStatusTTL[status]
	return ttl, ok
}

// sameOutcome reports whether two decisions do the same with a response.
func sameOutcome(a, b Decision) bool {
	return a.Store == b.Store && a.Reason == b.Reason && a.Lifetime == b.Lifetime && a.BrowserTTLSet == b.BrowserTTLSet && a.BrowserTTL == b.BrowserTTL &&
		a.StaleWhileRevalidate == b.StaleWhileRevalidate && a.StaleIfError == b.StaleIfError &&
		a.MaxObjectSize == b.MaxObjectSize && a.Consistency == b.Consistency && slices.Equal(a.Tags, b.Tags)
}

func pick(a, b *Duration) *Duration {
	if a != nil {
		return a
	}
	return b
}

func pickBool(a, b *bool) *bool {
	if a != nil {
		return a
	}
	return b
}

// SetsConsistency reports whether some rule sets consistency c.
func (f *File) SetsConsistency(c string) bool {
	for i := range f.Rules {
		if r := f.Rules[i].Consistency; r != nil && *r == c {
			return true
		}
	}
	return false
}

// HasCacheKeys reports whether some rule sets cache_key: KeyQuery can
// change a key only then.
func (f *File) HasCacheKeys() bool { return f.keyRules }

// KeyQuery is the query string the cache keys a request by, after the
// cache_key of the rules that match it (rules that match on status cannot
// set one: the key is chosen before the response). Parameters are kept
// as sent; sort orders them, allowlist keeps the allowed names, ignore
// keeps none.
func (f *File) KeyQuery(req Request) string {
	if !f.keyRules || req.Query == "" {
		return req.Query
	}
	var k *CacheKey
	for i := range f.Rules {
		r := &f.Rules[i]
		if r.CacheKey != nil && r.Match.holds(req, 0) {
			k = r.CacheKey
		}
	}
	if k == nil {
		return req.Query
	}
	switch k.Query {
	case "ignore":
		return ""
	case "sort", "allowlist":
		params := strings.Split(req.Query, "&")
		if k.Query == "allowlist" {
			params = slices.DeleteFunc(params, func(p string) bool {
				name, _, _ := strings.Cut(p, "=")
				return !slices.Contains(k.Allow, name)
			})
		} else {
			slices.Sort(params)
		}
		return strings.Join(params, "&")
	}
	return req.Query
}
