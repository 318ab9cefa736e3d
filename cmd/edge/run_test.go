package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/edgecdn/edge/cmd/internal/testenv"
	"github.com/edgecdn/edge/origin/s3"
)

func TestMain(m *testing.M) {
	testenv.ClearEdgeVars()
	os.Exit(m.Run())
}

// listenArgs bind every port the all-in-one opens to loopback port 0.
var listenArgs = []string{"-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-s3", "127.0.0.1:0"}

func startAllInOne(t *testing.T, args ...string) (addrs, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	args = append(append(slices.Clone(listenArgs), "-data", dir), args...)
	go func() { done <- run(ctx, args, &stdout, &stderr, func(a addrs) { ready <- a }) }()
	select {
	case a := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
		return a, dir
	case err := <-done:
		cancel()
		t.Fatalf("edge stopped at start: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("edge did not start")
	}
	return addrs{}, ""
}

func httpGet(t *testing.T, url, host string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The all-in-one on its defaults: an object uploaded over S3 into bucket
// "public" is served by the edge on Host localhost, from cache the second
// time, and an overwrite is visible at once (in-process purge).
func TestAllInOneDefaults(t *testing.T) {
	a, dir := startAllInOne(t)
	var keys s3.Keys
	data, err := os.ReadFile(filepath.Join(dir, s3.KeysFile))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(data, &keys)
	client := awss3.New(awss3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + a.S3), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(keys.AccessKeyID, keys.SecretAccessKey, "")})
	put := func(body string) {
		_, err := client.PutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String("public"), Key: aws.String("index.html"),
			Body: strings.NewReader(body), CacheControl: aws.String("max-age=3600"), ContentType: aws.String("text/html")})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("<h1>one</h1>")
	url := "http://" + a.Edge + "/index.html"
	if resp, body := httpGet(t, url, "localhost"); resp.StatusCode != 200 || body != "<h1>one</h1>" {
		t.Fatalf("first GET: %d %q", resp.StatusCode, body)
	}
	resp, _ := httpGet(t, url, "localhost")
	if cs := resp.Header.Get("Cache-Status"); !strings.HasPrefix(cs, "edge; hit") {
		t.Fatalf("second GET Cache-Status %q", cs)
	}
	put("<h1>two</h1>")
	if _, body := httpGet(t, url, "127.0.0.1"); body != "<h1>two</h1>" {
		t.Fatalf("after overwrite: %q", body)
	}
	if resp, _ := httpGet(t, url, "unknown.example"); resp.StatusCode != 421 {
		t.Fatalf("unknown host: %d, want 421", resp.StatusCode)
	}
	if resp, body := httpGet(t, "http://"+a.Admin+"/healthz", ""); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	if _, body := httpGet(t, "http://"+a.Admin+"/metrics", ""); !strings.Contains(body, "edge_cache_hits_total 1") {
		t.Fatalf("metrics lack the hit:\n%s", body)
	}
}

// refuse runs the program on a configuration it must reject; should it
// start serving instead, the test fails and the servers stop at once.
func refuse(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args = append(slices.Clone(listenArgs), args...)
	return run(ctx, args, io.Discard, io.Discard, func(a addrs) {
		t.Errorf("run started serving on %+v; want it to refuse %v", a, args)
		cancel()
	})
}

func TestBadEdgeConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.yaml")
	os.WriteFile(path, []byte("sites:\n  - hosts: [cdn.example.com]\n    bucket: b\n    consistency: sometimes\n"), 0o644)
	err := refuse(t, "-config", path, "-data", dir, "-s3", "")
	if err == nil || !strings.Contains(err.Error(), "consistency") {
		t.Fatalf("bad consistency: %v", err)
	}
	os.WriteFile(path, []byte("sites: []\n"), 0o644)
	err = refuse(t, "-config", path, "-data", dir)
	if err == nil || !strings.Contains(err.Error(), "at least one site") {
		t.Fatalf("no sites: %v", err)
	}
	t.Setenv("EDGE_SECRET_ACCESS_KEY", "only-the-secret")
	err = refuse(t, "-data", dir)
	if err == nil || !strings.Contains(err.Error(), "EDGE_ACCESS_KEY_ID") {
		t.Fatalf("half a key pair in the environment: %v", err)
	}
}

func TestExampleEdgeConfigLoads(t *testing.T) {
	cfg := defaultConfig()
	if err := loadConfig("../../configs/edge.yaml", &cfg); err != nil {
		t.Fatal(err)
	}
}
