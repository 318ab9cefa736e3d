package s3_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/edgecdn/edge/origin/s3"
)

// Virtual-hosted style: the bucket comes from Host <bucket>.<base domain>.
func TestVirtualHostedStyle(t *testing.T) {
	ts := startServer(t, func(c *s3.Config) { c.BaseDomain = "s3.test" })
	addr := strings.TrimPrefix(ts.url, "http://")
	_, port, _ := net.SplitHostPort(addr)
	dialer := &net.Dialer{}
	client := awss3.New(awss3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://s3.test:" + port),
		Credentials:  ts.client.Options().Credentials,
		HTTPClient: &http.Client{Transport: &http.Transport{
			// Every *.s3.test name is this server.
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
		}},
	})
	if _, err := client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("vhost")}); err != nil {
		t.Fatalf("CreateBucket virtual-hosted: %v", err)
	}
	if _, err := client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("a//b"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("PutObject virtual-hosted: %v", err)
	}
	// The same object is reachable path-style.
	if got := ts.get("vhost", "a//b"); got != "v" {
		t.Fatalf("path-style read of a virtual-hosted write: %q", got)
	}
	list, err := client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("vhost")})
	if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "a//b" {
		t.Fatalf("virtual-hosted LIST: %v, %v", list, err)
	}
}

func TestUploadPartCopy(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	src := bytes.Repeat([]byte("0123456789"), 600<<10) // 6 000 KiB: over the part minimum
	if _, err := ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("src"), Body: bytes.NewReader(src)}); err != nil {
		t.Fatal(err)
	}
	up, err := ts.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := ts.client.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: aws.String("bkt"), Key: aws.String("dst"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String("bkt/src")})
	if err != nil {
		t.Fatalf("UploadPartCopy whole: %v", err)
	}
	p2, err := ts.client.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: aws.String("bkt"), Key: aws.String("dst"), UploadId: up.UploadId,
		PartNumber: aws.Int32(2), CopySource: aws.String("bkt/src"), CopySourceRange: aws.String("bytes=10-19")})
	if err != nil {
		t.Fatalf("UploadPartCopy range: %v", err)
	}
	_, err = ts.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("dst"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: p1.CopyPartResult.ETag}, {PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ts.get("bkt", "dst"); got != string(src)+"0123456789" {
		t.Fatalf("object from copied parts: %d bytes, want %d", len(got), len(src)+10)
	}
	_, err = ts.client.UploadPartCopy(ctx, &awss3.UploadPartCopyInput{Bucket: aws.String("bkt"), Key: aws.String("dst"), UploadId: aws.String("nope"),
		PartNumber: aws.Int32(1), CopySource: aws.String("bkt/src")})
	expectCode(t, "UploadPartCopy to an unknown upload", err, "NoSuchUpload", 404)
}

// response-* parameters override the stored headers on signed GETs.
func TestResponseHeaderOverrides(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	ts.put("bkt", "k", "v")
	out, err := ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
		ResponseContentType: aws.String("image/png"), ResponseContentDisposition: aws.String("attachment"),
		ResponseCacheControl: aws.String("no-cache")})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if aws.ToString(out.ContentType) != "image/png" || aws.ToString(out.ContentDisposition) != "attachment" || aws.ToString(out.CacheControl) != "no-cache" {
		t.Fatalf("overrides not applied: %s %s %s", aws.ToString(out.ContentType), aws.ToString(out.ContentDisposition), aws.ToString(out.CacheControl))
	}
}

func TestCopySourceConditions(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	put := ts.put("bkt", "src", "v")
	_, err := ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dst"), CopySource: aws.String("bkt/src"), CopySourceIfMatch: aws.String(`"other"`)})
	expectCode(t, "copy with a failing x-amz-copy-source-if-match", err, "PreconditionFailed", 412)
	_, err = ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dst"), CopySource: aws.String("bkt/src"), CopySourceIfNoneMatch: put.ETag})
	expectCode(t, "copy with a failing x-amz-copy-source-if-none-match", err, "PreconditionFailed", 412)
	if _, err := ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dst"), CopySource: aws.String("bkt/src"), CopySourceIfMatch: put.ETag}); err != nil {
		t.Fatalf("copy with a holding condition: %v", err)
	}
}

// Over-size headers get 431, over-size documents 413, and both close the
// connection; a client that stops sending is cut off by the read timeout.
func TestRequestLimits(t *testing.T) {
	ts := startServer(t, func(c *s3.Config) { c.MaxXMLBody = 64 << 10 })
	ts.mkbucket("public")
	resp, _ := rawDo(t, "GET", ts.url+"/public/x", nil, map[string]string{"X-Big": strings.Repeat("a", 20<<10)})
	if resp.StatusCode != 431 {
		t.Fatalf("20 KiB header: status %d, want 431", resp.StatusCode)
	}

	signed := ts.newClient(testKeyID, testSecret)
	var ids []types.ObjectIdentifier
	for range 100 {
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(strings.Repeat("k", 1000))})
	}
	_, err := signed.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("public"), Delete: &types.Delete{Objects: ids}})
	expectCode(t, "a 100 KB DeleteObjects document over the 64 KiB limit", err, "", 413)
}

func TestSlowClientIsCutOff(t *testing.T) {
	store := startServerWith(t, s3.ServerConfig{ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(store, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /public/x HTTP/1.1\r\nHost: localhost\r\n") // and never the end of the headers
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a stalled connection open for 10 s")
	}
}

// A bare '+' in the query is a plus sign, as SigV4 canonicalises it: the
// request executed is the one that was signed.
func TestPlusInQueryIsAPlus(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("public")
	ts.put("public", "a+b/1", "x")
	ts.put("public", "a b/2", "x")
	resp, body := rawDo(t, "GET", ts.url+"/public?list-type=2&prefix=a+b/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "<Key>a+b/1</Key>") || strings.Contains(body, "a b/2") {
		t.Fatalf("prefix a+b/: %d %s", resp.StatusCode, body)
	}
}

// A large upload rejected before its body is read still gets its S3 error,
// not a connection reset: the server reads the rest of the body first.
func TestEarlyRejectionOfLargeUploadIsAnswered(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	wrong := ts.newClient(testKeyID, "not-the-secret")
	body := bytes.Repeat([]byte("x"), 32<<20)
	for range 3 {
		_, err := wrong.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: bytes.NewReader(body)})
		expectCode(t, "32 MiB PutObject with a wrong secret", err, "SignatureDoesNotMatch", 403)
		_, err = ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("nobucket"), Key: aws.String("k"), Body: bytes.NewReader(body)})
		expectCode(t, "32 MiB PutObject to a missing bucket", err, "NoSuchBucket", 404)
	}
}

// RFC 9110 §15.4.5: a 304 carries the fields a cache refreshes its stored
// response with — Cache-Control, Expires, ETag, Date — and the validators.
func TestNotModifiedCarriesCacheFields(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("public")
	out, err := ts.client.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String("public"), Key: aws.String("k"), Body: strings.NewReader("v"),
		CacheControl: aws.String("max-age=60"), Expires: aws.Time(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := rawDo(t, http.MethodGet, ts.url+"/public/k", nil, map[string]string{"If-None-Match": *out.ETag})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("status %d, want 304", resp.StatusCode)
	}
	for name, want := range map[string]string{
		"Cache-Control": "max-age=60", "Expires": "Wed, 02 Jan 2030 03:04:05 GMT", "ETag": *out.ETag,
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("304 %s: %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"Date", "Last-Modified", s3.GenerationHeader} {
		if resp.Header.Get(name) == "" {
			t.Errorf("304 without %s", name)
		}
	}
}
