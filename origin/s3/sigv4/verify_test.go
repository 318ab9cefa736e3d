package sigv4

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// awkwardURLs are request targets whose canonical form is easy to get
// wrong: escaped slashes, empty segments, dot segments, UTF-8, spaces,
// plus signs, and query strings with and without values.
var awkwardURLs = []string{
	"http://" + testHost + "/",
	"http://" + testHost + "/bkt",
	"http://" + testHost + "/bkt/key",
	"http://" + testHost + "/bkt/a%2Fb",
	"http://" + testHost + "/bkt/a//b",
	"http://" + testHost + "/bkt/a/../b",
	"http://" + testHost + "/bkt/./a",
	"http://" + testHost + "/bkt/ключ/日本",
	"http://" + testHost + "/bkt/with%20space",
	"http://" + testHost + "/bkt/a+b",
	"http://" + testHost + "/bkt/%21%27%28%29%2A",
	"http://" + testHost + "/bkt/~tilde_-.",
	"http://" + testHost + "/bkt?list-type=2&prefix=a%2Fb&delimiter=/",
	"http://" + testHost + "/bkt?list-type=2&prefix=&delimiter=",
	"http://" + testHost + "/bkt?list-type=2&prefix=a%20b%2Bc&start-after=%E2%82%AC",
	"http://" + testHost + "/bkt/key?uploads",
	"http://" + testHost + "/bkt/key?uploads=",
	"http://" + testHost + "/bkt/key?partNumber=1&uploadId=x",
	"http://" + testHost + "/bkt/key?tagging&versionId=3",
	"http://" + testHost + "/bkt?delete",
	"http://" + testHost + "/bkt?a=2&a=1&b",
}

func TestVerifyAcceptsSDKHeaderSignatures(t *testing.T) {
	v := testVerifier(testTime)
	for _, url := range awkwardURLs {
		for _, method := range []string{"GET", "PUT", "HEAD", "DELETE", "POST"} {
			header := http.Header{"Range": {"bytes=0-  9"}, "X-Amz-Meta-Note": {"  two  spaces  "}}
			req := sdkSigned(t, method, url, nil, emptyHash, header, testTime)
			auth, err := v.Verify(fromHTTP(req))
			if err != nil {
				t.Errorf("%s %s: Verify = %v, want success", method, url, err)
				continue
			}
			if auth.AccessKeyID != testKeyID || auth.Presigned || auth.Payload != PayloadSigned || auth.ContentSHA256 != emptyHash {
				t.Errorf("%s %s: Auth = %+v", method, url, auth)
			}
			if auth.Seed != authSignature(t, req.Header.Get("Authorization")) {
				t.Errorf("%s %s: Seed = %s, want the request signature", method, url, auth.Seed)
			}
		}
	}
}

func authSignature(t *testing.T, authz string) string {
	t.Helper()
	_, sig, ok := strings.Cut(authz, "Signature=")
	if !ok {
		t.Fatalf("no signature in %q", authz)
	}
	return sig
}

func TestVerifyAcceptsSDKPresignedURLs(t *testing.T) {
	v := testVerifier(testTime.Add(time.Minute))
	for _, url := range awkwardURLs {
		for _, method := range []string{"GET", "PUT"} {
			req := sdkPresigned(t, method, url, 3600, testTime)
			auth, err := v.Verify(fromHTTP(req))
			if err != nil {
				t.Errorf("%s %s: Verify = %v, want success", method, req.URL, err)
				continue
			}
			if !auth.Presigned || auth.Payload != PayloadUnsigned || auth.AccessKeyID != testKeyID {
				t.Errorf("%s %s: Auth = %+v", method, url, auth)
			}
		}
	}
}

