package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/edgecdn/edge/origin/s3"
)

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
	t.Setenv("EDGE_ACCESS_KEY_ID", "")
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

func TestBadConfigSaysWhatToFix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "origin.yaml")
	os.WriteFile(path, []byte("listen: \":0\"\nlisten_port: 9000\n"), 0o644)
	err := run(context.Background(), []string{"-config", path, "-data", dir}, &bytes.Buffer{}, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "listen_port") {
		t.Fatalf("unknown field: err = %v, want the field and its line", err)
	}
	os.WriteFile(path, []byte("access_key_id: abc\n"), 0o644)
	err = run(context.Background(), []string{"-config", path, "-data", dir}, &bytes.Buffer{}, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "secret_access_key") {
		t.Fatalf("half a key pair: err = %v", err)
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
