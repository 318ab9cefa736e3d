package s3_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

const (
	testKeyID  = "EDGETESTKEY0000001"
	testSecret = "edge/test/secret/0123456789abcdefghijklmn"
)

// testServer is the S3 API on a loopback port, backed by a real engine.
type testServer struct {
	t      testing.TB
	url    string
	store  *origin.Engine
	client *awss3.Client
	// transport is shared by the clients, so the server's shutdown need
	// not wait out connections the client keeps idle.
	transport *http.Transport
}

type serverOption func(*s3.Config)

// startServer serves a fresh engine over real fasthttp on 127.0.0.1:0.
func startServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	return startServerConfig(t, s3.ServerConfig{}, opts...)
}

// startServerWith is startServer with the server's limits set; it
// returns the base URL.
func startServerWith(t *testing.T, sc s3.ServerConfig) string {
	t.Helper()
	return startServerConfig(t, sc).url
}

func startServerConfig(t testing.TB, sc s3.ServerConfig, opts ...serverOption) *testServer {
	t.Helper()
	return startServerIn(t, t.TempDir(), sc, opts...)
}

// startServerIn is startServerConfig on an engine in dir.
func startServerIn(t testing.TB, dir string, sc s3.ServerConfig, opts ...serverOption) *testServer {
	t.Helper()
	store, err := origin.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s3.Config{Credentials: map[string]string{testKeyID: testSecret}, PublicBuckets: []string{"public"}}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := s3.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s3.NewServer(h, sc)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	ts := &testServer{t: t, url: "http://" + ln.Addr().String(), store: store, transport: &http.Transport{}}
	t.Cleanup(func() {
		ts.transport.CloseIdleConnections()
		srv.Shutdown()
		ln.Close() // a Shutdown before Serve began would leave it serving
		<-done
		store.Close()
	})
	ts.client = ts.newClient(testKeyID, testSecret)
	return ts
}

// newClient is aws-sdk-go-v2's S3 client, path-style, against the server.
func (ts *testServer) newClient(id, secret string, optFns ...func(*awss3.Options)) *awss3.Client {
	return awss3.New(awss3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(ts.url),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1,
	}, optFns...)
}

func (ts *testServer) mkbucket(name string) {
	ts.t.Helper()
	if _, err := ts.client.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		ts.t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

func (ts *testServer) put(bucket, key, body string) *awss3.PutObjectOutput {
	ts.t.Helper()
	out, err := ts.client.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
	})
	if err != nil {
		ts.t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

// presignPut is a URL that PUTs bucket/key for an hour, its payload
// unsigned.
func (ts *testServer) presignPut(bucket, key string) string {
	ts.t.Helper()
	req, err := awss3.NewPresignClient(ts.client).PresignPutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, awss3.WithPresignExpires(time.Hour))
	if err != nil {
		ts.t.Fatal(err)
	}
	return req.URL
}

func (ts *testServer) get(bucket, key string) string {
	ts.t.Helper()
	out, err := ts.client.GetObject(context.Background(), &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		ts.t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return string(b)
}

// apiCode is the S3 error code an SDK call failed with ("" if none).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of a failed SDK call.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func expectCode(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want %s (%d)", what, code, status)
	}
	if got := apiCode(err); got != code && code != "" {
		t.Fatalf("%s: error code %q, want %q (%v)", what, got, code, err)
	}
	if got := httpStatus(err); got != status {
		t.Fatalf("%s: HTTP status %d, want %d (%v)", what, got, status, err)
	}
}

// rawGet fetches a URL with plain net/http, for headers the SDK hides.
func rawDo(t *testing.T, method, url string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}
