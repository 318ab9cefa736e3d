package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/edgecdn/edge/policy/rules"
)

type explainOptions struct {
	policy, url, method string
	status              int
	reqHeader           headerFlag
	respHeader          headerFlag
}

func newExplainOptions() *explainOptions {
	return &explainOptions{reqHeader: headerFlag{}, respHeader: headerFlag{}}
}

// headerFlag is a repeatable "Name: value" flag; repeating a name adds a
// value, as a repeated field line does.
type headerFlag http.Header

func (h headerFlag) String() string { return "" }

func (h headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || !isToken(name) {
		return errors.New("write a field as 'Name: value', e.g. 'Cache-Control: max-age=60'")
	}
	http.Header(h).Add(name, strings.TrimSpace(value))
	return nil
}

// isToken reports whether s is a field name (RFC 9110 §5.1).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func explainFlags(o *explainOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("policy explain", flag.ContinueOnError)
	fs.StringVar(&o.policy, "policy", "", "the policy `FILE` (required)")
	fs.StringVar(&o.url, "url", "", "the request's absolute http(s) `URL` (required)")
	fs.StringVar(&o.method, "method", http.MethodGet, "the request method `M`")
	fs.IntVar(&o.status, "status", http.StatusOK, "the origin response's status code `N`")
	fs.Var(o.reqHeader, "header", "a request field, `'Name: value'` (repeatable)")
	fs.Var(o.respHeader, "response-header", "an origin response field, `'Name: value'` (repeatable)")
	return fs
}

// policyExplain decides one request and response as the edge would on a
// fill, and shows why.
func policyExplain(args []string, stdout, stderr io.Writer) error {
	o := newExplainOptions()
	req, err := o.parse(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			policyUsage(stdout)
			return nil
		}
		return err
	}
	f := load(o.policy, stderr)
	if f == nil {
		return fmt.Errorf("policy explain: %s has errors: fix them first (edgectl policy check)", o.policy)
	}
	// Now, as a fill would: an origin Date or Expires is read against it.
	now := time.Now()
	resp := rules.Response{Status: o.status, Header: http.Header(o.respHeader), RequestedAt: now, ReceivedAt: now}
	printExplanation(stdout, o, req, f.Explain(req, resp))
	return nil
}

// parse reads the flags into the request to decide; every mistake is a
// usage error.
func (o *explainOptions) parse(args []string) (rules.Request, error) {
	fs := explainFlags(o)
	fs.SetOutput(io.Discard) // the error is returned, printed once by main
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return rules.Request{}, err
		}
		return rules.Request{}, usagef("policy explain: %v (edgectl help policy shows the flags)", err)
	}
	switch {
	case fs.NArg() > 0:
		return rules.Request{}, usagef("policy explain: unexpected argument %q: give the file with -policy, the URL with -url", fs.Arg(0))
	case o.policy == "":
		return rules.Request{}, usagef("policy explain: give the policy file with -policy FILE")
	case o.url == "":
		return rules.Request{}, usagef("policy explain: give the request's URL with -url, e.g. -url https://cdn.example.com/img/a.png")
	case o.status < 100 || o.status > 599:
		return rules.Request{}, usagef("policy explain: -status %d: give a status from 100 to 599", o.status)
	case o.method == "":
		return rules.Request{}, usagef("policy explain: -method: give a method, e.g. GET")
	}
	return o.request()
}

// request is the rules.Request of -url, as the edge sees a request for
// it: host without port, escaped path, raw query.
func (o *explainOptions) request() (rules.Request, error) {
	u, err := url.Parse(o.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return rules.Request{}, usagef("policy explain: -url %q: give an absolute http(s) URL, e.g. https://cdn.example.com/img/a.png", o.url)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/" // a request line always has one
	}
	return rules.Request{Method: o.method, Host: u.Hostname(), Path: path, Query: u.RawQuery, Header: http.Header(o.reqHeader)}, nil
}

// printExplanation is the report: the input, every rule, the decision.
func printExplanation(w io.Writer, o *explainOptions, req rules.Request, x rules.Explanation) {
	fmt.Fprintf(w, "policy   %s\n", o.policy)
	fmt.Fprintf(w, "request  %s %s%s%s\n", req.Method, req.Host, req.Path, prefixed("?", req.Query))
	printFields(w, req.Header)
	fmt.Fprintf(w, "response %d\n", o.status)
	printFields(w, http.Header(o.respHeader))
	printRules(w, x.Rules)
	printDecision(w, x.Decision)
}

// printFields shows the fields given, sorted, so the report stands alone.
func printFields(w io.Writer, h http.Header) {
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			fmt.Fprintf(w, "         %s: %s\n", k, v)
		}
	}
}

func printRules(w io.Writer, rs []rules.RuleMatch) {
	if len(rs) == 0 {
		fmt.Fprintln(w, "\nrules: none (the file has only defaults)")
		return
	}
	fmt.Fprintln(w, "\nrules, in file order:")
	for _, r := range rs {
		mark := "—"
		if r.Matched {
			mark = "matched"
		}
		fmt.Fprintf(w, "  %-8s %s\n", mark, r.Name)
	}
}

func printDecision(w io.Writer, d rules.Decision) {
	fmt.Fprintln(w, "\ndecision:")
	row := func(k, v string) { fmt.Fprintf(w, "  %-23s %s\n", k, v) }
	if d.Store {
		row("store", "yes")
		row("edge TTL", edgeTTL(d))
		row("stale-while-revalidate", duration(d.StaleWhileRevalidate))
		row("stale-if-error", duration(d.StaleIfError))
	} else {
		row("store", "no ("+d.Reason+")")
	}
	row("browser TTL", browserTTL(d))
	if d.Consistency != "" {
		row("consistency", d.Consistency)
	}
	if d.MaxObjectSize > 0 {
		row("max object size", fmt.Sprintf("%d bytes", d.MaxObjectSize))
	}
	if len(d.Tags) > 0 {
		row("tags", strings.Join(d.Tags, ", "))
	}
	fmt.Fprintln(w, decidedBy(d))
}

// edgeTTL says, besides the TTL, what an operator reading it would ask
// next: did the origin state it, and must every use revalidate.
func edgeTTL(d rules.Decision) string {
	s := duration(d.Lifetime)
	if d.Heuristic {
		s += " (the origin states no freshness)"
	}
	if d.NoCache {
		s += " (no-cache: revalidated on every use)"
	}
	if d.InitialAge > 0 {
		s += fmt.Sprintf(" (already %s old on arrival)", duration(d.InitialAge))
	}
	return s
}

func browserTTL(d rules.Decision) string {
	if !d.BrowserTTLSet {
		return "origin's (its Cache-Control is passed on)"
	}
	return duration(d.BrowserTTL)
}

func decidedBy(d rules.Decision) string {
	switch {
	case d.Rule != "":
		return fmt.Sprintf("\ndecided by rule %q", d.Rule)
	case len(d.Matched) > 0:
		return "\ndecided by the defaults (the rules that matched change nothing here)"
	}
	return "\ndecided by the defaults"
}

// duration is d as a policy file would write it ("720h", not
// "720h0m0s"), with the days when it is whole days.
func duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		s += fmt.Sprintf(" (%d days)", d/(24*time.Hour))
	}
	return s
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
