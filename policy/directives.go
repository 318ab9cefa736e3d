package policy

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pquerna/cachecontrol/cacheobject"
)

// Names of the fields that can govern the edge's caching, in the canonical
// form Header.Values receives.
const (
	fieldCDNCacheControl  = "Cdn-Cache-Control"
	fieldSurrogateControl = "Surrogate-Control"
	fieldCacheControl     = "Cache-Control"
)

// controls is what the governing caching field says to a shared cache.
type controls struct {
	noStore         bool
	public          bool
	mustRevalidate  bool
	proxyRevalidate bool
	mustUnderstand  bool
	noCache         bool     // bare no-cache: revalidate before every reuse
	private         bool     // bare private: not for a shared cache at all
	fields          []string // names from private="…" and no-cache="…", canonical

	maxAge, sMaxAge                    seconds
	staleWhileRevalidate, staleIfError seconds
}

// seconds is the value of a delta-seconds directive.
type seconds struct {
	present bool
	valid   bool  // false when malformed or given twice with different values
	n       int64 // meaningful only when valid
}

// setFreshness records a max-age or s-maxage. RFC 9111 §4.2.1: with two
// different values, or an invalid one, the response "should be considered
// stale"; so the value becomes invalid, which reads as zero.
func (s *seconds) setFreshness(n int64, ok bool) {
	if s.present && (!s.valid || !ok || s.n != n) {
		s.valid = false
		return
	}
	*s = seconds{present: true, valid: ok, n: n}
}

// setWindow records a stale-while-revalidate or stale-if-error. An invalid
// value allows no stale serving; with several values the smallest, most
// restrictive one holds (RFC 9111 §4.2.1).
func (s *seconds) setWindow(n int64, ok bool) {
	if !ok {
		n = 0
	}
	if s.present && s.n <= n {
		return
	}
	*s = seconds{present: true, valid: true, n: n}
}

// deltaSeconds returns s as cachecontrol represents it: -1 when absent, 0 when
// invalid (stale).
func (s seconds) deltaSeconds() cacheobject.DeltaSeconds {
	switch {
	case !s.present:
		return -1
	case !s.valid:
		return 0
	}
	return cacheobject.DeltaSeconds(s.n)
}

// add merges one directive, the text between two commas, into c. The value is
// parsed by cachecontrol one directive at a time, because its whole-header
// parser stops at the first malformed directive and drops the rest (so
// "max-age=abc, no-store" would lose no-store), and merges repeated
// directives in a way that cannot be told apart afterwards.
func (c *controls) add(raw string) {
	cd, err := cacheobject.ParseResponseCacheControl(raw)
	if err != nil {
		c.addInvalid(directiveName(raw))
		return
	}
	c.noStore = c.noStore || cd.NoStore
	c.public = c.public || cd.Public
	c.mustRevalidate = c.mustRevalidate || cd.MustRevalidate
	c.proxyRevalidate = c.proxyRevalidate || cd.ProxyRevalidate
	if cd.NoCachePresent {
		c.noCache = c.addFields(cd.NoCache) || c.noCache
	}
	if cd.PrivatePresent {
		c.private = c.addFields(cd.Private) || c.private
	}
	if cd.MaxAge != -1 {
		c.maxAge.setFreshness(int64(cd.MaxAge), true)
	}
	if cd.SMaxAge != -1 {
		c.sMaxAge.setFreshness(int64(cd.SMaxAge), true)
	}
	if cd.StaleWhileRevalidate != -1 {
		c.staleWhileRevalidate.setWindow(int64(cd.StaleWhileRevalidate), true)
	}
	if cd.StaleIfError != -1 {
		c.staleIfError.setWindow(int64(cd.StaleIfError), true)
	}
	if slices.Contains(cd.Extensions, "must-understand") {
		c.mustUnderstand = true
	}
}

// addFields appends the names of a private="…" or no-cache="…" directive and
// reports whether the directive was bare. An empty list (private="") is read
// as bare, the more restrictive meaning.
func (c *controls) addFields(names cacheobject.FieldNames) (bare bool) {
	n := len(c.fields)
	for name := range names {
		if name != "" {
			c.fields = append(c.fields, name)
		}
	}
	return len(c.fields) == n
}

// addInvalid handles a directive whose value cachecontrol rejected. Invalid
// freshness makes the response stale (RFC 9111 §4.2.1); restrictive
// directives given a stray argument still restrict; an invalid public or
// extension is ignored, as unrecognised directives are (§5.2.3).
func (c *controls) addInvalid(name string) {
	switch name {
	case "max-age":
		c.maxAge.setFreshness(0, false)
	case "s-maxage":
		c.sMaxAge.setFreshness(0, false)
	case "stale-while-revalidate":
		c.staleWhileRevalidate.setWindow(0, false)
	case "stale-if-error":
		c.staleIfError.setWindow(0, false)
	case "no-store":
		c.noStore = true
	case "must-revalidate":
		c.mustRevalidate = true
	case "proxy-revalidate":
		c.proxyRevalidate = true
	case "no-cache":
		c.noCache = true
	case "private":
		c.private = true
	}
}

// dropFields returns the field names the edge must not serve from the cache:
// canonical, sorted, without duplicates.
func (c *controls) dropFields() []string {
	if len(c.fields) == 0 {
		return nil
	}
	names := slices.Clone(c.fields)
	slices.Sort(names)
	return slices.Compact(names)
}

