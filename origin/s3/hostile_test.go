package s3_test

// The hostile-input battery of the S3 API: unsigned and wrongly signed
// requests, presigned URLs past their expiry or replayed against another
// key, bucket, method or query, header-signed requests replayed with a
// changed header or body, XML bombs and over-size documents, and keys
// that try to leave the data directory.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

const (
	hostilePrivate = "PRIVATE-BYTES"
	hostilePublic  = "public-bytes"
)

// hostileS3 is a server with a private bucket (priv: secret, other, victim) and
// a public one (public: hello), and a second private bucket (priv2: secret).
func hostileS3(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	ts := startServer(t, opts...)
	for _, b := range []string{"public", "priv", "priv2"} {
		ts.mkbucket(b)
	}
	ts.put("priv", "secret", hostilePrivate)
	ts.put("priv", "other", "OTHER-PRIVATE")
	ts.put("priv", "victim", "victim")
	ts.put("priv2", "secret", "PRIV2-SECRET")
	ts.put("public", "hello", hostilePublic)
	return ts
}

// hostileUnchanged: the hostile requests changed no object and created none.
func (ts *testServer) hostileUnchanged(t *testing.T) {
	t.Helper()
	want := map[string]map[string]string{
		"public": {"hello": hostilePublic},
		"priv":   {"secret": hostilePrivate, "other": "OTHER-PRIVATE", "victim": "victim"},
		"priv2":  {"secret": "PRIV2-SECRET"},
	}
	for bucket, objects := range want {
		list, err := ts.store.ListObjects(ctx, bucket, origin.ListOptions{})
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		var keys []string
		for _, o := range list.Objects {
			keys = append(keys, o.Key)
		}
		if len(keys) != len(objects) {
			t.Errorf("bucket %s holds %q", bucket, keys)
		}
		for key, body := range objects {
			if got := ts.get(bucket, key); got != body {
				t.Errorf("%s/%s holds %q, want %q", bucket, key, got, body)
			}
		}
	}
	buckets, err := ts.store.ListBuckets(ctx)
	if err != nil || len(buckets) != 3 {
		t.Errorf("buckets %v, %v", buckets, err)
	}
}

// hostileSigner signs as S3 clients do (the path as sent, not re-escaped).
var hostileSigner = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })

var hostileCreds = aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}

// hostileSigned is a request signed in its headers at the given time with
// its payload hash signed; every header in hdr is signed.
func hostileSigned(t *testing.T, method, target string, body []byte, hdr map[string]string, at time.Time) *http.Request {
	t.Helper()
	return hostileSignedBody(t, method, target, bytes.NewReader(body), body, hdr, at)
}

// hostileSignedChunked is hostileSigned with the body sent without a
// Content-Length (Transfer-Encoding: chunked).
func hostileSignedChunked(t *testing.T, method, target string, body []byte, at time.Time) *http.Request {
	t.Helper()
	return hostileSignedBody(t, method, target, io.NopCloser(bytes.NewReader(body)), body, nil, at)
}

