package versitygwtest

// What versitygw v1.8.0 answers, as these tests pin it (the edge's interop
// tests must cope with each of these):
//
//   - An unsigned request for an object of a bucket made by MakeBucket is
//     refused: 403 AccessDenied (XML body), for an existing key and a
//     missing one alike, GET and HEAD. Buckets are private.
//   - GET with If-None-Match of the current ETag (or "*") is 304 with an
//     empty body and only Server, Date, X-Amz-Request-Id, X-Amz-Id-2 and
//     Content-Type: application/xml. No ETag, Last-Modified, Cache-Control
//     or x-amz-meta-*, against RFC 9110 §15.4.5; and a cache that updates
//     its stored headers from the 304 (RFC 9111 §4.3.4) would take that
//     Content-Type for the object's. HEAD answers the same way.
//   - If-None-Match is compared as one exact string: W/"etag" and a list
//     ("a", "etag") do not match (200).
//   - If-Modified-Since is compared with the file's sub-second mtime: the
//     Last-Modified value the gateway sent gives 200, not 304 (a later
//     second gives 304), and a date in the future is ignored (200).
//     If-Unmodified-Since of that Last-Modified is 412.
//   - A missing key: GET is 404 with an XML body, Content-Type
//     application/xml, <Code>NoSuchKey</Code>; HEAD is 404 with that
//     Content-Length and no body. A missing bucket is 404 NoSuchBucket.
//   - A 200 carries Cache-Control, Content-Type, ETag, Last-Modified,
//     x-amz-meta-* (names lower-cased), Accept-Ranges: bytes and
//     x-amz-storage-class, and X-Amz-Request-Id and X-Amz-Id-2 twice each.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// do sends req (signed if sign) and returns the answer with its body read.
func do(t *testing.T, s *Server, method, url string, sign bool, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if sign {
		s.Sign(t, req)
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return resp, body
}

func TestObjectRoundTrip(t *testing.T) {
	t.Parallel()
	s := Start(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") || s.Region != "us-east-1" || s.AccessKey == "" || s.SecretKey == "" {
		t.Fatalf("server fields: %+v", s)
	}
	s.MakeBucket(t, "bkt")
	body := []byte("hello, interop")
	put := s.Put(t, "bkt", "dir/a b.txt", body,
		ContentType("text/plain; charset=utf-8"),
		CacheControl("public, max-age=60"),
		Metadata(map[string]string{"color": "blue"}),
		func(in *s3.PutObjectInput) { in.ContentLanguage = aws.String("en") },
	)
	got, err := s.Client(t).GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/a b.txt")})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	b, err := io.ReadAll(got.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, body) {
		t.Errorf("body %q, want %q", b, body)
	}
	if v := aws.ToString(got.CacheControl); v != "public, max-age=60" {
		t.Errorf("Cache-Control %q", v)
	}
	if v := aws.ToString(got.ContentType); v != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", v)
	}
	if v := aws.ToString(got.ContentLanguage); v != "en" {
		t.Errorf("Content-Language %q", v)
	}
	if v := got.Metadata["color"]; v != "blue" {
		t.Errorf("metadata %v", got.Metadata)
	}
	if aws.ToString(got.ETag) != aws.ToString(put.ETag) || aws.ToString(put.ETag) == "" {
		t.Errorf("ETag %q, put's %q", aws.ToString(got.ETag), aws.ToString(put.ETag))
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "bkt", "dir", "a b.txt")); err != nil {
		t.Errorf("the object is not a file under Dir: %v", err)
	}

	// The same object, signed by Sign and read raw.
	resp, raw := do(t, s, "GET", s.ObjectURL("bkt", "dir/a b.txt"), true, nil)
	if resp.StatusCode != 200 || !bytes.Equal(raw, body) || resp.Header.Get("X-Amz-Meta-Color") != "blue" ||
		resp.Header.Get("Last-Modified") == "" || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("signed GET: %d %v %q", resp.StatusCode, resp.Header, raw)
	}
	if n := len(resp.Header.Values("X-Amz-Request-Id")); n != 2 {
		t.Errorf("X-Amz-Request-Id %d times, v1.8.0 sends it twice: %v", n, resp.Header)
	}
}

// The edge's interop test relies on MakeBucket's buckets being private.
func TestAnonymousRefused(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.MakeBucket(t, "private")
	s.Put(t, "private", "obj", []byte("secret"))
	for _, c := range []struct{ method, key string }{
		{"GET", "obj"}, {"HEAD", "obj"}, {"GET", "missing"}, {"HEAD", "missing"},
	} {
		resp, body := do(t, s, c.method, s.ObjectURL("private", c.key), false, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("unsigned %s %s: %d, want 403: %s", c.method, c.key, resp.StatusCode, body)
		}
		if c.method == "GET" && !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
			t.Errorf("unsigned %s %s: body %s", c.method, c.key, body)
		}
		if bytes.Contains(body, []byte("secret")) {
			t.Errorf("unsigned %s %s: the object leaked: %s", c.method, c.key, body)
		}
	}
}

