package policy

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Values of Defaults used when a field is left zero.
const (
	DefaultNegativeTTL      = 3 * time.Minute // as Cloudflare caches 404s
	DefaultHeuristicMax     = 24 * time.Hour
	DefaultHeuristicPercent = 10 // RFC 9111 §4.2.2's "typical setting"
)

// Reasons a response is not stored, as Decision.Reason gives them; short
// enough for a Cache-Status detail= parameter (RFC 9211).
const (
	ReasonMethod         = "method"           // request method other than GET and HEAD
	ReasonRequestNoStore = "request-no-store" // request Cache-Control: no-store
	ReasonStatus         = "status"           // status not cacheable without explicit freshness, or never (1xx, 304)
	ReasonPartial        = "partial"          // 206 while Defaults.AllowPartial is false
	ReasonMustUnderstand = "must-understand"  // must-understand on a status this cache does not know
	ReasonNoStore        = "no-store"         // no-store (or no-store-remote in Surrogate-Control)
	ReasonPrivate        = "private"          // private without field names
	ReasonAuthorization  = "authorization"    // request had Authorization; no public, s-maxage or must-revalidate
	ReasonVaryStar       = "vary-star"        // Vary: *
	ReasonSetCookie      = "set-cookie"       // Set-Cookie while Defaults.SetCookie is SetCookieRefuse
	ReasonServerError    = "server-error"     // a 5xx while Defaults.RefuseServerErrors is set
	// ReasonUnusable: past its lifetime and stale windows on arrival, with
	// no validator (ETag, Last-Modified), so every later request would fetch
	// it again in full; storing it would only evict something useful.
	ReasonUnusable = "stale-no-validator"
)

// Header gives every value of one header field, one element per field line
// (nil when absent). The name is passed in canonical form ("Cache-Control",
// "Cdn-Cache-Control", "Etag"); an implementation should match it without
// regard to case. net/http's http.Header satisfies it; on fasthttp, wrap
// PeekAll and convert each []byte.
type Header interface {
	Values(name string) []string
}

// Request is what Decide needs of the client's request.
type Request struct {
	Method string // case-sensitive, as RFC 9110 §9.1 defines methods
	Header Header // may be nil
}

// Response is what Decide needs of the origin's response.
type Response struct {
	Status int
	Header Header // may be nil

	// RequestedAt is when the edge sent the request to the origin
	// (request_time of RFC 9111 §4.2.3); zero if unknown.
	RequestedAt time.Time
	// ReceivedAt is when the response arrived (response_time). Set it:
	// when zero the Date field stands in, and with neither, Expires and
	// Last-Modified give no freshness. It also places the two-digit year
	// of an RFC 850 date (RFC 9110 §5.6.7).
	ReceivedAt time.Time
}

// Defaults is the operator's policy for what the origin does not say. Its zero
// value is usable: every zero field means the documented default.
type Defaults struct {
	// NegativeTTL is the lifetime of a 404 or 410 without explicit
	// freshness. Zero means DefaultNegativeTTL; negative turns negative
	// caching off (such responses then get heuristic freshness).
	NegativeTTL time.Duration
	// HeuristicMax caps heuristic freshness (RFC 9111 §4.2.2). Zero means
	// DefaultHeuristicMax; negative turns heuristic freshness off.
	HeuristicMax time.Duration
	// HeuristicPercent is the share of (Date − Last-Modified) used as the
	// heuristic lifetime. Zero means DefaultHeuristicPercent; negative turns
	// heuristic freshness off; above 100 counts as 100.
	HeuristicPercent int
	// DefaultTTL is the lifetime of a heuristically cacheable response with
	// neither explicit freshness nor Last-Modified. Zero means none: such a
	// response is stored stale (revalidated on its next use) if it has an
	// ETag, and not stored otherwise.
	DefaultTTL time.Duration
	// StaleWhileRevalidate and StaleIfError (RFC 5861) apply when the
	// governing field gives none. Zero means no stale serving.
	StaleWhileRevalidate, StaleIfError time.Duration
	// SetCookie is what becomes of a storable response that carries
	// Set-Cookie: SetCookieStrip (the zero value) stores it without its
	// Set-Cookie fields, which only the client whose request fetched it
	// gets (DropHeaders lists Set-Cookie); SetCookieRefuse does not store
	// it; SetCookieStore stores the cookies too, for an origin whose
	// cookies are the same for everyone.
	SetCookie SetCookieRule
	// RefuseServerErrors keeps 5xx responses out of the cache even when
	// they state their freshness (RFC 9111 §3 lets a cache store them).
	RefuseServerErrors bool
	// AllowPartial stores 206 responses, for an edge that caches ranges.
	AllowPartial bool
	// MaxTTL caps every freshness lifetime, explicit or not. Zero: no cap.
	MaxTTL time.Duration
	// SilentTTL, when set, is the lifetime of a response whose origin
	// states no freshness, by status; false means such a response is not
	// stored. It replaces NegativeTTL, the heuristic and DefaultTTL.
	SilentTTL func(status int) (time.Duration, bool)
	// OverrideTTL, when set, is the lifetime of every storable response,
	// whatever freshness the origin states.
	OverrideTTL *time.Duration
}

