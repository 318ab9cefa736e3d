package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

var ctx = context.Background()

func TestBucketOperations(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("alpha")
	ts.mkbucket("beta")
	_, err := ts.client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("alpha")})
	expectCode(t, "CreateBucket of an existing bucket", err, "BucketAlreadyOwnedByYou", 409)
	_, err = ts.client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	expectCode(t, "CreateBucket Bad_Name", err, "InvalidBucketName", 400)

	list, err := ts.client.ListBuckets(ctx, &awss3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	if !slices.Equal(names, []string{"alpha", "beta"}) {
		t.Fatalf("ListBuckets = %v", names)
	}
	if _, err := ts.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatalf("HeadBucket: %v", err)
	}
	loc, err := ts.client.GetBucketLocation(ctx, &awss3.GetBucketLocationInput{Bucket: aws.String("alpha")})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("GetBucketLocation = %q, %v; want us-east-1's empty constraint", loc.LocationConstraint, err)
	}

	ts.put("alpha", "k", "v")
	_, err = ts.client.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("alpha")})
	expectCode(t, "DeleteBucket of a non-empty bucket", err, "BucketNotEmpty", 409)
	if _, err := ts.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.client.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	_, err = ts.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("alpha")})
	expectCode(t, "HeadBucket after delete", err, "", 404)
	_, err = ts.client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("alpha")})
	expectCode(t, "ListObjectsV2 of a deleted bucket", err, "NoSuchBucket", 404)
}

func TestPutGetHeadDelete(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	body := "hello, edge"
	put, err := ts.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt"), Body: strings.NewReader(body),
		ContentType: aws.String("text/plain"), CacheControl: aws.String("max-age=60"),
		ContentDisposition: aws.String(`attachment; filename="h.txt"`), ContentLanguage: aws.String("en"),
		Metadata: map[string]string{"color": "blue", "cache-tag": "a, b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantETag := fmt.Sprintf(`"%x"`, md5.Sum([]byte(body)))
	if aws.ToString(put.ETag) != wantETag {
		t.Fatalf("PutObject ETag %s, want %s", aws.ToString(put.ETag), wantETag)
	}

	got, err := ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt")})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(data) != body || aws.ToString(got.ETag) != wantETag || aws.ToString(got.ContentType) != "text/plain" ||
		aws.ToString(got.CacheControl) != "max-age=60" || aws.ToString(got.ContentLanguage) != "en" ||
		got.Metadata["color"] != "blue" || aws.ToInt64(got.ContentLength) != int64(len(body)) {
		t.Fatalf("GetObject = %q etag %s type %s cc %s lang %s meta %v len %d",
			data, aws.ToString(got.ETag), aws.ToString(got.ContentType), aws.ToString(got.CacheControl),
			aws.ToString(got.ContentLanguage), got.Metadata, aws.ToInt64(got.ContentLength))
	}
	head, err := ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ETag) != wantETag {
		t.Fatalf("HeadObject = len %d etag %s, %v", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), err)
	}

	// The generation is on every object response and grows with each write.
	info, _ := ts.store.HeadObject(ctx, "bkt", "dir/hello.txt", origin.GetOptions{})
	resp, _ := rawDo(t, "GET", presignGet(t, ts, "bkt", "dir/hello.txt", time.Minute), nil, nil)
	if g := resp.Header.Get(s3.GenerationHeader); g != strconv.FormatInt(info.Generation, 10) {
		t.Fatalf("%s = %q, want %d", s3.GenerationHeader, g, info.Generation)
	}

	if _, err := ts.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt")}); err != nil {
		t.Fatal(err)
	}
	_, err = ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt")})
	expectCode(t, "GetObject after delete", err, "NoSuchKey", 404)
	_, err = ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/hello.txt")})
	expectCode(t, "HeadObject after delete", err, "", 404)
	list, err := ts.client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if err != nil || len(list.Contents) != 0 {
		t.Fatalf("LIST after delete: %d objects, %v", len(list.Contents), err)
	}
}

