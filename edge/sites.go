package edge

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edgecdn/edge/policy"
	"github.com/edgecdn/edge/policy/rules"
)

// Consistency is how stale a site may be served (ARCHITECTURE.md).
type Consistency string

const (
	// ConsistencyTTL: stale up to the TTL, like a CDN with no purge.
	ConsistencyTTL Consistency = "ttl"
	// ConsistencyPurge: stale only until the purge of a write arrives.
	ConsistencyPurge Consistency = "purge"
	// ConsistencyStrong: every hit is confirmed with the origin.
	ConsistencyStrong Consistency = "strong"
)

// Site is one custom domain: the hosts it answers for and where its
// objects come from.
type Site struct {
	// Hosts are the Host values served, without port, lower case.
	Hosts []string `yaml:"hosts"`
	// Bucket serves objects of this bucket of the origin store.
	Bucket string `yaml:"bucket"`
	// Upstream, instead of Bucket, proxies a plain HTTP origin path for path.
	Upstream string `yaml:"upstream"`
	// Consistency is ttl, purge (default) or strong.
	Consistency Consistency `yaml:"consistency"`
	// Policy holds the site's caching defaults (what the origin does not say).
	Policy policy.Defaults `yaml:"-"`
	// PolicyConfig is Policy as the config file spells it.
	PolicyConfig *PolicyConfig `yaml:"policy"`
	// PolicyFile is a TTL policy file (package policy/rules) that decides
	// the site's fills instead of Policy.
	PolicyFile string `yaml:"policy_file"`
	// Negotiation says what an upstream site does with the request headers
	// an origin may vary by without saying so (see Negotiation).
	Negotiation Negotiation `yaml:"negotiation"`
	// HideCDNCacheControl keeps the origin's CDN-Cache-Control from the
	// site's clients; by default it goes downstream, for caches further
	// down that act on it (RFC 9213).
	HideCDNCacheControl bool `yaml:"hide_cdn_cache_control"`
	// PrivateMeta names x-amz-meta-* fields (without the prefix) of a
	// bucket's objects that the edge keeps from clients; the others are
	// served, as S3 sends them.
	PrivateMeta []string `yaml:"private_meta"`
	// S3, for a bucket site, is its own S3 origin instead of the edge's.
	S3 *S3Endpoint `yaml:"s3"`
	// RequestHeaders adjusts what an upstream site forwards of a request
	// (forward.go).
	RequestHeaders RequestHeaders `yaml:"request_headers"`
	// TLS serves the site over HTTPS too, with these certificates.
	TLS *SiteTLS `yaml:"tls"`
	// HTTPSRedirect answers plain HTTP with a 308 to the same URL over
	// HTTPS (ACME HTTP-01 challenges aside).
	HTTPSRedirect bool `yaml:"https_redirect"`
	// HSTS is the Strict-Transport-Security value of the site's HTTPS
	// answers (RFC 6797), e.g. "max-age=31536000"; empty sends none.
	HSTS string `yaml:"hsts"`

	upstream *url.URL
	origin   Origin // from S3, when set
	// rules is the loaded PolicyFile; a reload swaps it whole, so a fill
	// decides by the old file or the new one, never a mix.
	rules *atomic.Pointer[rules.File]
	// cacheID names the site's entries in cache keys and purges. Each site
	// has its own entries, even when two serve one bucket: a site's
	// consistency mode (which purges it takes) holds for that site alone.
	cacheID string
	// metrics count the site's requests (metrics.go).
	metrics *siteMetrics
}

// hidden reports whether the site keeps a response field from its
// clients: a private x-amz-meta-*, or CDN-Cache-Control when it hides it.
func (s *Site) hidden(name string) bool {
	if name == "Cdn-Cache-Control" {
		return s.HideCDNCacheControl
	}
	if meta, ok := strings.CutPrefix(name, "X-Amz-Meta-"); ok {
		for _, m := range s.PrivateMeta {
			if strings.EqualFold(m, meta) {
				return true
			}
		}
	}
	return false
}

