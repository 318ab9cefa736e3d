package edge

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// fuzzSites are the sites the fuzz targets map requests onto: a bucket
// site and an upstream site, with hosts in mixed case (newSites lowers
// them), an IP address, and hosts with the letters Unicode case mapping
// folds into ASCII (k: the Kelvin sign U+212A lower-cases to it).
func fuzzSites(tb testing.TB) *sites {
	tb.Helper()
	s, err := newSites([]Site{
		{Hosts: []string{"example.com", "WWW.Example.COM", "127.0.0.1"}, Bucket: "public"},
		{Hosts: []string{"kittens.example", "xn--bcher-kva.example"}, Upstream: "http://127.0.0.1:1/base/"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func asciiLower(b []byte) []byte {
	out := bytes.Clone(b)
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return out
}

func asciiUpper(b []byte) []byte {
	out := bytes.Clone(b)
	for i, c := range out {
		if 'a' <= c && c <= 'z' {
			out[i] = c - ('a' - 'A')
		}
	}
	return out
}

// hostOf is the host a Host header value names as RFC 9110 §7.2 and
// RFC 3986 §3.2.2 spell it, uri-host [ ":" port ] with port = *DIGIT:
// port dropped, IP-literal brackets or a final dot dropped, ASCII lower-cased (host
// names are ASCII; IDNs travel as xn-- labels).
func hostOf(v []byte) string {
	h := v
	if i := bytes.LastIndexByte(h, ':'); i >= 0 && bytes.IndexByte(h[i:], ']') < 0 {
		digits := true
		for _, c := range h[i+1:] {
			digits = digits && '0' <= c && c <= '9'
		}
		if digits {
			h = h[:i]
		}
	}
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	} else if len(h) > 1 && h[len(h)-1] == '.' {
		h = h[:len(h)-1] // a fully qualified name: the same host
	}
	return string(asciiLower(h))
}

// FuzzSiteLookup: for any Host value, lookup never panics and returns nil
// or a configured site; a site it returns lists the value's host (port and
// brackets dropped, lower-cased); a value naming a configured host is
// found; the answer does not depend on ASCII case; and a value with
// userinfo, a path or white space never matches.
func FuzzSiteLookup(f *testing.F) {
	for _, s := range []string{
		"example.com", "EXAMPLE.COM", "Example.Com:8080", "example.com:", "[example.com]", "[example.com]:443",
		"www.example.com", "127.0.0.1:80", "[::1]:80", "kittens.example", "KITTENS.EXAMPLE:1",
		"xn--bcher-kva.example", "bücher.example", "user@example.com", "example.com/x", "example.com x",
		"example.com:80:80", "example.com.", "", ":", "[]", "unknown.example",
	} {
		f.Add([]byte(s))
	}
	s := fuzzSites(f)
	f.Fuzz(func(t *testing.T, host []byte) {
		site := s.lookup(host)
		if site != nil && !slices.Contains(s.all, site) {
			t.Fatalf("lookup(%+q) returned a site that is not configured: %+v", host, site)
		}
		want := hostOf(host)
		if site != nil && !slices.Contains(site.Hosts, want) {
			t.Fatalf("lookup(%+q) = site %v, which does not list host %+q", host, site.Hosts, want)
		}
		if site == nil && s.byHost[want] != nil && len(host) > 0 {
			t.Fatalf("lookup(%+q) = nil, but host %+q is configured", host, want)
		}
		if lo, up := s.lookup(asciiLower(host)), s.lookup(asciiUpper(host)); lo != site || up != site {
			t.Fatalf("lookup is case-sensitive: %+q → %v, lower-cased → %v, upper-cased → %v", host, hostsOf(site), hostsOf(lo), hostsOf(up))
		}
		if site != nil && bytes.ContainsAny(host, "@/ \t\r\n") {
			t.Fatalf("lookup(%+q) = site %v: userinfo, paths and spaces must never match", host, site.Hosts)
		}
	})
}

func hostsOf(s *Site) []string {
	if s == nil {
		return nil
	}
	return s.Hosts
}

// serverCtx is the RequestCtx fasthttp's server would hand the edge for
// "GET target" with this Host, or false when the server would refuse the
// request (an unparsable request line or URI) before the handler runs.
func serverCtx(host, target string) (*fasthttp.RequestCtx, bool) {
	var ctx fasthttp.RequestCtx
	raw := "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	if err := ctx.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		return nil, false
	}
	if string(ctx.Request.Header.RequestURI()) != target || string(ctx.Request.Header.Host()) != host {
		return nil, false // the request line or header read differently: another input
	}
	var u fasthttp.URI
	if err := u.Parse([]byte(host), []byte(target)); err != nil {
		return nil, false // the server answers 400 itself
	}
	return &ctx, true
}

// targetParts splits a request target as RFC 9112 §3.2 reads it: an
// origin-form target ("/" path ["?" query]) or an absolute-form one
// (scheme "://" authority [path] ["?" query]); a fragment, which clients
// do not send, ends the target. The path of an absolute-form target
// without one is "/".
func targetParts(target string) (path, query string) {
	if end := strings.IndexByte(target, '#'); end >= 0 {
		target = target[:end]
	}
	target, query, _ = strings.Cut(target, "?")
	if strings.HasPrefix(target, "/") {
		return target, query
	}
	_, rest, ok := strings.Cut(target, "://")
	if !ok {
		return target, query
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:], query
	}
	return "/", query
}

// decodePath decodes %XX escapes once, '+' staying '+': how keys are read
// from paths. Any other '%' is an error.
func decodePath(s string) (string, bool) {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := hexVal(s[i+1])
		lo, ok2 := hexVal(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// mapped is what the edge makes of one request: its path, cache key and
// object (ok false: the path does not decode).
type mapped struct {
	path, query, key, object string
	ok                       bool
}

// mapTarget runs the path mapping on ctx and checks what holds for any
// one request.
func mapTarget(t *testing.T, e *Edge, site *Site, ctx *fasthttp.RequestCtx) mapped {
	t.Helper()
	target := ctx.Request.Header.RequestURI()
	p := requestPath(ctx)
	if bytes.IndexByte(p, '?') >= 0 {
		t.Fatalf("target %q: requestPath %q holds a '?'", target, p)
	}
	q := ctx.URI().QueryString()
	key := appendKey(nil, site, p, q)
	prefix := site.cacheID + "\x00"
	if !bytes.HasPrefix(key, []byte(prefix)) {
		t.Fatalf("target %q: key %q does not start with the site's cacheID %q and a 0 byte", target, key, site.cacheID)
	}
	want := prefix + string(p)
	if site.upstream != nil && len(q) > 0 {
		want += "?" + string(q)
	}
	if string(key) != want {
		t.Fatalf("target %q: key %q, want %q", target, key, want)
	}
	m := mapped{path: string(p), query: string(q), key: string(key)}
	m.object, m.ok = objectOfPath(site, m.path)
	if m.ok {
		// Purges name entries by object: what a purge computes for a path
		// must be what the fill of that path registered.
		req := e.newFetchRequest(ctx, site, p, nil, false)
		if got := objectOf(site, req); got != m.object {
			t.Fatalf("target %q: the fill registers object %q, a purge of path %q names %q", target, got, p, m.object)
		}
	}
	return m
}

// checkObjectOfPath checks objectOfPath against decodePath for any string.
func checkObjectOfPath(t *testing.T, s *sites, path string) {
	t.Helper()
	for _, site := range s.all {
		obj, ok := objectOfPath(site, path)
		if site.upstream != nil {
			if !ok || obj != path {
				t.Fatalf("objectOfPath(upstream site, %q) = %q, %v: want the raw path", path, obj, ok)
			}
			continue
		}
		dec, decOK := decodePath(path)
		if ok != decOK || (ok && obj != strings.TrimPrefix(dec, "/")) {
			t.Fatalf("objectOfPath(bucket site, %q) = %q, %v; decoding once gives %q, %v", path, obj, ok, dec, decOK)
		}
		if u, err := unescape(path); (err == nil) != decOK || (decOK && u != dec) {
			t.Fatalf("unescape(%q) = %q, %v; decoding once gives %q, %v", path, u, err, dec, decOK)
		}
	}
}

// FuzzPathMapping: for two request targets on one site, the mapping from
// request to path, cache key and object never panics; a path has no
// query; a key starts with the site's cacheID and a 0 byte and holds the
// raw path (and, for an upstream, the query); objectOfPath of a bucket
// site is the path decoded once without its leading '/' (a bad escape is
// reported), and is the object the fill registers; and two requests share
// a key exactly when their raw paths (and upstream queries) are the same:
// nothing decodes or normalises "a//b", "a/../b" or "a%2Fb".
func FuzzPathMapping(f *testing.F) {
	for _, p := range [][2]string{
		{"/a/b.png", "/a//b.png"},
		{"/a/../b", "/b"},
		{"/a%2Fb", "/a/b"},
		{"/caf%C3%A9", "/caf%c3%a9"},
		{"/x?v=1", "/x?v=2"},
		{"/x#frag", "/x"},
		{"/a+b", "/a%20b"},
		{"/bad%zz", "/bad%"},
		{"http://example.com/abs?q", "/abs"},
		{"http://example.com", "/"},
		{"//double/slash", "/double/slash"},
		{"/r?to=https://example.com/", "/r?to=x"},
		{"/%00", "/%2e%2e/"},
	} {
		f.Add(false, p[0], p[1])
		f.Add(true, p[0], p[1])
	}
	s := fuzzSites(f)
	e := &Edge{sites: s}
	f.Fuzz(func(t *testing.T, upstream bool, t1, t2 string) {
		site, host := s.byHost["example.com"], "example.com"
		if upstream {
			site, host = s.byHost["kittens.example"], "kittens.example"
		}
		checkObjectOfPath(t, s, t1)
		checkObjectOfPath(t, s, t2)

		// Any target, even one fasthttp's server would refuse: no panic,
		// and the key invariants hold.
		var loose fasthttp.RequestCtx
		loose.Request.Header.SetHost(host)
		loose.Request.Header.SetRequestURI(t1)
		mapTarget(t, e, site, &loose)

		// Targets the server lets through: the paths are the raw ones.
		c1, ok1 := serverCtx(host, t1)
		c2, ok2 := serverCtx(host, t2)
		if !ok1 || !ok2 {
			return
		}
		m1, m2 := mapTarget(t, e, site, c1), mapTarget(t, e, site, c2)
		p1, q1 := targetParts(t1)
		p2, q2 := targetParts(t2)
		if site.upstream == nil {
			q1, q2 = "", "" // a bucket object does not vary by query
		}
		// fasthttp reads the path of "http://host?q" (or "http://host#f")
		// as empty, not "/". The key then differs from "http://host/?q"'s,
		// which splits the cache but confuses no two paths (a bucket site
		// fetches the same object; an upstream site its base URL without
		// the trailing '/'), so it is not held against the mapping here.
		k1, k2 := m1.key, m2.key
		if m1.path == "" {
			k1 = strings.Replace(k1, "\x00", "\x00/", 1)
		}
		if m2.path == "" {
			k2 = strings.Replace(k2, "\x00", "\x00/", 1)
		}
		if same := p1 == p2 && q1 == q2; same != (k1 == k2) {
			t.Fatalf("targets %q and %q (raw paths %q, %q) map to keys %q and %q", t1, t2, p1, p2, m1.key, m2.key)
		}
		if m1.path != p1 && !(m1.path == "" && p1 == "/") {
			t.Fatalf("target %q: requestPath %q, but its raw path is %q", t1, m1.path, p1)
		}
	})
}