// Keys that a normalising server would merge stay distinct end to end.
func TestRawKeysStayDistinct(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	keys := []string{"a/b", "a//b", "a/../b", "a%2Fb", "a b", "a+b", "ключ/日本", "./x", "x/."}
	for i, k := range keys {
		ts.put("bkt", k, strconv.Itoa(i))
	}
	for i, k := range keys {
		if got := ts.get("bkt", k); got != strconv.Itoa(i) {
			t.Errorf("key %q reads %q, want %d", k, got, i)
		}
	}
	list, err := ts.client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, o := range list.Contents {
		listed = append(listed, aws.ToString(o.Key))
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Fatalf("LIST = %q, want %q", listed, want)
	}
}

func TestRangeAndConditionalReads(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	body := "0123456789"
	put := ts.put("bkt", "k", body)
	for _, c := range []struct{ rng, want, contentRange string }{
		{"bytes=2-5", "2345", "bytes 2-5/10"},
		{"bytes=7-", "789", "bytes 7-9/10"},
		{"bytes=-3", "789", "bytes 7-9/10"},
		{"bytes=8-100", "89", "bytes 8-9/10"},
	} {
		out, err := ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Range: aws.String(c.rng)})
		if err != nil {
			t.Fatalf("%s: %v", c.rng, err)
		}
		data, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(data) != c.want || aws.ToString(out.ContentRange) != c.contentRange {
			t.Errorf("%s = %q (%s), want %q (%s)", c.rng, data, aws.ToString(out.ContentRange), c.want, c.contentRange)
		}
	}
	_, err := ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Range: aws.String("bytes=10-")})
	expectCode(t, "range past the end", err, "InvalidRange", 416)

	_, err = ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfNoneMatch: put.ETag})
	expectCode(t, "If-None-Match current etag", err, "", 304)
	_, err = ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfMatch: aws.String(`"nope"`)})
	expectCode(t, "If-Match other etag", err, "PreconditionFailed", 412)
	_, err = ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfModifiedSince: aws.Time(time.Now().Add(time.Hour))})
	expectCode(t, "If-Modified-Since the future", err, "", 304)
	if _, err := ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), IfMatch: put.ETag}); err != nil {
		t.Fatalf("If-Match current etag: %v", err)
	}
}

func TestConditionalWrites(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	first, err := ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("1"), IfNoneMatch: aws.String("*")})
	if err != nil {
		t.Fatalf("create-only put: %v", err)
	}
	_, err = ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("2"), IfNoneMatch: aws.String("*")})
	expectCode(t, "second create-only put", err, "PreconditionFailed", 412)
	_, err = ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("2"), IfMatch: aws.String(`"0000"`)})
	expectCode(t, "If-Match with a stale etag", err, "PreconditionFailed", 412)
	if _, err := ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("2"), IfMatch: first.ETag}); err != nil {
		t.Fatalf("If-Match with the current etag: %v", err)
	}
	_, err = ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing"), Body: strings.NewReader("2"), IfMatch: first.ETag})
	expectCode(t, "If-Match on a missing key", err, "NoSuchKey", 404)
	if got := ts.get("bkt", "k"); got != "2" {
		t.Fatalf("k = %q", got)
	}
}

// 32 clients race to create one key: exactly one wins.
func TestConditionalCreateRace(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]error, 32)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, results[i] = ts.client.PutObject(ctx, &awss3.PutObjectInput{
				Bucket: aws.String("bkt"), Key: aws.String("race"), Body: strings.NewReader(strconv.Itoa(i)), IfNoneMatch: aws.String("*"),
			})
		}()
	}
	close(start)
	wg.Wait()
	winners := 0
	winner := -1
	for i, err := range results {
		switch {
		case err == nil:
			winners++
			winner = i
		case httpStatus(err) != 412:
			t.Errorf("client %d: %v, want 200 or 412", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d creates succeeded, want exactly 1", winners)
	}
	if got := ts.get("bkt", "race"); got != strconv.Itoa(winner) {
		t.Fatalf("object holds %q, the winner wrote %d", got, winner)
	}
}

func TestListObjects(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	for _, k := range []string{"a/1", "a/2", "b", "c/d/e", "c/f", "z z"} {
		ts.put("bkt", k, "x")
	}
	out, err := ts.client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("bkt"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var objs, prefixes []string
	for _, o := range out.Contents {
		objs = append(objs, aws.ToString(o.Key))
	}
	for _, p := range out.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(p.Prefix))
	}
	if !slices.Equal(objs, []string{"b", "z z"}) || !slices.Equal(prefixes, []string{"a/", "c/"}) || aws.ToInt32(out.KeyCount) != 4 {
		t.Fatalf("delimiter listing: objects %q prefixes %q count %d", objs, prefixes, aws.ToInt32(out.KeyCount))
	}

	// Paging with the SDK's paginator visits every key once, in order.
	for i := range 25 {
		ts.put("bkt", fmt.Sprintf("p/%03d", i), "x")
	}
	var paged []string
	pager := awss3.NewListObjectsV2Paginator(ts.client, &awss3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: aws.String("p/"), MaxKeys: aws.Int32(4)})
	pages := 0
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range page.Contents {
			paged = append(paged, aws.ToString(o.Key))
		}
	}
	if len(paged) != 25 || pages != 7 || !slices.IsSorted(paged) {
		t.Fatalf("paged listing: %d keys in %d pages", len(paged), pages)
	}

	// V1 with a marker.
	v1, err := ts.client.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: aws.String("bkt"), Marker: aws.String("p/020"), Prefix: aws.String("p/")})
	if err != nil || len(v1.Contents) != 4 || aws.ToString(v1.Contents[0].Key) != "p/021" {
		t.Fatalf("ListObjects V1 after p/020: %d objects, %v", len(v1.Contents), err)
	}
}

