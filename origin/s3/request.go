package s3

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/internal/pacing"
	"github.com/edgecdn/edge/origin/s3/sigv4"
)

// request is one S3 call being served.
type request struct {
	ctx         *fasthttp.RequestCtx
	id          string
	op          string
	bucket, key string
	hasKey      bool
	auth        *sigv4.Auth // nil for an anonymous request
	bytesIn     int64
	parsedQuery map[string]string
	readTimeout time.Duration // the wait allowed for each 256 KiB of the body; 0: the server's deadline alone
}

var errInvalidURI = apiError{"InvalidURI", 400, "Couldn't parse the specified URI."}

// target splits the request line's target into its raw path and query.
// It reads the request line itself: fasthttp's parsed URI takes a path
// starting "//" followed, anywhere, by "://" for an authority, so
// "//x/bkt/key?u=http://y" would name bucket "bkt" and host "x".
func (r *request) target() (path, query []byte, err error) {
	t := r.ctx.Request.Header.RequestURI()
	if i := bytes.IndexByte(t, '#'); i >= 0 {
		t = t[:i]
	}
	if i := bytes.IndexByte(t, '?'); i >= 0 {
		t, query = t[:i], t[i+1:]
	}
	if len(t) > 0 && t[0] == '/' {
		return t, query, nil
	}
	// An absolute-form request line: keep only the path.
	i := bytes.Index(t, []byte("://"))
	if i < 0 {
		return nil, query, errInvalidURI
	}
	rest := t[i+3:]
	if j := bytes.IndexByte(rest, '/'); j >= 0 {
		return rest[j:], query, nil
	}
	return []byte("/"), query, nil
}

// host is the host the request names: the authority of an absolute-form
// target (RFC 9112 §3.2.2), else the Host header.
func (r *request) host() string {
	t := r.ctx.Request.Header.RequestURI()
	if len(t) > 0 && t[0] != '/' {
		if i := bytes.Index(t, []byte("://")); i >= 0 {
			auth := t[i+3:]
			if j := bytes.IndexAny(auth, "/?#"); j >= 0 {
				auth = auth[:j]
			}
			return string(auth)
		}
	}
	return string(r.ctx.Request.Header.Host())
}

// locate finds the bucket and key. The key comes from the raw path with one
// decoding step of our own: fasthttp's normalised Path() would merge "a//b"
// into "a/b" and resolve "a/../b", but those are distinct S3 keys.
func (h *Handler) locate(r *request) error {
	raw, _, err := r.target()
	if err != nil {
		return err
	}
	path, err := unescapePath(string(raw[1:]))
	if err != nil {
		return errInvalidURI
	}
	if bucket, ok := h.virtualBucket(r.host()); ok {
		r.bucket = bucket
		r.key, r.hasKey = path, path != ""
		return nil
	}
	r.bucket, r.key, r.hasKey = strings.Cut(path, "/")
	if r.hasKey && r.key == "" {
		r.hasKey = false // "/bucket/" names the bucket
	}
	return nil
}

// virtualBucket reads the bucket from a Host of the form
// <bucket>.<BaseDomain>[:port].
func (h *Handler) virtualBucket(host string) (string, bool) {
	if h.cfg.BaseDomain == "" {
		return "", false
	}
	if hp, _, err := net.SplitHostPort(host); err == nil {
		host = hp
	}
	host = strings.ToLower(host)
	bucket, ok := strings.CutSuffix(host, "."+strings.ToLower(h.cfg.BaseDomain))
	return bucket, ok && bucket != ""
}

// unescapePath decodes %XX escapes once; '+' stays '+' in a path.
func unescapePath(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", errInvalidURI
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// authenticate checks the request's signature. An unsigned request is
// anonymous (r.auth stays nil); what it may do is decided per operation.
func (h *Handler) authenticate(r *request) error {
	path, query, err := r.target()
	if err != nil {
		return err
	}
	req := &sigv4.Request{
		Method:   string(r.ctx.Method()),
		RawPath:  string(path),
		RawQuery: string(query),
		Host:     r.host(),
		Header:   make(map[string][]string),
	}
	for k, v := range r.ctx.Request.Header.All() {
		name := strings.ToLower(string(k))
		req.Header[name] = append(req.Header[name], string(v))
	}
	auth, err := h.verifier.Verify(req)
	if errors.Is(err, sigv4.ErrAnonymous) {
		return nil
	}
	if err != nil {
		return err
	}
	r.auth = auth
	return nil
}

// body returns the request's payload: the object bytes only (aws-chunked
// framing removed, signatures and the payload hash verified as they pass).
func (r *request) body() io.Reader {
	var body io.Reader
	if stream := r.ctx.RequestBodyStream(); stream != nil {
		body = pacing.Request(stream, r.ctx.Conn(), r.readTimeout)
	} else { // no body was sent, or it was not streamed
		body = bytes.NewReader(r.ctx.PostBody())
	}
	if r.auth != nil {
		body = r.auth.Body(body)
	}
	return &countingReader{r: body, n: &r.bytesIn}
}

// declaredSize is the payload length: x-amz-decoded-content-length for
// aws-chunked bodies, else Content-Length; -1 when unknown.
func (r *request) declaredSize() int64 {
	if r.auth != nil {
		if n, ok := r.auth.DecodedLength(); ok {
			return n
		}
		if r.auth.Payload.Streaming() {
			return -1
		}
	}
	if n := r.ctx.Request.Header.ContentLength(); n >= 0 {
		return int64(n)
	}
	return -1
}

// readXML decodes a request document of at most limit bytes into v.
func (r *request) readXML(limit int64, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.body(), limit+1))
	if err != nil {
		return err
	}
	if int64(len(data)) > limit {
		return errMaxMessageLength
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return errMalformedXML.withMessage("The XML you provided was not well-formed: " + err.Error())
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// writeXML sends v as the response document.
func writeXML(ctx *fasthttp.RequestCtx, status int, v any) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/xml")
	ctx.Response.ResetBody()
	w := ctx.Response.BodyWriter()
	io.WriteString(w, xml.Header)
	if err := xml.NewEncoder(w).Encode(v); err != nil {
		// Only a type without an XML form fails here: a bug of ours.
		ctx.Response.ResetBody()
		ctx.SetStatusCode(fasthttp.StatusInternalServerError)
	}
}

func (r *request) header(name string) string {
	return string(r.ctx.Request.Header.Peek(name))
}

// query returns the first value of a query parameter. The raw query is
// decoded here, like the path, with '+' kept as '+': that is how SigV4
// canonicalised it, so what was signed is what is executed (fasthttp's
// QueryArgs would turn '+' into a space).
func (r *request) query(name string) string {
	v, _ := r.params()[name]
	return v
}

func (r *request) hasQuery(name string) bool {
	_, ok := r.params()[name]
	return ok
}

func (r *request) params() map[string]string {
	if r.parsedQuery != nil {
		return r.parsedQuery
	}
	r.parsedQuery = make(map[string]string)
	_, query, _ := r.target()
	for pair := range strings.SplitSeq(string(query), "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		dk, err1 := unescapePath(k)
		dv, err2 := unescapePath(v)
		if err1 != nil || err2 != nil {
			continue // undecodable: as if absent
		}
		if _, dup := r.parsedQuery[dk]; !dup {
			r.parsedQuery[dk] = dv
		}
	}
	return r.parsedQuery
}
