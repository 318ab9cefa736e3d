package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/internal/childenv"
	"github.com/edgecdn/edge/origin/s3"
	"github.com/edgecdn/edge/purge"
)

// The README's five-minute tour, end to end, with the built commands and
// the AWS CLI: upload, read through the edge (a miss, then a hit),
// overwrite and see the new version at once, tag an object and purge the
// tag with edgectl.
func TestReadmeTour(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the tour uses the AWS CLI, which every machine this project builds on has: install awscli")
	}
	bin := filepath.Dir(binary(t, "edge"))
	work := t.TempDir()
	// make run, on loopback ports of the test's own.
	edge := exec.Command(filepath.Join(bin, "edge"), "-listen", "127.0.0.1:0", "-tls-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-s3", "127.0.0.1:0", "-data", filepath.Join(work, "data"))
	edge.Dir, edge.Env = work, childenv.Clean()
	stdout, _ := edge.StdoutPipe()
	if err := edge.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { edge.Process.Signal(os.Interrupt); edge.Wait() })
	var a addrs
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(20*time.Second, func() { edge.Process.Kill() })
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "edge on "); ok {
			// edge on A, HTTPS on B, admin on C, S3 API on D
			parts := strings.Split(line, ", ")
			a.Edge = parts[0]
			a.Admin = strings.TrimPrefix(parts[2], "admin on ")
			a.S3 = strings.TrimPrefix(parts[3], "S3 API on ")
			break
		}
	}
	deadline.Stop()
	go func() { // keep draining, or the edge blocks writing
		for sc.Scan() {
		}
	}()
	if a.S3 == "" {
		t.Fatal("the edge did not say where it listens")
	}
	var keys s3.Keys
	data, _ := os.ReadFile(filepath.Join(work, "data", s3.KeysFile))
	json.Unmarshal(data, &keys)
	token, _ := os.ReadFile(filepath.Join(work, "data", purge.TokenFile))
	env := childenv.Clean("AWS_ACCESS_KEY_ID="+keys.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+keys.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "EDGE_PURGE_TOKEN="+strings.TrimSpace(string(token)), "HOME="+work)
	sh := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	aws := func(args ...string) string {
		return sh(append([]string{"aws", "--endpoint-url", "http://" + a.S3}, args...)...)
	}
	read := func(path string) (string, string) {
		resp, body := httpGet(t, "http://"+a.Edge+path, "localhost")
		return body, resp.Header.Get("Cache-Status")
	}

	// The README shows these steps; it must still show them.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{
		"s3 cp hello.txt s3://public/hello.txt --cache-control max-age=3600",
		"curl -si -H 'Host: localhost' http://localhost:8080/hello.txt",
		"echo 'body{}' > style.css",
		"s3 cp style.css s3://public/css/style.css",
		"--cache-control max-age=3600 --metadata cache-tag=css",
		"curl -s http://localhost:8080/css/style.css",
		"edgectl purge --tag css --wait",
	} {
		if !strings.Contains(string(readme), step) {
			t.Errorf("the README's tour no longer shows %q: update this test with it", step)
		}
	}

	// 1. Upload with the AWS CLI; read it through the edge twice.
	os.WriteFile(filepath.Join(work, "hello.txt"), []byte("hello, edge\n"), 0o644)
	aws("s3", "cp", "hello.txt", "s3://public/hello.txt", "--cache-control", "max-age=3600")
	if body, cs := read("/hello.txt"); body != "hello, edge\n" || !strings.Contains(cs, "fwd=uri-miss") {
		t.Fatalf("first read: %q %q", body, cs)
	}
	if _, cs := read("/hello.txt"); !strings.HasPrefix(cs, "edge; hit") {
		t.Fatalf("second read: %q, want a hit", cs)
	}
	// 2. Overwrite: the purge lands before the PUT returns.
	os.WriteFile(filepath.Join(work, "hello.txt"), []byte("hello again\n"), 0o644)
	aws("s3", "cp", "hello.txt", "s3://public/hello.txt", "--cache-control", "max-age=3600")
	if body, _ := read("/hello.txt"); body != "hello again\n" {
		t.Fatalf("after the overwrite: %q", body)
	}
	// 3. Tag objects, cache them, purge the tag.
	os.WriteFile(filepath.Join(work, "style.css"), []byte("body{}"), 0o644)
	aws("s3", "cp", "style.css", "s3://public/css/style.css", "--cache-control", "max-age=3600", "--metadata", "cache-tag=css")
	read("/css/style.css")
	if _, cs := read("/css/style.css"); !strings.HasPrefix(cs, "edge; hit") {
		t.Fatalf("tagged object cached: %q", cs)
	}
	sh(filepath.Join(bin, "edgectl"), "purge", "-admin", "http://"+a.Admin, "--tag", "css", "--wait")
	if _, cs := read("/css/style.css"); strings.HasPrefix(cs, "edge; hit") {
		t.Fatalf("after purging the tag: %q, want a miss", cs)
	}
}
