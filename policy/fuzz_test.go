package policy

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzDecide feeds arbitrary header values to Decide and checks what must
// hold for any input: no panic, no negative durations, a reason exactly when
// not stored, a pure result, and no-store in Cache-Control always obeyed when
// Cache-Control governs. Seeds live in testdata/fuzz/FuzzDecide.
func FuzzDecide(f *testing.F) {
	f.Add("GET", "", 200, "max-age=60", "", "", "", "", "", "50", "Accept-Encoding")
	f.Add("GET", "", 404, "", "", "", "", at(-time.Minute), "", "", "")
	f.Add("HEAD", "no-store", 200, "public, s-maxage=10, stale-while-revalidate=5", "", "", "", "", "", "", "")
	f.Add("GET", "", 200, "no-store", "max-age=600;x=1, private=\"set-cookie\"", "", "0", "", "", "", "*")
	f.Add("GET", "", 206, "private=a,max-age=6", "", "max-age=60+30, no-store-remote;dev", at(time.Hour), at(0), at(-day), "9999999999999", "a, B")
	f.Add("POST", "", 500, "max-age=abc, no-cache=\"x", "", "", "", "yesterday", "", "-1", "")
	f.Fuzz(func(t *testing.T, method, reqCC string, status int, ctl, cdn, sc, expires, date, lastModified, age, vary string) {
		resp := http.Header{}
		for name, v := range map[string]string{
			cc: ctl, cdnCC: cdn, surrogate: sc, "Expires": expires, "Date": date,
			"Last-Modified": lastModified, "Age": age, "Vary": vary,
		} {
			if v != "" {
				for line := range strings.SplitSeq(v, "\n") { // a newline starts another field line
					resp.Add(name, line)
				}
			}
		}
		req := Request{Method: method, Header: http.Header{cc: {reqCC}}}
		r := Response{Status: status, Header: resp, RequestedAt: t0.Add(-time.Second), ReceivedAt: t0}
		defaults := Defaults{StaleWhileRevalidate: time.Minute, StaleIfError: time.Hour, MaxTTL: 30 * day}

		d := defaults.Decide(req, r)

		if again := defaults.Decide(req, r); !reflect.DeepEqual(d, again) {
			t.Fatalf("Decide is not pure:\n%+v\n%+v", d, again)
		}
		if d.Store == (d.Reason != "") {
			t.Fatalf("Store=%v with Reason %q", d.Store, d.Reason)
		}
		if !d.Store && !reflect.DeepEqual(d, Decision{Reason: d.Reason}) {
			t.Fatalf("not stored, yet other fields set: %+v", d)
		}
		if d.Lifetime < 0 || d.InitialAge < 0 || d.StaleWhileRevalidate < 0 || d.StaleIfError < 0 {
			t.Fatalf("negative duration: %+v", d)
		}
		if d.Lifetime > defaults.MaxTTL {
			t.Fatalf("Lifetime %v above MaxTTL", d.Lifetime)
		}
		if d.NoCache && (d.Lifetime != 0 || !d.MustRevalidate || d.StaleWhileRevalidate != 0 || d.StaleIfError != 0) {
			t.Fatalf("no-cache entry may be reused without validation: %+v", d)
		}
		if !slices.IsSorted(d.Vary) || len(slices.Compact(slices.Clone(d.Vary))) != len(d.Vary) ||
			slices.ContainsFunc(d.Vary, func(s string) bool { return s != strings.ToLower(s) }) {
			t.Fatalf("Vary not lower-case, sorted and unique: %q", d.Vary)
		}
		if cdn == "" && sc == "" && hasBareDirective(ctl, "no-store") && !strings.Contains(strings.ToLower(ctl), "must-understand") && d.Store {
			t.Fatalf("stored despite Cache-Control: %q", ctl)
		}
	})
}

// hasBareDirective is a deliberately naive reading of a Cache-Control value,
// independent of the package's parser: it gives up on quoted strings.
func hasBareDirective(value, name string) bool {
	if strings.Contains(value, `"`) {
		return false
	}
	for line := range strings.SplitSeq(value, "\n") {
		for member := range strings.SplitSeq(line, ",") {
			if strings.EqualFold(strings.Trim(member, " \t"), name) {
				return true
			}
		}
	}
	return false
}

// FuzzParseHTTPDate checks that the strict HTTP-date parser never panics,
// that every date it accepts survives a round trip through IMF-fixdate (the
// form the edge writes), and that it accepts nothing net/http's lenient
// parser rejects, leap seconds aside. Seeds live in
// testdata/fuzz/FuzzParseHTTPDate.
func FuzzParseHTTPDate(f *testing.F) {
	f.Add("Sun, 06 Nov 1994 08:49:37 GMT")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseHTTPDate(s)
		if !ok {
			if !got.IsZero() {
				t.Fatalf("ParseHTTPDate(%q) rejected it but returned %v", s, got)
			}
			return
		}
		imf := got.Format(http.TimeFormat)
		back, ok := ParseHTTPDate(imf)
		if !ok || !back.Equal(got) || got.Nanosecond() != 0 || got.Location() != time.UTC {
			t.Fatalf("ParseHTTPDate(%q) = %v, but its IMF-fixdate %q parses to %v, %v", s, got, imf, back, ok)
		}
		if _, err := http.ParseTime(strings.Trim(s, " \t")); err != nil && !strings.Contains(s, ":60") {
			t.Fatalf("ParseHTTPDate accepts %q, which net/http rejects: %v", s, err)
		}
	})
}
