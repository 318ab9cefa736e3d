package policy

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

// t0 is when every test response is received; no test reads the clock.
var t0 = time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC)

// at formats t0+d as an HTTP-date.
func at(d time.Duration) string { return t0.Add(d).Format(http.TimeFormat) }

// hdr builds a header from name, value pairs; a repeated name adds a field
// line, as a second header line on the wire would.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

const (
	day       = 24 * time.Hour
	etag      = `"v1"`
	cc        = "Cache-Control"
	cdnCC     = "CDN-Cache-Control"
	surrogate = "Surrogate-Control"
)

// stored is the Decision for a stored response governed by Cache-Control.
func stored(lifetime time.Duration) Decision {
	return Decision{Store: true, Lifetime: lifetime, Governing: fieldCacheControl}
}

// with returns d changed by fn, to keep table rows short.
func with(d Decision, fn func(*Decision)) Decision { fn(&d); return d }

func TestDecide(t *testing.T) {
	tests := []struct {
		rule     string
		defaults Defaults
		method   string        // GET when empty
		req      http.Header   // request header
		status   int           // 200 when zero
		resp     http.Header   // response header
		delay    time.Duration // between RequestedAt and ReceivedAt
		want     Decision
	}{
		// Explicit freshness: RFC 9111 §4.2.1.
		{rule: "§4.2.1 s-maxage wins over max-age in a shared cache; §5.2.2.10 it implies proxy-revalidate",
			resp: hdr(cc, "max-age=60, s-maxage=300"),
			want: with(stored(300*time.Second), func(d *Decision) { d.MustRevalidate = true })},
		{rule: "§4.2.1 max-age wins over Expires",
			resp: hdr(cc, "max-age=60", "Date", at(0), "Expires", at(time.Hour)),
			want: stored(60 * time.Second)},
		{rule: "§4.2.1 without max-age the lifetime is Expires − Date",
			resp: hdr("Date", at(0), "Expires", at(time.Hour)),
			want: stored(time.Hour)},
		{rule: "§4.2.1 Expires − Date uses the origin's Date, so a skewed origin clock does not stretch freshness; §4.2.3 the skew shows as apparent age",
			resp: hdr("Date", at(-2*time.Hour), "Expires", at(-time.Hour), "Etag", etag),
			want: with(stored(time.Hour), func(d *Decision) { d.InitialAge = 2 * time.Hour })},
		{rule: "§4.2.1 Expires without Date is measured from receipt (RFC 9110 §6.6.1)",
			resp: hdr("Expires", at(90*time.Second)),
			want: stored(90 * time.Second)},
		{rule: "§5.3 an invalid Expires (\"0\") means already expired, and no heuristic applies",
			resp: hdr("Expires", "0", "Last-Modified", at(-10*day)),
			want: stored(0)},
		{rule: "§5.3 Expires is ignored when max-age is present",
			resp: hdr(cc, "max-age=60", "Expires", "0"),
			want: stored(60 * time.Second)},
		{rule: "§4.2.1 two different Expires values: considered stale",
			resp: hdr("Expires", at(time.Hour), "Expires", at(2*time.Hour), "Etag", etag),
			want: stored(0)},
		{rule: "§4.2.1 an Expires before Date gives zero lifetime, never a negative one",
			resp: hdr("Date", at(0), "Expires", at(-time.Hour), "Etag", etag),
			want: stored(0)},
		{rule: "§5.2 recipients accept the quoted form of max-age",
			resp: hdr(cc, `max-age="60"`),
			want: stored(60 * time.Second)},
		{rule: "§1.2.2 an overlarge delta-seconds is capped, not an error",
			resp: hdr(cc, "max-age=99999999999"),
			want: stored(2147483647 * time.Second)},

		// Age: RFC 9111 §4.2.3 and §5.1.
		{rule: "§4.2.3 Age counts against freshness: max-age=60 with Age: 50 leaves 10 s",
			resp: hdr(cc, "max-age=60", "Age", "50"),
			want: with(stored(60*time.Second), func(d *Decision) { d.InitialAge = 50 * time.Second })},
		{rule: "§4.2.3 apparent age: Date 30 s in the past, no Age",
			resp: hdr(cc, "max-age=60", "Date", at(-30*time.Second)),
			want: with(stored(60*time.Second), func(d *Decision) { d.InitialAge = 30 * time.Second })},
		{rule: "§4.2.3 corrected age adds the response delay to Age",
			resp: hdr(cc, "max-age=60", "Age", "10"), delay: 2 * time.Second,
			want: with(stored(60*time.Second), func(d *Decision) { d.InitialAge = 12 * time.Second })},
		{rule: "§4.2.3 corrected initial age is the larger of apparent and corrected age",
			resp: hdr(cc, "max-age=60", "Age", "10", "Date", at(-30*time.Second)),
			want: with(stored(60*time.Second), func(d *Decision) { d.InitialAge = 30 * time.Second })},
		{rule: "§4.2.3 a Date in the future gives no negative age",
			resp: hdr(cc, "max-age=60", "Date", at(time.Hour)),
			want: stored(60 * time.Second)},
		{rule: "§5.1 an Age list: the first member counts",
			resp: hdr(cc, "max-age=60", "Age", "10, 20"),
			want: with(stored(60*time.Second), func(d *Decision) { d.InitialAge = 10 * time.Second })},
		{rule: "§5.1 an invalid Age is ignored",
			resp: hdr(cc, "max-age=60", "Age", "-5"),
			want: stored(60 * time.Second)},
		{rule: "an invalid Date is ignored, not an error (cachecontrol fails the whole response)",
			resp: hdr(cc, "max-age=60", "Date", "yesterday"),
			want: stored(60 * time.Second)},
		{rule: "§4.2.1 stale on arrival but inside the stale-while-revalidate window: stored",
			resp: hdr(cc, "max-age=10, stale-while-revalidate=30", "Age", "20"),
			want: with(stored(10*time.Second), func(d *Decision) {
				d.InitialAge, d.StaleWhileRevalidate = 20*time.Second, 30*time.Second
			})},
		{rule: "stale on arrival beyond every window and without a validator: not stored",
			resp: hdr(cc, "max-age=10, stale-while-revalidate=30", "Age", "50"),
			want: Decision{Reason: ReasonUnusable}},

		// Several Cache-Control lines: RFC 9110 §5.3 combines them into one list.
		{rule: "RFC 9110 §5.3 every Cache-Control line counts: max-age=60 + no-store is not stored",
			resp: hdr(cc, "max-age=60", cc, "no-store"),
			want: Decision{Reason: ReasonNoStore}},
		{rule: "RFC 9110 §5.3 public + max-age=30 on two lines gives 30 s",
			resp: hdr(cc, "public", cc, "max-age=30"),
			want: stored(30 * time.Second)},
		{rule: "§4.2.1 the same max-age twice is no conflict",
			resp: hdr(cc, "max-age=60", cc, "max-age=60"),
			want: stored(60 * time.Second)},
		{rule: "§4.2.1 two different max-age values: considered stale",
			resp: hdr(cc, "max-age=10, max-age=100", "Etag", etag),
			want: stored(0)},

		// Malformed directives: §4.2.1 invalid freshness means stale.
		{rule: "§4.2.1 max-age=abc is invalid freshness: stale, not heuristic",
			resp: hdr(cc, "max-age=abc", "Last-Modified", at(-10*day)),
			want: stored(0)},
		{rule: "§4.2.1 a negative max-age is invalid: stale",
			resp: hdr(cc, "max-age=-1", "Etag", etag),
			want: stored(0)},
		{rule: "§3 a malformed max-age does not hide a no-store beside it",
			resp: hdr(cc, "max-age=abc, no-store"),
			want: Decision{Reason: ReasonNoStore}},
		{rule: "§5.2.2.3 no-store with a stray argument still forbids storing",
			resp: hdr(cc, "no-store=1, max-age=60"),
			want: Decision{Reason: ReasonNoStore}},
		{rule: "§5.2.3 unknown directives are ignored",
			resp: hdr(cc, "max-age=60, x-frob=7, immutable"),
			want: stored(60 * time.Second)},
		{rule: "§4.2.1 max-age=0 with a validator: stored stale, revalidated on next use",
			resp: hdr(cc, "max-age=0", "Etag", etag),
			want: stored(0)},
		{rule: "max-age=0 without a validator: nothing to revalidate, not stored",
			resp: hdr(cc, "max-age=0"),
			want: Decision{Reason: ReasonUnusable}},

		// no-store, private, no-cache, must-revalidate, proxy-revalidate.
		{rule: "§5.2.2.5 no-store",
			resp: hdr(cc, "public, max-age=60, no-store"),
			want: Decision{Reason: ReasonNoStore}},
		{rule: "§5.2.2.7 private without field names: not for a shared cache",
			resp: hdr(cc, "private, max-age=60"),
			want: Decision{Reason: ReasonPrivate}},
		{rule: "§5.2.2.7 private=\"Set-Cookie\": store the rest, drop Set-Cookie (even with AllowSetCookie off)",
			resp: hdr(cc, `private="Set-Cookie", max-age=60`, "Set-Cookie", "a=b"),
			want: with(stored(60*time.Second), func(d *Decision) { d.DropHeaders = []string{"Set-Cookie"} })},
		{rule: "§5.2.2.7 private with a list: every name dropped, canonical and sorted",
			resp: hdr(cc, `max-age=60, private="x-user, set-cookie"`),
			want: with(stored(60*time.Second), func(d *Decision) { d.DropHeaders = []string{"Set-Cookie", "X-User"} })},
		{rule: "§5.2.2.7 private=\"X-Foo\": stored, X-Foo not served from cache",
			resp: hdr(cc, `private="X-Foo", max-age=60`, "X-Foo", "secret"),
			want: with(stored(60*time.Second), func(d *Decision) { d.DropHeaders = []string{"X-Foo"} })},
		{rule: "§5.2.2.7 private=set-cookie,max-age=60 with no space keeps max-age (cachecontrol swallows it)",
			resp: hdr(cc, "private=set-cookie,max-age=60"),
			want: with(stored(60*time.Second), func(d *Decision) { d.DropHeaders = []string{"Set-Cookie"} })},
		{rule: "§5.2.2.7 private=\"\" names nothing: read as bare private",
			resp: hdr(cc, `private="", max-age=60`),
			want: Decision{Reason: ReasonPrivate}},
		{rule: "§5.2.2.4 no-cache: store, revalidate before every reuse, no stale serving",
			resp: hdr(cc, "max-age=60, no-cache, stale-if-error=600", "Etag", etag),
			want: with(stored(0), func(d *Decision) { d.NoCache, d.MustRevalidate = true, true })},
		{rule: "§5.2.2.4 no-cache without a validator: every reuse is a full fetch, not stored",
			resp: hdr(cc, "max-age=60, no-cache"),
			want: Decision{Reason: ReasonUnusable}},
		{rule: "§5.2.2.4 no-cache=\"Set-Cookie\": reusable, but Set-Cookie is not served from cache",
			resp: hdr(cc, `max-age=60, no-cache="Set-Cookie"`, "Set-Cookie", "a=b"),
			want: with(stored(60*time.Second), func(d *Decision) { d.DropHeaders = []string{"Set-Cookie"} })},
		{rule: "§5.2.2.4 no-cache with a lower-case list: every name dropped, canonical and sorted; Set-Cookie allowed",
			resp: hdr(cc, `max-age=60, no-cache="x-foo, set-cookie"`, "Set-Cookie", "a=b"),
			want: with(stored(60*time.Second), func(d *Decision) { d.DropHeaders = []string{"Set-Cookie", "X-Foo"} })},
		{rule: "§5.2.2.2 must-revalidate overrides stale-while-revalidate and stale-if-error",
			resp: hdr(cc, "max-age=60, must-revalidate, stale-while-revalidate=30, stale-if-error=600"),
			want: with(stored(60*time.Second), func(d *Decision) { d.MustRevalidate = true })},
		{rule: "§5.2.2.8 proxy-revalidate binds a shared cache like must-revalidate",
			defaults: Defaults{StaleWhileRevalidate: time.Minute},
			resp:     hdr(cc, "max-age=60, proxy-revalidate, stale-if-error=600"),
			want:     with(stored(60*time.Second), func(d *Decision) { d.MustRevalidate = true })},
		{rule: "§5.2.2.10 s-maxage implies proxy-revalidate: operator stale defaults do not apply",
			defaults: Defaults{StaleWhileRevalidate: time.Minute, StaleIfError: time.Hour},
			resp:     hdr(cc, "s-maxage=60"),
			want:     with(stored(60*time.Second), func(d *Decision) { d.MustRevalidate = true })},
		{rule: "RFC 5861 with §5.2.2.10: the origin's own stale-while-revalidate beside s-maxage is honoured",
			resp: hdr(cc, "s-maxage=60, stale-while-revalidate=30"),
			want: with(stored(60*time.Second), func(d *Decision) {
				d.MustRevalidate, d.StaleWhileRevalidate = true, 30*time.Second
			})},

		// Stale windows: RFC 5861.
		{rule: "RFC 5861 §3, §4 stale-while-revalidate and stale-if-error from the response",
			resp: hdr(cc, "max-age=60, stale-while-revalidate=30, stale-if-error=600"),
			want: with(stored(60*time.Second), func(d *Decision) {
				d.StaleWhileRevalidate, d.StaleIfError = 30*time.Second, 600*time.Second
			})},
		{rule: "RFC 5861 defaults apply when the origin sends none",
			defaults: Defaults{StaleWhileRevalidate: 10 * time.Second, StaleIfError: time.Minute},
			resp:     hdr(cc, "max-age=60"),
			want: with(stored(60*time.Second), func(d *Decision) {
				d.StaleWhileRevalidate, d.StaleIfError = 10*time.Second, time.Minute
			})},
		{rule: "RFC 5861 the origin's value replaces the default, directive by directive",
			defaults: Defaults{StaleWhileRevalidate: 10 * time.Second, StaleIfError: time.Minute},
			resp:     hdr(cc, "max-age=60, stale-while-revalidate=5"),
			want: with(stored(60*time.Second), func(d *Decision) {
				d.StaleWhileRevalidate, d.StaleIfError = 5*time.Second, time.Minute
			})},
		{rule: "RFC 5861 an invalid stale-if-error allows no stale serving, even over a default",
			defaults: Defaults{StaleIfError: time.Minute},
			resp:     hdr(cc, "max-age=60, stale-if-error=soon"),
			want:     stored(60 * time.Second)},

		// Heuristic freshness: RFC 9111 §4.2.2, RFC 9110 §15.1.
		{rule: "§4.2.2 heuristic: 10% of Date − Last-Modified",
			resp: hdr("Date", at(0), "Last-Modified", at(-5*day)),
			want: with(stored(12*time.Hour), func(d *Decision) { d.Heuristic = true })},
		{rule: "§4.2.2 a Last-Modified off the HTTP-date grammar (one-digit hour) gives no heuristic and is no validator",
			resp: hdr("Date", at(0), "Last-Modified", "Sat, 22 Feb 2025 1:00:00 GMT"),
			want: Decision{Reason: ReasonUnusable}},
		{rule: "§4.2.2 heuristic capped by the default maximum (24 h)",
			resp: hdr("Last-Modified", at(-100*day)),
			want: with(stored(day), func(d *Decision) { d.Heuristic = true })},
		{rule: "§4.2.2 heuristic fraction and cap are configurable",
			defaults: Defaults{HeuristicPercent: 20, HeuristicMax: 48 * time.Hour},
			resp:     hdr("Last-Modified", at(-5*day)),
			want:     with(stored(day), func(d *Decision) { d.Heuristic = true })},
		{rule: "§4.2.2 heuristic measured from Date, not receipt",
			resp: hdr("Date", at(-time.Hour), "Last-Modified", at(-11*time.Hour)),
			want: with(stored(time.Hour), func(d *Decision) { d.Heuristic, d.InitialAge = true, time.Hour })},
		{rule: "§4.2.2 negative HeuristicPercent turns the heuristic off",
			defaults: Defaults{HeuristicPercent: -1},
			resp:     hdr("Last-Modified", at(-5*day)),
			want:     with(stored(0), func(d *Decision) { d.Heuristic = true })},
		{rule: "RFC 9110 §15.1 308 is heuristically cacheable (cachecontrol's list lacks it)",
			status: 308, resp: hdr("Last-Modified", at(-5*day), "Location", "/x"),
			want: with(stored(12*time.Hour), func(d *Decision) { d.Heuristic = true })},
		{rule: "§4.2.2 no Last-Modified, no default: stored stale when it has an ETag",
			resp: hdr("Etag", etag),
			want: with(stored(0), func(d *Decision) { d.Heuristic = true })},
		{rule: "§4.2.2 no Last-Modified, no default, no validator: not stored",
			resp: hdr("Content-Type", "text/plain"),
			want: Decision{Reason: ReasonUnusable}},
		{rule: "DefaultTTL applies when there is neither explicit freshness nor Last-Modified",
			defaults: Defaults{DefaultTTL: 5 * time.Minute},
			resp:     hdr("Content-Type", "text/plain"),
			want:     with(stored(5*time.Minute), func(d *Decision) { d.Heuristic = true })},
		{rule: "§4.2.2 public makes a 302 heuristically cacheable",
			status: 302, resp: hdr(cc, "public", "Last-Modified", at(-5*day)),
			want: with(stored(12*time.Hour), func(d *Decision) { d.Heuristic = true })},

		// Negative caching.
		{rule: "404 without explicit freshness gets the negative TTL (3 min)",
			status: 404, resp: hdr("Content-Type", "text/plain"),
			want: with(stored(3*time.Minute), func(d *Decision) { d.Negative = true })},
		{rule: "410 without explicit freshness gets the negative TTL",
			status: 410, resp: hdr(),
			want: with(stored(3*time.Minute), func(d *Decision) { d.Negative = true })},
		{rule: "404 with max-age=10: the origin wins",
			status: 404, resp: hdr(cc, "max-age=10"),
			want: stored(10 * time.Second)},
		{rule: "404 with a configured negative TTL",
			defaults: Defaults{NegativeTTL: 30 * time.Second},
			status:   404, resp: hdr(),
			want: with(stored(30*time.Second), func(d *Decision) { d.Negative = true })},
		{rule: "404 with negative caching off falls back to the heuristic",
			defaults: Defaults{NegativeTTL: -1},
			status:   404, resp: hdr("Last-Modified", at(-5*day)),
			want: with(stored(12*time.Hour), func(d *Decision) { d.Heuristic = true })},
		{rule: "404 with no-store is not stored",
			status: 404, resp: hdr(cc, "no-store"),
			want: Decision{Reason: ReasonNoStore}},

		// Status codes: RFC 9111 §3.
		{rule: "§3 a 500 without explicit freshness is not stored",
			status: 500, resp: hdr("Last-Modified", at(-5*day)),
			want: Decision{Reason: ReasonStatus}},
		{rule: "§3 a 500 with max-age is stored: explicit freshness makes any final status storable",
			status: 500, resp: hdr(cc, "max-age=10"),
			want: stored(10 * time.Second)},
		{rule: "§3 a 503 with public, max-age=30 is stored",
			status: 503, resp: hdr(cc, "public, max-age=30"),
			want: stored(30 * time.Second)},
		{rule: "§3 a 503 with Expires is stored: Expires is explicit freshness too",
			status: 503, resp: hdr("Date", at(0), "Expires", at(time.Minute)),
			want: stored(time.Minute)},
		{rule: "public alone does not make this edge store a 500, even with a validator",
			status: 500, resp: hdr(cc, "public", "Etag", etag),
			want: Decision{Reason: ReasonStatus}},
		{rule: "public alone does not make this edge store a 5xx",
			status: 503, resp: hdr(cc, "public", "Last-Modified", at(-5*day)),
			want: Decision{Reason: ReasonStatus}},
		{rule: "§3 a 302 is not heuristically cacheable",
			status: 302, resp: hdr("Last-Modified", at(-5*day)),
			want: Decision{Reason: ReasonStatus}},
		{rule: "§3 a 302 with max-age is stored",
			status: 302, resp: hdr(cc, "max-age=60"),
			want: stored(60 * time.Second)},
		{rule: "§3.3 a 206 is stored only when the edge asks",
			status: 206, resp: hdr(cc, "max-age=60"),
			want: Decision{Reason: ReasonPartial}},
		{rule: "§3.3 a 206 with AllowPartial",
			defaults: Defaults{AllowPartial: true},
			status:   206, resp: hdr(cc, "max-age=60"),
			want: stored(60 * time.Second)},
		{rule: "§4.3.4 a 304 updates a stored response; it is not stored itself",
			status: 304, resp: hdr(cc, "max-age=60"),
			want: Decision{Reason: ReasonStatus}},
		{rule: "§3 a 1xx is not final",
			status: 103, resp: hdr(cc, "max-age=60"),
			want: Decision{Reason: ReasonStatus}},
		{rule: "§5.2.2.3 must-understand on a known status overrides no-store",
			resp: hdr(cc, "must-understand, no-store, max-age=60"),
			want: stored(60 * time.Second)},
		{rule: "§5.2.2.3 must-understand on an unknown status: not stored",
			status: 299, resp: hdr(cc, "must-understand, no-store, max-age=60"),
			want: Decision{Reason: ReasonMustUnderstand}},

		// Requests: §3, §3.5, §5.2.1.5.
		{rule: "§3 POST is not stored by this edge",
			method: "POST", resp: hdr(cc, "max-age=60"),
			want: Decision{Reason: ReasonMethod}},
		{rule: "RFC 9110 §9.1 methods are case-sensitive: \"get\" is not GET",
			method: "get", resp: hdr(cc, "max-age=60"),
			want: Decision{Reason: ReasonMethod}},
		{rule: "§3 HEAD is stored",
			method: "HEAD", resp: hdr(cc, "max-age=60"),
			want: stored(60 * time.Second)},
		{rule: "§5.2.1.5 request no-store",
			req: hdr(cc, "no-store"), resp: hdr(cc, "max-age=60"),
			want: Decision{Reason: ReasonRequestNoStore}},
		{rule: "§5.2.1.4 request no-cache does not prevent storing",
			req: hdr(cc, "no-cache"), resp: hdr(cc, "max-age=60"),
			want: stored(60 * time.Second)},
		{rule: "§3.5 Authorization without public, s-maxage or must-revalidate: not stored",
			req: hdr("Authorization", "Bearer x"), resp: hdr(cc, "max-age=60"),
			want: Decision{Reason: ReasonAuthorization}},
		{rule: "§3.5 Authorization with public",
			req: hdr("Authorization", "Bearer x"), resp: hdr(cc, "public, max-age=60"),
			want: stored(60 * time.Second)},
		{rule: "§3.5 Authorization with s-maxage",
			req: hdr("Authorization", "Bearer x"), resp: hdr(cc, "s-maxage=60"),
			want: with(stored(60*time.Second), func(d *Decision) { d.MustRevalidate = true })},
		{rule: "§3.5 Authorization with must-revalidate",
			req: hdr("Authorization", "Bearer x"), resp: hdr(cc, "must-revalidate, max-age=60"),
			want: with(stored(60*time.Second), func(d *Decision) { d.MustRevalidate = true })},

		// Set-Cookie and Vary.
		{rule: "Set-Cookie: stored without it by default",
			resp: hdr(cc, "max-age=60", "Set-Cookie", "id=1"),
			want: with(stored(60*time.Second), func(d *Decision) { d.DropHeaders = []string{"Set-Cookie"} })},
		{rule: "Set-Cookie: field names of no-cache come with it, sorted",
			resp: hdr(cc, `max-age=60, no-cache="X-Z"`, "Set-Cookie", "id=1"),
			want: with(stored(60*time.Second), func(d *Decision) { d.DropHeaders = []string{"Set-Cookie", "X-Z"}; d.NoCache = false })},
		{rule: "Set-Cookie with SetCookieRefuse: not stored",
			defaults: Defaults{SetCookie: SetCookieRefuse},
			resp:     hdr(cc, "max-age=60", "Set-Cookie", "id=1"),
			want:     Decision{Reason: ReasonSetCookie}},
		{rule: "Set-Cookie with SetCookieStore: stored with it",
			defaults: Defaults{SetCookie: SetCookieStore},
			resp:     hdr(cc, "max-age=60", "Set-Cookie", "id=1"),
			want:     stored(60 * time.Second)},
		{rule: "5xx with explicit freshness and RefuseServerErrors: not stored",
			defaults: Defaults{RefuseServerErrors: true}, status: 503,
			resp: hdr(cc, "public, max-age=60"),
			want: Decision{Reason: ReasonServerError}},
		{rule: "§4.1 Vary: * never matches: not stored",
			resp: hdr(cc, "max-age=60", "Vary", "Accept-Encoding, *"),
			want: Decision{Reason: ReasonVaryStar}},
		{rule: "§4.1 Vary names over several lines: lower-cased, sorted, deduplicated",
			resp: hdr(cc, "max-age=60", "Vary", "Accept-Language, accept-encoding", "Vary", "Accept-Encoding"),
			want: with(stored(60*time.Second), func(d *Decision) { d.Vary = []string{"accept-encoding", "accept-language"} })},

		// Targeted fields: RFC 9213, and Surrogate-Control.
		{rule: "RFC 9213 §3.1 CDN-Cache-Control wins over s-maxage and max-age",
			resp: hdr(cc, "max-age=60, s-maxage=120", cdnCC, "max-age=600"),
			want: Decision{Store: true, Lifetime: 600 * time.Second, Governing: fieldCDNCacheControl}},
		{rule: "RFC 9213 §3.1 CDN-Cache-Control: max-age=600 with Cache-Control: no-store is stored",
			resp: hdr(cc, "no-store, private", cdnCC, "max-age=600"),
			want: Decision{Store: true, Lifetime: 600 * time.Second, Governing: fieldCDNCacheControl}},
		{rule: "RFC 9213 §2.2 no-store in CDN-Cache-Control binds the CDN",
			resp: hdr(cc, "max-age=60", cdnCC, "no-store"),
			want: Decision{Reason: ReasonNoStore}},
		{rule: "RFC 9213 §3.1 CDN-Cache-Control: none lifts Cache-Control's no-store; no freshness, so heuristic",
			resp: hdr(cc, "no-store", cdnCC, "none", "Last-Modified", at(-5*day)),
			want: Decision{Store: true, Lifetime: 12 * time.Hour, Heuristic: true, Governing: fieldCDNCacheControl}},
		{rule: "RFC 9213 §2.2 Expires is ignored when CDN-Cache-Control governs",
			resp: hdr(cdnCC, "public", "Expires", at(time.Hour), "Etag", etag),
			want: Decision{Store: true, Heuristic: true, Governing: fieldCDNCacheControl}},
		{rule: "RFC 9213 §2.1 an invalid dictionary (upper-case key) is ignored: Cache-Control governs",
			resp: hdr(cc, "max-age=60", cdnCC, "Max-Age=600"),
			want: stored(60 * time.Second)},
		{rule: "RFC 9213 §2.1 an empty CDN-Cache-Control is ignored",
			resp: hdr(cc, "max-age=60", cdnCC, " "),
			want: stored(60 * time.Second)},
		{rule: "RFC 9213 §2.1 parameters on directives are ignored; several lines form one dictionary",
			resp: hdr(cdnCC, "max-age=600;foo=bar", cdnCC, `private="set-cookie"`),
			want: Decision{Store: true, Lifetime: 600 * time.Second, DropHeaders: []string{"Set-Cookie"}, Governing: fieldCDNCacheControl}},
		{rule: "RFC 9213 §2.1 a decimal max-age is the wrong type: the whole field is ignored, Cache-Control governs",
			resp: hdr(cc, "max-age=100", cdnCC, "max-age=1.5, no-store"),
			want: stored(100 * time.Second)},
		{rule: "RFC 9213 §2.1 (cache-tests cdn-cc-invalid-sh-type-wrong) max-age=\"10000\" is ignored, so Cache-Control's no-store holds",
			resp: hdr(cc, "no-store", cdnCC, `max-age="10000"`),
			want: Decision{Reason: ReasonNoStore}},
		{rule: "RFC 8941 §3.2 a repeated key: the last value wins",
			resp: hdr(cdnCC, "max-age=10, max-age=20"),
			want: Decision{Store: true, Lifetime: 20 * time.Second, Governing: fieldCDNCacheControl}},
		{rule: "RFC 9213 §2.2 CDN-Cache-Control stale directives",
			resp: hdr(cdnCC, "max-age=60, stale-while-revalidate=30, stale-if-error=0"),
			want: Decision{Store: true, Lifetime: 60 * time.Second, StaleWhileRevalidate: 30 * time.Second, Governing: fieldCDNCacheControl}},
		{rule: "Surrogate-Control wins over Cache-Control",
			resp: hdr(cc, "max-age=0, private", surrogate, "max-age=3600, stale-while-revalidate=60"),
			want: Decision{Store: true, Lifetime: time.Hour, StaleWhileRevalidate: time.Minute, Governing: fieldSurrogateControl}},
		{rule: "Surrogate-Control: no-store",
			resp: hdr(cc, "max-age=60", surrogate, "no-store"),
			want: Decision{Reason: ReasonNoStore}},
		{rule: "Surrogate-Control: no-store-remote binds an edge, which is remote",
			resp: hdr(cc, "max-age=60", surrogate, "no-store-remote"),
			want: Decision{Reason: ReasonNoStore}},
		{rule: "Surrogate-Control: max-age=A+B is A fresh plus B stale-if-error",
			resp: hdr(surrogate, "max-age=60+600"),
			want: Decision{Store: true, Lifetime: time.Minute, StaleIfError: 10 * time.Minute, Governing: fieldSurrogateControl}},
		{rule: "Surrogate-Control aimed at another device is skipped: Cache-Control governs",
			resp: hdr(cc, "max-age=30", surrogate, "max-age=3600;edge1"),
			want: stored(30 * time.Second)},
		{rule: "CDN-Cache-Control wins over Surrogate-Control",
			resp: hdr(cdnCC, "max-age=10", surrogate, "max-age=3600"),
			want: Decision{Store: true, Lifetime: 10 * time.Second, Governing: fieldCDNCacheControl}},
		{rule: "§3.5 with a targeted field, its own public allows an authorised response",
			req:  hdr("Authorization", "Bearer x"),
			resp: hdr(cc, "private", cdnCC, "public, max-age=60"),
			want: Decision{Store: true, Lifetime: time.Minute, Governing: fieldCDNCacheControl}},

		// Caps.
		{rule: "MaxTTL caps explicit freshness",
			defaults: Defaults{MaxTTL: time.Hour},
			resp:     hdr(cc, "max-age=86400"),
			want:     stored(time.Hour)},
		{rule: "MaxTTL caps the negative TTL too",
			defaults: Defaults{MaxTTL: time.Minute},
			status:   404, resp: hdr(),
			want: with(stored(time.Minute), func(d *Decision) { d.Negative = true })},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			method, status := tt.method, tt.status
			if method == "" {
				method = http.MethodGet
			}
			if status == 0 {
				status = http.StatusOK
			}
			got := tt.defaults.Decide(
				Request{Method: method, Header: tt.req},
				Response{Status: status, Header: tt.resp, RequestedAt: t0.Add(-tt.delay), ReceivedAt: t0},
			)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decide:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFreshForAfterAge(t *testing.T) {
	// RFC 9111 §4.2.3: max-age=60 received with Age: 50 has 10 s left.
	d := Defaults{}.Decide(Request{Method: "GET"}, Response{
		Status: 200, Header: hdr(cc, "max-age=60", "Age", "50"), ReceivedAt: t0,
	})
	if got := d.FreshFor(); got != 10*time.Second {
		t.Errorf("FreshFor = %v, want 10s", got)
	}
	if got := (Decision{Lifetime: time.Second, InitialAge: time.Minute}).FreshFor(); got != 0 {
		t.Errorf("FreshFor of a stale entry = %v, want 0", got)
	}
}

func TestDecideWithoutReceiptTime(t *testing.T) {
	tests := []struct {
		rule string
		resp http.Header
		want time.Duration
	}{
		{"Date stands in for a missing receipt time", hdr("Date", at(0), "Expires", at(time.Hour)), time.Hour},
		{"with neither, Expires cannot be measured: stale", hdr("Expires", at(time.Hour), "Etag", etag), 0},
		{"with neither, max-age still holds", hdr(cc, "max-age=60"), time.Minute},
		{"an RFC 850 year is read against Date", hdr("Date", at(0), "Expires", "Saturday, 01-Mar-25 13:00:00 GMT"), time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			d := Defaults{}.Decide(Request{Method: "GET"}, Response{Status: 200, Header: tt.resp})
			if !d.Store || d.Lifetime != tt.want {
				t.Errorf("got Store=%v Lifetime=%v (%s), want stored for %v", d.Store, d.Lifetime, d.Reason, tt.want)
			}
		})
	}
}

func TestDecideNilHeaders(t *testing.T) {
	d := Defaults{}.Decide(Request{Method: "GET"}, Response{Status: 404, ReceivedAt: t0})
	if !d.Store || !d.Negative || d.Lifetime != DefaultNegativeTTL {
		t.Errorf("404 with nil headers: got %+v, want the negative TTL", d)
	}
}

// TestDecideExpiresParsing follows cache-tests.fyi's expires-parse suite: an
// Expires off the strict HTTP-date grammar means "already expired" (RFC 9111
// §5.3), so the response is stale on arrival, and the heuristic that the
// Last-Modified beside it would allow does not apply.
func TestDecideExpiresParsing(t *testing.T) {
	tests := []struct {
		name    string
		expires string
		want    time.Duration
	}{
		{"IMF-fixdate", "Sat, 01 Mar 2025 13:00:00 GMT", time.Hour},
		{"obsolete RFC 850, year read against receipt", "Saturday, 01-Mar-25 13:00:00 GMT", time.Hour},
		{"obsolete asctime", "Sat Mar  1 13:00:00 2025", time.Hour},
		{"far future, beyond 32-bit time", "Sun, 21 Nov 2286 04:46:39 GMT", time.Date(2286, 11, 21, 4, 46, 39, 0, time.UTC).Sub(t0)},

		{"Expires: 0", "0", 0},
		{"Expires: -1", "-1", 0},
		{"Expires with one-digit hour", "Sun, 02 Mar 2025 3:00:00 GMT", 0},
		{"Expires with two spaces", "Sat, 01  Mar 2025 13:00:00 GMT", 0},
		{"Expires with lower-case zone (gmt)", "Sat, 01 Mar 2025 13:00:00 gmt", 0},
		{"Expires with wrong-case zone (Gmt)", "Sat, 01 Mar 2025 13:00:00 Gmt", 0},
		{"Expires with UTC", "Sat, 01 Mar 2025 13:00:00 UTC", 0},
		{"Expires with another zone (AEST)", "Sat, 01 Mar 2025 13:00:00 AEST", 0},
		{"Expires with wrong-case weekday", "SAT, 01 Mar 2025 13:00:00 GMT", 0},
		{"Expires with wrong-case month", "Sat, 01 MAR 2025 13:00:00 GMT", 0},
		{"Expires with a two-digit year", "Sat, 01 Mar 25 13:00:00 GMT", 0},
		{"Expires without the comma", "Sat 01 Mar 2025 13:00:00 GMT", 0},
		{"Expires with date dashes", "Sat, 01-Mar-2025 13:00:00 GMT", 0},
		{"Expires with time periods", "Sat, 01 Mar 2025 13.00.00 GMT", 0},
		{"Expires with trailing junk", "Sat, 01 Mar 2025 13:00:00 GMT junk", 0},
		{"Expires with a weekday that is not the date's", "Sun, 01 Mar 2025 13:00:00 GMT", 0},
		{"Expires on a day not in the month", "Sat, 29 Feb 2025 13:00:00 GMT", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := hdr("Date", at(0), "Expires", tt.expires, "Last-Modified", at(-10*day))
			got := Defaults{}.Decide(Request{Method: "GET"}, Response{Status: 200, Header: resp, ReceivedAt: t0})
			if want := stored(tt.want); !reflect.DeepEqual(got, want) {
				t.Errorf("Expires: %q\n got %+v\nwant %+v", tt.expires, got, want)
			}
		})
	}
}