func hostileSignedBody(t *testing.T, method, target string, r io.Reader, body []byte, hdr map[string]string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := hostileSigner.SignHTTP(ctx, hostileCreds, req, hash, "s3", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

// hostileReplay re-sends a signed request's headers (Authorization included) with
// another method, target or body, after edit changes its headers.
func hostileReplay(t *testing.T, signed *http.Request, method, target string, body []byte, edit func(http.Header)) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = signed.Header.Clone()
	req.Host = signed.Host
	if edit != nil {
		edit(req.Header)
	}
	return req
}

// hostileSend sends req and returns the status and body.
func hostileSend(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// hostileRefused: a 4xx carrying the S3 error code (any code when code is
// ""), and never the private bytes.
func hostileRefused(t *testing.T, what string, status int, body string, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus || (code != "" && !strings.Contains(body, "<Code>"+code+"</Code>")) {
		t.Errorf("%s: %d %.200s, want %d %s", what, status, body, wantStatus, code)
	}
	for _, secret := range []string{hostilePrivate, "OTHER-PRIVATE", "PRIV2-SECRET"} {
		if strings.Contains(body, secret) {
			t.Errorf("%s: the answer carries private bytes: %.200s", what, body)
		}
	}
}

// Unsigned requests may only read public buckets: every write, and every
// read of a private bucket, is refused and changes nothing.
func TestHostileS3Unsigned(t *testing.T) {
	ts := hostileS3(t)
	rows := []struct {
		name, method, path string
		body               string
		hdr                map[string]string
		status             int    // default 403
		code               string // default AccessDenied
	}{
		{"PUT into a private bucket", "PUT", "/priv/new", "evil", nil, 0, ""},
		{"PUT over a private object", "PUT", "/priv/secret", "evil", nil, 0, ""},
		{"PUT into a public bucket", "PUT", "/public/new", "evil", nil, 0, ""},
		{"PUT over a public object", "PUT", "/public/hello", "evil", nil, 0, ""},
		{"DELETE a public object", "DELETE", "/public/hello", "", nil, 0, ""},
		{"DELETE a private object", "DELETE", "/priv/secret", "", nil, 0, ""},
		{"DeleteObjects on a public bucket", "POST", "/public?delete", "<Delete><Object><Key>hello</Key></Object></Delete>", nil, 0, ""},
		{"copy a private object into a public bucket", "PUT", "/public/copy", "", map[string]string{"x-amz-copy-source": "priv/secret"}, 0, ""},
		{"copy over a public object", "PUT", "/public/hello", "", map[string]string{"x-amz-copy-source": "priv/secret", "x-amz-metadata-directive": "REPLACE"}, 0, ""},
		{"CreateMultipartUpload in a public bucket", "POST", "/public/mp?uploads", "", nil, 0, ""},
		{"CreateBucket", "PUT", "/evilbucket", "", nil, 0, ""},
		{"DeleteBucket", "DELETE", "/priv2", "", nil, 0, ""},
		{"GET a private object", "GET", "/priv/secret", "", nil, 0, ""},
		{"GET a private object with a Range", "GET", "/priv/secret", "", map[string]string{"Range": "bytes=0-3"}, 0, ""},
		{"HEAD a private object", "HEAD", "/priv/secret", "", nil, 0, ""},
		{"LIST a private bucket", "GET", "/priv?list-type=2", "", nil, 0, ""},
		{"LIST a private bucket, V1", "GET", "/priv", "", nil, 0, ""},
		{"ListBuckets", "GET", "/", "", nil, 0, ""},
		{"ListMultipartUploads of a public bucket", "GET", "/public?uploads", "", nil, 0, ""},
		{"GetBucketLocation of a private bucket", "GET", "/priv?location", "", nil, 0, ""},
		{"private object through a dot-dot path", "GET", "/public/../priv/secret", "", nil, 404, "NoSuchKey"}, // the key "../priv/secret" of public
		{"private object through an encoded slash", "GET", "/public%2F..%2Fpriv/secret", "", nil, 404, "NoSuchKey"},
		{"an empty Authorization header", "GET", "/priv/secret", "", map[string]string{"Authorization": ""}, 0, ""},
		{"an X-Amz-Algorithm alone", "GET", "/priv/secret?X-Amz-Algorithm=AWS4-HMAC-SHA256", "", nil, 400, "AuthorizationQueryParametersError"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var body io.Reader
			if r.body != "" {
				body = strings.NewReader(r.body)
			}
			resp, got := rawDo(t, r.method, ts.url+r.path, body, r.hdr)
			if r.status == 0 {
				r.status, r.code = 403, "AccessDenied"
			}
			if r.method == "HEAD" {
				r.code = "" // no body to carry it
			}
			hostileRefused(t, r.name, resp.StatusCode, got, r.status, r.code)
			ts.hostileUnchanged(t)
		})
	}
	// The public bucket stays readable without a signature.
	if resp, got := rawDo(t, "GET", ts.url+"/public/hello", nil, nil); resp.StatusCode != 200 || got != hostilePublic {
		t.Errorf("anonymous read of a public object: %d %q", resp.StatusCode, got)
	}
}

// Wrongly signed requests are refused, for writes and private reads.
func TestHostileS3WrongSignatures(t *testing.T) {
	ts := hostileS3(t)
	now := time.Now()
	wrongSecret := ts.newClient(testKeyID, "not-the-secret-0123456789abcdefghijklmn")
	unknownKey := ts.newClient("EDGEUNKNOWNKEY00000", testSecret)
	for name, c := range map[string]*awss3.Client{"wrong secret": wrongSecret, "unknown key": unknownKey} {
		t.Run(name, func(t *testing.T) {
			code := map[string]string{"wrong secret": "SignatureDoesNotMatch", "unknown key": "InvalidAccessKeyId"}[name]
			_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("priv"), Key: aws.String("secret"), Body: strings.NewReader("evil")})
			expectCode(t, "PutObject", err, code, 403)
			_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("priv"), Key: aws.String("secret")})
			expectCode(t, "GetObject", err, code, 403)
			_, err = c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("public"), Key: aws.String("hello")})
			expectCode(t, "DeleteObject", err, code, 403)
			_, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("priv")})
			expectCode(t, "ListObjectsV2", err, code, 403)
			_, err = c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("public"), Key: aws.String("copy"), CopySource: aws.String("priv/secret")})
			expectCode(t, "CopyObject", err, code, 403)
			// A wrong signature on a public read is refused too, not
			// served as anonymous.
			_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("public"), Key: aws.String("hello")})
			expectCode(t, "GetObject of a public object", err, code, 403)
			ts.hostileUnchanged(t)
		})
	}
	good := hostileSigned(t, "GET", ts.url+"/priv/secret", nil, nil, now)
	auth := good.Header.Get("Authorization")
	sig := auth[strings.LastIndex(auth, "Signature=")+len("Signature="):]
	rows := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"signature of zeros", hostileReplay(t, good, "GET", ts.url+"/priv/secret", nil, func(h http.Header) {
			h.Set("Authorization", strings.Replace(auth, sig, strings.Repeat("0", 64), 1))
		}), 403, "SignatureDoesNotMatch"},
		{"signature truncated", hostileReplay(t, good, "GET", ts.url+"/priv/secret", nil, func(h http.Header) {
			h.Set("Authorization", strings.TrimSuffix(auth, sig[60:]))
		}), 0, ""},
		{"signature of another request", hostileReplay(t, good, "GET", ts.url+"/priv/secret", nil, func(h http.Header) {
			other := hostileSigned(t, "GET", ts.url+"/priv/other", nil, nil, now).Header.Get("Authorization")
			h.Set("Authorization", other)
		}), 403, "SignatureDoesNotMatch"},
		{"Authorization garbage", hostileReplay(t, good, "GET", ts.url+"/priv/secret", nil, func(h http.Header) {
			h.Set("Authorization", "AWS4-HMAC-SHA256 garbage")
		}), 400, "AuthorizationHeaderMalformed"},
		{"Signature Version 2", hostileReplay(t, good, "GET", ts.url+"/priv/secret", nil, func(h http.Header) {
			h.Set("Authorization", "AWS "+testKeyID+":c2lnbmF0dXJl")
		}), 400, "InvalidRequest"},
		{"two Authorization headers", hostileReplay(t, good, "GET", ts.url+"/priv/secret", nil, func(h http.Header) {
			h.Add("Authorization", auth)
		}), 400, ""},
		{"SignedHeaders without host", hostileReplay(t, good, "GET", ts.url+"/priv/secret", nil, func(h http.Header) {
			h.Set("Authorization", strings.Replace(auth, "SignedHeaders=host;", "SignedHeaders=", 1))
		}), 0, ""},
		{"x-amz-date not signed", hostileReplay(t, good, "GET", ts.url+"/priv/secret", nil, func(h http.Header) {
			h.Set("Authorization", strings.Replace(auth, ";x-amz-date", "", 1))
		}), 400, "AuthorizationHeaderMalformed"},
		{"signed 20 minutes ago", hostileSigned(t, "GET", ts.url+"/priv/secret", nil, nil, now.Add(-20*time.Minute)), 403, "RequestTimeTooSkewed"},
		{"signed 20 minutes ahead", hostileSigned(t, "PUT", ts.url+"/priv/secret", []byte("evil"), nil, now.Add(20*time.Minute)), 403, "RequestTimeTooSkewed"},
		{"signed for another service", func() *http.Request {
			req, _ := http.NewRequest("GET", ts.url+"/priv/secret", nil)
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			hostileSigner.SignHTTP(ctx, hostileCreds, req, "UNSIGNED-PAYLOAD", "sqs", "us-east-1", now)
			return req
		}(), 400, "AuthorizationHeaderMalformed"},
		{"header signature and presigned query", hostileReplay(t, good, "GET", ts.url+"/priv/secret?X-Amz-Algorithm=AWS4-HMAC-SHA256", nil, nil), 400, "InvalidArgument"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			status, body := hostileSend(t, r.req)
			if r.status == 0 {
				if status < 400 || status >= 500 {
					t.Errorf("%d %.200s, want a refusal", status, body)
				}
				r.status = status
			}
			hostileRefused(t, r.name, status, body, r.status, r.code)
			ts.hostileUnchanged(t)
		})
	}
	if status, body := hostileSend(t, hostileSigned(t, "GET", ts.url+"/priv/secret", nil, nil, time.Now())); status != 200 || body != hostilePrivate {
		t.Errorf("a good signature: %d %q", status, body)
	}
}