func TestCopyAndMetadataUpdate(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("src")
	ts.mkbucket("dst")
	_, err := ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("a b/c"), Body: strings.NewReader("payload"),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("src/a%20b/c")})
	if err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	if got := ts.get("dst", "copy"); got != "payload" {
		t.Fatalf("copy reads %q", got)
	}
	head, err := ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy")})
	if err != nil || head.Metadata["k"] != "v" || aws.ToString(head.ContentType) != "text/plain" || aws.ToString(head.ETag) != aws.ToString(cp.CopyObjectResult.ETag) {
		t.Fatalf("copied metadata: %v %s, %v", head.Metadata, aws.ToString(head.ContentType), err)
	}

	// Copy onto itself with REPLACE is how S3 updates metadata.
	_, err = ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("dst/copy"),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("application/json"), Metadata: map[string]string{"new": "1"}})
	if err != nil {
		t.Fatalf("metadata update: %v", err)
	}
	head, err = ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy")})
	if err != nil || head.Metadata["new"] != "1" || head.Metadata["k"] != "" || aws.ToString(head.ContentType) != "application/json" {
		t.Fatalf("after metadata update: %v %s, %v", head.Metadata, aws.ToString(head.ContentType), err)
	}
	if got := ts.get("dst", "copy"); got != "payload" {
		t.Fatalf("metadata update changed the content: %q", got)
	}
	_, err = ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("dst/copy")})
	expectCode(t, "copy onto itself without REPLACE", err, "InvalidRequest", 400)
	_, err = ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("x"), CopySource: aws.String("src/missing")})
	expectCode(t, "copy of a missing source", err, "NoSuchKey", 404)
}

func TestDeleteObjectsBatch(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	var ids []types.ObjectIdentifier
	for i := range 10 {
		k := fmt.Sprintf("k%d", i)
		if i%2 == 0 {
			ts.put("bkt", k, "x")
		}
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
	}
	out, err := ts.client.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: ids}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 10 || len(out.Errors) != 0 {
		t.Fatalf("DeleteObjects: %d deleted, %d errors; S3 reports missing keys as deleted", len(out.Deleted), len(out.Errors))
	}
	quiet, err := ts.client.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
	if err != nil || len(quiet.Deleted) != 0 {
		t.Fatalf("quiet DeleteObjects listed %d, %v", len(quiet.Deleted), err)
	}
	list, _ := ts.client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if len(list.Contents) != 0 {
		t.Fatalf("%d objects left", len(list.Contents))
	}
}

