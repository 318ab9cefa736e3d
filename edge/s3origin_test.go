package edge_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// Strong sites confirm each hit by generation, so a change of metadata
// alone (CopyObject with REPLACE keeps the ETag) is served at once, from
// the embedded store and from a remote one.
func TestStrongSeesMetadataOnlyChanges(t *testing.T) {
	for _, remote := range []bool{false, true} {
		t.Run("remote="+strconv.FormatBool(remote), func(t *testing.T) {
			engine, err := origin.Open(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { engine.Close() })
			if err := engine.CreateBucket(ctx, "public"); err != nil {
				t.Fatal(err)
			}
			o := edge.FromStore(engine)
			if remote {
				o = edge.FromS3(startRemoteOrigin(t, engine).url, nil)
			}
			te := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Bucket: "public", Consistency: edge.ConsistencyStrong}}}, o)
			put, err := engine.PutObject(ctx, "public", "doc", strings.NewReader("body"), origin.PutOptions{Size: 4,
				Headers: origin.Headers{ContentType: "text/plain", CacheControl: "max-age=600"}})
			if err != nil {
				t.Fatal(err)
			}
			if r := te.get("/doc"); r.h("Content-Type") != "text/plain" {
				t.Fatalf("fill: Content-Type %q", r.h("Content-Type"))
			}
			te.get("/doc")
			copied, err := engine.CopyObject(ctx, "public", "doc", "public", "doc", origin.CopyOptions{ReplaceMetadata: true,
				Headers: origin.Headers{ContentType: "text/markdown", CacheControl: "max-age=600"}, UserMeta: map[string]string{"owner": "ana"}})
			if err != nil {
				t.Fatal(err)
			}
			if copied.ETag != put.ETag {
				t.Fatalf("the copy changed the ETag (%s → %s): this test needs a metadata-only change", put.ETag, copied.ETag)
			}
			r := te.get("/doc")
			if r.h("Content-Type") != "text/markdown" || r.h("X-Amz-Meta-Owner") != "ana" || r.body != "body" {
				t.Errorf("after a metadata-only change: Content-Type %q, owner %q, body %q (%s)", r.h("Content-Type"), r.h("X-Amz-Meta-Owner"), r.body, r.h("Cache-Status"))
			}
		})
	}
}

// X-If-Generation-Match and -Not-Match are answered from the cache by the
// stored generation; x-amz-meta-* fields are served, but private ones.
func TestGenerationConditionsAndMetadataFromCache(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) { c.Sites[0].PrivateMeta = []string{"secret"} })
	info, err := te.engine.PutObject(ctx, "public", "g", strings.NewReader("gen"), origin.PutOptions{Size: 3,
		Headers: origin.Headers{CacheControl: "max-age=600"}, UserMeta: map[string]string{"owner": "ana", "secret": "s3cr3t"}})
	if err != nil {
		t.Fatal(err)
	}
	gen := strconv.FormatInt(info.Generation, 10)
	other := strconv.FormatInt(info.Generation+1, 10)
	if r := te.get("/g"); r.h("X-Amz-Meta-Owner") != "ana" || r.h("X-Amz-Meta-Secret") != "" {
		t.Errorf("metadata on the miss: owner %q secret %q", r.h("X-Amz-Meta-Owner"), r.h("X-Amz-Meta-Secret"))
	}
	fetches := te.store.gets.Load()
	for _, c := range []struct {
		name, value string
		status      int
	}{
		{"X-If-Generation-Match", gen, 200},
		{"X-If-Generation-Match", other, 412},
		{"X-If-Generation-Match", "x", 412},
		{"X-If-Generation-Not-Match", gen, 304},
		{"X-If-Generation-Not-Match", other, 200},
	} {
		r := te.get("/g", c.name, c.value)
		if r.status != c.status || !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
			t.Errorf("%s: %s: %d %q, want %d from the cache", c.name, c.value, r.status, r.h("Cache-Status"), c.status)
		}
		if r.status == 200 && (r.h("X-Amz-Meta-Owner") != "ana" || r.h("X-Amz-Meta-Secret") != "") {
			t.Errorf("metadata on a hit: owner %q secret %q", r.h("X-Amz-Meta-Owner"), r.h("X-Amz-Meta-Secret"))
		}
	}
	if n := te.store.gets.Load() - fetches; n != 0 {
		t.Errorf("%d origin reads for conditions the cache decides", n)
	}
}
