package sigv4

import (
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	const sig = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
	const cred = "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
	f := func(value, wantDetail string) {
		t.Helper()
		a, detail := parseAuthorization(value)
		if !strings.Contains(detail, wantDetail) || (wantDetail == "") != (detail == "") {
			t.Errorf("parseAuthorization(%q) detail = %q, want %q", value, detail, wantDetail)
			return
		}
		if detail == "" && (a.cred.accessKeyID != "AKIAIOSFODNN7EXAMPLE" || a.cred.scope() != "20130524/us-east-1/s3/aws4_request" || a.signature != sig) {
			t.Errorf("parseAuthorization(%q) = %+v", value, a)
		}
	}
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host;range;x-amz-date, Signature="+sig, "")
	f("AWS4-HMAC-SHA256 "+cred+",SignedHeaders=host;range;x-amz-date,Signature="+sig, "")
	f("AWS4-HMAC-SHA256 "+cred+",  SignedHeaders=host , Signature="+sig+" ", "")
	f("AWS4-HMAC-SHA256 Signature="+sig+", SignedHeaders=host, "+cred, "")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host, Signature="+strings.ToUpper(sig), "")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host", "missing Signature")
	f("AWS4-HMAC-SHA256 SignedHeaders=host, Signature="+sig, "missing Credential")
	f("AWS4-HMAC-SHA256 "+cred+", Signature="+sig, "missing SignedHeaders")
	f("AWS4-HMAC-SHA256 "+cred+", "+cred+", SignedHeaders=host, Signature="+sig, "Credential is given twice")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host, Signature="+sig+", Signature="+sig, "Signature is given twice")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host, Signature="+sig+", Extra=1", "unknown component")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host, Signature="+sig+",", "is not a key=value")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host, Signature="+sig[:63], "64 hex digits")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host, Signature="+sig[:63]+"g", "64 hex digits")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=range, Signature="+sig, "must include host")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host;;range, Signature="+sig, "empty name")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host;host, Signature="+sig, "twice")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=Host, Signature="+sig, "invalid name")
	f("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=, Signature="+sig, "SignedHeaders is empty")
	f("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3, SignedHeaders=host, Signature="+sig, "must be access-key/date/region/service/aws4_request")
	f("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws5_request, SignedHeaders=host, Signature="+sig, "must end in aws4_request")
	f("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/2013-05-24/us-east-1/s3/aws4_request, SignedHeaders=host, Signature="+sig, "not yyyymmdd")
	f("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20131324/us-east-1/s3/aws4_request, SignedHeaders=host, Signature="+sig, "not yyyymmdd")
	f("AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature="+sig, "empty access key")
	f("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524//s3/aws4_request, SignedHeaders=host, Signature="+sig, "empty region")
	f("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1//aws4_request, SignedHeaders=host, Signature="+sig, "empty service")
	f("AWS4-HMAC-SHA256", "the algorithm must be")
}

func TestURIEncode(t *testing.T) {
	f := func(in string, keepSlash bool, want string) {
		t.Helper()
		if got := uriEncode(in, keepSlash); got != want {
			t.Errorf("uriEncode(%q, %v) = %q, want %q", in, keepSlash, got, want)
		}
	}
	f("AZaz09-_.~", false, "AZaz09-_.~")
	f("a b+c/d", false, "a%20b%2Bc%2Fd")
	f("a b+c/d", true, "a%20b%2Bc/d")
	f("€", false, "%E2%82%AC")
	f("%", false, "%25")
	f("=&?#", false, "%3D%26%3F%23")
}

func TestCanonicalQuery(t *testing.T) {
	f := func(raw, want string) {
		t.Helper()
		if got := canonicalQuery(parseQuery(raw), "X-Amz-Signature"); got != want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", raw, got, want)
		}
	}
	f("", "")
	f("uploads", "uploads=")
	f("b=2&a=1&a=0", "a=0&a=1&b=2")
	f("prefix=a%2fb&delimiter=/", "delimiter=%2F&prefix=a%2Fb")
	f("prefix=a+b", "prefix=a%2Bb")
	f("prefix=a%20b", "prefix=a%20b")
	f("k=%zz&k2=%4", "k=%25zz&k2=%254")
	f("a=1&&b=2&", "a=1&b=2")
	f("X-Amz-Signature=abc&X-Amz-Date=1", "X-Amz-Date=1")
	f("x-amz-signature=abc", "x-amz-signature=abc")
	f("a=b=c", "a=b%3Dc")
	f("=v", "=v")
	// Sorting is by encoded name: "a%20" sorts before "a-".
	f("a-=1&a =2", "a%20=2&a-=1")
}

func TestCanonicalURIs(t *testing.T) {
	f := func(raw string, want ...string) {
		t.Helper()
		if got := canonicalURIs(raw); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("canonicalURIs(%q) = %q, want %q", raw, got, want)
		}
	}
	f("", "/")
	f("/", "/")
	f("/bkt/a%2Fb", "/bkt/a%2Fb")
	f("/bkt/a//b/../c", "/bkt/a//b/../c")
	f("/bkt/a%2fb", "/bkt/a%2fb", "/bkt/a%2Fb")
	f("/bkt/a!b", "/bkt/a!b", "/bkt/a%21b")
	f("/bkt/%7E", "/bkt/%7E", "/bkt/~")
}

func TestTrimAll(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := trimAll(in); got != want {
			t.Errorf("trimAll(%q) = %q, want %q", in, got, want)
		}
	}
	f("  a   b  ", "a b")
	f("a\tb", "a\tb")
	f("\t a  \t", "a")
	f("", "")
}