func TestMultipartUpload20MiB(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	create, err := ts.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("big"), ContentType: aws.String("video/mp4")})
	if err != nil {
		t.Fatal(err)
	}
	var whole bytes.Buffer
	var parts []types.CompletedPart
	for n := int32(1); n <= 4; n++ {
		part := bytes.Repeat([]byte{byte('a' + n)}, 5<<20)
		whole.Write(part)
		up, err := ts.client.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("big"), UploadId: create.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(part)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", n, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: up.ETag})
	}
	lp, err := ts.client.ListParts(ctx, &awss3.ListPartsInput{Bucket: aws.String("bkt"), Key: aws.String("big"), UploadId: create.UploadId})
	if err != nil || len(lp.Parts) != 4 {
		t.Fatalf("ListParts: %d parts, %v", len(lp.Parts), err)
	}
	ups, err := ts.client.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: aws.String("bkt")})
	if err != nil || len(ups.Uploads) != 1 || aws.ToString(ups.Uploads[0].UploadId) != aws.ToString(create.UploadId) {
		t.Fatalf("ListMultipartUploads: %v, %v", ups.Uploads, err)
	}
	done, err := ts.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("big"), UploadId: create.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if !strings.HasSuffix(aws.ToString(done.ETag), `-4"`) {
		t.Fatalf("multipart ETag %s lacks the -4 suffix", aws.ToString(done.ETag))
	}
	if got := ts.get("bkt", "big"); got != whole.String() {
		t.Fatalf("completed object differs from the parts (%d bytes, want %d)", len(got), whole.Len())
	}
	head, err := ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big")})
	if err != nil || aws.ToString(head.ContentType) != "video/mp4" {
		t.Fatalf("HeadObject after complete: %v", err)
	}
	_, err = ts.client.ListParts(ctx, &awss3.ListPartsInput{Bucket: aws.String("bkt"), Key: aws.String("big"), UploadId: create.UploadId})
	expectCode(t, "ListParts after complete", err, "NoSuchUpload", 404)

	// partNumber reads one part back.
	part2, err := ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big"), PartNumber: aws.Int32(2)})
	if err != nil {
		t.Fatalf("GetObject partNumber=2: %v", err)
	}
	data, _ := io.ReadAll(part2.Body)
	part2.Body.Close()
	if !bytes.Equal(data, whole.Bytes()[5<<20:10<<20]) || aws.ToInt32(part2.PartsCount) != 4 || aws.ToString(part2.ContentRange) != fmt.Sprintf("bytes %d-%d/%d", 5<<20, 10<<20-1, 20<<20) {
		t.Fatalf("part 2: %d bytes, parts count %d, range %s", len(data), aws.ToInt32(part2.PartsCount), aws.ToString(part2.ContentRange))
	}
	headPart, err := ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big"), PartNumber: aws.Int32(4)})
	if err != nil || aws.ToInt64(headPart.ContentLength) != 5<<20 {
		t.Fatalf("HeadObject partNumber=4: length %d, %v", aws.ToInt64(headPart.ContentLength), err)
	}
	_, err = ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big"), PartNumber: aws.Int32(5)})
	expectCode(t, "GetObject partNumber=5 of 4", err, "InvalidPartNumber", 416)

	abort, _ := ts.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("gone")})
	if _, err := ts.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("gone"), UploadId: abort.UploadId}); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	_, err = ts.client.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("gone"), UploadId: abort.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	expectCode(t, "UploadPart after abort", err, "NoSuchUpload", 404)
}

func TestAuthFailures(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	ts.put("bkt", "k", "v")

	wrong := ts.newClient(testKeyID, "not-the-secret")
	_, err := wrong.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	expectCode(t, "wrong secret", err, "SignatureDoesNotMatch", 403)
	unknown := ts.newClient("NOSUCHKEY", testSecret)
	_, err = unknown.ListBuckets(ctx, &awss3.ListBucketsInput{})
	expectCode(t, "unknown access key", err, "InvalidAccessKeyId", 403)

	skewed := startServer(t, func(c *s3.Config) { c.Now = func() time.Time { return time.Now().Add(16 * time.Minute) } })
	_, err = skewed.client.ListBuckets(ctx, &awss3.ListBucketsInput{})
	expectCode(t, "clock skewed by 16 minutes", err, "RequestTimeTooSkewed", 403)

	// Anonymous requests: reads of a public bucket only.
	resp, body := rawDo(t, "GET", ts.url+"/bkt/k", nil, nil)
	if resp.StatusCode != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Fatalf("anonymous GET of a private bucket: %d %s", resp.StatusCode, body)
	}
	ts.mkbucket("public")
	ts.put("public", "hello", "world")
	resp, body = rawDo(t, "GET", ts.url+"/public/hello", nil, nil)
	if resp.StatusCode != 200 || body != "world" {
		t.Fatalf("anonymous GET of a public bucket: %d %q", resp.StatusCode, body)
	}
	resp, _ = rawDo(t, "PUT", ts.url+"/public/hello", strings.NewReader("evil"), nil)
	if resp.StatusCode != 403 {
		t.Fatalf("anonymous PUT to a public bucket: %d, want 403", resp.StatusCode)
	}
	if got := ts.get("public", "hello"); got != "world" {
		t.Fatalf("anonymous PUT changed the object: %q", got)
	}
}