// TestCDNCacheControlWrongType: RFC 9213 §2.1 has a CDN-Cache-Control whose
// directive has a value of the wrong type ignored as a whole, so the next
// field governs; unknown directives are ignored whatever their type.
func TestCDNCacheControlWrongType(t *testing.T) {
	ignored := []struct{ why, cdn string }{
		{"max-age as a String", `max-age="10"`},
		{"max-age as a Decimal", "max-age=10.5"},
		{"max-age as a Token", "max-age=ten"},
		{"max-age as a Boolean", "max-age=?1"},
		{"a negative max-age", "max-age=-10"},
		{"max-age as a Date", "max-age=@10"},
		{"s-maxage as a Boolean", "s-maxage=?1"},
		{"stale-while-revalidate as a String", `max-age=10, stale-while-revalidate="5"`},
		{"stale-if-error as Boolean false", "max-age=10, stale-if-error=?0"},
		{"no-store with an Integer", "no-store=3"},
		{"no-store as Boolean false", "max-age=10, no-store=?0"},
		{"public with a String", `public="yes", max-age=10`},
		{"must-revalidate with an Integer", "max-age=10, must-revalidate=1"},
		{"proxy-revalidate with a Token", "max-age=10, proxy-revalidate=yes"},
		{"must-understand with a Byte Sequence", "max-age=10, must-understand=:aGk=:"},
		{"private with an Inner List", "max-age=10, private=(set-cookie)"},
		{"no-cache with an Integer", "max-age=10, no-cache=1"},
		{"a wrong type beside a no-store", `no-store, max-age="10"`},
	}
	for _, tt := range ignored {
		t.Run("ignored: "+tt.why, func(t *testing.T) {
			resp := hdr(cdnCC, tt.cdn, cc, "max-age=100")
			got := Defaults{}.Decide(Request{Method: "GET"}, Response{Status: 200, Header: resp, ReceivedAt: t0})
			if want := stored(100 * time.Second); !reflect.DeepEqual(got, want) {
				t.Errorf("CDN-Cache-Control: %s\n got %+v\nwant %+v (Cache-Control governs)", tt.cdn, got, want)
			}
		})
	}

	t.Run("ignored: Surrogate-Control governs next", func(t *testing.T) {
		resp := hdr(cdnCC, `max-age="10"`, surrogate, "max-age=50", cc, "max-age=100")
		got := Defaults{}.Decide(Request{Method: "GET"}, Response{Status: 200, Header: resp, ReceivedAt: t0})
		if got.Governing != fieldSurrogateControl || got.Lifetime != 50*time.Second {
			t.Errorf("got %s for %v, want Surrogate-Control for 50s", got.Governing, got.Lifetime)
		}
	})

	used := []struct {
		why, cdn string
		want     Decision
	}{
		{"an unknown directive of any type", `max-age=10, x-tier="gold", immutable=?0, x-n=1.5`,
			Decision{Store: true, Lifetime: 10 * time.Second}},
		{"private with a Token", "max-age=10, private=set-cookie",
			Decision{Store: true, Lifetime: 10 * time.Second, DropHeaders: []string{"Set-Cookie"}}},
		{"no-cache with a String list", `max-age=10, no-cache="set-cookie, x-foo"`,
			Decision{Store: true, Lifetime: 10 * time.Second, DropHeaders: []string{"Set-Cookie", "X-Foo"}}},
		{"Boolean true written ?1", "max-age=10, must-revalidate=?1",
			Decision{Store: true, Lifetime: 10 * time.Second, MustRevalidate: true}},
		{"max-age=0 is an Integer", "max-age=0, stale-if-error=60",
			Decision{Store: true, StaleIfError: time.Minute}},
	}
	for _, tt := range used {
		t.Run("governs: "+tt.why, func(t *testing.T) {
			resp := hdr(cdnCC, tt.cdn, cc, "max-age=100")
			got := Defaults{}.Decide(Request{Method: "GET"}, Response{Status: 200, Header: resp, ReceivedAt: t0})
			tt.want.Governing = fieldCDNCacheControl
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CDN-Cache-Control: %s\n got %+v\nwant %+v", tt.cdn, got, tt.want)
			}
		})
	}
}

