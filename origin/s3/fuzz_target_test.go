package s3

import (
	"bufio"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// acceptedCtx is the RequestCtx fasthttp's server would hand the handler
// for "method target" with this Host, or false when the server would
// refuse the request (an unparsable request line or URI) itself.
func acceptedCtx(method, target, host string) (*fasthttp.RequestCtx, bool) {
	var ctx fasthttp.RequestCtx
	raw := method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	if err := ctx.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		return nil, false
	}
	h := &ctx.Request.Header
	if string(h.Method()) != method || string(h.RequestURI()) != target || string(h.Host()) != host {
		return nil, false // the request line or header read differently: another input
	}
	var u fasthttp.URI
	if err := u.Parse([]byte(host), []byte(target)); err != nil {
		return nil, false // the server answers 400 itself
	}
	return &ctx, true
}

// rawTargetPath is the path of a request target as RFC 9112 §3.2 reads
// it: an origin-form target ("/" path ["?" query]) or an absolute-form
// one (scheme "://" authority [path] ["?" query], "/" without a path); a
// fragment, which clients do not send, ends the target.
func rawTargetPath(target string) string {
	if end := strings.IndexAny(target, "?#"); end >= 0 {
		target = target[:end]
	}
	if strings.HasPrefix(target, "/") {
		return target
	}
	if _, rest, ok := strings.Cut(target, "://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return rest[i:]
		}
		return "/"
	}
	return target
}

// rawTargetQuery is the query of a request target: after "?", up to a
// fragment.
func rawTargetQuery(target string) string {
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	_, q, _ := strings.Cut(target, "?")
	return q
}

// targetHost is the host a request names: an absolute-form target's
// authority (RFC 9112 §3.2.2), else the Host header.
func targetHost(target, header string) string {
	if !strings.HasPrefix(target, "/") {
		if _, rest, ok := strings.Cut(target, "://"); ok {
			if i := strings.IndexAny(rest, "/?#"); i >= 0 {
				rest = rest[:i]
			}
			return rest
		}
	}
	return header
}

// fuzzBaseDomain is the handler's base domain for virtual-hosted style.
const fuzzBaseDomain = "S3.Example.com"

// checkLocated checks what locate made of a request whose raw path (no
// query) is raw against url.PathUnescape: the same bucket and key, or an
// error exactly when the path does not decode.
func checkLocated(t *testing.T, r *request, err error, raw string) {
	t.Helper()
	target := r.ctx.Request.Header.RequestURI()
	if !strings.HasPrefix(raw, "/") {
		if err == nil {
			t.Fatalf("target %q: path %q located as bucket %q key %q", target, raw, r.bucket, r.key)
		}
		return
	}
	path, uerr := url.PathUnescape(raw[1:])
	if uerr != nil {
		if err == nil {
			t.Fatalf("target %q: path %q does not decode (%v), yet located as bucket %q key %q", target, raw, uerr, r.bucket, r.key)
		}
		return
	}
	if err != nil {
		t.Fatalf("target %q: path %q decodes to %q, yet locate failed: %v", target, raw, path, err)
	}
	bucket, key, hasKey := "", "", false
	host := strings.ToLower(targetHost(string(target), string(r.ctx.Request.Header.Host())))
	if hp, _, err := net.SplitHostPort(host); err == nil {
		host = hp
	}
	if b, ok := strings.CutSuffix(host, "."+strings.ToLower(fuzzBaseDomain)); ok && b != "" {
		bucket, key, hasKey = b, path, path != ""
	} else {
		bucket, key, hasKey = strings.Cut(path, "/")
		hasKey = hasKey && key != ""
	}
	if r.bucket != bucket || r.key != key || r.hasKey != hasKey {
		t.Fatalf("target %q (host %q): located bucket %q key %q (hasKey %v); url.PathUnescape of %q gives bucket %q key %q (hasKey %v)",
			target, host, r.bucket, r.key, r.hasKey, raw, bucket, key, hasKey)
	}
}

// checkParams checks params against url.PathUnescape of each pair, the
// first of a name winning and undecodable pairs left out.
func checkParams(t *testing.T, r *request) {
	t.Helper()
	q := rawTargetQuery(string(r.ctx.Request.Header.RequestURI()))
	want := map[string]string{}
	for _, pair := range strings.Split(q, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil {
			continue
		}
		if _, dup := want[dk]; !dup {
			want[dk] = dv
		}
	}
	got := r.params()
	if len(got) != len(want) {
		t.Fatalf("query %q: params %q, want %q", q, got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Fatalf("query %q: params %q, want %q", q, got, want)
		}
	}
}

