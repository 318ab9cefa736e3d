package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
	testHost   = "s3.example.test"

	// The AWS example of "Signature Calculations for the Authorization
	// Header: Transferring Payload in Multiple Chunks" (sigv4-streaming).
	exampleKeyID  = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	exampleSeed   = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	exampleDate   = "20130524T000000Z"
	exampleScope  = "20130524/us-east-1/s3/aws4_request"
)

var testTime = time.Date(2026, 5, 7, 12, 30, 45, 0, time.UTC)

type staticCreds map[string]string

func (c staticCreds) SecretKey(id string) (string, bool) {
	s, ok := c[id]
	return s, ok
}

func testVerifier(now time.Time) *Verifier {
	return &Verifier{
		Creds:         staticCreds{testKeyID: testSecret, exampleKeyID: exampleSecret},
		AcceptRegions: []string{testRegion, "auto"},
		Now:           func() time.Time { return now },
	}
}

// fromHTTP converts a net/http request into a Request the way the HTTP
// layer converts a fasthttp one: the request target as net/http writes it
// on the wire, lower-cased headers, Content-Length as a header.
func fromHTTP(req *http.Request) *Request {
	path, query, _ := strings.Cut(req.URL.RequestURI(), "?")
	r := &Request{
		Method:   req.Method,
		RawPath:  path,
		RawQuery: query,
		Host:     req.Host,
		Header:   make(map[string][]string),
	}
	if r.Host == "" {
		r.Host = req.URL.Host
	}
	for k, vs := range req.Header {
		name := strings.ToLower(k)
		r.Header[name] = append(r.Header[name], vs...)
	}
	if req.ContentLength > 0 && r.Header["content-length"] == nil {
		r.Header["content-length"] = []string{strconv.FormatInt(req.ContentLength, 10)}
	}
	return r
}

var testCreds = aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}

// s3Signer is the SDK signer configured as the S3 client configures it: the
// path is signed as sent, not encoded a second time.
func s3Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// sdkSigned returns a request signed in the Authorization header by the
// SDK's signer, with x-amz-content-sha256 set to payloadHash.
func sdkSigned(t testing.TB, method, url string, body []byte, payloadHash string, header http.Header, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if err := s3Signer().SignHTTP(context.Background(), testCreds, req, payloadHash, "s3", testRegion, at); err != nil {
		t.Fatal(err)
	}
	return req
}

// sdkPresigned returns a request for a URL presigned by the SDK's signer.
func sdkPresigned(t testing.TB, method, url string, expires int, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(expires))
	req.URL.RawQuery = q.Encode()
	signed, header, err := s3Signer().PresignHTTP(context.Background(), testCreds, req, "UNSIGNED-PAYLOAD", "s3", testRegion, at)
	if err != nil {
		t.Fatal(err)
	}
	out, err := http.NewRequest(method, signed, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		if k != "Host" {
			out.Header[k] = vs
		}
	}
	return out
}

func sha256Hex2(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// chunkSigner signs aws-chunked bodies, written from the text of the AWS
// documentation, independently of the package's own code.
type chunkSigner struct {
	key      []byte
	amzDate  string
	scope    string
	previous string
}

func newChunkSigner(secret, amzDate, scope, seed string) *chunkSigner {
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		io.WriteString(h, s)
		return h.Sum(nil)
	}
	parts := strings.Split(scope, "/")
	k := []byte("AWS4" + secret)
	for _, p := range parts {
		k = mac(k, p)
	}
	return &chunkSigner{key: k, amzDate: amzDate, scope: scope, previous: seed}
}

func (s *chunkSigner) sign(stringToSign string) string {
	h := hmac.New(sha256.New, s.key)
	io.WriteString(h, stringToSign)
	s.previous = hex.EncodeToString(h.Sum(nil))
	return s.previous
}

func (s *chunkSigner) chunk(data []byte) string {
	return s.sign("AWS4-HMAC-SHA256-PAYLOAD\n" + s.amzDate + "\n" + s.scope + "\n" + s.previous + "\n" +
		sha256Hex2(nil) + "\n" + sha256Hex2(data))
}

func (s *chunkSigner) trailer(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return s.sign("AWS4-HMAC-SHA256-TRAILER\n" + s.amzDate + "\n" + s.scope + "\n" + s.previous + "\n" +
		sha256Hex2([]byte(b.String())))
}

// signedBody encodes chunks (the final empty chunk is added) and, when
// trailers is non-nil, signed trailer lines "name:value".
func (s *chunkSigner) signedBody(chunks [][]byte, trailers []string) []byte {
	var b bytes.Buffer
	for _, c := range append(chunks, nil) {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(c), s.chunk(c))
		if len(c) > 0 {
			b.Write(c)
			b.WriteString("\r\n")
		}
	}
	if trailers != nil {
		for _, l := range trailers {
			b.WriteString(l + "\r\n")
		}
		b.WriteString("x-amz-trailer-signature:" + s.trailer(trailers) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// unsignedBody encodes chunks for STREAMING-UNSIGNED-PAYLOAD-TRAILER.
func unsignedBody(chunks [][]byte, trailers []string) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		fmt.Fprintf(&b, "%x\r\n", len(c))
		b.Write(c)
		b.WriteString("\r\n")
	}
	b.WriteString("0\r\n")
	for _, l := range trailers {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// streamingAuth returns the Auth that Verify would produce for a streaming
// request signed by the given key with the given seed.
func streamingAuth(mode PayloadMode, secret, amzDate, scope, seed string, decodedLength int64, declared ...string) *Auth {
	a := &Auth{
		Payload:          mode,
		Seed:             seed,
		amzDate:          amzDate,
		scope:            scope,
		decodedLength:    decodedLength,
		declaredTrailers: declared,
	}
	if parts := strings.Split(scope, "/"); len(parts) == 4 {
		a.key = deriveKey(secret, parts[0], parts[1], parts[2])
	}
	return a
}

func errorsIs(err, target error) bool {
	if target == nil {
		return err == nil
	}
	return errors.Is(err, target)
}
