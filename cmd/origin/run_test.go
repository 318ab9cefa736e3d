package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/edgecdn/edge/cmd/internal/testenv"
	"github.com/edgecdn/edge/internal/proclog"
	"github.com/edgecdn/edge/origin/s3"
	"github.com/edgecdn/edge/purge/redistest"
)

func TestMain(m *testing.M) {
	testenv.ClearEdgeVars()
	os.Exit(m.Run())
}

// start runs the program until the test ends and returns its address and
// what it printed on stdout.
func start(t *testing.T, args ...string) (string, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, &stdout, &stderr, func(a string) { addrc <- a }) }()
	select {
	case addr := <-addrc:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
		return addr, &stdout
	case err := <-done:
		cancel()
		t.Fatalf("run stopped at start: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not start")
	}
	return "", nil
}

// With no keys configured, the first start generates a pair, saves it
// owner-only and prints it; the second start uses it silently.
func TestGeneratedCredentials(t *testing.T) {
	dir := t.TempDir()
	addr, out := start(t, "-listen", "127.0.0.1:0", "-data", dir)
	fi, err := os.Stat(filepath.Join(dir, s3.KeysFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", s3.KeysFile, fi.Mode().Perm())
	}
	var keys s3.Keys
	data, _ := os.ReadFile(filepath.Join(dir, s3.KeysFile))
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), keys.AccessKeyID) || !strings.Contains(out.String(), keys.SecretAccessKey) {
		t.Fatalf("the generated pair was not printed: %q", out.String())
	}
	client := awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(keys.AccessKeyID, keys.SecretAccessKey, ""),
	})
	if _, err := client.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("works")}); err != nil {
		t.Fatalf("CreateBucket with the generated keys: %v", err)
	}

	second := t.TempDir()
	if err := os.WriteFile(filepath.Join(second, s3.KeysFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, out2 := start(t, "-listen", "127.0.0.1:0", "-data", second)
	if strings.Contains(out2.String(), keys.SecretAccessKey) {
		t.Fatal("a saved pair was printed again")
	}
}

// refuse runs the program on a configuration it must reject. Should it
// start serving instead, the test fails and the server stops at once: a
// refusal test never leaves a server behind or waits on one.
func refuse(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args = append(args, "-listen", "127.0.0.1:0")
	return run(ctx, args, &bytes.Buffer{}, &bytes.Buffer{}, func(addr string) {
		t.Errorf("run started serving on %s; want it to refuse %v", addr, args)
		cancel()
	})
}

func TestBadConfigSaysWhatToFix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "origin.yaml")
	os.WriteFile(path, []byte("listen: \":0\"\nlisten_port: 9000\n"), 0o644)
	err := refuse(t, "-config", path, "-data", dir)
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "listen_port") {
		t.Fatalf("unknown field: err = %v, want the field and its line", err)
	}
	os.WriteFile(path, []byte("access_key_id: abc\n"), 0o644)
	err = refuse(t, "-config", path, "-data", dir)
	if err == nil || !strings.Contains(err.Error(), "secret_access_key") {
		t.Fatalf("half a key pair: err = %v", err)
	}
	// Half a pair in the environment is refused the same way.
	t.Setenv("EDGE_ACCESS_KEY_ID", "fromenv")
	err = refuse(t, "-data", dir)
	if err == nil || !strings.Contains(err.Error(), "EDGE_SECRET_ACCESS_KEY") {
		t.Fatalf("half a key pair in the environment: err = %v", err)
	}
}

// A key pair from the environment replaces the config file's and is the
// one the server accepts.
func TestEnvironmentCredentials(t *testing.T) {
	t.Setenv("EDGE_ACCESS_KEY_ID", "ENVKEY00000000000001")
	t.Setenv("EDGE_SECRET_ACCESS_KEY", "env/secret/0123456789")
	dir := t.TempDir()
	path := filepath.Join(dir, "origin.yaml")
	os.WriteFile(path, []byte("access_key_id: FILEKEY\nsecret_access_key: file-secret\n"), 0o644)
	addr, _ := start(t, "-config", path, "-listen", "127.0.0.1:0", "-data", dir)
	for _, c := range []struct {
		id, secret string
		ok         bool
	}{{"ENVKEY00000000000001", "env/secret/0123456789", true}, {"FILEKEY", "file-secret", false}} {
		client := awss3.New(awss3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), UsePathStyle: true, RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(c.id, c.secret, ""),
		})
		_, err := client.ListBuckets(context.Background(), &awss3.ListBucketsInput{})
		if (err == nil) != c.ok {
			t.Fatalf("ListBuckets as %s: err = %v, want success %v", c.id, err, c.ok)
		}
	}
}