// A presigned URL stops working after its expiry, does not work before
// its date, and its expiry cannot be extended.
func TestHostileS3PresignedExpiry(t *testing.T) {
	var skew atomic.Int64 // the server's clock, ahead of the signer's
	ts := hostileS3(t, func(c *s3.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	presigner := awss3.NewPresignClient(ts.client)
	get, err := presigner.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("priv"), Key: aws.String("secret")}, awss3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	put, err := presigner.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("priv"), Key: aws.String("secret")}, awss3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) { skew.Store(int64(d)) }
	getIs := func(what string, wantStatus int) {
		t.Helper()
		resp, body := rawDo(t, "GET", get.URL, nil, nil)
		if wantStatus == 200 {
			if resp.StatusCode != 200 || body != hostilePrivate {
				t.Errorf("%s: %d %.200s", what, resp.StatusCode, body)
			}
			return
		}
		hostileRefused(t, what, resp.StatusCode, body, wantStatus, "AccessDenied")
	}
	at(0)
	getIs("presigned GET within its expiry", 200)
	at(50 * time.Second)
	getIs("presigned GET 50 s into its minute", 200)
	at(2 * time.Minute)
	getIs("presigned GET after its expiry", 403)
	at(24 * time.Hour)
	getIs("presigned GET a day later", 403)
	resp, body := rawDo(t, "PUT", put.URL, strings.NewReader("evil"), nil)
	hostileRefused(t, "presigned PUT after its expiry", resp.StatusCode, body, 403, "AccessDenied")
	at(-20 * time.Minute)
	getIs("presigned GET before its date (server clock 20 min behind)", 403)
	at(0)

	// The expiry is signed: extending it breaks the signature.
	u, _ := url.Parse(get.URL)
	q := u.Query()
	for _, exp := range []string{"604800", "3600", "61"} {
		q.Set("X-Amz-Expires", exp)
		u.RawQuery = q.Encode()
		resp, body := rawDo(t, "GET", u.String(), nil, nil)
		hostileRefused(t, "X-Amz-Expires changed to "+exp, resp.StatusCode, body, 403, "SignatureDoesNotMatch")
	}
	// So is the date: moving it forward does not renew the URL.
	q = u.Query()
	q.Set("X-Amz-Expires", "60")
	q.Set("X-Amz-Date", time.Now().UTC().Add(time.Hour).Format("20060102T150405Z"))
	u.RawQuery = q.Encode()
	resp, body = rawDo(t, "GET", u.String(), nil, nil)
	if resp.StatusCode != 403 && resp.StatusCode != 400 {
		t.Errorf("X-Amz-Date moved: %d %.200s", resp.StatusCode, body)
	}
	hostileRefused(t, "X-Amz-Date moved", resp.StatusCode, body, resp.StatusCode, "")
	// A URL signed for more than 7 days is refused outright.
	long, _ := http.NewRequest("GET", ts.url+"/priv/secret?X-Amz-Expires=604801", nil)
	signed, _, err := hostileSigner.PresignHTTP(ctx, hostileCreds, long, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, body = rawDo(t, "GET", signed, nil, nil)
	hostileRefused(t, "presigned for 7 days and a second", resp.StatusCode, body, 400, "AuthorizationQueryParametersError")
	ts.hostileUnchanged(t)
}

