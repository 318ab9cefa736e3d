package s3_test

import (
	"bufio"
	"encoding/json"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// rawHeaderLines sends a GET over a bare connection and returns the
// response's header lines exactly as the server wrote them: net/http would
// canonicalise the names this test is about.
func rawHeaderLines(t *testing.T, url, path string) []string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: s3.test\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the response head: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return lines
		}
		lines = append(lines, line)
	}
}

// S3 stores user metadata names in lower case and returns them so; a
// client that keeps the wire's case (botocore, hence the AWS CLI) must get
// back the name the user gave, not a title-cased one.
func TestUserMetadataNamesComeBackLowerCase(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("public")
	_, err := ts.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String("public"), Key: aws.String("meta"), Body: strings.NewReader("x"),
		Metadata: map[string]string{"My-Key": "1", "lower": "two words"},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := rawHeaderLines(t, ts.url, "/public/meta")
	for _, want := range []string{"x-amz-meta-my-key: 1", "x-amz-meta-lower: two words"} {
		found := false
		for _, l := range lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("response lacks the line %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}

	cli := newAWSCLI(t, ts)
	var head struct{ Metadata map[string]string }
	out := cli.run("s3api", "head-object", "--bucket", "public", "--key", "meta")
	if err := json.Unmarshal([]byte(out), &head); err != nil {
		t.Fatalf("aws s3api head-object printed no JSON (%v):\n%s", err, out)
	}
	if want := map[string]string{"my-key": "1", "lower": "two words"}; !reflect.DeepEqual(head.Metadata, want) {
		t.Fatalf("aws s3api head-object Metadata = %v, want %v", head.Metadata, want)
	}
	// The SDK, which reads names case-insensitively, agrees.
	h, err := ts.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("public"), Key: aws.String("meta")})
	if err != nil || h.Metadata["my-key"] != "1" {
		t.Fatalf("HeadObject Metadata = %v, %v", h.Metadata, err)
	}
}
