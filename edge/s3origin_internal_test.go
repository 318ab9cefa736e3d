package edge

import "testing"

// Object URLs: the key escaped as SigV4 signs S3 paths, the bucket in the
// path or, virtual-hosted, in the host name.
func TestS3ObjectURL(t *testing.T) {
	for _, c := range []struct {
		ep        S3Endpoint
		key, want string
	}{
		{S3Endpoint{URL: "http://127.0.0.1:9000"}, "dir/a b+ü~.txt", "http://127.0.0.1:9000/b/dir/a%20b%2B%C3%BC~.txt"},
		{S3Endpoint{URL: "https://s3.example/"}, "k", "https://s3.example/b/k"},
		{S3Endpoint{URL: "https://s3.example", VirtualHosted: true}, "a/%?#", "https://b.s3.example/a/%25%3F%23"},
	} {
		o, err := NewS3Origin(c.ep, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.(*s3Origin).objectURL("b", c.key); got != c.want {
			t.Errorf("%v %q: %s, want %s", c.ep, c.key, got, c.want)
		}
	}
	for _, bad := range []S3Endpoint{{URL: "ftp://x"}, {URL: "http://x", AccessKeyID: "only-half"}} {
		if _, err := NewS3Origin(bad, nil); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
	if s := (S3Endpoint{URL: "http://x", AccessKeyID: "AK", SecretAccessKey: "very-secret"}).String(); s != "http://x (, signed as AK)" {
		t.Errorf("String: %q", s)
	}
}

// Dot segments of a key never reach the origin as dot segments.
func TestS3EscapeDotSegments(t *testing.T) {
	for key, want := range map[string]string{
		"../other/k": "%2E%2E/other/k", "a/./b": "a/%2E/b", "a/..": "a/%2E%2E", "a..b/.c/..d": "a..b/.c/..d", "...": "...",
	} {
		if got := s3Escape(key); got != want {
			t.Errorf("%q: %q, want %q", key, got, want)
		}
	}
}
