package s3_test

import (
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/edgecdn/edge/origin/s3"
)

// responseHeader reads a header of the HTTP response behind an SDK result.
func responseHeader(t *testing.T, md middleware.Metadata, name string) string {
	t.Helper()
	raw, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if !ok {
		t.Fatal("the SDK result carries no raw HTTP response")
	}
	return raw.Header.Get(name)
}

func generationOf(t *testing.T, md middleware.Metadata) int64 {
	t.Helper()
	s := responseHeader(t, md, s3.GenerationHeader)
	g, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s = %q, want a generation", s3.GenerationHeader, s)
	}
	return g
}

// A DELETE says where it falls in last-writer-wins order: its generation
// is above the version it removed and below the next write.
func TestDeleteCarriesGeneration(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	put := ts.put("bkt", "k", "v")
	putGen := generationOf(t, put.ResultMetadata)
	del, err := ts.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	delGen := generationOf(t, del.ResultMetadata)
	if delGen <= putGen {
		t.Fatalf("DELETE generation %d, want > the deleted version's %d", delGen, putGen)
	}
	again, err := ts.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if g := generationOf(t, again.ResultMetadata); g < delGen {
		t.Fatalf("DELETE of a missing key: generation %d, want >= %d", g, delGen)
	}
	if next := generationOf(t, ts.put("bkt", "k", "w").ResultMetadata); next <= delGen {
		t.Fatalf("PUT after DELETE: generation %d, want > %d", next, delGen)
	}
}

// The store keeps one version of each object, whose id is "null". A batch
// entry naming any other version deletes nothing and is answered with the
// error the single DeleteObject gives; "null" deletes the object.
func TestVersionIDsNameOnlyTheCurrentVersion(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	for _, k := range []string{"keep", "plain", "nullv"} {
		ts.put("bkt", k, k)
	}
	_, err := ts.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("keep"), VersionId: aws.String("3HL4kqtJlcpXroDTDmJ")})
	expectCode(t, "DeleteObject with a VersionId", err, "NotImplemented", 501)

	out, err := ts.client.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("keep"), VersionId: aws.String("3HL4kqtJlcpXroDTDmJ")},
		{Key: aws.String("plain")},
		{Key: aws.String("nullv"), VersionId: aws.String("null")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "keep" || aws.ToString(out.Errors[0].Code) != "NotImplemented" ||
		aws.ToString(out.Errors[0].VersionId) != "3HL4kqtJlcpXroDTDmJ" {
		t.Fatalf("errors %+v, want one NotImplemented for keep's version", out.Errors)
	}
	deleted := map[string]string{}
	for _, d := range out.Deleted {
		deleted[aws.ToString(d.Key)] = aws.ToString(d.VersionId)
	}
	if len(deleted) != 2 || deleted["nullv"] != "null" {
		t.Fatalf("deleted %v, want plain and nullv (version null)", deleted)
	}
	if got := ts.get("bkt", "keep"); got != "keep" {
		t.Fatalf("the object named with another version was changed: %q", got)
	}
	for _, k := range []string{"plain", "nullv"} {
		_, err := ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k)})
		expectCode(t, "HeadObject of a deleted key", err, "", 404)
	}

	// versionId=null reads the current object; another id is refused.
	got, err := ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("keep"), VersionId: aws.String("null")})
	if err != nil {
		t.Fatalf("GetObject versionId=null: %v", err)
	}
	got.Body.Close()
	_, err = ts.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("keep"), VersionId: aws.String("v2")})
	expectCode(t, "GetObject with a VersionId", err, "NotImplemented", 501)
	_, err = ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"), CopySource: aws.String("bkt/keep?versionId=v2")})
	expectCode(t, "CopyObject from a VersionId", err, "NotImplemented", 501)
	if _, err = ts.client.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"), CopySource: aws.String("bkt/keep?versionId=null")}); err != nil {
		t.Fatalf("CopyObject from versionId=null: %v", err)
	}
}
