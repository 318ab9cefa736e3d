package policy

import (
	"net/http"
	"testing"
	"time"

	"github.com/pquerna/cachecontrol"
	"github.com/pquerna/cachecontrol/cacheobject"
)

// TestCachecontrolGaps pins what pquerna/cachecontrol v0.2.0 gets wrong for a
// shared cache, and that Decide does not. If an upgrade fixes one of these,
// this test fails: the matching workaround in policy can then go.
func TestCachecontrolGaps(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://cdn.example/x", nil)
	library := func(status int, h http.Header) ([]cacheobject.Reason, bool, error) {
		reasons, expires, err := cachecontrol.CachableResponse(req, &http.Response{StatusCode: status, Header: h}, cachecontrol.Options{})
		return reasons, !expires.IsZero(), err
	}
	tests := []struct {
		gap        string
		status     int
		header     http.Header
		libStores  bool // no reasons, no error
		libErr     bool
		wantStore  bool
		wantReason string
	}{
		{gap: "reads only the first Cache-Control line", status: 200,
			header: hdr(cc, "max-age=60", cc, "no-store"), libStores: true, wantReason: ReasonNoStore},
		{gap: "one malformed directive fails the whole header, no-store included", status: 200,
			header: hdr(cc, "max-age=abc, no-store"), libErr: true, wantReason: ReasonNoStore},
		{gap: "an unparsable Date fails the whole response", status: 200,
			header: hdr(cc, "max-age=60", "Date", "yesterday"), libErr: true, wantStore: true},
		{gap: "private=\"Set-Cookie\" refuses the whole response", status: 200,
			header: hdr(cc, `private="Set-Cookie", max-age=60`), wantStore: true},
		{gap: "308 missing from the heuristically cacheable statuses", status: 308,
			header: hdr("Last-Modified", at(-5*day)), wantStore: true},
	}
	for _, tt := range tests {
		t.Run(tt.gap, func(t *testing.T) {
			reasons, _, err := library(tt.status, tt.header)
			if (err != nil) != tt.libErr || (err == nil && (len(reasons) == 0) != tt.libStores) {
				t.Errorf("cachecontrol now answers reasons=%v err=%v: the gap %q may be fixed upstream", reasons, err, tt.gap)
			}
			d := Defaults{}.Decide(Request{Method: "GET"}, Response{Status: tt.status, Header: tt.header, ReceivedAt: t0})
			if d.Store != tt.wantStore || d.Reason != tt.wantReason {
				t.Errorf("Decide = store %v reason %q, want store %v reason %q", d.Store, d.Reason, tt.wantStore, tt.wantReason)
			}
		})
	}
}

// TestCachecontrolIgnoresAge pins that cachecontrol's expiration takes no
// account of Age, and that an invalid Expires sends it to its own heuristic.
func TestCachecontrolIgnoresAge(t *testing.T) {
	expiry := func(h http.Header) (ttlSeconds float64) {
		dirs, err := cacheobject.ParseResponseCacheControl(h.Get(cc))
		if err != nil {
			t.Fatal(err)
		}
		lm, _ := ParseHTTPDate(h.Get("Last-Modified"))
		obj := cacheobject.Object{RespDirectives: dirs, RespHeaders: h, RespStatusCode: 200, RespLastModifiedHeader: lm, NowUTC: t0}
		var out cacheobject.ObjectResults
		cacheobject.ExpirationObject(&obj, &out)
		return out.OutExpirationTime.Sub(t0).Seconds()
	}
	if got := expiry(hdr(cc, "max-age=60", "Age", "50")); got != 60 {
		t.Errorf("cachecontrol now gives %vs for max-age=60, Age: 50 (was 60): it may honour Age", got)
	}
	// Expires: 0 means "already expired" (RFC 9111 §5.3); cachecontrol drops
	// it and falls back to its Last-Modified heuristic.
	req, _ := http.NewRequest(http.MethodGet, "http://cdn.example/x", nil)
	_, exp, _, obj, err := cacheobject.UsingRequestResponseWithObject(req, 200, hdr("Expires", "0", "Last-Modified", at(-100*day)), false)
	if err != nil || exp.Sub(obj.NowUTC) != 24*time.Hour {
		t.Errorf("cachecontrol now gives %v (err %v) for Expires: 0 (was its 24 h heuristic)", exp.Sub(obj.NowUTC), err)
	}
}
