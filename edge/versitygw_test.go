package edge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/internal/versitygwtest"
)

// The edge in front of a private bucket of a third-party S3 server (the
// Versity S3 Gateway): fills are signed, hits never reach it, a strong
// site sees overwrites and metadata changes at once, 404s are cached for
// the negative TTL.
func TestFrontsAPrivateBucketOnVersityGateway(t *testing.T) {
	gw := versitygwtest.Start(t)
	gw.MakeBucket(t, "private")
	key := "dir/a b+ü.txt" // escaped as S3 signs it
	gw.Put(t, "private", key, []byte("hello"), versitygwtest.ContentType("text/plain"),
		versitygwtest.CacheControl("max-age=60"), versitygwtest.Metadata(map[string]string{"owner": "ana"}))
	signed := edge.S3Endpoint{URL: gw.Endpoint, Region: gw.Region, AccessKeyID: gw.AccessKey, SecretAccessKey: gw.SecretKey}
	site := func(host string, c edge.Consistency, ep edge.S3Endpoint) edge.Site {
		return edge.Site{Hosts: []string{host}, Bucket: "private", Consistency: c, S3: &ep}
	}
	te := startEdgeWith(t, edge.Config{Sites: []edge.Site{
		site("ttl.example", edge.ConsistencyTTL, signed),
		site("strong.example", edge.ConsistencyStrong, signed),
		site("unsigned.example", edge.ConsistencyTTL, edge.S3Endpoint{URL: gw.Endpoint}),
	}}, nil)
	path := "/dir/a%20b+%C3%BC.txt"

	t.Run("signed fill, then hits", func(t *testing.T) {
		r := te.get(path, "Host", "ttl.example")
		if r.status != 200 || r.body != "hello" || r.h("Content-Type") != "text/plain" || r.h("X-Amz-Meta-Owner") != "ana" {
			t.Fatalf("miss: %d %q %q owner %q (%s)", r.status, r.body, r.h("Content-Type"), r.h("X-Amz-Meta-Owner"), r.h("Cache-Status"))
		}
		for range 2 {
			if r := te.get(path, "Host", "ttl.example"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") || r.body != "hello" {
				t.Fatalf("second request: %q %q", r.h("Cache-Status"), r.body)
			}
		}
		if r := te.get(path, "Host", "ttl.example", "Range", "bytes=1-3"); r.status != 206 || r.body != "ell" {
			t.Fatalf("range of the stored object: %d %q", r.status, r.body)
		}
	})
	t.Run("unsigned is refused: the bucket is private", func(t *testing.T) {
		if r := te.get(path, "Host", "unsigned.example"); r.status != 403 {
			t.Fatalf("unsigned fill: %d %q, want the gateway's 403", r.status, r.body)
		}
	})
	t.Run("404 cached for the negative TTL", func(t *testing.T) {
		for i := range 2 {
			r := te.get("/later.txt", "Host", "ttl.example")
			if r.status != 404 || (i == 1) != strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
				t.Fatalf("request %d of a missing key: %d %q", i, r.status, r.h("Cache-Status"))
			}
		}
		gw.Put(t, "private", "later.txt", []byte("now"))
		if r := te.get("/later.txt", "Host", "ttl.example"); r.status != 404 {
			t.Fatalf("within the negative TTL: %d, want the cached 404", r.status)
		}
		te.clock.Advance(4 * time.Minute)
		if r := te.get("/later.txt", "Host", "ttl.example"); r.status != 200 || r.body != "now" {
			t.Fatalf("after the negative TTL: %d %q", r.status, r.body)
		}
	})
	t.Run("strong sees overwrites and metadata changes", func(t *testing.T) {
		gw.Put(t, "private", "s.txt", []byte("v1"), versitygwtest.ContentType("text/plain"), versitygwtest.CacheControl("max-age=600"))
		if r := te.get("/s.txt", "Host", "strong.example"); r.body != "v1" {
			t.Fatalf("fill: %q", r.body)
		}
		gw.Put(t, "private", "s.txt", []byte("v2"), versitygwtest.ContentType("text/plain"), versitygwtest.CacheControl("max-age=600"))
		if r := te.get("/s.txt", "Host", "strong.example"); r.body != "v2" {
			t.Fatalf("after an overwrite: %q (%s)", r.body, r.h("Cache-Status"))
		}
		r := te.get("/s.txt", "Host", "strong.example")
		if r.body != "v2" || !strings.Contains(r.h("Cache-Status"), "fwd-status=304") {
			t.Fatalf("unchanged: %q %q, want the stored body confirmed", r.body, r.h("Cache-Status"))
		}
		_, err := gw.Client(t).CopyObject(context.Background(), &awss3.CopyObjectInput{
			Bucket: aws.String("private"), Key: aws.String("s.txt"), CopySource: aws.String("private/s.txt"),
			MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/markdown"), CacheControl: aws.String("max-age=600"),
		})
		if err != nil {
			t.Fatalf("CopyObject REPLACE: %v", err)
		}
		if r := te.get("/s.txt", "Host", "strong.example"); r.body != "v2" || r.h("Content-Type") != "text/markdown" {
			t.Fatalf("after a metadata-only change: %q Content-Type %q (%s)", r.body, r.h("Content-Type"), r.h("Cache-Status"))
		}
	})
}
