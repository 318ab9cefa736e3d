package rules

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Failure is a test case of the file whose decision is not the expected one.
type Failure struct {
	Case    string
	Line    int
	Problem string
}

func (f Failure) String() string {
	return fmt.Sprintf("line %d: test %q: %s", f.Line, f.Case, f.Problem)
}

// RunTests decides every test case of the file; received at is the
// response's time (the file's tests read no clock).
func (f *File) RunTests(at time.Time) []Failure {
	var out []Failure
	for i := range f.Tests {
		c := &f.Tests[i]
		req, err := caseRequest(c)
		if err != nil {
			out = append(out, Failure{c.Name, c.line, err.Error()})
			continue
		}
		h := http.Header{}
		for k, v := range c.Response.Headers {
			h.Set(k, v)
		}
		d := f.Decide(req, Response{Status: cmp.Or(c.Response.Status, http.StatusOK), Header: h, RequestedAt: at, ReceivedAt: at})
		for _, p := range c.Expect.check(d) {
			out = append(out, Failure{c.Name, c.line, p})
		}
	}
	return out
}

// check lists how d differs from what e expects.
func (e *Expect) check(d Decision) []string {
	var out []string
	if e.Store != nil && *e.Store != d.Store {
		out = append(out, fmt.Sprintf("store is %v, want %v (reason %q)", d.Store, *e.Store, d.Reason))
	}
	if e.Reason != nil && *e.Reason != d.Reason {
		out = append(out, fmt.Sprintf("reason is %q, want %q", d.Reason, *e.Reason))
	}
	if e.EdgeTTL != nil && (!d.Store || time.Duration(*e.EdgeTTL) != d.Lifetime) {
		out = append(out, fmt.Sprintf("edge_ttl is %v (stored %v), want %v", d.Lifetime, d.Store, time.Duration(*e.EdgeTTL)))
	}
	if e.BrowserTTL != nil && (!d.BrowserTTLSet || time.Duration(*e.BrowserTTL) != d.BrowserTTL) {
		out = append(out, fmt.Sprintf("browser_ttl is %v (set %v), want %v", d.BrowserTTL, d.BrowserTTLSet, time.Duration(*e.BrowserTTL)))
	}
	if e.Rule != nil && *e.Rule != d.Rule {
		out = append(out, fmt.Sprintf("the deciding rule is %q (matched %q), want %q", d.Rule, d.Matched, *e.Rule))
	}
	if e.Tags != nil && !slices.Equal(e.Tags, d.Tags) {
		out = append(out, fmt.Sprintf("tags are %q, want %q", d.Tags, e.Tags))
	}
	if e.StaleWhileRevalidate != nil && time.Duration(*e.StaleWhileRevalidate) != d.StaleWhileRevalidate {
		out = append(out, fmt.Sprintf("stale_while_revalidate is %v, want %v", d.StaleWhileRevalidate, time.Duration(*e.StaleWhileRevalidate)))
	}
	if e.StaleIfError != nil && time.Duration(*e.StaleIfError) != d.StaleIfError {
		out = append(out, fmt.Sprintf("stale_if_error is %v, want %v", d.StaleIfError, time.Duration(*e.StaleIfError)))
	}
	if e.MaxObjectSize != nil && *e.MaxObjectSize != d.MaxObjectSize {
		out = append(out, fmt.Sprintf("max_object_size is %d, want %d", d.MaxObjectSize, *e.MaxObjectSize))
	}
	if e.Consistency != nil && *e.Consistency != d.Consistency {
		out = append(out, fmt.Sprintf("consistency is %q, want %q", d.Consistency, *e.Consistency))
	}
	return out
}
