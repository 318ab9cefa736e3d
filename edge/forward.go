package edge

import (
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/valyala/fasthttp"
)

// What of a client's request reaches the origin.
//
// An upstream site gets the request as the client sent it, as any reverse
// proxy would: every end-to-end field (Authorization, Cookie,
// Accept-Language, the application's own fields), so the origin answers
// the request the client made. Not forwarded:
//
//   - hop-by-hop fields and every field the Connection field names (RFC
//     9110 §7.6.1), Proxy-*, Host (the upstream's own) and the framing;
//   - fields an application may take as the truth about the request's
//     URL, method or host (X-Original-URL, X-Forwarded-Host, Forwarded…):
//     a cache keys by none of them, so one client's value would choose
//     what is stored for everyone (cache poisoning). Sites can forward
//     one by name (RequestHeaders.Pass) or drop more (RequestHeaders.Drop);
//   - on a fill, the client's conditionals and Range: a fill asks for the
//     whole representation, which the cache stores and answers them
//     from. A request served for its client alone (stream through) sends
//     them, and the origin's 304 or 206 goes to that client only.
//
// The edge adds Via (RFC 9110 §7.6.3) and X-Forwarded-For. A bucket site's
// objects come from a store that does not negotiate: of the client's
// fields only the CORS ones (which S3 answers by, with Vary: Origin) and
// those a response said it varies by are sent, and Range and the
// conditionals of a request served alone. Whatever is sent, the response
// is stored under the values sent of every field it varies by.

// notForwarded are fields a proxy never passes on: hop-by-hop (RFC 9110
// §7.6.1) and framing, and Host.
var notForwarded = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Host": true, "Content-Length": true,
	"X-Forwarded-For": true, "Via": true, // extended by the edge, below
}

// poisoning are request fields applications commonly trust to rewrite the
// URL, method, scheme or host they answer for. None is part of the cache
// key, so none reaches an upstream unless its site passes it by name.
var poisoning = map[string]bool{
	"Forwarded": true, "X-Forwarded-Host": true, "X-Forwarded-Server": true, "X-Forwarded-Proto": true,
	"X-Forwarded-Scheme": true, "X-Forwarded-Prefix": true, "X-Forwarded-Port": true, "X-Forwarded-Ssl": true,
	"X-Host": true, "X-Original-Host": true, "X-Original-Url": true, "X-Rewrite-Url": true, "X-Override-Url": true,
	"X-Http-Method-Override": true, "X-Http-Method": true, "X-Method-Override": true, "X-Url-Scheme": true,
}

// clientOwned are the fields a fill does not send: the cache answers them
// from the whole representation.
var clientOwned = map[string]bool{
	"If-Match": true, "If-None-Match": true, "If-Modified-Since": true, "If-Unmodified-Since": true,
	"If-Range": true, "Range": true, "X-If-Generation-Match": true, "X-If-Generation-Not-Match": true,
}

// bucketForwarded are the fields a bucket's origin may answer by.
var bucketForwarded = []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}

// RequestHeaders adjusts what an upstream site forwards of a request.
type RequestHeaders struct {
	// Pass forwards fields the edge otherwise withholds as a cache
	// poisoning risk (X-Forwarded-Host…): only for an upstream that does
	// not let them shape a response, or that says Vary by them.
	Pass []string `yaml:"pass"`
	// Drop withholds more fields (Cookie, say, for an upstream that must
	// never see them).
	Drop []string `yaml:"drop"`

	pass, drop map[string]bool
}

func (r *RequestHeaders) check() {
	r.pass, r.drop = canonicalSet(r.Pass), canonicalSet(r.Drop)
}

func canonicalSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[http.CanonicalHeaderKey(strings.TrimSpace(n))] = true
	}
	return m
}

// originHeader is what the origin request of ctx carries of the client's
// fields; own marks a request served to this client alone (see above).
// vary names the fields the response is known to vary by.
func originHeader(ctx *fasthttp.RequestCtx, site *Site, vary []string, own bool) http.Header {
	rh := &ctx.Request.Header
	out := http.Header{}
	if site.upstream == nil {
		for _, name := range bucketForwarded {
			copyField(out, rh, name)
		}
		for _, name := range vary {
			copyField(out, rh, http.CanonicalHeaderKey(name))
		}
		if own {
			for name := range clientOwned {
				copyField(out, rh, name)
			}
		}
		return out
	}
	named := connectionNamed(rh)
	for k, v := range rh.All() {
		name := http.CanonicalHeaderKey(string(k))
		switch {
		case notForwarded[name], named[name], strings.HasPrefix(name, "Proxy-"),
			poisoning[name] && !site.RequestHeaders.pass[name], site.RequestHeaders.drop[name],
			clientOwned[name] && !own:
			continue
		case name == "Accept-Encoding" || name == "Accept-Language":
			continue // negotiated below
		}
		out.Add(name, string(v))
	}
	for _, name := range []string{"Accept-Encoding", "Accept-Language"} {
		if v := negotiated(site, name, vary, rh); v != "" && !site.RequestHeaders.drop[name] {
			out.Set(name, v)
		}
	}
	via := "1.1 edge"
	if v := rh.Peek("Via"); len(v) > 0 {
		via = string(v) + ", " + via
	}
	out.Set("Via", via)
	xff := clientIP(ctx)
	if v := rh.Peek("X-Forwarded-For"); len(v) > 0 {
		xff = string(v) + ", " + xff
	}
	out.Set("X-Forwarded-For", xff)
	return out
}

func copyField(out http.Header, rh *fasthttp.RequestHeader, name string) {
	for _, v := range rh.PeekAll(name) {
		out.Add(name, string(v))
	}
}

// connectionNamed are the fields the Connection field lists: hop-by-hop
// for this connection only (RFC 9110 §7.6.1).
func connectionNamed(rh *fasthttp.RequestHeader) map[string]bool {
	var named map[string]bool
	for _, v := range rh.PeekAll("Connection") {
		for tok := range strings.SplitSeq(string(v), ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				if named == nil {
					named = make(map[string]bool)
				}
				named[http.CanonicalHeaderKey(tok)] = true
			}
		}
	}
	return named
}

func clientIP(ctx *fasthttp.RequestCtx) string {
	if addr, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		return addr.IP.String()
	}
	host, _, err := net.SplitHostPort(ctx.RemoteAddr().String())
	if err != nil {
		return "unknown"
	}
	return host
}

// interimRelay writes an origin's 1xx interim responses (103 Early Hints,
// 102) on ctx's connection ahead of the final one (RFC 9110 §15.2: a
// proxy forwards them); none go to an HTTP/1.0 client, which does not
// know them. It may only run while ctx's handler waits for the origin.
// Interim responses are never stored. Caveat: fasthttp flushes a response
// only once no pipelined request is waiting, and this writes on the
// connection itself, so a client that pipelines may see the interim
// response ahead of the end of its previous answer (its own connection
// only; interim responses carry no body).
func interimRelay(ctx *fasthttp.RequestCtx) func(int, textproto.MIMEHeader) {
	if !ctx.Request.Header.IsHTTP11() {
		return nil
	}
	return func(code int, h textproto.MIMEHeader) {
		b := fmt.Appendf(nil, "HTTP/1.1 %d %s\r\n", code, fasthttp.StatusMessage(code))
		for name, values := range h {
			for _, v := range values {
				b = append(append(append(append(b, name...), ": "...), v...), "\r\n"...)
			}
		}
		ctx.Conn().Write(append(b, "\r\n"...))
	}
}