func TestPresignedURLs(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	resp, body := rawDo(t, "PUT", ts.presignPut("bkt", "up/loaded"), strings.NewReader("via presign"), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %d %s", resp.StatusCode, body)
	}
	resp, body = rawDo(t, "GET", presignGet(t, ts, "bkt", "up/loaded", time.Minute), nil, nil)
	if resp.StatusCode != 200 || body != "via presign" {
		t.Fatalf("presigned GET: %d %q", resp.StatusCode, body)
	}

	expired := startServer(t, func(c *s3.Config) { c.Now = func() time.Time { return time.Now().Add(2 * time.Minute) } })
	expired.mkbucket("bkt")
	expired.put("bkt", "k", "v")
	resp, body = rawDo(t, "GET", presignGet(t, expired, "bkt", "k", time.Minute), nil, nil)
	if resp.StatusCode != 403 || !strings.Contains(body, "expired") {
		t.Fatalf("expired presigned GET: %d %s", resp.StatusCode, body)
	}
}

func TestUnsupportedOperationsAre501(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	ts.put("bkt", "k", "v")
	_, err := ts.client.GetBucketVersioning(ctx, &awss3.GetBucketVersioningInput{Bucket: aws.String("bkt")})
	expectCode(t, "GetBucketVersioning", err, "NotImplemented", 501)
	_, err = ts.client.PutObjectTagging(ctx, &awss3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}})
	expectCode(t, "PutObjectTagging", err, "NotImplemented", 501)
	if got := ts.get("bkt", "k"); got != "v" {
		t.Fatalf("object changed by an unsupported call: %q", got)
	}
}

func presignGet(t *testing.T, ts *testServer, bucket, key string, expires time.Duration) string {
	t.Helper()
	req, err := awss3.NewPresignClient(ts.client).PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, awss3.WithPresignExpires(expires))
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodGet {
		t.Fatalf("presign method %s", req.Method)
	}
	return req.URL
}

// Flexible checksums: the SDK's checksum reaches the store, comes back on
// HEAD with checksum mode, and a wrong one is refused with nothing stored.
func TestFlexibleChecksums(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	body := "hello world"
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmCrc64nvme} {
		key := "k-" + string(alg)
		if _, err := ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: strings.NewReader(body), ChecksumAlgorithm: alg}); err != nil {
			t.Fatalf("PutObject with %s: %v", alg, err)
		}
		head, err := ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		got := map[types.ChecksumAlgorithm]*string{
			types.ChecksumAlgorithmCrc32: head.ChecksumCRC32, types.ChecksumAlgorithmCrc32c: head.ChecksumCRC32C,
			types.ChecksumAlgorithmSha1: head.ChecksumSHA1, types.ChecksumAlgorithmSha256: head.ChecksumSHA256,
			types.ChecksumAlgorithmCrc64nvme: head.ChecksumCRC64NVME,
		}[alg]
		want := map[types.ChecksumAlgorithm]string{
			types.ChecksumAlgorithmCrc32: "DUoRhQ==", types.ChecksumAlgorithmCrc32c: "yZRlqg==",
			types.ChecksumAlgorithmSha1: "Kq5sNclPz7QV2+lfQIuc6R7oRu0=", types.ChecksumAlgorithmSha256: "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
			types.ChecksumAlgorithmCrc64nvme: "jSnVw/bqjr4=",
		}[alg]
		if aws.ToString(got) != want {
			t.Errorf("HEAD %s checksum = %q, want %q", alg, aws.ToString(got), want)
		}
	}
	_, err := ts.client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("bad"), Body: strings.NewReader(body), ChecksumCRC32: aws.String("AAAAAA==")})
	expectCode(t, "PutObject with a wrong CRC32", err, "BadDigest", 400)
	_, err = ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("bad")})
	expectCode(t, "HEAD after a refused put", err, "", 404)
}
