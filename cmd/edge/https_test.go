package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/edgecdn/edge/certs/certstest"
	"github.com/edgecdn/edge/origin/s3"
)

// putPublic writes key into bucket "public" of an all-in-one over its S3
// API, with the key pair it generated into dir.
func putPublic(t testing.TB, a addrs, dir, key, body string) {
	t.Helper()
	var keys s3.Keys
	data, err := os.ReadFile(filepath.Join(dir, s3.KeysFile))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(data, &keys)
	client := awss3.New(awss3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + a.S3), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(keys.AccessKeyID, keys.SecretAccessKey, "")})
	if _, err := client.PutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String("public"), Key: aws.String(key),
		Body: strings.NewReader(body), CacheControl: aws.String("max-age=3600")}); err != nil {
		t.Fatal(err)
	}
}

// httpsClient trusts pool alone, and dials addr whatever the URL's host:
// the URL's host is the SNI name and the Host.
func httpsClient(addr string, pool *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// make run serves its default site over HTTPS too, with a self-signed
// certificate kept in the data directory.
func TestAllInOneServesHTTPS(t *testing.T) {
	a, dir := startAllInOne(t)
	if a.HTTPS == "" {
		t.Fatal("the all-in-one serves no HTTPS")
	}
	putPublic(t, a, dir, "index.html", "<h1>secure</h1>")
	crts, _ := filepath.Glob(filepath.Join(dir, "tls", "self-signed-*.crt"))
	if len(crts) != 1 {
		t.Fatalf("self-signed certificates in the data directory: %v", crts)
	}
	pemData, _ := os.ReadFile(crts[0])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	c := httpsClient(a.HTTPS, pool)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		if resp, body := get(t, c, "https://"+host+"/index.html"); resp.StatusCode != 200 || body != "<h1>secure</h1>" {
			t.Fatalf("https://%s: %d %q", host, resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, c, "https://localhost/index.html"); !strings.HasPrefix(resp.Header.Get("Cache-Status"), "edge; hit") {
		t.Errorf("a second HTTPS request: %q, want a hit from the one cache", resp.Header.Get("Cache-Status"))
	}
}

// Sites with their own certificate files: SNI picks each site's, plain
// HTTP redirects (ACME challenges aside) where the site says so, HSTS
// goes out over HTTPS only, a name no site lists gets no certificate, and
// a certificate replaced on disk is served without a restart.
func TestHTTPSSites(t *testing.T) {
	ca := certstest.New(t)
	cfgDir := t.TempDir()
	ca.Issue(t, cfgDir, "a", "a.test", "www.a.test")
	_, _, bSerial := ca.Issue(t, cfgDir, "b", "b.test")
	path := filepath.Join(cfgDir, "edge.yaml")
	os.WriteFile(path, []byte(`public_buckets: [public]
sites:
  - hosts: [a.test, www.a.test]
    bucket: public
    tls: {cert_file: a.crt, key_file: a.key}
    https_redirect: true
    hsts: "max-age=600; includeSubDomains"
  - hosts: [b.test]
    bucket: public
    tls: {cert_file: b.crt, key_file: b.key}
`), 0o644)
	a, dir := startAllInOne(t, "-config", path)
	putPublic(t, a, dir, "doc", "hello")
	c := httpsClient(a.HTTPS, ca.Pool)

	resp, body := get(t, c, "https://www.a.test/doc")
	if resp.StatusCode != 200 || body != "hello" || resp.Header.Get("Strict-Transport-Security") != "max-age=600; includeSubDomains" {
		t.Fatalf("https://www.a.test/doc: %d %q HSTS %q", resp.StatusCode, body, resp.Header.Get("Strict-Transport-Security"))
	}
	if resp, _ := get(t, c, "https://b.test/doc"); resp.StatusCode != 200 || resp.TLS.PeerCertificates[0].SerialNumber.Int64() != bSerial || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Fatalf("https://b.test: %d, serial %d (want %d), HSTS %q", resp.StatusCode, resp.TLS.PeerCertificates[0].SerialNumber.Int64(), bSerial, resp.Header.Get("Strict-Transport-Security"))
	}

	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	plainGet := func(host, target string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+a.Edge+target, nil)
		req.Host = host
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	_, port, _ := net.SplitHostPort(a.HTTPS)
	if resp := plainGet("a.test:8080", "/doc?x=1"); resp.StatusCode != 308 || resp.Header.Get("Location") != "https://a.test:"+port+"/doc?x=1" || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain HTTP on a redirecting site: %d Location %q HSTS %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Strict-Transport-Security"))
	}
	if resp := plainGet("a.test", "/.well-known/acme-challenge/token"); resp.StatusCode == 308 {
		t.Error("an ACME HTTP-01 challenge was redirected")
	}
	if resp := plainGet("b.test", "/doc"); resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain HTTP on a site that does not redirect: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	post, _ := http.NewRequest("POST", "http://"+a.Edge+"/form", strings.NewReader("x=1"))
	post.Host = "a.test"
	if resp, err := plain.Do(post); err != nil || resp.StatusCode != 308 || resp.Header.Get("Location") != "https://a.test:"+port+"/form" {
		t.Errorf("POST on a redirecting site: %v %v", resp, err)
	}
	// An absolute-form target: the Location is built from its path and
	// query, not from the target as written.
	conn, err := net.Dial("tcp", a.Edge)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("GET http://a.test/doc?x=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"))
	raw, _ := io.ReadAll(conn)
	conn.Close()
	if !strings.Contains(string(raw), "Location: https://a.test:"+port+"/doc?x=1\r\n") {
		t.Errorf("absolute-form target:\n%s", raw)
	}

	if _, err := tls.Dial("tcp", a.HTTPS, &tls.Config{ServerName: "c.test", InsecureSkipVerify: true}); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Errorf("a name no site lists: %v, want an unrecognized_name alert", err)
	}

	// A deploy renames a new pair over the old (again every 2 s, in case
	// the watcher, started on its own goroutine, was not watching yet).
	deadline := time.Now().Add(15 * time.Second)
	for served := false; !served; {
		_, _, renewed := ca.Issue(t, cfgDir, "a", "a.test", "www.a.test")
		for wait := time.Now().Add(2 * time.Second); time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
			fresh := httpsClient(a.HTTPS, ca.Pool) // a new connection, a new handshake
			if resp, _ := get(t, fresh, "https://a.test/doc"); resp.TLS.PeerCertificates[0].SerialNumber.Int64() == renewed {
				served = true
				break
			}
		}
		if !served && time.Now().After(deadline) {
			t.Fatal("a certificate rotated on disk was not served within 15 s")
		}
	}
	if _, body := httpGet(t, "http://"+a.Admin+"/metrics", ""); !strings.Contains(body, "edge_tls_certificate_reload_failing 0") || strings.Contains(body, "edge_tls_certificate_reloads_total 0") {
		t.Errorf("metrics after the rotation:\n%s", grepLines(body, "edge_tls_"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// HTTPS mistakes in the config are refused at start, saying what to fix.
func TestHTTPSConfigRefused(t *testing.T) {
	ca := certstest.New(t)
	dir := t.TempDir()
	ca.Issue(t, dir, "a", "a.test")
	for _, c := range []struct{ site, want string }{
		{"hosts: [a.test]\n    bucket: public\n    https_redirect: true", "need the site to serve HTTPS"},
		{"hosts: [a.test]\n    bucket: public\n    tls: {cert_file: a.crt}", "cert_file and key_file"},
		{"hosts: [a.test]\n    bucket: public\n    tls: {cert_file: a.crt, key_file: a.key}\n    hsts: forever", "max-age"},
		{"hosts: [b.test]\n    bucket: public\n    tls: {cert_file: a.crt, key_file: a.key}", "does not name host b.test"},
		{"hosts: [a.test]\n    bucket: public\n    tls: {cert_file: missing.crt, key_file: a.key}", "missing.crt"},
	} {
		path := filepath.Join(dir, "edge.yaml")
		os.WriteFile(path, []byte("sites:\n  - "+c.site+"\n"), 0o644)
		if err := refuse(t, "-config", path, "-data", t.TempDir()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n%v, want an error saying %q", c.site, err, c.want)
		}
	}
	// A redirect to HTTPS needs an HTTPS listener.
	path := filepath.Join(dir, "edge.yaml")
	os.WriteFile(path, []byte("sites:\n  - hosts: [a.test]\n    bucket: public\n    tls: {cert_file: a.crt, key_file: a.key}\n    https_redirect: true\n"), 0o644)
	if err := refuse(t, "-config", path, "-data", t.TempDir(), "-tls-listen", ""); err == nil || !strings.Contains(err.Error(), "serves no HTTPS") {
		t.Errorf("https_redirect without tls_listen: %v", err)
	}
}
