package policy

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/cachecontrol/cacheobject"
)

// maxDelta is what RFC 9111 §1.2.2 has a cache use for a delta-seconds
// value (or a computed age) too large to represent: 2^31 seconds.
const maxDelta = time.Duration(1<<31) * time.Second

// clock holds the times a response's age and freshness are computed from.
type clock struct {
	// anchor is when the response was received (RFC 9111 response_time), or
	// its Date when the edge gave no receipt time.
	anchor      time.Time
	anchorKnown bool
	date        time.Time // the Date field; zero when absent or invalid
	initialAge  time.Duration
}

// newClock reads Date and Age and computes the corrected initial age of RFC
// 9111 §4.2.3:
//
//	apparent_age = max(0, response_time - date_value)
//	corrected_age_value = age_value + (response_time - request_time)
//	corrected_initial_age = max(apparent_age, corrected_age_value)
func newClock(resp Response, h Header) clock {
	c := clock{anchor: resp.ReceivedAt.Round(0), anchorKnown: !resp.ReceivedAt.IsZero()}
	c.date, _ = parseHTTPDate(first(h.Values("Date")), resp.ReceivedAt)
	if !c.anchorKnown && !c.date.IsZero() {
		c.anchor, c.anchorKnown = c.date, true
	}
	if !c.anchorKnown {
		// Nothing to measure from: no apparent age, and Expires or
		// Last-Modified cannot be turned into a lifetime (see lifetime).
		c.anchor = time.Unix(0, 0).UTC()
	}

	var apparent, delay time.Duration
	if !resp.ReceivedAt.IsZero() && !c.date.IsZero() {
		apparent = max(0, resp.ReceivedAt.Sub(c.date))
	}
	if !resp.ReceivedAt.IsZero() && !resp.RequestedAt.IsZero() {
		delay = max(0, resp.ReceivedAt.Sub(resp.RequestedAt))
	}
	corrected := addSaturating(parseAge(h.Values("Age")), delay)
	c.initialAge = max(apparent, corrected)
	return c
}

// parseDate parses an HTTP-date field of the response, reading an RFC 850
// two-digit year against the receipt time, else Date, else now.
func (c clock) parseDate(v string) (time.Time, bool) {
	if !c.anchorKnown {
		return parseHTTPDate(v, time.Time{})
	}
	return parseHTTPDate(v, c.anchor)
}

// parseAge reads the Age field: RFC 9111 §5.1 has a cache use the first
// member of a list and ignore a value that is not a non-negative integer.
func parseAge(lines []string) time.Duration {
	if len(lines) == 0 {
		return 0
	}
	v, _, _ := strings.Cut(lines[0], ",")
	v = strings.Trim(v, " \t")
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > uint64(maxDelta/time.Second) {
		return maxDelta // only overflow gets here: digits were checked
	}
	return time.Duration(n) * time.Second
}

// expires is what the Expires field says.
type expires struct {
	present bool
	at      time.Time // zero when invalid or conflicting: already expired
}

// parseExpires reads every Expires line with parseDate. RFC 9111 §5.3: an
// invalid date, "0" or any value off the strict HTTP-date grammar, means
// already expired; §4.2.1: with several different values the response is
// best considered stale.
func parseExpires(lines []string, parseDate func(string) (time.Time, bool)) expires {
	e := expires{present: len(lines) > 0}
	for i, l := range lines {
		t, ok := parseDate(l)
		if !ok || (i > 0 && !t.Equal(e.at)) {
			return expires{present: true}
		}
		e.at = t
	}
	return e
}

// explicitLifetime returns the freshness lifetime the response states, and
// whether it states one: s-maxage, else max-age, else Expires − Date (RFC
// 9111 §4.2.1, which cachecontrol implements). Expires counts only when
// Cache-Control governs (RFC 9213 §2.2).
func explicitLifetime(c *controls, exp expires, clk clock) (time.Duration, bool) {
	if !c.maxAge.present && !c.sMaxAge.present && !exp.present {
		return 0, false
	}
	obj := cacheobject.Object{
		RespDirectives: &cacheobject.ResponseCacheDirectives{
			MaxAge:               c.maxAge.deltaSeconds(),
			SMaxAge:              c.sMaxAge.deltaSeconds(),
			StaleIfError:         -1,
			StaleWhileRevalidate: -1,
		},
		RespDateHeader: clk.date,
		NowUTC:         clk.anchor,
		// RespLastModifiedHeader stays zero: cachecontrol's own heuristic
		// (fixed 10% of now − Last-Modified, 24 h cap) is replaced by ours.
	}
	if exp.present {
		obj.RespExpiresHeader = exp.at
		if exp.at.IsZero() || !clk.anchorKnown {
			// Already expired: Expires equal to the date it is measured from.
			obj.RespExpiresHeader = clk.anchor
			obj.RespDateHeader = clk.anchor
		}
	}
	var out cacheobject.ObjectResults
	cacheobject.ExpirationObject(&obj, &out)
	return max(0, out.OutExpirationTime.Sub(clk.anchor)), true
}

// heuristicLifetime is RFC 9111 §4.2.2's "fraction of the interval since"
// Last-Modified, measured from Date (or receipt), capped by HeuristicMax.
func (d Defaults) heuristicLifetime(lastModified time.Time, clk clock) time.Duration {
	pct, limit := d.heuristicPercent(), d.heuristicMax()
	if pct <= 0 || limit <= 0 || !clk.anchorKnown {
		return 0
	}
	since := clk.anchor
	if !clk.date.IsZero() {
		since = clk.date
	}
	interval := since.Sub(lastModified)
	if interval <= 0 {
		return 0
	}
	return min(interval/100*time.Duration(pct), limit)
}

func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// addSaturating adds two non-negative durations without overflowing.
func addSaturating(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