// A signature covers its method, bucket, key, query and signed headers:
// replayed against anything else it is refused, and an operation it did
// not sign (a copy, metadata) cannot be grafted onto it.
func TestHostileS3SignatureScope(t *testing.T) {
	ts := hostileS3(t)
	presigner := awss3.NewPresignClient(ts.client)
	pg, err := presigner.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("priv"), Key: aws.String("secret")}, awss3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	_, query, _ := strings.Cut(pg.URL, "?")
	// with is the presigned URL's query on another path (sent as written:
	// net/http neither cleans nor re-escapes it), plus extraQuery.
	with := func(path, extraQuery string) string {
		if extraQuery != "" {
			extraQuery = "&" + extraQuery
		}
		return ts.url + path + "?" + query + extraQuery
	}
	if resp, body := rawDo(t, "GET", pg.URL, nil, nil); resp.StatusCode != 200 || body != hostilePrivate {
		t.Fatalf("the presigned GET itself: %d %q", resp.StatusCode, body)
	}
	presigned := []struct {
		name, method, target string
		body                 string
	}{
		{"another key", "GET", with("/priv/other", ""), ""},
		{"another bucket", "GET", with("/priv2/secret", ""), ""},
		{"the key upper-cased", "GET", with("/priv/SECRET", ""), ""},
		{"a trailing slash", "GET", with("/priv/secret/", ""), ""},
		{"a dot segment", "GET", with("/priv/./secret", ""), ""},
		{"a dot-dot segment to another key", "GET", with("/priv/secret/../other", ""), ""},
		{"an encoded slash to another bucket", "GET", with("/priv%2F..%2Fpriv2/secret", ""), ""},
		{"PUT", "PUT", pg.URL, "evil"},
		{"DELETE", "DELETE", pg.URL, ""},
		{"HEAD", "HEAD", pg.URL, ""},
		{"POST", "POST", pg.URL, ""},
		{"an added response-content-type", "GET", with("/priv/secret", "response-content-type=text/html"), ""},
		{"an added versionId", "GET", with("/priv/secret", "versionId=null"), ""},
		{"an added partNumber", "GET", with("/priv/secret", "partNumber=1"), ""},
		{"an added uploads", "POST", with("/priv/secret", "uploads"), ""},
		{"an added acl", "GET", with("/priv/secret", "acl"), ""},
		{"a duplicated X-Amz-Signature", "GET", with("/priv/secret", "X-Amz-Signature=00"), ""},
		{"another key with an added parameter", "GET", with("/priv/other", "x-id=GetObject"), ""},
	}
	for _, r := range presigned {
		t.Run("presigned GET with "+r.name, func(t *testing.T) {
			var body io.Reader
			if r.body != "" {
				body = strings.NewReader(r.body)
			}
			resp, got := rawDo(t, r.method, r.target, body, nil)
			if resp.StatusCode != 403 && resp.StatusCode != 400 {
				t.Errorf("%d %.200s, want 403 (or 400)", resp.StatusCode, got)
			}
			hostileRefused(t, r.name, resp.StatusCode, got, resp.StatusCode, "")
			ts.hostileUnchanged(t)
		})
	}

	// Header-signed requests replayed with changes.
	now := time.Now()
	signedPut := hostileSigned(t, "PUT", ts.url+"/priv/signed", []byte("good"), map[string]string{"x-amz-meta-owner": "alice", "Content-Type": "text/plain"}, now)
	headerRows := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"a changed signed metadata header", hostileReplay(t, signedPut, "PUT", ts.url+"/priv/signed", []byte("good"), func(h http.Header) { h.Set("X-Amz-Meta-Owner", "mallory") }), 403, "SignatureDoesNotMatch"},
		{"a changed Content-Type", hostileReplay(t, signedPut, "PUT", ts.url+"/priv/signed", []byte("good"), func(h http.Header) { h.Set("Content-Type", "text/html") }), 403, "SignatureDoesNotMatch"},
		{"a removed signed header", hostileReplay(t, signedPut, "PUT", ts.url+"/priv/signed", []byte("good"), func(h http.Header) { h.Del("X-Amz-Meta-Owner") }), 403, ""},
		{"a changed body", hostileReplay(t, signedPut, "PUT", ts.url+"/priv/signed", []byte("evil"), nil), 400, "XAmzContentSHA256Mismatch"},
		{"a changed body and hash", hostileReplay(t, signedPut, "PUT", ts.url+"/priv/signed", []byte("evil"), func(h http.Header) {
			sum := sha256.Sum256([]byte("evil"))
			h.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		}), 403, "SignatureDoesNotMatch"},
		{"a changed body, UNSIGNED-PAYLOAD", hostileReplay(t, signedPut, "PUT", ts.url+"/priv/signed", []byte("evil"), func(h http.Header) { h.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }), 403, "SignatureDoesNotMatch"},
		{"a changed date", hostileReplay(t, signedPut, "PUT", ts.url+"/priv/signed", []byte("good"), func(h http.Header) {
			h.Set("X-Amz-Date", now.Add(time.Second).UTC().Format("20060102T150405Z"))
		}), 403, "SignatureDoesNotMatch"},
		{"another key", hostileReplay(t, signedPut, "PUT", ts.url+"/priv/secret", []byte("good"), nil), 403, "SignatureDoesNotMatch"},
		{"another bucket", hostileReplay(t, signedPut, "PUT", ts.url+"/public/signed", []byte("good"), nil), 403, "SignatureDoesNotMatch"},
		{"another method", hostileReplay(t, signedPut, "POST", ts.url+"/priv/signed?uploads", nil, nil), 403, "SignatureDoesNotMatch"},
		{"an added query parameter", hostileReplay(t, signedPut, "PUT", ts.url+"/priv/signed?partNumber=1&uploadId=x", []byte("good"), nil), 403, "SignatureDoesNotMatch"},
		{"another Host", func() *http.Request {
			r := hostileReplay(t, signedPut, "PUT", ts.url+"/priv/signed", []byte("good"), nil)
			r.Host = "evil.example"
			return r
		}(), 403, "SignatureDoesNotMatch"},
	}
	for _, r := range headerRows {
		t.Run("header-signed PUT with "+r.name, func(t *testing.T) {
			status, body := hostileSend(t, r.req)
			hostileRefused(t, r.name, status, body, r.status, r.code)
			if _, err := ts.store.HeadObject(ctx, "public", "signed", origin.GetOptions{}); err == nil {
				t.Errorf("public/signed was written")
			}
			if _, err := ts.store.HeadObject(ctx, "priv", "signed", origin.GetOptions{}); err == nil {
				t.Errorf("priv/signed was written")
			}
			ts.hostileUnchanged(t)
		})
	}
	// The request as signed works (once the rows above are done).
	if status, body := hostileSend(t, hostileReplay(t, signedPut, "PUT", ts.url+"/priv/signed", []byte("good"), nil)); status != 200 {
		t.Fatalf("the signed PUT itself: %d %s", status, body)
	}
	if _, err := ts.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("priv"), Key: aws.String("signed")}); err != nil {
		t.Fatal(err)
	}

	// x-amz-* headers the signer did not sign: S3 refuses them
	// (HeadersNotSigned). Grafted onto a presigned upload URL handed to an
	// untrusted client, or onto a captured signed request, they would
	// turn a PUT of one key into a copy of another (private) object, or
	// set metadata the signer never chose.
	pp, err := presigner.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("public"), Key: aws.String("upload")}, awss3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	capturedPut := hostileSigned(t, "PUT", ts.url+"/public/upload", nil, nil, now)
	unsigned := []struct {
		name string
		req  func() *http.Request
	}{
		{"presigned PUT with an unsigned x-amz-copy-source", func() *http.Request {
			r, _ := http.NewRequest("PUT", pp.URL, nil)
			r.Header.Set("x-amz-copy-source", "priv/secret")
			return r
		}},
		{"presigned PUT with an unsigned x-amz-copy-source and REPLACE", func() *http.Request {
			r, _ := http.NewRequest("PUT", pp.URL, nil)
			r.Header.Set("x-amz-copy-source", "/priv2/secret")
			r.Header.Set("x-amz-metadata-directive", "REPLACE")
			return r
		}},
		{"presigned PUT with unsigned x-amz-meta headers", func() *http.Request {
			r, _ := http.NewRequest("PUT", pp.URL, strings.NewReader("upload"))
			r.Header.Set("x-amz-meta-cache-tag", "everything")
			r.Header.Set("x-amz-meta-evil", "1")
			return r
		}},
		{"header-signed PUT replayed with an unsigned x-amz-copy-source", func() *http.Request {
			return hostileReplay(t, capturedPut, "PUT", ts.url+"/public/upload", nil, func(h http.Header) { h.Set("x-amz-copy-source", "priv/secret") })
		}},
	}
	for _, r := range unsigned {
		t.Run(r.name, func(t *testing.T) {
			status, body := hostileSend(t, r.req())
			if status < 400 || status >= 500 {
				t.Errorf("%d %.200s: want a refusal (S3: 403 AccessDenied, headers present in the request were not signed)", status, body)
			}
			if resp, got := rawDo(t, "GET", ts.url+"/public/upload", nil, nil); resp.StatusCode == 200 {
				if got != "upload" && got != "" {
					t.Errorf("public/upload now serves %q to anyone", got)
				}
				if resp.Header.Get("X-Amz-Meta-Evil") != "" || resp.Header.Get("X-Amz-Meta-Cache-Tag") != "" {
					t.Errorf("public/upload carries metadata nobody signed: %v", resp.Header)
				}
			}
			ts.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("public"), Key: aws.String("upload")})
			ts.hostileUnchanged(t)
		})
	}
}

