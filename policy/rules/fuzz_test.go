package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse: any bytes are a policy or an error naming the file, never a
// panic; a policy that parses decides any request without panicking and
// its tests run.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file's name: %v", err)
			}
			return
		}
		req := Request{Method: "GET", Host: "cdn.example.com", Path: "/static/a.css", Query: "v=1"}
		for _, status := range []int{200, 206, 302, 404, 500, 503} {
			d := p.Decide(req, Response{Status: status, ReceivedAt: time.Unix(1e9, 0)})
			if d.Store && d.Lifetime < 0 {
				t.Fatalf("negative lifetime %v", d.Lifetime)
			}
		}
		p.RunTests(time.Unix(1e9, 0))
	})
}
