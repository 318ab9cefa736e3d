package s3_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// awsCLI runs the aws command line against ts with the test credentials
// and nothing from the user's own AWS configuration.
type awsCLI struct {
	t    *testing.T
	path string
	url  string
	env  []string
}

func newAWSCLI(t *testing.T, ts *testServer) *awsCLI {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Skipf("aws CLI not installed: %v; install it (pip install awscli, or AWS CLI v2) to run this test", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+testKeyID,
		"AWS_SECRET_ACCESS_KEY="+testSecret,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
	return &awsCLI{t: t, path: path, url: ts.url, env: env}
}

// run runs aws with args and returns its stdout, failing the test with the
// command's output if it exits non-zero.
func (a *awsCLI) run(args ...string) string {
	a.t.Helper()
	out, stderr, err := a.try(args...)
	if err != nil {
		a.t.Fatalf("aws %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, stderr)
	}
	return out
}

// try runs aws with args and returns stdout, stderr and the exit error.
func (a *awsCLI) try(args ...string) (string, string, error) {
	c, cancel := context.WithTimeout(a.t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(c, a.path, append([]string{"--endpoint-url", a.url}, args...)...)
	cmd.Env = a.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	begin := time.Now()
	err := cmd.Run()
	a.t.Logf("aws %s (%v)", strings.Join(args, " "), time.Since(begin).Round(time.Millisecond))
	return stdout.String(), stderr.String(), err
}

// TestAWSCLI drives the server with the aws command line: bucket creation,
// a multipart upload and a download of 20 MiB, listings, head-object and rm.
func TestAWSCLI(t *testing.T) {
	ts := startServer(t)
	cli := newAWSCLI(t, ts)
	if v, _, err := cli.try("--version"); err == nil {
		t.Logf("using %s", strings.TrimSpace(v))
	}
	dir := t.TempDir()
	const size = 20 << 20 // over the CLI's 8 MiB multipart threshold
	data := patternBytes("aws-cli", size)
	src := filepath.Join(dir, "upload.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}

	cli.run("s3", "mb", "s3://cli-bucket")
	if _, err := ts.client.HeadBucket(t.Context(), &awss3.HeadBucketInput{Bucket: aws.String("cli-bucket")}); err != nil {
		t.Fatalf("HeadBucket after aws s3 mb: %v", err)
	}
	if out := cli.run("s3", "ls"); !regexp.MustCompile(`(?m)\scli-bucket$`).MatchString(out) {
		t.Errorf("aws s3 ls does not list cli-bucket:\n%s", out)
	}

	// Upload: the CLI splits 20 MiB into parts (multipart threshold 8 MiB).
	const key = "dir/big file.bin"
	cli.run("s3", "cp", src, "s3://cli-bucket/"+key)
	head, err := ts.client.HeadObject(t.Context(), &awss3.HeadObjectInput{Bucket: aws.String("cli-bucket"), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("HeadObject after aws s3 cp: %v", err)
	}
	multipartETag := regexp.MustCompile(`^"[0-9a-f]{32}-[0-9]+"$`)
	if aws.ToInt64(head.ContentLength) != size || !multipartETag.MatchString(aws.ToString(head.ETag)) {
		t.Fatalf("after aws s3 cp the object has %d bytes and ETag %s; want %d bytes and a multipart ETag",
			aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), size)
	}
	t.Logf("aws s3 cp stored %d bytes with ETag %s", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag))
	if out := cli.run("s3", "ls", "s3://cli-bucket/dir/"); !regexp.MustCompile(`(?m)\s` + strconv.Itoa(size) + ` big file\.bin$`).MatchString(out) {
		t.Errorf("aws s3 ls s3://cli-bucket/dir/ does not show big file.bin with %d bytes:\n%s", size, out)
	}

	// Download and compare.
	dst := filepath.Join(dir, "download.bin")
	cli.run("s3", "cp", "s3://cli-bucket/"+key, dst)
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != size || sha256Hex(got) != sha256Hex(data) {
		t.Fatalf("downloaded %d bytes with sha256 %s; uploaded %d bytes with sha256 %s", len(got), sha256Hex(got), size, sha256Hex(data))
	}

	out := cli.run("s3api", "head-object", "--bucket", "cli-bucket", "--key", key)
	var ho struct {
		ContentLength int64
		ETag          string
	}
	if err := json.Unmarshal([]byte(out), &ho); err != nil {
		t.Fatalf("aws s3api head-object printed no JSON (%v):\n%s", err, out)
	}
	if ho.ContentLength != size || ho.ETag != aws.ToString(head.ETag) {
		t.Fatalf("aws s3api head-object: ContentLength %d ETag %s; want %d and %s\n%s", ho.ContentLength, ho.ETag, size, aws.ToString(head.ETag), out)
	}

	// Remove: the object is gone for the CLI and the SDK alike.
	cli.run("s3", "rm", "s3://cli-bucket/"+key)
	if _, stderr, err := cli.try("s3api", "head-object", "--bucket", "cli-bucket", "--key", key); err == nil || !strings.Contains(stderr, "404") {
		t.Errorf("aws s3api head-object after rm: exit error %v, stderr %q; want a failure naming 404", err, stderr)
	}
	_, err = ts.client.HeadObject(t.Context(), &awss3.HeadObjectInput{Bucket: aws.String("cli-bucket"), Key: aws.String(key)})
	expectCode(t, "HeadObject after aws s3 rm", err, "", 404)
	if out, _, _ := cli.try("s3", "ls", "s3://cli-bucket/dir/"); strings.TrimSpace(out) != "" {
		t.Errorf("aws s3 ls after rm still lists:\n%s", out)
	}
}