// The SDK sends the canonical query on the wire; other clients send the
// same parameters in another order or spelling, which must still verify.
func TestVerifyCanonicalisesTheWireQuery(t *testing.T) {
	v := testVerifier(testTime)
	f := func(signedURL, wireQuery string, wantErr error) {
		t.Helper()
		r := fromHTTP(sdkSigned(t, "GET", signedURL, nil, emptyHash, nil, testTime))
		r.RawQuery = wireQuery
		if _, err := v.Verify(r); !errors.Is(err, wantErr) {
			t.Errorf("signed %s, sent ?%s: Verify = %v, want %v", signedURL, wireQuery, err, wantErr)
		}
	}
	base := "http://" + testHost + "/bkt"
	f(base+"?list-type=2&prefix=a%2Fb&delimiter=%2F", "delimiter=/&prefix=a%2fb&list-type=2", nil)
	f(base+"?uploads=", "uploads", nil)
	f(base+"?uploads=", "uploads&", nil)
	f(base+"?prefix=%7Ex", "prefix=~x", nil)
	f(base+"?prefix=%7Ex", "prefix=%7ex", nil)
	// A bare '+' is a plus sign, as S3 reads it; the SDK never sends one.
	f(base+"?prefix=a%2Bb", "prefix=a+b", nil)
	f(base+"?prefix=a%20b", "prefix=a+b", ErrSignatureDoesNotMatch)
	f(base+"?prefix=a", "prefix=a&extra", ErrSignatureDoesNotMatch)
}

// Clients that send a reserved character literally but sign it escaped (or
// the reverse) name the same key; S3 accepts them, so do we.
func TestVerifyAcceptsEquivalentPathSpelling(t *testing.T) {
	v := testVerifier(testTime)
	f := func(signedURL, wirePath string, wantErr error) {
		t.Helper()
		r := fromHTTP(sdkSigned(t, "GET", signedURL, nil, emptyHash, nil, testTime))
		r.RawPath = wirePath
		if _, err := v.Verify(r); !errors.Is(err, wantErr) {
			t.Errorf("signed %s, sent %s: Verify = %v, want %v", signedURL, wirePath, err, wantErr)
		}
	}
	base := "http://" + testHost
	f(base+"/bkt/a%21b", "/bkt/a!b", nil)
	f(base+"/bkt/a%2Bb", "/bkt/a+b", nil)
	f(base+"/bkt/a~b", "/bkt/a%7Eb", nil)
	f(base+"/bkt/a%2Fb", "/bkt/a/b", ErrSignatureDoesNotMatch)
	f(base+"/bkt/a/b", "/bkt/a%2Fb", ErrSignatureDoesNotMatch)
	f(base+"/bkt/a//b", "/bkt/a/b", ErrSignatureDoesNotMatch)
	f(base+"/bkt/a/../b", "/bkt/b", ErrSignatureDoesNotMatch)
}

