package s3_test

import (
	"crypto/md5"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// A request that asks for a feature the store lacks is refused and changes
// nothing: never a 200 for an object that is not locked, encrypted or
// tagged as the client asked.
func TestUnsupportedFeaturesAreRefusedNotDropped(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	key := aws.String("k")
	body := func() *strings.Reader { return strings.NewReader("data") }
	ssecKey := strings.Repeat("k", 32)
	keyMD5 := md5.Sum([]byte(ssecKey))
	retain := time.Now().Add(24 * time.Hour)

	puts := []struct {
		name   string
		in     awss3.PutObjectInput
		code   string
		status int
	}{
		{"Object Lock governance", awss3.PutObjectInput{ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: &retain}, "NotImplemented", 501},
		{"Object Lock compliance", awss3.PutObjectInput{ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: &retain}, "NotImplemented", 501},
		{"legal hold", awss3.PutObjectInput{ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn}, "NotImplemented", 501},
		{"SSE-S3", awss3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAes256}, "NotImplemented", 501},
		{"SSE-KMS", awss3.PutObjectInput{ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("key-1")}, "NotImplemented", 501},
		{"SSE-C", awss3.PutObjectInput{SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(base64.StdEncoding.EncodeToString([]byte(ssecKey))),
			SSECustomerKeyMD5: aws.String(base64.StdEncoding.EncodeToString(keyMD5[:]))}, "NotImplemented", 501},
		{"canned ACL public-read", awss3.PutObjectInput{ACL: types.ObjectCannedACLPublicRead}, "AccessControlListNotSupported", 400},
		{"grant read", awss3.PutObjectInput{GrantRead: aws.String(`uri="http://acs.amazonaws.com/groups/global/AllUsers"`)}, "AccessControlListNotSupported", 400},
		{"tagging", awss3.PutObjectInput{Tagging: aws.String("project=x")}, "NotImplemented", 501},
		{"website redirect", awss3.PutObjectInput{WebsiteRedirectLocation: aws.String("/elsewhere")}, "NotImplemented", 501},
		{"storage class GLACIER", awss3.PutObjectInput{StorageClass: types.StorageClassGlacier}, "InvalidStorageClass", 400},
		{"storage class INVALID", awss3.PutObjectInput{StorageClass: types.StorageClass("INVALID")}, "InvalidStorageClass", 400},
		{"another bucket owner", awss3.PutObjectInput{ExpectedBucketOwner: aws.String("111122223333")}, "AccessDenied", 403},
	}
	for _, c := range puts {
		in := c.in
		in.Bucket, in.Key, in.Body = aws.String("bkt"), key, body()
		_, err := ts.client.PutObject(ctx, &in)
		expectCode(t, "PutObject with "+c.name, err, c.code, c.status)
		_, err = ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: key})
		expectCode(t, "HeadObject after a refused PutObject with "+c.name, err, "", 404)
	}

	// What the store does anyway may be asked for.
	accepted := []struct {
		name string
		in   awss3.PutObjectInput
	}{
		{"canned ACL private", awss3.PutObjectInput{ACL: types.ObjectCannedACLPrivate}},
		{"canned ACL bucket-owner-full-control", awss3.PutObjectInput{ACL: types.ObjectCannedACLBucketOwnerFullControl}},
		{"storage class STANDARD", awss3.PutObjectInput{StorageClass: types.StorageClassStandard}},
		{"storage class STANDARD_IA", awss3.PutObjectInput{StorageClass: types.StorageClassStandardIa}},
		{"request payer", awss3.PutObjectInput{RequestPayer: types.RequestPayerRequester}},
		{"the bucket's owner", awss3.PutObjectInput{ExpectedBucketOwner: aws.String("edge")}},
	}
	for _, c := range accepted {
		in := c.in
		in.Bucket, in.Key, in.Body = aws.String("bkt"), aws.String("ok"), body()
		if _, err := ts.client.PutObject(ctx, &in); err != nil {
			t.Errorf("PutObject with %s: %v", c.name, err)
		}
	}
	list, err := ts.client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if err != nil || len(list.Contents) != 1 || list.Contents[0].StorageClass != types.ObjectStorageClassStandard {
		t.Fatalf("listing after the accepted puts: %+v, %v; want one STANDARD object", list, err)
	}

	// Buckets.
	_, err = ts.client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("locked"), ObjectLockEnabledForBucket: aws.Bool(true)})
	expectCode(t, "CreateBucket with Object Lock", err, "NotImplemented", 501)
	_, err = ts.client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("locked"), ACL: types.BucketCannedACLPublicRead})
	expectCode(t, "CreateBucket public-read", err, "AccessControlListNotSupported", 400)
	_, err = ts.client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("locked"), ObjectOwnership: types.ObjectOwnershipObjectWriter})
	expectCode(t, "CreateBucket with ObjectWriter ownership", err, "NotImplemented", 501)
	_, err = ts.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("locked")})
	expectCode(t, "HeadBucket after the refused creations", err, "", 404)
	if _, err := ts.client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("plain"), ObjectLockEnabledForBucket: aws.Bool(false),
		ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}); err != nil {
		t.Fatalf("CreateBucket asking for what the store does: %v", err)
	}

	// Copies, uploads, reads and deletes.
	_, err = ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"), CopySource: aws.String("bkt/ok"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: &retain})
	expectCode(t, "CopyObject with Object Lock", err, "NotImplemented", 501)
	_, err = ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"), CopySource: aws.String("bkt/ok"), StorageClass: types.StorageClassDeepArchive})
	expectCode(t, "CopyObject to DEEP_ARCHIVE", err, "InvalidStorageClass", 400)
	_, err = ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy")})
	expectCode(t, "HeadObject after refused copies", err, "", 404)
	_, err = ts.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: key, ServerSideEncryption: types.ServerSideEncryptionAes256})
	expectCode(t, "CreateMultipartUpload with SSE", err, "NotImplemented", 501)
	if ups, err := ts.client.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: aws.String("bkt")}); err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("uploads after a refused create: %+v, %v", ups, err)
	}
	_, err = ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("ok"), ExpectedBucketOwner: aws.String("111122223333")})
	expectCode(t, "GetObject expecting another owner", err, "AccessDenied", 403)
	_, err = ts.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("ok"), MFA: aws.String("SERIAL 123456")})
	expectCode(t, "DeleteObject with MFA", err, "NotImplemented", 501)
	if got := ts.get("bkt", "ok"); got != "data" {
		t.Fatalf("object after refused delete: %q", got)
	}
	if _, err := ts.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("ok"), BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Fatalf("DeleteObject bypassing a retention that does not exist: %v", err)
	}
}