// Negotiation: an origin that varies its answer by Accept-Encoding or
// Accept-Language without sending Vary gets one client's variant cached
// for every client. These per-site settings close that hole for upstream
// sites (a bucket's objects never vary: negotiation headers are not sent
// to a store).
type Negotiation struct {
	// AcceptEncoding is "forward" (the default: sent as the client sent
	// it, keyed only if the origin says Vary), "key" (reduced to br, gzip
	// or identity, sent so, and always part of the cache key) or "strip"
	// (never sent: the origin answers uncompressed).
	AcceptEncoding string `yaml:"accept_encoding"`
	// AcceptLanguage is "forward" (the default) or "strip": sent only once
	// the origin says Vary: Accept-Language, so keyed.
	AcceptLanguage string `yaml:"accept_language"`
}

// The values of Negotiation's fields.
const (
	NegotiationForward = "forward"
	NegotiationKey     = "key"
	NegotiationStrip   = "strip"
)

func (n *Negotiation) check() error {
	switch n.AcceptEncoding {
	case "":
		n.AcceptEncoding = NegotiationForward
	case NegotiationForward, NegotiationKey, NegotiationStrip:
	default:
		return fmt.Errorf("negotiation: accept_encoding %q: use forward, key or strip", n.AcceptEncoding)
	}
	switch n.AcceptLanguage {
	case "":
		n.AcceptLanguage = NegotiationForward
	case NegotiationForward, NegotiationStrip:
	default:
		return fmt.Errorf("negotiation: accept_language %q: use forward or strip", n.AcceptLanguage)
	}
	return nil
}

// PolicyConfig is a site's policy block in the YAML config; durations are
// Go durations ("3m", "1h"). Unset fields keep policy's defaults.
type PolicyConfig struct {
	NegativeTTL          time.Duration `yaml:"negative_ttl"`
	DefaultTTL           time.Duration `yaml:"default_ttl"`
	MaxTTL               time.Duration `yaml:"max_ttl"`
	HeuristicMax         time.Duration `yaml:"heuristic_max"`
	HeuristicPercent     int           `yaml:"heuristic_percent"`
	StaleWhileRevalidate time.Duration `yaml:"stale_while_revalidate"`
	StaleIfError         time.Duration `yaml:"stale_if_error"`
	// SetCookie is strip (the default: stored without it; the client
	// whose request fetched it gets it), refuse (not stored) or store.
	SetCookie string `yaml:"set_cookie"`
	// RefuseServerErrors keeps 5xx out of the cache even when they state
	// their freshness.
	RefuseServerErrors bool `yaml:"refuse_server_errors"`
}

func (p *PolicyConfig) defaults() (policy.Defaults, error) {
	rule := policy.SetCookieRule(p.SetCookie)
	switch p.SetCookie {
	case "strip":
		rule = policy.SetCookieStrip
	case "", string(policy.SetCookieRefuse), string(policy.SetCookieStore):
	default:
		return policy.Defaults{}, fmt.Errorf("policy: set_cookie %q: use strip, refuse or store", p.SetCookie)
	}
	return policy.Defaults{
		NegativeTTL: p.NegativeTTL, DefaultTTL: p.DefaultTTL, MaxTTL: p.MaxTTL,
		HeuristicMax: p.HeuristicMax, HeuristicPercent: p.HeuristicPercent,
		StaleWhileRevalidate: p.StaleWhileRevalidate, StaleIfError: p.StaleIfError,
		SetCookie: rule, RefuseServerErrors: p.RefuseServerErrors,
	}, nil
}

// sites finds the site of a request's Host.
type sites struct {
	byHost map[string]*Site
	// byBucket lists the sites serving each bucket, for the purges of the
	// bucket's writes.
	byBucket map[string][]*Site
	all      []*Site
}