// SilentTTL replaces the heuristics for a silent origin, by status, and
// refuses what it does not list; OverrideTTL replaces stated freshness
// but never what forbids storing.
func TestSilentAndOverrideTTL(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	table := func(status int) (time.Duration, bool) {
		if status == 302 {
			return 20 * time.Minute, true
		}
		return 0, false
	}
	decide := func(d Defaults, status int, cc string) Decision {
		h := http.Header{}
		if cc != "" {
			h.Set("Cache-Control", cc)
		}
		return d.Decide(Request{Method: "GET"}, Response{Status: status, Header: h, RequestedAt: now, ReceivedAt: now})
	}
	silent := Defaults{SilentTTL: table}
	if d := decide(silent, 302, ""); !d.Store || d.Lifetime != 20*time.Minute || !d.Heuristic {
		t.Errorf("a silent 302 with the table: %+v", d)
	}
	if d := decide(silent, 200, ""); d.Store || d.Reason != ReasonStatus {
		t.Errorf("a silent 200 the table leaves out: %+v", d)
	}
	if d := decide(silent, 200, "max-age=60"); !d.Store || d.Lifetime != time.Minute {
		t.Errorf("a 200 with max-age: %+v", d)
	}
	ttl := time.Hour
	override := Defaults{OverrideTTL: &ttl}
	if d := decide(override, 200, "max-age=60"); !d.Store || d.Lifetime != time.Hour {
		t.Errorf("max-age under OverrideTTL: %+v", d)
	}
	for _, cc := range []string{"no-store", "private, max-age=60"} {
		if d := decide(override, 200, cc); d.Store {
			t.Errorf("%s under OverrideTTL was stored", cc)
		}
	}
}