func TestConditionalGet(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.MakeBucket(t, "bkt")
	etag := aws.ToString(s.Put(t, "bkt", "k", []byte("hello"), CacheControl("max-age=60"), Metadata(map[string]string{"color": "blue"})).ETag)
	url := s.ObjectURL("bkt", "k")

	for _, method := range []string{"GET", "HEAD"} {
		for _, inm := range []string{etag, "*"} {
			resp, body := do(t, s, method, url, true, map[string]string{"If-None-Match": inm})
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Fatalf("%s If-None-Match %s: %d %q, want 304", method, inm, resp.StatusCode, body)
			}
			for _, h := range []string{"ETag", "Last-Modified", "Cache-Control", "X-Amz-Meta-Color", "Content-Length"} {
				if v := resp.Header.Values(h); v != nil {
					t.Errorf("%s If-None-Match %s: 304 has %s %q; v1.8.0 sent none", method, inm, h, v)
				}
			}
			if v := resp.Header.Get("Content-Type"); v != "application/xml" {
				t.Errorf("%s If-None-Match %s: 304 Content-Type %q; v1.8.0 sent application/xml", method, inm, v)
			}
		}
	}
	for _, inm := range []string{`"other"`, "W/" + etag, `"a", ` + etag} {
		if resp, _ := do(t, s, "GET", url, true, map[string]string{"If-None-Match": inm}); resp.StatusCode != 200 {
			t.Errorf("If-None-Match %s: %d, v1.8.0 answered 200", inm, resp.StatusCode)
		}
	}
	if resp, _ := do(t, s, "GET", url, true, map[string]string{"If-Match": `"other"`}); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("If-Match other: %d, want 412", resp.StatusCode)
	}

	// If-Modified-Since against the sub-second mtime: its own
	// Last-Modified is "modified since", a second later is not, once
	// that second is past (a future date is ignored: an hour ahead, so
	// the clock cannot reach it while the test runs).
	resp, _ := do(t, s, "HEAD", url, true, nil)
	lm, err := http.ParseTime(resp.Header.Get("Last-Modified"))
	if err != nil {
		t.Fatalf("Last-Modified: %v", err)
	}
	if resp, _ := do(t, s, "GET", url, true, map[string]string{"If-Modified-Since": lm.Add(time.Hour).Format(http.TimeFormat)}); resp.StatusCode != 200 {
		t.Errorf("If-Modified-Since in the future: %d, v1.8.0 answered 200", resp.StatusCode)
	}
	time.Sleep(time.Until(lm.Add(2100 * time.Millisecond)))
	for _, c := range []struct {
		name, value string
		want        int
	}{
		{"If-Modified-Since", lm.Format(http.TimeFormat), 200},
		{"If-Modified-Since", lm.Add(time.Second).Format(http.TimeFormat), 304},
		{"If-Unmodified-Since", lm.Format(http.TimeFormat), 412},
	} {
		if resp, _ := do(t, s, "GET", url, true, map[string]string{c.name: c.value}); resp.StatusCode != c.want {
			t.Errorf("%s %s (Last-Modified %s): %d, v1.8.0 answered %d", c.name, c.value, lm.Format(http.TimeFormat), resp.StatusCode, c.want)
		}
	}
}

func TestMissing(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.MakeBucket(t, "bkt")
	resp, body := do(t, s, "GET", s.ObjectURL("bkt", "missing"), true, nil)
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/xml" || !bytes.Contains(body, []byte("<Code>NoSuchKey</Code>")) {
		t.Errorf("GET missing key: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = do(t, s, "HEAD", s.ObjectURL("bkt", "missing"), true, nil)
	if resp.StatusCode != 404 || len(body) != 0 {
		t.Errorf("HEAD missing key: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	resp, body = do(t, s, "GET", s.ObjectURL("nobkt", "k"), true, nil)
	if resp.StatusCode != 404 || !bytes.Contains(body, []byte("<Code>NoSuchBucket</Code>")) {
		t.Errorf("GET missing bucket: %d %s", resp.StatusCode, body)
	}
}

// The gateway's environment is PATH, HOME and its root keys only: a VGW_
// variable of the test's would otherwise change it (here: read-only).
func TestEnvironmentDoesNotLeak(t *testing.T) {
	t.Setenv("VGW_READ_ONLY", "true")
	t.Setenv("VGW_REGION", "eu-west-9")
	t.Setenv("ROOT_ACCESS_KEY_ID", "junk")
	s := Start(t)
	s.MakeBucket(t, "bkt")
	s.Put(t, "bkt", "k", []byte("x"))
	env, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for kv := range strings.SplitSeq(strings.TrimRight(string(env), "\x00"), "\x00") {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"HOME", "PATH", "ROOT_ACCESS_KEY", "ROOT_SECRET_KEY"}; !slices.Equal(names, want) {
		t.Errorf("the gateway's environment has %v, want %v", names, want)
	}
}

// The gateway is gone (its whole process group) once the test that
// started it has ended.
func TestStoppedAtCleanup(t *testing.T) {
	t.Parallel()
	var pid int
	t.Run("run", func(t *testing.T) {
		pid = Start(t).cmd.Process.Pid
	})
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d after the test: %v, want ESRCH", pid, err)
	}
}

// A port taken between freePort and the gateway's bind is reported as
// errPortTaken, which Start answers with another port.
func TestPortTakenMeanwhile(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	s := &Server{AccessKey: "ak", SecretKey: "sk", Region: Region, Dir: dir, bin: Binary(t), log: filepath.Join(dir, "versitygw.log")}
	t.Cleanup(s.stop)
	if err := s.start(l.Addr().(*net.TCPAddr).Port, dir); !errors.Is(err, errPortTaken) {
		t.Fatalf("start on a taken port: %v, want errPortTaken\n%s", err, s.logFile().Tail(30))
	}
	if s.cmd != nil {
		t.Fatal("a gateway that failed to bind is still recorded as running")
	}
}
