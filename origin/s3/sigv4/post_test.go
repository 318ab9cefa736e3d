package sigv4

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Two published vectors of a SigV4 POST policy signature.
const (
	// "Example: Browser-Based Upload using HTTP POST (Using AWS Signature
	// Version 4)" (sigv4-post-example): the policy with CRLF line ends.
	postExamplePolicy     = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
	postExampleSignature  = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
	postExampleCredential = exampleKeyID + "/20151229/us-east-1/s3/aws4_request"
	postExampleDate       = "20151229T000000Z"

	// botocore's generate_presigned_post("sigv4examplebucket",
	// "user/user1/photo.jpg") with the clock at 2015-12-29T00:00:00Z.
	postBotocorePolicy    = "eyJleHBpcmF0aW9uIjogIjIwMTUtMTItMjlUMDE6MDA6MDBaIiwgImNvbmRpdGlvbnMiOiBbeyJidWNrZXQiOiAic2lndjRleGFtcGxlYnVja2V0In0sIHsia2V5IjogInVzZXIvdXNlcjEvcGhvdG8uanBnIn0sIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwgeyJ4LWFtei1jcmVkZW50aWFsIjogIkFLSUFJT1NGT0ROTjdFWEFNUExFLzIwMTUxMjI5L3VzLWVhc3QtMS9zMy9hd3M0X3JlcXVlc3QifSwgeyJ4LWFtei1kYXRlIjogIjIwMTUxMjI5VDAwMDAwMFoifV19"
	postBotocoreSignature = "3364624b39010d9b06f5d9b8c9a18a6e478d261c048159c92f2fd6fa885f14e6"
)

func TestVerifyPostVectors(t *testing.T) {
	// POST signatures are not compared with the clock: any Now works.
	v := testVerifier(testTime)
	for _, tc := range []struct{ name, policy, sig string }{
		{"aws example", postExamplePolicy, postExampleSignature},
		{"aws example, upper-case hex", postExamplePolicy, strings.ToUpper(postExampleSignature)},
		{"botocore", postBotocorePolicy, postBotocoreSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := v.VerifyPOST(postExampleCredential, postExampleDate, tc.policy, tc.sig)
			if err != nil {
				t.Fatalf("VerifyPOST: %v", err)
			}
			want := time.Date(2015, 12, 29, 0, 0, 0, 0, time.UTC)
			if a.AccessKeyID != exampleKeyID || a.Region != "us-east-1" || !a.Date.Equal(want) {
				t.Fatalf("PostAuth = %+v", a)
			}
		})
	}
}

func TestVerifyPostFailures(t *testing.T) {
	v := testVerifier(testTime)
	tampered := []byte(postExamplePolicy)
	tampered[100] ^= 1
	for _, tc := range []struct {
		name                          string
		credential, date, policy, sig string
		want                          error
		detail                        string
	}{
		{"tampered policy", postExampleCredential, postExampleDate, string(tampered), postExampleSignature, ErrSignatureDoesNotMatch, ""},
		{"policy with trailing newline", postExampleCredential, postExampleDate, postExamplePolicy + "\n", postExampleSignature, ErrSignatureDoesNotMatch, ""},
		{"other policy's signature", postExampleCredential, postExampleDate, postExamplePolicy, postBotocoreSignature, ErrSignatureDoesNotMatch, ""},
		{"empty signature", postExampleCredential, postExampleDate, postExamplePolicy, "", ErrSignatureDoesNotMatch, ""},
		{"unknown key", "AKIDNOBODY/20151229/us-east-1/s3/aws4_request", postExampleDate, postExamplePolicy, postExampleSignature, ErrInvalidAccessKeyID, "AKIDNOBODY"},
		{"wrong region", exampleKeyID + "/20151229/eu-west-1/s3/aws4_request", postExampleDate, postExamplePolicy, postExampleSignature, ErrInvalidPOSTField, "eu-west-1"},
		{"wrong service", exampleKeyID + "/20151229/us-east-1/ec2/aws4_request", postExampleDate, postExamplePolicy, postExampleSignature, ErrInvalidPOSTField, "ec2"},
		{"credential of another day", exampleKeyID + "/20151228/us-east-1/s3/aws4_request", postExampleDate, postExamplePolicy, postExampleSignature, ErrInvalidPOSTField, "20151228"},
		{"malformed credential", "AKIAIOSFODNN7EXAMPLE", postExampleDate, postExamplePolicy, postExampleSignature, ErrInvalidPOSTField, "x-amz-credential"},
		{"bad terminator", exampleKeyID + "/20151229/us-east-1/s3/aws4", postExampleDate, postExamplePolicy, postExampleSignature, ErrInvalidPOSTField, "aws4_request"},
		{"empty access key", "/20151229/us-east-1/s3/aws4_request", postExampleDate, postExamplePolicy, postExampleSignature, ErrInvalidPOSTField, "empty access key"},
		{"extended date", postExampleCredential, "2015-12-29T00:00:00Z", postExamplePolicy, postExampleSignature, ErrInvalidPOSTField, "x-amz-date"},
		{"no date", postExampleCredential, "", postExamplePolicy, postExampleSignature, ErrInvalidPOSTField, "x-amz-date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := v.VerifyPOST(tc.credential, tc.date, tc.policy, tc.sig)
			if !errors.Is(err, tc.want) || a != nil {
				t.Fatalf("VerifyPOST = %+v, %v; want %v", a, err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(e.Detail, tc.detail) {
				t.Fatalf("error %v does not say %q", err, tc.detail)
			}
			if wantRegion := map[bool]string{true: testRegion}[tc.name == "wrong region"]; e.Region != wantRegion {
				t.Fatalf("error names region %q, want %q", e.Region, wantRegion)
			}
		})
	}
}

func TestVerifyPostNoCredentials(t *testing.T) {
	v := &Verifier{}
	if _, err := v.VerifyPOST(postExampleCredential, postExampleDate, postExamplePolicy, postExampleSignature); !errors.Is(err, ErrInvalidAccessKeyID) {
		t.Fatalf("VerifyPOST without credentials: %v", err)
	}
}

// The derived key comes from the cache that header signatures use.
func TestVerifyPostUsesKeyCache(t *testing.T) {
	v := testVerifier(testTime)
	for range 3 {
		if _, err := v.VerifyPOST(postExampleCredential, postExampleDate, postExamplePolicy, postExampleSignature); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(v.keys); n != 1 {
		t.Fatalf("key cache holds %d keys after three verifications of one scope, want 1", n)
	}
}