// SetCookieRule is what Defaults.SetCookie says of responses with
// Set-Cookie.
type SetCookieRule string

// The rules for Set-Cookie; see Defaults.SetCookie.
const (
	SetCookieStrip  SetCookieRule = ""
	SetCookieRefuse SetCookieRule = "refuse"
	SetCookieStore  SetCookieRule = "store"
)

// Decision is the answer to "may the edge store this response, and for how
// long?". When Store is false only Reason is set.
type Decision struct {
	Store  bool
	Reason string // why not, one of the Reason constants; empty when Store

	// Lifetime is the freshness lifetime (RFC 9111 §4.2.1).
	Lifetime time.Duration
	// InitialAge is the corrected initial age at receipt (RFC 9111 §4.2.3).
	// The entry is fresh while InitialAge + time since ReceivedAt < Lifetime.
	InitialAge time.Duration
	// StaleWhileRevalidate and StaleIfError are how long past Lifetime the
	// entry may be served while a refresh runs, or when the origin fails.
	// They are zero when must-revalidate, proxy-revalidate or no-cache
	// forbid stale serving (RFC 9111 §4.2.4).
	StaleWhileRevalidate, StaleIfError time.Duration
	// MustRevalidate forbids serving the entry stale beyond the two windows
	// above, even when the origin cannot be reached (must-revalidate,
	// proxy-revalidate, no-cache, s-maxage; RFC 9111 §5.2.2.2, .8, .10).
	MustRevalidate bool
	// NoCache means the entry must be revalidated before every reuse
	// (bare no-cache, RFC 9111 §5.2.2.4); Lifetime is then zero.
	NoCache bool
	// DropHeaders are fields named by private="…" or no-cache="…": the edge
	// must not serve them from the cache. Canonical form, sorted.
	DropHeaders []string
	// Vary holds the Vary field names, lower-cased, sorted, deduplicated,
	// for the edge's cache key.
	Vary []string
	// Heuristic is set when the origin stated no freshness and Lifetime
	// comes from Last-Modified, DefaultTTL or SilentTTL (it may be zero);
	// Negative when it is NegativeTTL (or SilentTTL's, for a 404 or 410).
	Heuristic, Negative bool
	// Governing is the field that set the policy: "Cdn-Cache-Control",
	// "Surrogate-Control" or "Cache-Control".
	Governing string
}

// FreshFor returns how long the response stays fresh after it was received:
// Lifetime − InitialAge, never negative.
func (d Decision) FreshFor() time.Duration {
	return max(0, d.Lifetime-d.InitialAge)
}

