package s3_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/edgecdn/edge/origin/s3"
)

// v2Message is S3's answer to a Signature V2 request on a V4-only
// endpoint, word for word: clients that probe for V2 match it.
const v2Message = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."

// A Signature V2 client (minio-go with V2 credentials) gets the error S3
// gives it, for header-signed and presigned requests, and changes nothing.
func TestSignatureV2GetsS3sError(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	ts.put("bkt", "k", "v")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	mc, err := minio.New(strings.TrimPrefix(ts.url, "http://"), &minio.Options{
		Creds: credentials.NewStaticV2(testKeyID, testSecret, ""), Region: "us-east-1",
		BucketLookup: minio.BucketLookupPath, Transport: tr, MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = mc.PutObject(ctx, "bkt", "k", strings.NewReader("overwritten"), 11, minio.PutObjectOptions{})
	resp := minio.ToErrorResponse(err)
	if resp.StatusCode != 400 || resp.Code != "InvalidRequest" || resp.Message != v2Message {
		t.Fatalf("V2 PutObject: %d %s %q, want 400 InvalidRequest %q", resp.StatusCode, resp.Code, resp.Message, v2Message)
	}
	if got := ts.get("bkt", "k"); got != "v" {
		t.Fatalf("a V2 request changed the object: %q", got)
	}
	u, err := mc.PresignedGetObject(ctx, "bkt", "k", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !u.Query().Has("AWSAccessKeyId") {
		t.Fatalf("minio-go did not presign with V2: %s", u)
	}
	res, body := rawDo(t, "GET", u.String(), nil, nil)
	if res.StatusCode != 400 || !strings.Contains(body, "<Code>InvalidRequest</Code>") || !strings.Contains(body, "<Message>"+v2Message+"</Message>") {
		t.Fatalf("V2 presigned GET: %d\n%s", res.StatusCode, body)
	}
}

// The region signatures must name is configurable; "auto" (as R2 has it)
// and us-east-1 are accepted too, and any other region is told which one
// to use, in the message and in the Region element, as S3 does.
func TestRegion(t *testing.T) {
	ts := startServer(t, func(c *s3.Config) { c.Region = "eu-central-1" })
	for _, region := range []string{"eu-central-1", "auto", "us-east-1"} {
		client := ts.newClient(testKeyID, testSecret, func(o *awss3.Options) { o.Region = region })
		if _, err := client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("b-" + region)}); err != nil {
			t.Fatalf("signed for %s: %v", region, err)
		}
	}
	client := ts.newClient(testKeyID, testSecret, func(o *awss3.Options) { o.Region = "ap-south-1" })
	_, err := client.ListBuckets(ctx, &awss3.ListBucketsInput{})
	expectCode(t, "ListBuckets signed for ap-south-1", err, "AuthorizationHeaderMalformed", 400)
	if !strings.Contains(err.Error(), `expecting "eu-central-1"`) {
		t.Fatalf("the error does not name the expected region: %v", err)
	}
	loc, err := ts.client.GetBucketLocation(ctx, &awss3.GetBucketLocationInput{Bucket: aws.String("b-auto")})
	if err != nil || loc.LocationConstraint != "eu-central-1" {
		t.Fatalf("GetBucketLocation: %q, %v", loc.LocationConstraint, err)
	}
	// The raw document carries the region too, for clients that redirect.
	req, _ := http.NewRequest("GET", ts.url+"/", nil)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testKeyID+"/"+time.Now().UTC().Format("20060102")+"/ap-south-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("0", 64))
	req.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		doc.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(doc.String(), "<Region>eu-central-1</Region>") {
		t.Fatalf("AuthorizationHeaderMalformed document lacks <Region>:\n%s", doc.String())
	}
}