func newSites(list []Site) (*sites, error) {
	s := &sites{byHost: make(map[string]*Site), byBucket: make(map[string][]*Site)}
	if len(list) == 0 {
		return nil, errors.New("edge: configure at least one site (hosts → bucket or upstream)")
	}
	for i := range list {
		site := &list[i]
		switch {
		case site.Bucket == "" && site.Upstream == "":
			return nil, fmt.Errorf("edge: site %d (%v): set bucket or upstream", i+1, site.Hosts)
		case site.Bucket != "" && site.Upstream != "":
			return nil, fmt.Errorf("edge: site %d (%v): set bucket or upstream, not both", i+1, site.Hosts)
		case site.S3 != nil && (site.Consistency == "" || site.Consistency == ConsistencyPurge):
			return nil, fmt.Errorf("edge: site %d (%v): a site with its own s3 origin hears no purges of that server's writes: set consistency to strong or ttl", i+1, site.Hosts)
		case site.Upstream != "" && site.S3 != nil:
			return nil, fmt.Errorf("edge: site %d (%v): s3 is the origin of a bucket site; an upstream site has its URL", i+1, site.Hosts)
		case site.Upstream != "":
			u, err := url.Parse(site.Upstream)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("edge: site %d: upstream %q must be an http:// or https:// URL", i+1, site.Upstream)
			}
			site.upstream = u
		}
		site.rules = new(atomic.Pointer[rules.File])
		if site.PolicyFile != "" {
			if site.PolicyConfig != nil {
				return nil, fmt.Errorf("edge: site %d (%v): set policy_file or an inline policy, not both: move the inline values into the file's defaults", i+1, site.Hosts)
			}
			f, err := rules.Load(site.PolicyFile)
			if err != nil {
				return nil, fmt.Errorf("edge: site %d (%v): %w", i+1, site.Hosts, err)
			}
			site.rules.Store(f)
		}
		if site.PolicyConfig != nil {
			d, err := site.PolicyConfig.defaults()
			if err != nil {
				return nil, fmt.Errorf("edge: site %d: %w", i+1, err)
			}
			site.Policy = d
		}
		site.Policy.AllowPartial = true // stored as ranges (partial.go)
		site.RequestHeaders.check()
		if err := site.checkHTTPS(); err != nil {
			return nil, fmt.Errorf("edge: site %d (%v): %w", i+1, site.Hosts, err)
		}
		if err := site.Negotiation.check(); err != nil {
			return nil, fmt.Errorf("edge: site %d: %w", i+1, err)
		}
		switch site.Consistency {
		case "":
			site.Consistency = ConsistencyPurge
		case ConsistencyTTL, ConsistencyPurge, ConsistencyStrong:
		default:
			return nil, fmt.Errorf("edge: site %d: consistency %q: use ttl, purge or strong", i+1, site.Consistency)
		}
		if len(site.Hosts) == 0 {
			return nil, fmt.Errorf("edge: site %d: list the hosts it serves", i+1)
		}
		for j, h := range site.Hosts {
			h = strings.ToLower(h)
			site.Hosts[j] = h
			if h == "" || strings.ContainsAny(h, "/@: ") {
				return nil, fmt.Errorf("edge: site %d: host %q must be a bare host name, without port", i+1, h)
			}
			if _, dup := s.byHost[h]; dup {
				return nil, fmt.Errorf("edge: host %q is listed by two sites", h)
			}
			s.byHost[h] = site
		}
		site.cacheID = site.Hosts[0]
		site.metrics = new(siteMetrics)
		if site.Bucket != "" {
			s.byBucket[site.Bucket] = append(s.byBucket[site.Bucket], site)
		}
		s.all = append(s.all, site)
	}
	return s, nil
}

// lookup returns the site for a Host header value: uri-host [":" port],
// the port digits only. It returns nil for unknown hosts and for values a
// client should never send: userinfo, paths, a non-numeric port, empty.
// Case is folded for ASCII letters only: host names are ASCII (IDNs
// travel as xn-- labels), and Unicode folding would let a look-alike such
// as the Kelvin sign stand for a "k".
func (s *sites) lookup(host []byte) *Site {
	h := host
	if i := lastColon(h); i >= 0 {
		for _, c := range h[i+1:] {
			if c < '0' || c > '9' {
				return nil
			}
		}
		h = h[:i]
	}
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	} else if len(h) > 1 && h[len(h)-1] == '.' {
		h = h[:len(h)-1] // "cdn.example.com." is the same name, fully qualified
	}
	if len(h) == 0 {
		return nil
	}
	// Map lookups with a []byte→string conversion do not allocate.
	if site, ok := s.byHost[string(h)]; ok {
		return site
	}
	for _, c := range h {
		if c >= 'A' && c <= 'Z' {
			return s.byHost[lowerASCII(h)]
		}
	}
	return nil
}

// lowerASCII lower-cases ASCII letters and leaves every other byte alone.
func lowerASCII(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}

// lastColon finds the port separator of host[:port] or [v6]:port.
func lastColon(h []byte) int {
	for i := len(h) - 1; i >= 0; i-- {
		switch h[i] {
		case ':':
			return i
		case ']':
			return -1
		}
	}
	return -1
}