func TestVerifyRejectsTampering(t *testing.T) {
	url := "http://" + testHost + "/bkt/a%2Fb?list-type=2&prefix=p"
	header := http.Header{"X-Amz-Meta-Color": {"blue"}, "Range": {"bytes=0-9"}}
	f := func(name string, tamper func(r *Request), wantErr error) {
		t.Helper()
		r := fromHTTP(sdkSigned(t, "GET", url, nil, emptyHash, header, testTime))
		tamper(r)
		if _, err := testVerifier(testTime).Verify(r); !errors.Is(err, wantErr) {
			t.Errorf("%s: Verify = %v, want %v", name, err, wantErr)
		}
	}
	f("untouched", func(r *Request) {}, nil)
	f("unsigned header added", func(r *Request) { r.Header["x-custom"] = []string{"1"} }, nil)
	f("method", func(r *Request) { r.Method = "DELETE" }, ErrSignatureDoesNotMatch)
	f("path", func(r *Request) { r.RawPath = "/bkt/a%2Fc" }, ErrSignatureDoesNotMatch)
	f("path decoded", func(r *Request) { r.RawPath = "/bkt/a/b" }, ErrSignatureDoesNotMatch)
	f("query value", func(r *Request) { r.RawQuery = "list-type=2&prefix=q" }, ErrSignatureDoesNotMatch)
	f("query added", func(r *Request) { r.RawQuery += "&max-keys=1" }, ErrSignatureDoesNotMatch)
	f("query removed", func(r *Request) { r.RawQuery = "list-type=2" }, ErrSignatureDoesNotMatch)
	f("signed header", func(r *Request) { r.Header["x-amz-meta-color"] = []string{"red"} }, ErrSignatureDoesNotMatch)
	f("signed header repeated", func(r *Request) { r.Header["range"] = append(r.Header["range"], "bytes=1-2") }, ErrSignatureDoesNotMatch)
	f("host", func(r *Request) { r.Host = "other.example.test" }, ErrSignatureDoesNotMatch)
	f("body hash", func(r *Request) { r.Header["x-amz-content-sha256"] = []string{strings.Repeat("0", 64)} }, ErrSignatureDoesNotMatch)
	f("body hash to unsigned", func(r *Request) { r.Header["x-amz-content-sha256"] = []string{"UNSIGNED-PAYLOAD"} }, ErrSignatureDoesNotMatch)
	f("body hash invalid", func(r *Request) { r.Header["x-amz-content-sha256"] = []string{"nope"} }, ErrInvalidContentSHA256)
	f("body hash missing", func(r *Request) { delete(r.Header, "x-amz-content-sha256") }, ErrInvalidContentSHA256)
	f("date within the day", func(r *Request) { r.Header["x-amz-date"] = []string{"20260507T123046Z"} }, ErrSignatureDoesNotMatch)
	f("date of another day", func(r *Request) { r.Header["x-amz-date"] = []string{"20260508T123045Z"} }, ErrAuthorizationHeaderMalformed)
	f("date malformed", func(r *Request) { r.Header["x-amz-date"] = []string{"Thu, 07 May 2026 12:30:45 GMT"} }, ErrAuthorizationHeaderMalformed)
	f("date missing", func(r *Request) { delete(r.Header, "x-amz-date") }, ErrAuthorizationHeaderMalformed)
	f("signature", func(r *Request) {
		a := r.Header["authorization"][0]
		r.Header["authorization"] = []string{a[:len(a)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", a[len(a)-1])+1)%16])}
	}, ErrSignatureDoesNotMatch)
	f("signature upper-case hex", func(r *Request) {
		a := r.Header["authorization"][0]
		i := strings.Index(a, "Signature=") + len("Signature=")
		r.Header["authorization"] = []string{a[:i] + strings.ToUpper(a[i:])}
	}, nil)
	f("second authorization", func(r *Request) {
		r.Header["authorization"] = append(r.Header["authorization"], r.Header["authorization"][0])
	}, ErrAuthorizationHeaderMalformed)
}

func TestVerifyCredentials(t *testing.T) {
	url := "http://" + testHost + "/bkt/key"
	f := func(name string, creds Credentials, region string, wantErr error) {
		t.Helper()
		req := sdkSigned(t, "GET", url, nil, emptyHash, nil, testTime)
		if region != testRegion {
			// Re-sign for another region.
			req.Header.Del("Authorization")
			if err := s3Signer().SignHTTP(t.Context(), testCreds, req, emptyHash, "s3", region, testTime); err != nil {
				t.Fatal(err)
			}
		}
		v := testVerifier(testTime)
		v.Creds = creds
		if _, err := v.Verify(fromHTTP(req)); !errors.Is(err, wantErr) {
			t.Errorf("%s: Verify = %v, want %v", name, err, wantErr)
		}
	}
	f("right secret", staticCreds{testKeyID: testSecret}, testRegion, nil)
	f("wrong secret", staticCreds{testKeyID: testSecret + "x"}, testRegion, ErrSignatureDoesNotMatch)
	f("unknown key", staticCreds{"AKIDOTHER": testSecret}, testRegion, ErrInvalidAccessKeyID)
	f("no credentials", nil, testRegion, ErrInvalidAccessKeyID)
	f("region auto", staticCreds{testKeyID: testSecret}, "auto", nil)
	f("region not accepted", staticCreds{testKeyID: testSecret}, "eu-west-1", ErrAuthorizationHeaderMalformed)
}

func TestVerifyAcceptsAnyRegionWhenUnconfigured(t *testing.T) {
	req := sdkSigned(t, "GET", "http://"+testHost+"/bkt/key", nil, emptyHash, nil, testTime)
	req.Header.Del("Authorization")
	if err := s3Signer().SignHTTP(t.Context(), testCreds, req, emptyHash, "s3", "eu-west-1", testTime); err != nil {
		t.Fatal(err)
	}
	v := testVerifier(testTime)
	v.AcceptRegions = nil
	auth, err := v.Verify(fromHTTP(req))
	if err != nil || auth.Region != "eu-west-1" {
		t.Fatalf("Verify = %+v, %v; want region eu-west-1 accepted", auth, err)
	}
}

func TestVerifyRejectsOtherService(t *testing.T) {
	req := sdkSigned(t, "GET", "http://"+testHost+"/bkt/key", nil, emptyHash, nil, testTime)
	req.Header.Del("Authorization")
	if err := s3Signer().SignHTTP(t.Context(), testCreds, req, emptyHash, "sqs", testRegion, testTime); err != nil {
		t.Fatal(err)
	}
	if _, err := testVerifier(testTime).Verify(fromHTTP(req)); !errors.Is(err, ErrAuthorizationHeaderMalformed) {
		t.Fatalf("Verify = %v, want %v", err, ErrAuthorizationHeaderMalformed)
	}
}

func TestVerifyClockSkew(t *testing.T) {
	req := fromHTTP(sdkSigned(t, "GET", "http://"+testHost+"/bkt/key", nil, emptyHash, nil, testTime))
	f := func(now time.Time, wantErr error) {
		t.Helper()
		if _, err := testVerifier(now).Verify(req); !errors.Is(err, wantErr) {
			t.Errorf("now = signing time %+v: Verify = %v, want %v", now.Sub(testTime), err, wantErr)
		}
	}
	f(testTime.Add(14*time.Minute), nil)
	f(testTime.Add(-14*time.Minute), nil)
	f(testTime.Add(16*time.Minute), ErrRequestTimeTooSkewed)
	f(testTime.Add(-16*time.Minute), ErrRequestTimeTooSkewed)
	f(testTime.Add(15*time.Minute), nil)

	v := testVerifier(testTime.Add(2 * time.Minute))
	v.MaxSkew = time.Minute
	if _, err := v.Verify(req); !errors.Is(err, ErrRequestTimeTooSkewed) {
		t.Errorf("MaxSkew 1m, 2m late: Verify = %v, want %v", err, ErrRequestTimeTooSkewed)
	}
}

// A client may date the request with the Date header instead of X-Amz-Date.
func TestVerifyWithDateHeader(t *testing.T) {
	req := sdkSigned(t, "GET", "http://"+testHost+"/bkt/key", nil, emptyHash, nil, testTime)
	r := fromHTTP(req)
	delete(r.Header, "x-amz-date")
	// The SDK signed x-amz-date, which is now absent: re-sign by hand with
	// the SDK's canonical request but the Date header instead.
	for _, date := range []string{"Thu, 07 May 2026 12:30:45 GMT", "20260507T123045Z"} {
		r.Header["date"] = []string{date}
		a, _ := parseAuthorization(r.Header["authorization"][0])
		signed := []string{"date", "host", "x-amz-content-sha256"}
		cr := canonicalRequest(r.Method, r.RawPath, "", canonicalHeaders(r, signed), signed, emptyHash)
		sig := signature(deriveKey(testSecret, "20260507", testRegion, "s3"), requestStringToSign("20260507T123045Z", a.cred.scope(), cr))
		r.Header["authorization"] = []string{"AWS4-HMAC-SHA256 Credential=" + testKeyID + "/" + a.cred.scope() + ", SignedHeaders=date;host;x-amz-content-sha256, Signature=" + sig}
		if _, err := testVerifier(testTime).Verify(r); err != nil {
			t.Errorf("Date: %s: Verify = %v, want success", date, err)
		}
	}
}

func TestVerifyRequiresSigningOfDateAndPayloadHash(t *testing.T) {
	req := fromHTTP(sdkSigned(t, "GET", "http://"+testHost+"/bkt/key", nil, emptyHash, nil, testTime))
	authz := req.Header["authorization"][0]
	for _, drop := range []string{"x-amz-date", "x-amz-content-sha256"} {
		r := *req
		r.Header = map[string][]string{}
		for k, v := range req.Header {
			r.Header[k] = v
		}
		r.Header["authorization"] = []string{strings.Replace(authz, ";"+drop, "", 1)}
		if _, err := testVerifier(testTime).Verify(&r); !errors.Is(err, ErrAuthorizationHeaderMalformed) {
			t.Errorf("%s not signed: Verify = %v, want %v", drop, err, ErrAuthorizationHeaderMalformed)
		}
	}
}

func TestVerifyPresignedTimes(t *testing.T) {
	url := "http://" + testHost + "/bkt/key"
	f := func(expires int, now time.Time, wantErr error) {
		t.Helper()
		req := fromHTTP(sdkPresigned(t, "GET", url, expires, testTime))
		if _, err := testVerifier(now).Verify(req); !errors.Is(err, wantErr) {
			t.Errorf("X-Amz-Expires=%d, now = signing time %+v: Verify = %v, want %v", expires, now.Sub(testTime), err, wantErr)
		}
	}
	f(60, testTime, nil)
	f(60, testTime.Add(60*time.Second), nil)
	f(60, testTime.Add(61*time.Second), ErrExpiredPresign)
	f(604800, testTime.Add(6*24*time.Hour), nil)
	f(604800, testTime.Add(8*24*time.Hour), ErrExpiredPresign)
	f(604801, testTime, ErrAuthorizationQueryParametersError)
	f(0, testTime, ErrAuthorizationQueryParametersError)
	f(-1, testTime, ErrAuthorizationQueryParametersError)
	f(3600, testTime.Add(-14*time.Minute), nil)
	f(3600, testTime.Add(-16*time.Minute), ErrRequestNotYetValid)
}

func TestVerifyPresignedRejectsTampering(t *testing.T) {
	url := "http://" + testHost + "/bkt/key?versionId=7"
	f := func(name string, tamper func(r *Request), wantErr error) {
		t.Helper()
		r := fromHTTP(sdkPresigned(t, "GET", url, 3600, testTime))
		tamper(r)
		if _, err := testVerifier(testTime).Verify(r); !errors.Is(err, wantErr) {
			t.Errorf("%s: Verify = %v, want %v", name, err, wantErr)
		}
	}
	replace := func(old, new string) func(r *Request) {
		return func(r *Request) { r.RawQuery = strings.Replace(r.RawQuery, old, new, 1) }
	}
	f("untouched", func(r *Request) {}, nil)
	f("method", func(r *Request) { r.Method = "PUT" }, ErrSignatureDoesNotMatch)
	f("path", func(r *Request) { r.RawPath = "/bkt/other" }, ErrSignatureDoesNotMatch)
	f("query value", replace("versionId=7", "versionId=8"), ErrSignatureDoesNotMatch)
	f("query added", func(r *Request) { r.RawQuery += "&x-id=GetObject" }, ErrSignatureDoesNotMatch)
	f("expiry extended", replace("X-Amz-Expires=3600", "X-Amz-Expires=7200"), ErrSignatureDoesNotMatch)
	f("host", func(r *Request) { r.Host = "evil.example.test" }, ErrSignatureDoesNotMatch)
	f("signature twice", func(r *Request) {
		i := strings.Index(r.RawQuery, "X-Amz-Signature=")
		r.RawQuery += "&" + r.RawQuery[i:]
	}, ErrAuthorizationQueryParametersError)
	f("credential missing", func(r *Request) {
		var kept []string
		for p := range strings.SplitSeq(r.RawQuery, "&") {
			if !strings.HasPrefix(p, "X-Amz-Credential=") {
				kept = append(kept, p)
			}
		}
		r.RawQuery = strings.Join(kept, "&")
	}, ErrAuthorizationQueryParametersError)
	f("algorithm", replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256"), ErrAuthorizationQueryParametersError)
	f("date format", replace("X-Amz-Date=20260507T123045Z", "X-Amz-Date=2026-05-07T12:30:45Z"), ErrAuthorizationQueryParametersError)
	f("header auth too", func(r *Request) {
		r.Header["authorization"] = []string{"AWS4-HMAC-SHA256 Credential=x"}
	}, ErrMultipleAuth)
}

func TestVerifyDetectsMechanism(t *testing.T) {
	f := func(name, authz, query string, wantErr error) {
		t.Helper()
		r := &Request{Method: "GET", RawPath: "/bkt/key", RawQuery: query, Host: testHost, Header: map[string][]string{}}
		if authz != "" {
			r.Header["authorization"] = []string{authz}
		}
		if _, err := testVerifier(testTime).Verify(r); !errors.Is(err, wantErr) {
			t.Errorf("%s: Verify = %v, want %v", name, err, wantErr)
		}
	}
	f("nothing", "", "", ErrAnonymous)
	f("unrelated query", "", "versionId=1&X-Amz-Foo=2", ErrAnonymous)
	f("SigV2 header", "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", "", ErrUnsupportedAuth)
	f("SigV4A header", "AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20260507/s3/aws4_request, SignedHeaders=host, Signature=00", "", ErrUnsupportedAuth)
	f("bearer", "Bearer abc", "", ErrUnsupportedAuth)
	f("SigV2 presign", "", "AWSAccessKeyId=AKIDEXAMPLE&Expires=1700000000&Signature=abc", ErrUnsupportedAuth)
	f("algorithm without prefix space", "AWS4-HMAC-SHA256", "", ErrUnsupportedAuth)
}
