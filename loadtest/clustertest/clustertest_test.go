package clustertest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var testHTTP = &http.Client{Timeout: 5 * time.Second}

// get reads key through an edge with host: status, body, Cache-Status.
func get(t *testing.T, edgeURL, host, key string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("GET", edgeURL+"/"+key, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := testHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header.Get("Cache-Status")
}

func put(t *testing.T, c *s3.Client, key, body string) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(Bucket), Key: aws.String(key), Body: strings.NewReader(body),
		CacheControl: aws.String("max-age=3600"), ContentType: aws.String("text/plain"),
	})
	if err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

// A write through the origin process reaches the edge processes over
// Redis: a purge site serves the new version within 2 s, a strong site at
// once, a ttl site keeps the old one until the purge API removes it.
func TestClusterPropagatesWrites(t *testing.T) {
	began := time.Now()
	c := Start(t, 2)
	t.Logf("Start took %v", time.Since(began))
	if len(c.EdgeURLs) != 2 || len(c.AdminURLs) != 2 {
		t.Fatalf("Start(2): %+v", c)
	}
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(c.S3URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
	put(t, client, "doc", "v1")

	e := c.EdgeURLs[0]
	for _, host := range []string{PurgeHost, TTLHost, StrongHost} {
		if s, b, _ := get(t, e, host, "doc"); s != 200 || b != "v1" {
			t.Fatalf("%s, first read: %d %q, want v1", host, s, b)
		}
	}
	if s, b, cs := get(t, e, PurgeHost, "doc"); s != 200 || b != "v1" || !strings.HasPrefix(cs, "edge; hit") {
		t.Fatalf("second read: %d %q, Cache-Status %q; want a hit of v1", s, b, cs)
	}

	put(t, client, "doc", "v2")
	if s, b, _ := get(t, e, StrongHost, "doc"); s != 200 || b != "v2" {
		t.Fatalf("strong site right after the overwrite: %d %q, want v2", s, b)
	}
	written := time.Now()
	for {
		s, b, _ := get(t, e, PurgeHost, "doc")
		if s == 200 && b == "v2" {
			t.Logf("the overwrite was served %v after the PUT returned", time.Since(written))
			break
		}
		if time.Since(written) > 2*time.Second {
			t.Fatalf("purge site 2 s after the overwrite: %d %q, want v2", s, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s, b, _ := get(t, e, TTLHost, "doc"); s != 200 || b != "v1" {
		t.Fatalf("ttl site after the overwrite: %d %q, want the cached v1", s, b)
	}
	if s, b, _ := get(t, c.EdgeURLs[1], PurgeHost, "doc"); s != 200 || b != "v2" {
		t.Fatalf("edge 1: %d %q, want v2", s, b)
	}

	// The purge API, with its token, on the other edge: it reaches edge 0
	// over the bus before it answers (wait=1).
	req, err := http.NewRequest("POST", c.AdminURLs[1]+"/v1/purge?wait=1&timeout=5s",
		strings.NewReader(`{"files":["http://`+TTLHost+`/doc"]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+PurgeToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := testHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("purge API: %d %s", resp.StatusCode, answer)
	}
	if s, b, _ := get(t, e, TTLHost, "doc"); s != 200 || b != "v2" {
		t.Fatalf("ttl site after the purge API call: %d %q, want v2", s, b)
	}
}