// checkRoute checks that route names an operation or refuses, and that a
// subresource we do not implement is never served as the plain operation.
func checkRoute(t *testing.T, r *request) {
	t.Helper()
	op, err := r.route()
	target := r.ctx.Request.Header.RequestURI()
	if (err == nil) != (op.name != "" && op.serve != nil) {
		t.Fatalf("%s %q: route gave operation %q and error %v", r.ctx.Method(), target, op.name, err)
	}
	if err != nil {
		return
	}
	for _, sub := range unsupported {
		if r.hasQuery(sub) {
			t.Fatalf("%s %q: subresource %q routed to %s", r.ctx.Method(), target, sub, op.name)
		}
	}
	if v, ok := r.params()["versionId"]; ok && v != "" && v != "null" {
		t.Fatalf("%s %q: versionId %q routed to %s", r.ctx.Method(), target, v, op.name)
	}
}

// FuzzRequestTarget: for any method, request target, Host and query
// string, locate, route and params never panic; a key located from a
// path is what url.PathUnescape makes of it (an undecodable path is
// refused), for the raw path the client sent; params is url.PathUnescape
// of each name=value pair; and route names an operation or refuses,
// never serving an unimplemented subresource as the plain operation.
func FuzzRequestTarget(f *testing.F) {
	for _, c := range [][4]string{
		{"GET", "/bkt/a/b.txt", "localhost:9000", ""},
		{"GET", "/bkt/a//b/../c", "localhost", "x=1"},
		{"PUT", "/bkt/a%2Fb%20c+d", "localhost", "partNumber=1&uploadId=u"},
		{"GET", "/bkt/caf%C3%A9?list-type=2&prefix=a%2F&delimiter=/", "localhost", "list-type=2"},
		{"GET", "/key/in/vhost", "bkt.s3.example.com:9000", "versionId=null"},
		{"HEAD", "/", "BKT.S3.EXAMPLE.COM", ""},
		{"POST", "/bkt?delete", "localhost", "delete="},
		{"POST", "/bkt/k?uploads", "localhost", "uploads"},
		{"DELETE", "/bkt/k?uploadId=abc", "localhost", "uploadId=abc"},
		{"GET", "/bkt/k?acl", "localhost", "acl&tagging"},
		{"GET", "/bkt/k?versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY", "localhost", "versionId=x%2"},
		{"GET", "http://localhost:9000/bkt/abs?x=1", "localhost:9000", "a=1&a=2"},
		{"GET", "/bkt/bad%zz", "localhost", "%zz=1&k=%"},
		{"GET", "/bkt/k#frag", "localhost", "x=%E2%82%AC"},
		{"OPTIONS", "*", "localhost", ""},
		{"GET", "//bkt/k", "[::1]:9000", ""},
	} {
		f.Add(c[0], c[1], c[2], c[3], uint8(0))
	}
	f.Add("PUT", "/bkt/k", "localhost", "uploadId=u", uint8(1))
	f.Add("POST", "/bkt", "localhost", "", uint8(2))

	h, err := New(nil, Config{BaseDomain: fuzzBaseDomain})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target, host, query string, flags uint8) {
		setHeaders := func(ctx *fasthttp.RequestCtx) {
			if flags&1 != 0 {
				ctx.Request.Header.Set("x-amz-copy-source", "/src/key")
			}
			if flags&2 != 0 {
				ctx.Request.Header.Set("Content-Type", "multipart/form-data; boundary=x")
			}
		}

		// Any target and Host, even ones fasthttp's server refuses: locate
		// decodes the path fasthttp kept as url.PathUnescape does.
		var loose fasthttp.RequestCtx
		loose.Request.Header.SetMethod(method)
		loose.Request.Header.SetHost(host)
		loose.Request.Header.SetRequestURI(target)
		setHeaders(&loose)
		r := &request{ctx: &loose}
		err := h.locate(r)
		checkLocated(t, r, err, rawTargetPath(string(loose.Request.Header.RequestURI())))
		checkParams(t, r)
		if err == nil {
			checkRoute(t, r)
		}

		// Any query string, however it got there.
		var q fasthttp.RequestCtx
		q.Request.Header.SetMethod(method)
		q.Request.Header.SetHost("localhost")
		q.Request.Header.SetRequestURI("/bkt/k?" + query)
		setHeaders(&q)
		r = &request{ctx: &q}
		if err := h.locate(r); err != nil {
			t.Fatalf("/bkt/k: %v", err)
		}
		checkParams(t, r)
		checkRoute(t, r)

		// What the server lets through: the key is decoded from the raw
		// path the client sent.
		ctx, ok := acceptedCtx(method, target, host)
		if !ok {
			return
		}
		setHeaders(ctx)
		r = &request{ctx: ctx}
		err = h.locate(r)
		checkLocated(t, r, err, rawTargetPath(target))
		checkParams(t, r)
		if err == nil {
			checkRoute(t, r)
		}
	})
}