// directiveName returns the lower-cased name of one directive.
func directiveName(raw string) string {
	end := strings.IndexAny(raw, "= \t")
	if end < 0 {
		end = len(raw)
	}
	return strings.ToLower(raw[:end])
}

// governingControls returns the directives of the field that sets the edge's
// policy (see the package documentation) and that field's canonical name.
func governingControls(h Header) (controls, string) {
	var c controls
	if members, ok := cdnCacheControl(h.Values(fieldCDNCacheControl)); ok {
		for _, m := range members {
			if known, _ := cdnDirective(m); known {
				c.add(memberDirective(m))
			}
		}
		return c, fieldCDNCacheControl
	}
	found := false
	splitList(h.Values(fieldSurrogateControl), func(raw string) {
		for _, d := range surrogateDirectives(raw) {
			c.add(d)
			found = true
		}
	})
	if found {
		return c, fieldSurrogateControl
	}
	c = controls{}
	splitList(h.Values(fieldCacheControl), c.add)
	return c, fieldCacheControl
}

// cdnCacheControl parses CDN-Cache-Control lines as one Structured Fields
// Dictionary; ok is false when the field is absent, empty, invalid or has a
// directive of the wrong type, all of which RFC 9213 §2.1–2.2 treat as "not
// present", so that the next field governs.
func cdnCacheControl(lines []string) (members []sfMember, ok bool) {
	var nonEmpty []string
	for _, l := range lines {
		if l = strings.Trim(l, " \t"); l != "" {
			nonEmpty = append(nonEmpty, l)
		}
	}
	if len(nonEmpty) == 0 {
		return nil, false
	}
	members, err := parseDictionary(strings.Join(nonEmpty, ", "))
	if err != nil || len(members) == 0 {
		return nil, false
	}
	for _, m := range members {
		if known, wellTyped := cdnDirective(m); known && !wellTyped {
			return nil, false
		}
	}
	return members, true
}

// cdnDirective reports whether the edge acts on a CDN-Cache-Control member,
// and whether its value has the type RFC 9213 §2.1 infers from Cache-Control:
// an Integer for delta-seconds (negative ones are not delta-seconds), Boolean
// true for a directive without argument (?0 included: "no-store always has a
// Boolean true value"), and for no-cache and private either true or their
// field names, a String or (for one name) a Token, as §2.1 maps an unquoted
// value. A consumer that coerced a wrong type would disagree with other CDNs,
// so §2.1 has the whole field ignored. Other directives are ignored whatever
// their type (RFC 9111 §5.2.3).
func cdnDirective(m sfMember) (known, wellTyped bool) {
	switch m.key {
	case "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error":
		n, err := strconv.ParseInt(m.text, 10, 64)
		return true, m.kind == sfInteger && err == nil && n >= 0
	case "no-store", "public", "must-revalidate", "proxy-revalidate", "must-understand":
		return true, m.kind == sfTrue
	case "no-cache", "private":
		return true, m.kind == sfTrue || m.kind == sfString || m.kind == sfToken
	}
	return false, true
}

// memberDirective writes a well-typed dictionary member back in Cache-Control
// syntax so that cachecontrol reads targeted and untargeted fields the same
// way.
func memberDirective(m sfMember) string {
	switch m.kind {
	case sfTrue:
		return m.key
	case sfString:
		return m.key + "=" + strconv.Quote(m.text) // printable ASCII: Go and HTTP quoting agree
	default:
		return m.key + "=" + m.text
	}
}

// surrogateDirectives rewrites one Surrogate-Control directive into the
// Cache-Control directives it means for this edge; it returns none for a
// directive aimed at a particular device ("max-age=60;edge1").
func surrogateDirectives(raw string) []string {
	if indexUnquoted(raw, ';') >= 0 {
		return nil
	}
	name, value, _ := strings.Cut(raw, "=")
	switch strings.ToLower(name) {
	case "no-store-remote": // an edge is a remote surrogate
		return []string{"no-store"}
	case "max-age":
		if ttl, stale, ok := strings.Cut(value, "+"); ok {
			return []string{"max-age=" + ttl, "stale-if-error=" + stale}
		}
	}
	return []string{raw}
}

// splitList calls fn with each member of a comma-separated list spread over
// field lines (RFC 9110 §5.6.1), trimmed of whitespace, skipping empty ones.
// Commas inside quoted strings do not split.
func splitList(lines []string, fn func(member string)) {
	emit := func(s string) {
		if s = strings.Trim(s, " \t"); s != "" {
			fn(s)
		}
	}
	for _, line := range lines {
		for {
			i := indexUnquoted(line, ',')
			if i < 0 {
				emit(line)
				break
			}
			emit(line[:i])
			line = line[i+1:]
		}
	}
}

// indexUnquoted returns the index of the first b in s outside a quoted
// string, or -1.
func indexUnquoted(s string, b byte) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == b && !quoted:
			return i
		}
	}
	return -1
}

// requestNoStore reports whether the request's Cache-Control carries
// no-store, which forbids storing the response (RFC 9111 §5.2.1.5).
func requestNoStore(lines []string) bool {
	found := false
	splitList(lines, func(raw string) {
		rd, err := cacheobject.ParseRequestCacheControl(raw)
		found = found || (err == nil && rd.NoStore) || (err != nil && directiveName(raw) == "no-store")
	})
	return found
}