// Decide says whether a shared cache may store resp, fetched for req, and for
// how long. See the package documentation for the order of the fields that
// govern and the choices made where the RFCs leave room.
func (d Defaults) Decide(req Request, resp Response) Decision {
	reqHeader, h := orEmpty(req.Header), orEmpty(resp.Header)

	// RFC 9111 §3: storable methods, final statuses, no-store, private,
	// Authorization (§3.5); then this edge's own rules.
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return refuse(ReasonMethod)
	}
	if requestNoStore(reqHeader.Values(fieldCacheControl)) {
		return refuse(ReasonRequestNoStore)
	}
	if resp.Status < 200 || resp.Status > 999 || resp.Status == http.StatusNotModified {
		return refuse(ReasonStatus) // a 304 updates a stored entry (§4.3.4); it is not one
	}
	if resp.Status == http.StatusPartialContent && !d.AllowPartial {
		return refuse(ReasonPartial)
	}

	ctl, governing := governingControls(h)
	if ctl.mustUnderstand && !d.understands(resp.Status) {
		return refuse(ReasonMustUnderstand)
	}
	if ctl.noStore && !ctl.mustUnderstand { // §5.2.2.3: must-understand overrides no-store
		return refuse(ReasonNoStore)
	}
	if ctl.private {
		return refuse(ReasonPrivate)
	}
	if len(reqHeader.Values("Authorization")) > 0 &&
		!ctl.public && !ctl.sMaxAge.present && !ctl.mustRevalidate {
		return refuse(ReasonAuthorization)
	}
	vary, star := varyFields(h.Values("Vary"))
	if star {
		return refuse(ReasonVaryStar) // §4.1: it can never match a later request
	}
	if resp.Status >= 500 && d.RefuseServerErrors {
		return refuse(ReasonServerError)
	}
	drop := ctl.dropFields()
	if len(h.Values("Set-Cookie")) > 0 && !slices.Contains(drop, "Set-Cookie") {
		switch d.SetCookie {
		case SetCookieRefuse:
			return refuse(ReasonSetCookie)
		case SetCookieStrip:
			drop = append(drop, "Set-Cookie")
			slices.Sort(drop)
		}
	}

	clk := newClock(resp, h)
	dec := Decision{Store: true, InitialAge: clk.initialAge, Vary: vary, DropHeaders: drop, Governing: governing}
	if !d.setLifetime(&dec, resp.Status, &ctl, h, clk) {
		return refuse(ReasonStatus)
	}
	d.staleRules(&dec, &ctl)

	_, hasLastModified := clk.parseDate(first(h.Values("Last-Modified")))
	hasValidator := hasLastModified || len(h.Values("Etag")) > 0
	usableFor := addSaturating(dec.Lifetime, max(dec.StaleWhileRevalidate, dec.StaleIfError))
	if !hasValidator && dec.InitialAge >= usableFor {
		return refuse(ReasonUnusable)
	}
	return dec
}

// setLifetime sets dec.Lifetime, Heuristic and Negative; it returns false
// when the status may not be stored without explicit freshness.
func (d Defaults) setLifetime(dec *Decision, status int, ctl *controls, h Header, clk clock) bool {
	var exp expires
	if dec.Governing == fieldCacheControl { // RFC 9213 §2.2: a targeted field hides Expires
		exp = parseExpires(h.Values("Expires"), clk.parseDate)
	}
	lifetime, explicit := explicitLifetime(ctl, exp, clk)
	silent, silentSet := time.Duration(0), false
	if d.SilentTTL != nil {
		silent, silentSet = d.SilentTTL(status)
	}
	switch {
	case d.OverrideTTL != nil:
		// The operator's TTL replaces whatever the origin said of
		// freshness (never of storing: no-store, private… were checked).
		lifetime = *d.OverrideTTL
	case explicit:
		// RFC 9111 §3: explicit freshness makes any final status storable,
		// 5xx included: the origin asked for it.
	case d.SilentTTL != nil && !silentSet:
		return false // the operator's table does not cache this status
	case d.SilentTTL != nil:
		lifetime, dec.Heuristic = silent, true
		dec.Negative = status == http.StatusNotFound || status == http.StatusGone
	case (status == http.StatusNotFound || status == http.StatusGone) && d.negativeTTL() > 0:
		lifetime, dec.Negative = d.negativeTTL(), true
	case heuristicallyCacheable(status) || (ctl.public && status < 500):
		// §4.2.2: heuristics apply to heuristically cacheable statuses and
		// to responses marked public; this edge leaves public 5xx out.
		dec.Heuristic = true
		if lastModified, ok := clk.parseDate(first(h.Values("Last-Modified"))); ok {
			lifetime = d.heuristicLifetime(lastModified, clk)
		} else if d.DefaultTTL > 0 {
			lifetime = d.DefaultTTL
		}
	default:
		return false
	}
	if d.MaxTTL > 0 {
		lifetime = min(lifetime, d.MaxTTL)
	}
	dec.Lifetime = lifetime
	return true
}

