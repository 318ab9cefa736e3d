package s3_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/edgecdn/edge/origin"
)

// Browser uploads: minio-go's PresignedPostPolicy makes the policy and the
// form fields, as an application server would; the test posts them with a
// file as multipart/form-data, as the browser would, and reads the object
// back with aws-sdk-go-v2.

type formField struct{ name, value string }

// presignPost returns the form URL and fields minio-go makes for p.
func presignPost(t *testing.T, ts *testServer, p *minio.PostPolicy) (string, []formField) {
	t.Helper()
	mc, _ := newMinio(t, ts, testSecret)
	u, data, err := mc.PresignedPostPolicy(t.Context(), p)
	if err != nil {
		t.Fatalf("PresignedPostPolicy: %v", err)
	}
	return u.String(), sortedFields(data)
}

func sortedFields(data map[string]string) []formField {
	var fields []formField
	for k, v := range data {
		fields = append(fields, formField{k, v})
	}
	slices.SortFunc(fields, func(a, b formField) int { return strings.Compare(a.name, b.name) })
	return fields
}

// newPolicy is a minio-go policy for bucket/key valid for ten minutes.
func newPolicy(t *testing.T, bucket, key string) *minio.PostPolicy {
	t.Helper()
	p := minio.NewPostPolicy()
	for _, err := range []error{p.SetBucket(bucket), p.SetKey(key), p.SetExpires(time.Now().Add(10 * time.Minute))} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// setField replaces (or appends) a field, matching names exactly.
func setField(fields []formField, name, value string) []formField {
	out := slices.Clone(fields)
	for i := range out {
		if out[i].name == name {
			out[i].value = value
			return out
		}
	}
	return append(out, formField{name, value})
}

func field(fields []formField, name string) string {
	for _, f := range fields {
		if f.name == name {
			return f.value
		}
	}
	return ""
}

// formBody encodes fields, then the file part, then after.
func formBody(t *testing.T, fields []formField, filename string, content []byte, after []formField) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	for _, f := range after {
		if err := mw.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

type postResult struct {
	status int
	header http.Header
	body   []byte
}

// rawPost sends a POST as a browser would, without following redirects.
func rawPost(t *testing.T, target, contentType string, body io.Reader) postResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	c := &http.Client{
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return postResult{resp.StatusCode, resp.Header, b}
}

func browserPost(t *testing.T, target string, fields []formField, filename string, content []byte, after ...formField) postResult {
	t.Helper()
	body, ct := formBody(t, fields, filename, content, after)
	return rawPost(t, target, ct, bytes.NewReader(body))
}

type s3ErrorDoc struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
	Region  string `xml:"Region"`
}

// expectPostError fails unless res is the S3 error code with status, and
// its message contains msg.
func expectPostError(t *testing.T, what string, res postResult, status int, code, msg string) {
	t.Helper()
	var e s3ErrorDoc
	if err := xml.Unmarshal(res.body, &e); err != nil {
		t.Fatalf("%s: status %d, body %q is not an S3 error: %v", what, res.status, res.body, err)
	}
	if res.status != status || e.Code != code || !strings.Contains(e.Message, msg) {
		t.Fatalf("%s: got %d %s %q; want %d %s with %q", what, res.status, e.Code, e.Message, status, code, msg)
	}
}

func expectNoObject(t *testing.T, ts *testServer, bucket, key string) {
	t.Helper()
	if _, err := ts.store.HeadObject(context.Background(), bucket, key, origin.GetOptions{}); !errors.Is(err, origin.ErrNoSuchKey) {
		t.Fatalf("%s/%s: HeadObject = %v, want NoSuchKey (nothing stored)", bucket, key, err)
	}
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// The default answer is 204 with the ETag; the object has the bytes, the
// Content-Type and the metadata of the form, and x-amz-meta-cache-tag
// became its purge tags.
func TestPostObjectMinioPolicy(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	p := newPolicy(t, "bkt", "photos/cat.png")
	for _, err := range []error{
		p.SetContentType("image/png"),
		p.SetUserMetadata("Color", "blue"),
		p.SetUserMetadata("cache-tag", "cats,pets"),
		p.SetContentLengthRange(1, 1<<20),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	target, fields := presignPost(t, ts, p)
	if want := ts.url + "/bkt"; strings.TrimSuffix(target, "/") != want {
		t.Fatalf("minio-go posts to %s, want %s", target, want)
	}
	content := patternBytes("post-cat", 70<<10)
	res := browserPost(t, target, fields, "cat.png", content)
	if res.status != http.StatusNoContent || len(res.body) != 0 {
		t.Fatalf("POST: %d %q, want 204 and no body", res.status, res.body)
	}
	if got, want := res.header.Get("ETag"), `"`+md5Hex(content)+`"`; got != want {
		t.Errorf("ETag %s, want %s", got, want)
	}
	if got, want := res.header.Get("Location"), ts.url+"/bkt/photos%2Fcat.png"; got != want {
		t.Errorf("Location %s, want %s", got, want)
	}
	if res.header.Get("X-Object-Generation") == "" {
		t.Error("no X-Object-Generation")
	}

	out, err := ts.client.GetObject(t.Context(), &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("photos/cat.png")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, content) {
		t.Fatalf("GetObject returned %d bytes, posted %d", len(got), len(content))
	}
	if ct := aws.ToString(out.ContentType); ct != "image/png" {
		t.Errorf("Content-Type %q, want image/png", ct)
	}
	if want := map[string]string{"color": "blue", "cache-tag": "cats,pets"}; !mapsEqual(out.Metadata, want) {
		t.Errorf("metadata %v, want %v", out.Metadata, want)
	}
	info, err := ts.store.HeadObject(t.Context(), "bkt", "photos/cat.png", origin.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Tags, []string{"cats", "pets"}) {
		t.Errorf("purge tags %v, want [cats pets]", info.Tags)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// success_action_status 201 returns the PostResponse document, 200 an
// empty 200; an unknown value is the default 204.
func TestPostObjectSuccessStatus(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	content := []byte("hello, form")
	etag := `"` + md5Hex(content) + `"`

	p := newPolicy(t, "bkt", "docs/a b+c.txt")
	if err := p.SetSuccessStatusAction("201"); err != nil {
		t.Fatal(err)
	}
	target, fields := presignPost(t, ts, p)
	res := browserPost(t, target, fields, "a.txt", content)
	if res.status != http.StatusCreated {
		t.Fatalf("201 form: %d %s", res.status, res.body)
	}
	var doc struct {
		XMLName                     xml.Name `xml:"PostResponse"`
		Location, Bucket, Key, ETag string
	}
	if err := xml.Unmarshal(res.body, &doc); err != nil {
		t.Fatalf("201 body %q: %v", res.body, err)
	}
	wantLoc := ts.url + "/bkt/" + url.PathEscape("docs/a b+c.txt")
	if doc.Bucket != "bkt" || doc.Key != "docs/a b+c.txt" || doc.ETag != etag || doc.Location != wantLoc {
		t.Fatalf("PostResponse %+v, want bucket bkt, key %q, ETag %s, Location %s", doc, "docs/a b+c.txt", etag, wantLoc)
	}
	if res.header.Get("Location") != wantLoc || res.header.Get("ETag") != etag {
		t.Errorf("headers Location %q ETag %q", res.header.Get("Location"), res.header.Get("ETag"))
	}
	if got := ts.get("bkt", "docs/a b+c.txt"); got != string(content) {
		t.Fatalf("stored %q", got)
	}

	for status, want := range map[string]int{"200": 200, "204": 204} {
		p := newPolicy(t, "bkt", "s"+status)
		if err := p.SetSuccessStatusAction(status); err != nil {
			t.Fatal(err)
		}
		target, fields := presignPost(t, ts, p)
		if res := browserPost(t, target, fields, "f", content); res.status != want || len(res.body) != 0 {
			t.Errorf("success_action_status %s: %d %q, want %d and no body", status, res.status, res.body, want)
		}
	}

	// A value S3 does not know answers 204, with the field still covered.
	p = newPolicy(t, "bkt", "s404")
	if err := p.SetSuccessStatusAction("404"); err != nil {
		t.Fatal(err)
	}
	target, fields = presignPost(t, ts, p)
	if res := browserPost(t, target, fields, "f", content); res.status != 204 {
		t.Errorf("success_action_status 404: %d %s, want 204", res.status, res.body)
	}
}

// success_action_redirect answers 303 to the URL with bucket, key and etag
// appended to its own query.
func TestPostObjectRedirect(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	content := []byte("redirected")
	p := newPolicy(t, "bkt", "up/r.txt")
	if err := p.SetSuccessActionRedirect("https://app.example/done?from=form"); err != nil {
		t.Fatal(err)
	}
	target, fields := presignPost(t, ts, p)
	res := browserPost(t, target, fields, "r.txt", content)
	want := "https://app.example/done?from=form&bucket=bkt&key=up%2Fr.txt&etag=%22" + md5Hex(content) + "%22"
	if res.status != http.StatusSeeOther || res.header.Get("Location") != want {
		t.Fatalf("redirect form: %d Location %q, want 303 %q", res.status, res.header.Get("Location"), want)
	}
	if got := ts.get("bkt", "up/r.txt"); got != string(content) {
		t.Fatalf("stored %q", got)
	}
}

// key may name ${filename}: the file's name without its path. The policy
// is matched against the expanded key.
func TestPostObjectFilenameVariable(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	p := minio.NewPostPolicy()
	for _, err := range []error{p.SetBucket("bkt"), p.SetKeyStartsWith("uploads/"), p.SetExpires(time.Now().Add(time.Minute))} {
		if err != nil {
			t.Fatal(err)
		}
	}
	target, fields := presignPost(t, ts, p)
	fields = setField(fields, "key", "uploads/${filename}")
	res := browserPost(t, target, fields, `C:\Users\me\holiday photo.jpg`, []byte("jpeg bytes"))
	if res.status != 204 {
		t.Fatalf("POST: %d %s", res.status, res.body)
	}
	if got := ts.get("bkt", "uploads/holiday photo.jpg"); got != "jpeg bytes" {
		t.Fatalf("stored %q", got)
	}
	// Expanded, the key must still meet the policy.
	fields = setField(fields, "key", "${filename}")
	res = browserPost(t, target, fields, "elsewhere.jpg", []byte("x"))
	expectPostError(t, "key outside the prefix", res, 403, "AccessDenied", `Policy Condition failed: ["starts-with", "$key", "uploads/"]`)
	expectNoObject(t, ts, "bkt", "elsewhere.jpg")
}

// content-length-range is checked against the file as it streams: too
// small or too big stores nothing.
func TestPostObjectContentLengthRange(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	p := newPolicy(t, "bkt", "sized")
	if err := p.SetContentLengthRange(10, 100); err != nil {
		t.Fatal(err)
	}
	target, fields := presignPost(t, ts, p)

	res := browserPost(t, target, fields, "f", []byte("tiny"))
	expectPostError(t, "4 bytes", res, 400, "EntityTooSmall", "at least 10")
	expectNoObject(t, ts, "bkt", "sized")

	res = browserPost(t, target, fields, "f", bytes.Repeat([]byte("x"), 101))
	expectPostError(t, "101 bytes", res, 400, "EntityTooLarge", "at most 100")
	expectNoObject(t, ts, "bkt", "sized")

	// A file far past the range is refused while it streams.
	res = browserPost(t, target, fields, "f", patternBytes("big", 6<<20))
	expectPostError(t, "6 MiB", res, 400, "EntityTooLarge", "at most 100")
	expectNoObject(t, ts, "bkt", "sized")

	for _, n := range []int{10, 100} {
		if res := browserPost(t, target, fields, "f", bytes.Repeat([]byte("y"), n)); res.status != 204 {
			t.Fatalf("%d bytes (a bound): %d %s", n, res.status, res.body)
		}
	}
}

// A file larger than fasthttp's buffered body limit streams to the store.
func TestPostObjectLargeFileStreams(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	p := newPolicy(t, "bkt", "big.bin")
	if err := p.SetContentLengthRange(0, 64<<20); err != nil {
		t.Fatal(err)
	}
	target, fields := presignPost(t, ts, p)
	content := patternBytes("post-big", 9<<20+123)
	body, ct := formBody(t, fields, "big.bin", content, nil)
	// io.MultiReader hides the length: the request is sent chunked.
	res := rawPost(t, target, ct, io.MultiReader(bytes.NewReader(body)))
	if res.status != 204 {
		t.Fatalf("POST of 9 MiB: %d %s", res.status, res.body)
	}
	out, err := ts.client.GetObject(t.Context(), &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big.bin")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if sha256Hex(got) != sha256Hex(content) {
		t.Fatalf("read back %d bytes, posted %d", len(got), len(content))
	}
}

func TestPostObjectExpiredPolicy(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	p := newPolicy(t, "bkt", "late")
	if err := p.SetExpires(time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	target, fields := presignPost(t, ts, p)
	res := browserPost(t, target, fields, "f", []byte("late"))
	expectPostError(t, "expired policy", res, 403, "AccessDenied", "Invalid according to Policy: Policy expired.")
	expectNoObject(t, ts, "bkt", "late")
}

// A policy changed after signing fails the signature check.
func TestPostObjectTamperedPolicy(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	target, fields := presignPost(t, ts, newPolicy(t, "bkt", "cat.png"))
	doc, err := base64.StdEncoding.DecodeString(field(fields, "policy"))
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(doc), `"cat.png"`, `"dog.png"`, 1)
	if forged == string(doc) {
		t.Fatalf("policy %s does not name the key", doc)
	}
	fields = setField(fields, "policy", base64.StdEncoding.EncodeToString([]byte(forged)))
	fields = setField(fields, "key", "dog.png")
	res := browserPost(t, target, fields, "f", []byte("woof"))
	expectPostError(t, "tampered policy", res, 403, "SignatureDoesNotMatch", "")
	expectNoObject(t, ts, "bkt", "dog.png")

	// So does a signature made with another secret.
	mc, _ := newMinio(t, ts, "not-the-secret-0123456789abcdefghijkl")
	u, data, err := mc.PresignedPostPolicy(t.Context(), newPolicy(t, "bkt", "cat.png"))
	if err != nil {
		t.Fatal(err)
	}
	res = browserPost(t, u.String(), sortedFields(data), "f", []byte("meow"))
	expectPostError(t, "wrong secret", res, 403, "SignatureDoesNotMatch", "")
	expectNoObject(t, ts, "bkt", "cat.png")
}

// A form field that fails its condition, a field no condition covers, and
// a form posted to another bucket are refused with S3's messages.
func TestPostObjectPolicyViolations(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	ts.mkbucket("other")
	p := minio.NewPostPolicy()
	for _, err := range []error{p.SetBucket("bkt"), p.SetKeyStartsWith("user/alice/"), p.SetExpires(time.Now().Add(time.Minute))} {
		if err != nil {
			t.Fatal(err)
		}
	}
	target, fields := presignPost(t, ts, p)

	res := browserPost(t, target, setField(fields, "key", "user/bob/x.txt"), "f", []byte("x"))
	expectPostError(t, "key of another user", res, 403, "AccessDenied", `Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/alice/"]`)
	expectNoObject(t, ts, "bkt", "user/bob/x.txt")

	withKey := setField(fields, "key", "user/alice/x.txt")
	res = browserPost(t, target, append(slices.Clone(withKey), formField{"X-Amz-Meta-Extra", "1"}), "f", []byte("x"))
	expectPostError(t, "extra field", res, 403, "AccessDenied", "Invalid according to Policy: Extra input fields: X-Amz-Meta-Extra")
	expectNoObject(t, ts, "bkt", "user/alice/x.txt")

	res = browserPost(t, strings.Replace(target, "/bkt", "/other", 1), withKey, "f", []byte("x"))
	expectPostError(t, "other bucket", res, 403, "AccessDenied", `Policy Condition failed: ["eq", "$bucket", "bkt"]`)
	expectNoObject(t, ts, "other", "user/alice/x.txt")

	// x-ignore-* fields need no condition.
	res = browserPost(t, target, append(slices.Clone(withKey), formField{"x-ignore-flash", "1"}), "f", []byte("x"))
	if res.status != 204 {
		t.Fatalf("x-ignore- field: %d %s", res.status, res.body)
	}
}

// Field names are case-insensitive: the AWS example form spells them
// X-Amz-Credential, Policy, X-Amz-Signature.
func TestPostObjectFieldNamesCaseInsensitive(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	target, fields := presignPost(t, ts, newPolicy(t, "bkt", "cased"))
	for i := range fields {
		switch fields[i].name {
		case "policy":
			fields[i].name = "Policy"
		case "key":
			fields[i].name = "KEY"
		default:
			fields[i].name = strings.ToUpper(fields[i].name[:1]) + fields[i].name[1:]
		}
	}
	body, ct := formBody(t, fields, "f", []byte("cased"), nil)
	// The file part's name too.
	body = bytes.Replace(body, []byte(`name="file"`), []byte(`name="File"`), 1)
	if res := rawPost(t, target, ct, bytes.NewReader(body)); res.status != 204 {
		t.Fatalf("POST: %d %s", res.status, res.body)
	}
	if got := ts.get("bkt", "cased"); got != "cased" {
		t.Fatalf("stored %q", got)
	}
}

// Signature V2 forms get the error every V2 request gets.
func TestPostObjectSignatureV2(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	mc, err := minio.New(strings.TrimPrefix(ts.url, "http://"), &minio.Options{
		Creds:        credentials.NewStaticV2(testKeyID, testSecret, ""),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, data, err := mc.PresignedPostPolicy(t.Context(), newPolicy(t, "bkt", "v2"))
	if err != nil {
		t.Fatal(err)
	}
	if data["AWSAccessKeyId"] == "" || data["signature"] == "" {
		t.Fatalf("minio-go's V2 form has no V2 fields: %v", data)
	}
	res := browserPost(t, u.String(), sortedFields(data), "f", []byte("v2"))
	// The answer to a V2 Authorization header:
	header, hbody := rawDo(t, http.MethodGet, ts.url+"/bkt/v2", nil, map[string]string{"Authorization": "AWS " + testKeyID + ":c2lnbmF0dXJl"})
	var want s3ErrorDoc
	if err := xml.Unmarshal([]byte(hbody), &want); err != nil || want.Code == "" {
		t.Fatalf("V2 header request answered %d %q", header.StatusCode, hbody)
	}
	expectPostError(t, "V2 form", res, header.StatusCode, want.Code, "AWS4-HMAC-SHA256")
	var got s3ErrorDoc
	xml.Unmarshal(res.body, &got)
	if !strings.HasPrefix(want.Message, strings.TrimSuffix(got.Message, ".")) {
		t.Errorf("V2 form: message %q is not the V2 header's %q", got.Message, want.Message)
	}
	expectNoObject(t, ts, "bkt", "v2")
}

// A form without a signature is anonymous, and anonymous callers may not
// write, not even to a public bucket.
func TestPostObjectAnonymous(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	ts.mkbucket("public")
	for _, bucket := range []string{"bkt", "public"} {
		res := browserPost(t, ts.url+"/"+bucket, []formField{{"key", "anon"}, {"Content-Type", "text/plain"}}, "f", []byte("anon"))
		expectPostError(t, "anonymous form to "+bucket, res, 403, "AccessDenied", "")
		expectNoObject(t, ts, bucket, "anon")
	}
	// A policy without a signature signs nothing.
	_, fields := presignPost(t, ts, newPolicy(t, "bkt", "anon"))
	res := browserPost(t, ts.url+"/bkt", []formField{{"key", "anon"}, {"policy", field(fields, "policy")}}, "f", []byte("anon"))
	expectPostError(t, "policy alone", res, 403, "AccessDenied", "")
	expectNoObject(t, ts, "bkt", "anon")
}

// A signed form missing a signing field or the key is told which.
func TestPostObjectMissingFields(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	target, fields := presignPost(t, ts, newPolicy(t, "bkt", "k"))
	for name, want := range map[string]string{
		"x-amz-signature":  "X-Amz-Signature",
		"x-amz-algorithm":  "X-Amz-Algorithm",
		"x-amz-credential": "X-Amz-Credential",
		"x-amz-date":       "X-Amz-Date",
		"policy":           "Policy",
		"key":              "key",
	} {
		without := slices.DeleteFunc(slices.Clone(fields), func(f formField) bool { return f.name == name })
		res := browserPost(t, target, without, "f", []byte("x"))
		expectPostError(t, "without "+name, res, 400, "InvalidArgument", "Bucket POST must contain a field named '"+want+"'.")
	}
	// A field after the file is ignored, so a key sent there is missing.
	without := slices.DeleteFunc(slices.Clone(fields), func(f formField) bool { return f.name == "key" })
	res := browserPost(t, target, without, "f", []byte("x"), formField{"key", "k"})
	expectPostError(t, "key after the file", res, 400, "InvalidArgument", "field named 'key'")
	expectNoObject(t, ts, "bkt", "k")

	// Another algorithm is not SigV4.
	res = browserPost(t, target, setField(fields, "x-amz-algorithm", "AWS4-ECDSA-P256-SHA256"), "f", []byte("x"))
	expectPostError(t, "other algorithm", res, 400, "InvalidRequest", "AWS4-HMAC-SHA256")

	// A credential for a region the server does not serve.
	cred := field(fields, "x-amz-credential")
	res = browserPost(t, target, setField(fields, "x-amz-credential", strings.Replace(cred, "/us-east-1/", "/eu-west-3/", 1)), "f", []byte("x"))
	expectPostError(t, "other region", res, 400, "InvalidArgument", "eu-west-3")
	var regionErr s3ErrorDoc
	if xml.Unmarshal(res.body, &regionErr); regionErr.Region != "us-east-1" {
		t.Errorf("other region: the error names region %q, want us-east-1", regionErr.Region)
	}
	expectNoObject(t, ts, "bkt", "k")
}

// Fields after the file are ignored as S3 ignores them; a second file is
// refused.
func TestPostObjectFieldsAfterFile(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	target, fields := presignPost(t, ts, newPolicy(t, "bkt", "after"))
	res := browserPost(t, target, fields, "f", []byte("data"),
		formField{"submit", "Upload to Amazon S3"}, formField{"key", "elsewhere"}, formField{"x-amz-meta-late", "1"})
	if res.status != 204 {
		t.Fatalf("POST with fields after the file: %d %s", res.status, res.body)
	}
	out, err := ts.client.HeadObject(t.Context(), &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("after")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Metadata) != 0 {
		t.Errorf("metadata %v from a field after the file", out.Metadata)
	}
	expectNoObject(t, ts, "bkt", "elsewhere")

	// Two files.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f.name, f.value)
	}
	for range 2 {
		fw, _ := mw.CreateFormFile("file", "f")
		fw.Write([]byte("one of two"))
	}
	mw.Close()
	res = rawPost(t, target, mw.FormDataContentType(), &buf)
	expectPostError(t, "two files", res, 400, "InvalidArgument", "exactly one file")
	if got := ts.get("bkt", "after"); got != "data" {
		t.Fatalf("a refused upload replaced the object: %q", got)
	}

	// No file at all.
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f.name, f.value)
	}
	mw.Close()
	res = rawPost(t, target, mw.FormDataContentType(), &buf)
	expectPostError(t, "no file", res, 400, "InvalidArgument", "exactly one file")
}

// Bodies that are not well-formed multipart/form-data are refused and
// leave nothing behind; so is a body cut short.
func TestPostObjectMalformedBody(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	for _, tc := range []struct{ name, ct, body, code string }{
		{"no boundary", "multipart/form-data", "--x\r\n\r\n--x--\r\n", "MalformedPOSTRequest"},
		{"garbage", "multipart/form-data; boundary=xyz", "this is not multipart at all", "MalformedPOSTRequest"},
		{"no disposition", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Type: text/plain\r\n\r\nv\r\n--xyz--\r\n", "MalformedPOSTRequest"},
		{"unterminated field", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk", "MalformedPOSTRequest"},
		{"empty", "multipart/form-data; boundary=xyz", "", "MalformedPOSTRequest"},
		{"only the close", "multipart/form-data; boundary=xyz", "--xyz--\r\n", "InvalidArgument"},
	} {
		res := rawPost(t, ts.url+"/bkt", tc.ct, strings.NewReader(tc.body))
		expectPostError(t, tc.name, res, 400, tc.code, "")
	}

	// A signed form whose body ends inside the file.
	target, fields := presignPost(t, ts, newPolicy(t, "bkt", "cut"))
	body, ct := formBody(t, fields, "f", patternBytes("cut", 256<<10), nil)
	res := rawPost(t, target, ct, bytes.NewReader(body[:len(body)-100<<10]))
	expectPostError(t, "body cut in the file", res, 400, "MalformedPOSTRequest", "closing boundary")
	expectNoObject(t, ts, "bkt", "cut")

	// Or right after the file's delimiter, before the closing one.
	body, ct = formBody(t, fields, "f", []byte("whole file"), nil)
	cut := bytes.LastIndex(body, []byte("--"+strings.TrimPrefix(ct, "multipart/form-data; boundary=")+"--"))
	res = rawPost(t, target, ct, bytes.NewReader(append(body[:cut:cut], "--"+strings.TrimPrefix(ct, "multipart/form-data; boundary=")+"\r\nContent-Disp"...)))
	expectPostError(t, "body cut after the file", res, 400, "MalformedPOSTRequest", "")
	expectNoObject(t, ts, "bkt", "cut")

	// POST without a multipart body is still no operation.
	res = rawPost(t, ts.url+"/bkt", "application/x-www-form-urlencoded", strings.NewReader("key=a"))
	expectPostError(t, "urlencoded POST", res, 405, "MethodNotAllowed", "")
}

// signForm signs a policy document the way minio-go and botocore do, for
// conditions minio-go cannot express; it returns the signing fields.
func signForm(t *testing.T, policyJSON string) []formField {
	t.Helper()
	now := time.Now().UTC()
	date := now.Format("20060102")
	amzDate := now.Format("20060102T150405Z")
	cred := testKeyID + "/" + date + "/us-east-1/s3/aws4_request"
	policyJSON = strings.NewReplacer("$CRED", cred, "$AMZDATE", amzDate,
		"$EXP", now.Add(time.Minute).Format("2006-01-02T15:04:05Z")).Replace(policyJSON)
	b64 := base64.StdEncoding.EncodeToString([]byte(policyJSON))
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	k := mac([]byte("AWS4"+testSecret), date)
	for _, s := range []string{"us-east-1", "s3", "aws4_request"} {
		k = mac(k, s)
	}
	return []formField{
		{"x-amz-algorithm", "AWS4-HMAC-SHA256"},
		{"x-amz-credential", cred},
		{"x-amz-date", amzDate},
		{"policy", b64},
		{"x-amz-signature", hex.EncodeToString(mac(k, b64))},
	}
}

const signingConditions = `{"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": "$CRED"}, {"x-amz-date": "$AMZDATE"}`

// acl: the two values that describe a bucket without ACLs are accepted,
// any other is refused as the REST API refuses ACLs; the other fields that
// ask for what the store lacks are refused as their headers are.
func TestPostObjectUnsupportedFields(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	auth := signForm(t, `{"expiration": "$EXP", "conditions": [{"bucket": "bkt"}, ["starts-with", "$key", ""],
		["starts-with", "$acl", ""], `+signingConditions+`]}`)
	for acl, ok := range map[string]bool{"private": true, "bucket-owner-full-control": true, "public-read": false, "authenticated-read": false} {
		key := "acl-" + acl
		res := browserPost(t, ts.url+"/bkt", append([]formField{{"key", key}, {"acl", acl}}, auth...), "f", []byte(acl))
		if ok {
			if res.status != 204 {
				t.Errorf("acl %s: %d %s", acl, res.status, res.body)
			}
			continue
		}
		expectPostError(t, "acl "+acl, res, 400, "AccessControlListNotSupported", "The bucket does not allow ACLs")
		expectNoObject(t, ts, "bkt", key)
	}

	for _, tc := range []struct {
		name, value string
		status      int
		code        string
	}{
		{"tagging", "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>", 501, "NotImplemented"},
		{"x-amz-server-side-encryption", "AES256", 501, "NotImplemented"},
		{"x-amz-object-lock-mode", "GOVERNANCE", 501, "NotImplemented"},
		{"x-amz-grant-read", "uri=http://acs.amazonaws.com/groups/global/AllUsers", 400, "AccessControlListNotSupported"},
		{"x-amz-storage-class", "GLACIER", 400, "InvalidStorageClass"},
		{"x-amz-storage-class", "STANDARD_IA", 204, ""},
		{"x-amz-website-redirect-location", "/elsewhere", 501, "NotImplemented"},
	} {
		auth := signForm(t, `{"expiration": "$EXP", "conditions": [{"bucket": "bkt"}, ["starts-with", "$key", ""],
			["starts-with", "$`+tc.name+`", ""], `+signingConditions+`]}`)
		key := "field-" + tc.name + "-" + tc.value
		res := browserPost(t, ts.url+"/bkt", append([]formField{{"key", key}, {tc.name, tc.value}}, auth...), "f", []byte("x"))
		if tc.status == 204 {
			if res.status != 204 {
				t.Errorf("%s %s: %d %s", tc.name, tc.value, res.status, res.body)
			}
			continue
		}
		expectPostError(t, tc.name+" "+tc.value, res, tc.status, tc.code, "")
		expectNoObject(t, ts, "bkt", key)
	}
}

// The policy's conditions as S3 documents them, through the whole path:
// Content-Type lists, starts-with "" on stored headers, case-insensitive
// condition names, the checksum fields.
func TestPostObjectHandSignedPolicy(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	auth := signForm(t, `{"expiration": "$EXP", "conditions": [{"BUCKET": "bkt"}, ["STARTS-WITH", "$Key", "in/"],
		["starts-with", "$Content-Type", "text/"], ["starts-with", "$Cache-Control", ""],
		["starts-with", "$Content-Disposition", "attachment"], ["eq", "$x-amz-meta-note", "café\r\nnext"],
		["content-length-range", "1", "1000"], `+signingConditions+`]}`)
	form := append([]formField{
		{"key", "in/doc.txt"}, {"Content-Type", "text/plain,text/markdown"}, {"Cache-Control", "max-age=60"},
		{"Content-Disposition", `attachment; filename="doc.txt"`}, {"x-amz-meta-note", "café\r\nnext"},
	}, auth...)
	res := browserPost(t, ts.url+"/bkt", form, "doc.txt", []byte("text"))
	if res.status != 204 {
		t.Fatalf("POST: %d %s", res.status, res.body)
	}
	out, err := ts.client.HeadObject(t.Context(), &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("in/doc.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ContentType) != "text/plain,text/markdown" || aws.ToString(out.CacheControl) != "max-age=60" ||
		aws.ToString(out.ContentDisposition) != `attachment; filename="doc.txt"` {
		t.Errorf("stored headers: %q %q %q", aws.ToString(out.ContentType), aws.ToString(out.CacheControl), aws.ToString(out.ContentDisposition))
	}
	// A value a header cannot carry comes back RFC 2047-encoded, as S3 does.
	if got := out.Metadata["note"]; got != "=?UTF-8?q?caf=C3=A9=0D=0Anext?=" {
		t.Errorf("metadata note %q", got)
	}

	// One Content-Type of the list outside text/ fails the condition.
	form = setField(form, "Content-Type", "text/plain,image/png")
	res = browserPost(t, ts.url+"/bkt", form, "doc.txt", []byte("text"))
	expectPostError(t, "Content-Type list", res, 403, "AccessDenied", `["starts-with", "$Content-Type", "text/"]`)

	// Control characters cannot become a stored header.
	auth = signForm(t, `{"expiration": "$EXP", "conditions": [{"bucket": "bkt"}, {"key": "k"},
		["starts-with", "$Cache-Control", ""], `+signingConditions+`]}`)
	res = browserPost(t, ts.url+"/bkt", append([]formField{{"key", "k"}, {"Cache-Control", "a\r\nX-Injected: 1"}}, auth...), "f", []byte("x"))
	expectPostError(t, "CRLF in Cache-Control", res, 400, "InvalidArgument", "control characters")
	expectNoObject(t, ts, "bkt", "k")
}

// minio-go's checksum fields: a matching SHA-256 is stored, another is
// BadDigest with nothing stored.
func TestPostObjectChecksum(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	content := []byte("checksummed form upload")
	sum := sha256.Sum256(content)
	p := newPolicy(t, "bkt", "sum")
	if err := p.SetChecksum(minio.NewChecksum(minio.ChecksumSHA256, sum[:])); err != nil {
		t.Fatal(err)
	}
	target, fields := presignPost(t, ts, p)
	if res := browserPost(t, target, fields, "f", content); res.status != 204 {
		t.Fatalf("POST: %d %s", res.status, res.body)
	}
	info, err := ts.store.HeadObject(t.Context(), "bkt", "sum", origin.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Checksums["SHA256"]; got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("stored checksums %v", info.Checksums)
	}
	res := browserPost(t, target, setField(fields, "key", "sum"), "f", []byte("other bytes"))
	expectPostError(t, "wrong checksum", res, 400, "BadDigest", "SHA256")
}

// What precedes the file is capped (S3: 20 KB of fields and boundaries).
func TestPostObjectFieldsCap(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	auth := signForm(t, `{"expiration": "$EXP", "conditions": [{"bucket": "bkt"}, {"key": "k"},
		["starts-with", "$x-amz-meta-big", ""], `+signingConditions+`]}`)
	ok := append([]formField{{"key", "k"}, {"x-amz-meta-big", strings.Repeat("b", 16<<10)}}, auth...)
	if res := browserPost(t, ts.url+"/bkt", ok, "f", []byte("x")); res.status != 204 {
		t.Fatalf("16 KiB of fields: %d %s", res.status, res.body)
	}
	tooBig := setField(ok, "x-amz-meta-big", strings.Repeat("b", 30<<10))
	res := browserPost(t, ts.url+"/bkt", tooBig, "f", []byte("x"))
	expectPostError(t, "30 KiB of fields", res, 400, "MaxPostPreDataLengthExceeded", "")
	// Many small fields count too.
	var many []formField
	for i := range 2000 {
		many = append(many, formField{fmt.Sprintf("x-ignore-%d", i), "v"})
	}
	res = browserPost(t, ts.url+"/bkt", append(many, ok...), "f", []byte("x"))
	expectPostError(t, "2000 fields", res, 400, "MaxPostPreDataLengthExceeded", "")
}