// XML bombs and over-size documents in DeleteObjects and
// CompleteMultipartUpload are refused with a 4xx, quickly, without
// expanding anything and without deleting or completing anything.
func TestHostileS3XML(t *testing.T) {
	ts := hostileS3(t)
	mp, err := ts.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("priv"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := ts.client.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("priv"), Key: aws.String("mp"), UploadId: mp.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("part one")})
	if err != nil {
		t.Fatal(err)
	}
	laughs := func(root, inner string) string {
		var b strings.Builder
		b.WriteString(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">`)
		for i := 1; i <= 9; i++ {
			fmt.Fprintf(&b, `<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
		}
		b.WriteString(`]>`)
		return b.String() + strings.ReplaceAll(root, "{}", inner)
	}
	nested := func(root, inner string, depth int) string {
		return strings.ReplaceAll(root, "{}", strings.Repeat("<a>", depth)+inner+strings.Repeat("</a>", depth))
	}
	del := "<Delete>{}</Delete>"
	delKey := "<Delete><Object><Key>{}</Key></Object></Delete>"
	complete := "<CompleteMultipartUpload>{}</CompleteMultipartUpload>"
	partXML := "<Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part>"
	etag := aws.ToString(part.ETag)
	completeETag := strings.ReplaceAll(complete, "{}", partXML)
	xxe := `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`
	// An external DTD the parser would fetch from here: nothing may connect.
	dtd, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dtd.Close()
	param := `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "http://` + dtd.Addr().String() + `/evil.dtd"> %p;]>`
	system := `<?xml version="1.0"?><!DOCTYPE Delete SYSTEM "http://` + dtd.Addr().String() + `/evil.dtd">`
	deleteURL := ts.url + "/priv?delete"
	completeURL := ts.url + "/priv/mp?uploadId=" + url.QueryEscape(aws.ToString(mp.UploadId))
	rows := []struct {
		name, target, doc string
		status            int
		code              string
	}{
		{"DeleteObjects: billion laughs", deleteURL, laughs(delKey, "&lol9;"), 400, "MalformedXML"},
		{"DeleteObjects: billion laughs naming a real key", deleteURL, strings.Replace(laughs(delKey, "&lol9;"), `"lol">`, `"victim">`, 1), 400, "MalformedXML"},
		{"DeleteObjects: entity defined as a key", deleteURL, `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY k "victim">]>` + strings.ReplaceAll(delKey, "{}", "&k;"), 400, "MalformedXML"},
		{"DeleteObjects: external entity", deleteURL, xxe + strings.ReplaceAll(delKey, "{}", "&xxe;"), 400, "MalformedXML"},
		{"DeleteObjects: external parameter entity", deleteURL, param + strings.ReplaceAll(delKey, "{}", "none"), 0, ""},
		{"DeleteObjects: external DTD", deleteURL, system + strings.ReplaceAll(delKey, "{}", "none"), 0, ""},
		{"DeleteObjects: external entity in an attribute", deleteURL, xxe + `<Delete a="&xxe;"><Object><Key>none</Key></Object></Delete>`, 400, "MalformedXML"},
		{"DeleteObjects: 200000 nested elements", deleteURL, nested(del, "", 200000), 400, "MalformedXML"},
		{"DeleteObjects: 200000 unclosed elements", deleteURL, strings.ReplaceAll(del, "{}", strings.Repeat("<a>", 200000)), 400, "MalformedXML"},
		{"DeleteObjects: nested Object elements", deleteURL, strings.ReplaceAll(del, "{}", strings.Repeat("<Object>", 50000)+"<Key>victim</Key>"+strings.Repeat("</Object>", 50000)), 0, ""},
		{"DeleteObjects: 1001 objects", deleteURL, strings.ReplaceAll(del, "{}", strings.Repeat("<Object><Key>victim</Key></Object>", 1001)), 400, "MalformedXML"},
		{"DeleteObjects: 100000 attributes", deleteURL, "<Delete" + strings.Repeat(` a="b"`, 100000) + "><Object><Key>none</Key></Object></Delete>", 0, ""},
		{"DeleteObjects: not XML", deleteURL, "\x00\x01\x02 not xml", 400, "MalformedXML"},
		{"CompleteMultipartUpload: billion laughs", completeURL, laughs(complete, "<Part><PartNumber>1</PartNumber><ETag>&lol9;</ETag></Part>"), 400, "MalformedXML"},
		{"CompleteMultipartUpload: external entity", completeURL, xxe + strings.ReplaceAll(completeETag, "{}", "&xxe;"), 400, "MalformedXML"},
		{"CompleteMultipartUpload: 200000 nested elements", completeURL, nested(complete, strings.ReplaceAll(partXML, "{}", etag), 200000), 400, ""},
		{"CompleteMultipartUpload: entity as the ETag", completeURL, `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e ` + "'" + etag + "'" + `>]>` + strings.ReplaceAll(completeETag, "{}", "&e;"), 400, "MalformedXML"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			req := hostileSigned(t, "POST", r.target, []byte(r.doc), map[string]string{"Content-Type": "application/xml"}, time.Now())
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			status, body := hostileSend(t, req)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			runtime.ReadMemStats(&after)
			// Client and server share the process: what both allocated.
			if n := after.TotalAlloc - before.TotalAlloc; n > 256<<20 {
				t.Errorf("%d MiB allocated for a %d KiB document", n>>20, len(r.doc)>>10)
			}
			if r.status == 0 {
				// Any answer but a success that acted on the document.
				if status >= 500 {
					t.Errorf("%d %.200s", status, body)
				}
				r.status = status
			}
			hostileRefused(t, r.name, status, body, r.status, r.code)
			if strings.Contains(body, "root:") || strings.Contains(body, "lollollol") {
				t.Errorf("an entity was expanded into the answer: %.300s", body)
			}
			// A fetch of the DTD would have connected before the answer.
			dtd.(*net.TCPListener).SetDeadline(time.Now())
			if c, err := dtd.Accept(); err == nil {
				c.Close()
				t.Errorf("the server fetched an external DTD")
			}
			if got := ts.get("priv", "victim"); got != "victim" {
				t.Errorf("priv/victim was deleted or changed: %q", got)
			}
			if _, err := ts.store.HeadObject(ctx, "priv", "mp", origin.GetOptions{}); err == nil {
				t.Errorf("the multipart upload was completed")
			}
			ts.hostileUnchanged(t)
		})
	}
	// Documents over MaxXMLBody (2 MiB by default), sized or chunked.
	over := "<Delete><Object><Key>victim</Key></Object>" + strings.Repeat(" ", 2<<20) + "</Delete>"
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("DeleteObjects over 2 MiB, chunked %v", chunked), func(t *testing.T) {
			req := hostileSigned(t, "POST", deleteURL, []byte(over), nil, time.Now())
			if chunked {
				req = hostileSignedChunked(t, "POST", deleteURL, []byte(over), time.Now())
			}
			status, body := hostileSend(t, req)
			hostileRefused(t, "over 2 MiB", status, body, 413, "MaxMessageLengthExceeded")
			if got := ts.get("priv", "victim"); got != "victim" {
				t.Errorf("priv/victim was deleted: %q", got)
			}
		})
	}
	t.Run("CompleteMultipartUpload over 2 MiB", func(t *testing.T) {
		doc := "<CompleteMultipartUpload>" + strings.Repeat(strings.ReplaceAll(partXML, "{}", etag), (2<<20)/60+1) + "</CompleteMultipartUpload>"
		status, body := hostileSend(t, hostileSigned(t, "POST", completeURL, []byte(doc), nil, time.Now()))
		hostileRefused(t, "over 2 MiB", status, body, 413, "MaxMessageLengthExceeded")
	})
	t.Run("a configured MaxXMLBody", func(t *testing.T) {
		small := hostileS3(t, func(c *s3.Config) { c.MaxXMLBody = 1 << 10 })
		doc := "<Delete><Object><Key>hello</Key></Object>" + strings.Repeat(" ", 1<<10) + "</Delete>"
		status, body := hostileSend(t, hostileSigned(t, "POST", small.url+"/public?delete", []byte(doc), nil, time.Now()))
		hostileRefused(t, "over 1 KiB", status, body, 413, "MaxMessageLengthExceeded")
		small.hostileUnchanged(t)
	})
	// The upload is still whole: it completes with the genuine list.
	if _, err := ts.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: aws.String("priv"), Key: aws.String("mp"), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}},
	}); err != nil {
		t.Fatalf("completing the upload after the attacks: %v", err)
	}
	if got := ts.get("priv", "mp"); got != "part one" {
		t.Fatalf("priv/mp = %q", got)
	}
}

// hostileServerIn is startServer on an engine in dir.
func hostileServerIn(t *testing.T, dir string) *testServer {
	t.Helper()
	return startServerIn(t, dir, s3.ServerConfig{})
}

// No key leaves the data directory: keys that read as paths are refused
// or stored as plain keys, every file stays inside the store's directory
// (named by the store, never by the key), and each object reads back by
// its own key only.
func TestHostileS3KeysStayInTheStore(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "c", "d", "store") // deep: a key's ../ lands inside root
	ts := hostileServerIn(t, dir)
	ts.mkbucket("bkt")
	keys := []string{
		"../../etc/passwd",
		"../../../../../../../../etc/passwd",
		"../escape",
		"../../../../escape",
		"..%2f..%2fescape",
		"..%252f..%252fescape",
		"%2e%2e/%2e%2e/escape",
		"..\\..\\escape",
		"/etc/passwd",
		filepath.Join(root, "absolute-escape"),
		filepath.Join(root, "a", "b", "c", "d", "store", "meta.db"),
		"meta.db",
		"../meta.db",
		"data/../meta.db",
		"tmp/../../escape",
		"data/00/0000",
		".",
		"..",
		"./.",
		"../",
		"~/escape",
		"a\x00b",
		"\x00",
		"../../\x00escape",
		"C:\\Windows\\escape",
		"\\\\server\\share\\escape",
	}
	stored := map[string]string{}
	for i, k := range keys {
		body := fmt.Sprintf("body %d", i)
		_, err := ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k), Body: strings.NewReader(body)})
		if err != nil {
			if s := httpStatus(err); s == 0 {
				t.Logf("PUT %q: the client refused to send it (%v)", k, err)
			} else if s < 400 || s >= 500 {
				t.Errorf("PUT %q: %v (status %d): refused, but not as a client error", k, err, s)
			}
			continue
		}
		stored[k] = body
	}
	// The same keys on the wire as they are, dot-dot segments unencoded.
	for i, p := range []string{"/bkt/../../raw-escape", "/bkt/..%2f..%2fraw-escape", "/bkt/./../raw-escape", "/bkt//etc/raw-passwd",
		"/bkt/raw%00nul", "/bkt/%00", "/bkt/..%2f..%2f%00raw-escape", "/bkt/..%5c..%5craw-escape", "/bkt/%c0%ae%c0%ae/raw-escape"} {
		body := fmt.Sprintf("raw %d", i)
		status, got := hostileSend(t, hostileSigned(t, "PUT", ts.url+p, []byte(body), nil, time.Now()))
		switch {
		case status == 200:
			k, _ := url.PathUnescape(strings.TrimPrefix(p, "/bkt/"))
			stored[k] = body
		case status < 400 || status >= 500:
			t.Errorf("PUT %s: %d %.200s", p, status, got)
		}
	}
	// A copy whose source reads as a path copies a key, never a file.
	if _, err := ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copied"), CopySource: aws.String("bkt/../../../../../../../../etc/passwd")}); err == nil {
		if got := ts.get("bkt", "copied"); got != stored["../../../../../../../../etc/passwd"] {
			t.Errorf("a copy of ../../etc/passwd holds %q", got)
		}
	}
	if len(stored) < len(keys)/2 {
		t.Errorf("only %d of %d keys were stored", len(stored), len(keys))
	}

	// Every file is the store's own: meta.db, or a body under data/xx/
	// named by a hex id starting xx.
	bodies := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if !strings.HasPrefix(dir, p) && strings.HasPrefix(rel, "..") {
				t.Errorf("a directory outside the store: %s", p)
			}
			return nil
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		switch {
		case strings.HasPrefix(rel, ".."):
			t.Errorf("a file outside the store's directory: %s", p)
		case rel == "meta.db":
		case len(parts) == 3 && parts[0] == "data" && hostileHexID(parts[2]) && strings.HasPrefix(parts[2], parts[1]):
			bodies++
		default:
			t.Errorf("a file the store does not name: %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if bodies > len(stored)+1 {
		t.Errorf("%d body files for %d objects", bodies, len(stored)+1)
	}
	// Each object reads back by its own key, and by no cleaned-up form.
	for k, body := range stored {
		if got := ts.get("bkt", k); got != body {
			t.Errorf("GET %q = %q, want %q", k, got, body)
		}
		for _, alias := range []string{path.Clean(k), strings.TrimPrefix(path.Clean("/"+k), "/"), strings.ReplaceAll(k, "\x00", "")} {
			if _, isKey := stored[alias]; isKey || alias == k || alias == "" || alias == "copied" {
				continue
			}
			_, err := ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(alias)})
			if apiCode(err) != "NoSuchKey" {
				t.Errorf("GET %q (a cleaned form of %q): %v, want NoSuchKey", alias, k, err)
			}
		}
	}
	// The store lists them verbatim (an XML listing cannot carry a NUL).
	list, err := ts.store.ListObjects(ctx, "bkt", origin.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, o := range list.Objects {
		listed = append(listed, o.Key)
	}
	for k := range stored {
		if !slices.Contains(listed, k) {
			t.Errorf("LIST lacks %q: %q", k, listed)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "meta.db")); err != nil {
		t.Errorf("meta.db: %v", err)
	}
}

func hostileHexID(s string) bool {
	if len(s) < 16 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