// staleRules sets the stale windows and the revalidation flags.
//
// RFC 9111 §4.2.4: no stale response when no-cache, must-revalidate,
// proxy-revalidate or s-maxage forbids it. Explicit must-revalidate,
// proxy-revalidate and no-cache win over everything, RFC 5861 directives
// included. s-maxage forbids only what the origin did not allow: its own
// stale-while-revalidate or stale-if-error in the same field is honoured
// (the usual "s-maxage=60, stale-while-revalidate=30"), the operator's
// defaults are not.
func (d Defaults) staleRules(dec *Decision, ctl *controls) {
	swr, sie := max(0, d.StaleWhileRevalidate), max(0, d.StaleIfError)
	if ctl.sMaxAge.present {
		swr, sie = 0, 0
	}
	if ctl.staleWhileRevalidate.present {
		swr = time.Duration(ctl.staleWhileRevalidate.n) * time.Second
	}
	if ctl.staleIfError.present {
		sie = time.Duration(ctl.staleIfError.n) * time.Second
	}
	if ctl.noCache {
		dec.NoCache = true
		dec.Lifetime = 0 // RFC 9213 §2.2: no-cache makes max-age inoperative
	}
	if ctl.mustRevalidate || ctl.proxyRevalidate || ctl.noCache {
		swr, sie = 0, 0
	}
	dec.StaleWhileRevalidate, dec.StaleIfError = swr, sie
	dec.MustRevalidate = ctl.mustRevalidate || ctl.proxyRevalidate || ctl.noCache || ctl.sMaxAge.present
}

// heuristicallyCacheable lists RFC 9110 §15.1's heuristically cacheable
// status codes (206 is only reached when AllowPartial is set).
func heuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// understands reports whether this cache knows the semantics of a status
// well enough to store it under must-understand (RFC 9111 §5.2.2.3).
func (d Defaults) understands(status int) bool {
	switch status {
	case 302, 303, 307:
		return true
	case 206:
		return d.AllowPartial
	}
	return heuristicallyCacheable(status)
}

func (d Defaults) negativeTTL() time.Duration {
	if d.NegativeTTL == 0 {
		return DefaultNegativeTTL
	}
	return d.NegativeTTL
}

func (d Defaults) heuristicMax() time.Duration {
	if d.HeuristicMax == 0 {
		return DefaultHeuristicMax
	}
	return d.HeuristicMax
}

func (d Defaults) heuristicPercent() int {
	if d.HeuristicPercent == 0 {
		return DefaultHeuristicPercent
	}
	return min(d.HeuristicPercent, 100)
}

// varyFields returns the Vary field names, lower-cased, sorted and
// deduplicated, and whether "*" is among them.
func varyFields(lines []string) (names []string, star bool) {
	splitList(lines, func(name string) {
		if name == "*" {
			star = true
		}
		names = append(names, strings.ToLower(name))
	})
	if star {
		return nil, true
	}
	slices.Sort(names)
	return slices.Compact(names), false
}

func refuse(reason string) Decision { return Decision{Reason: reason} }

// emptyHeader stands in for a nil Header.
type emptyHeader struct{}

func (emptyHeader) Values(string) []string { return nil }

func orEmpty(h Header) Header {
	if h == nil {
		return emptyHeader{}
	}
	return h
}
