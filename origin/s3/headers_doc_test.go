package s3

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite HEADERS.md from the header table")

// headersDoc renders the request-header table as HEADERS.md.
func headersDoc() []byte {
	var b bytes.Buffer
	b.WriteString(`# The x-amz-* request headers

Every x-amz-* request header the S3 API reference defines, and what this
server does with it:

- **honoured**: it does what S3 does.
- **refused**: the request is answered with an error and changes nothing,
  because the store lacks the feature (a client told "200" would believe
  an object locked, encrypted or tagged when it is not). Where a value
  merely describes what the store does anyway, that value is accepted, as
  the note says.
- **ignored**: it has no effect here and S3 would show none either.

Headers S3 does not define are ignored, as S3 ignores them; ` + "`x-amz-meta-*`" + `
is user metadata (names stored and returned in lower case). Subresources
the server does not implement (` + "`?acl`, `?tagging`, `?versioning`" + `, …) answer
501 NotImplemented.

This file is generated from the table in headers.go
(` + "`go test ./origin/s3 -run TestHeadersDoc -update`" + `); a test fails when they differ.

| header | treatment | note |
|---|---|---|
`)
	names := make([]string, 0, len(requestHeaders))
	for n := range requestHeaders {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		rule := requestHeaders[n]
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", n, rule.treat, rule.note)
	}
	return b.Bytes()
}

func TestHeadersDoc(t *testing.T) {
	want := headersDoc()
	if *update {
		if err := os.WriteFile("HEADERS.md", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("HEADERS.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("HEADERS.md differs from the header table in headers.go: run go test ./origin/s3 -run TestHeadersDoc -update")
	}
}

// Every refused header refuses something, and says what in its note.
func TestHeaderTableIsComplete(t *testing.T) {
	for name, rule := range requestHeaders {
		if len(name) > maxHeaderName || name != strings.ToLower(name) {
			t.Errorf("%s: names must be lower case and at most %d bytes", name, maxHeaderName)
		}
		if rule.note == "" {
			t.Errorf("%s has no note", name)
		}
		if rule.treat == refused && rule.check == nil {
			t.Errorf("%s is refused but has no check", name)
		}
		if rule.treat == ignored && rule.check != nil {
			t.Errorf("%s is ignored but has a check", name)
		}
	}
}