// The example config ships working.
func TestExampleConfigLoads(t *testing.T) {
	cfg := defaultConfig()
	if err := loadConfig("../../configs/origin.yaml", &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.BaseDomain != "s3.localhost" || len(cfg.PublicBuckets) != 1 {
		t.Fatalf("example config read as %+v", cfg)
	}
}

func clientFor(addr, region, id, secret string) *awss3.Client {
	return awss3.New(awss3.Options{
		Region: region, BaseEndpoint: aws.String("http://" + addr), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
	})
}

// The example config's public_buckets exist once the server is up: an
// upload into "public" works at once and anyone may read it back.
func TestExampleConfigCreatesPublicBuckets(t *testing.T) {
	t.Setenv("EDGE_ACCESS_KEY_ID", "EXAMPLEKEY0000000001")
	t.Setenv("EDGE_SECRET_ACCESS_KEY", "example/secret")
	addr, _ := start(t, "-config", "../../configs/origin.yaml", "-listen", "127.0.0.1:0", "-data", t.TempDir())
	client := clientFor(addr, "us-east-1", "EXAMPLEKEY0000000001", "example/secret")
	_, err := client.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String("public"), Key: aws.String("hello.txt"), Body: strings.NewReader("hello"),
	})
	if err != nil {
		t.Fatalf("PutObject into the configured public bucket: %v", err)
	}
	resp, err := http.Get("http://" + addr + "/public/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("anonymous GET: %d %q", resp.StatusCode, body)
	}
}

// -region sets the region signatures must name; "auto" is accepted too,
// and any other region is told which one to use.
func TestRegionFlag(t *testing.T) {
	t.Setenv("EDGE_ACCESS_KEY_ID", "REGIONKEY00000000001")
	t.Setenv("EDGE_SECRET_ACCESS_KEY", "region/secret")
	addr, _ := start(t, "-region", "eu-central-1", "-listen", "127.0.0.1:0", "-data", t.TempDir())
	for _, region := range []string{"eu-central-1", "auto"} {
		_, err := clientFor(addr, region, "REGIONKEY00000000001", "region/secret").ListBuckets(context.Background(), &awss3.ListBucketsInput{})
		if err != nil {
			t.Fatalf("signed for %s: %v", region, err)
		}
	}
	_, err := clientFor(addr, "ap-south-1", "REGIONKEY00000000001", "region/secret").ListBuckets(context.Background(), &awss3.ListBucketsInput{})
	if err == nil || !strings.Contains(err.Error(), "AuthorizationHeaderMalformed") || !strings.Contains(err.Error(), "eu-central-1") {
		t.Fatalf("signed for ap-south-1: err = %v, want AuthorizationHeaderMalformed naming eu-central-1", err)
	}
}

// The cluster's origin config starts as shipped, publishing to the
// test's Redis.
func TestClusterOriginConfigStarts(t *testing.T) {
	rds := redistest.Start(t)
	addr, _ := start(t, "-config", "../../configs/cluster/origin.yaml", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-redis", rds.URL())
	resp, err := http.Get("http://" + addr + "/public/none")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("a missing object of the public bucket: %d, want 404", resp.StatusCode)
	}
}

// With -admin, /metrics counts the S3 API's requests and bytes and the
// outbox's backlog.
func TestAdminMetrics(t *testing.T) {
	rds := redistest.Start(t)
	port, err := proclog.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	admin := "127.0.0.1:" + strconv.Itoa(port)
	t.Setenv("EDGE_ACCESS_KEY_ID", "ADMINKEY000000000001")
	t.Setenv("EDGE_SECRET_ACCESS_KEY", "admin/secret")
	addr, _ := start(t, "-listen", "127.0.0.1:0", "-admin", admin, "-data", t.TempDir(), "-redis", rds.URL())
	client := clientFor(addr, "us-east-1", "ADMINKEY000000000001", "admin/secret")
	if _, err := client.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("12345")}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`s3_requests_total{op="PutObject",status="200"} 1`, `s3_requests_total{op="CreateBucket",status="200"} 1`,
		`s3_bytes_received_total 5`, `s3_request_seconds_count{op="PutObject"} 1`, "purge_outbox_backlog "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if resp, err := http.Get("http://" + admin + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: %v %v", resp, err)
	}
	req, _ := http.NewRequest("PUT", "http://"+admin+"/loglevel", strings.NewReader(`{"level":"warn"}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("PUT /loglevel: %v %v", resp, err)
	}
}
