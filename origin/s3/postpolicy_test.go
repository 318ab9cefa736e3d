package s3

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// awsExamplePolicy is the policy of AWS's "Browser-Based Upload using HTTP
// POST (Using AWS Signature Version 4)" example, as signed (CRLF line ends).
const awsExamplePolicy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"

// The AWS example's form, with names as its HTML spells them.
var awsExampleForm = []struct{ name, value string }{
	{"key", "user/user1/${filename}"},
	{"acl", "public-read"},
	{"success_action_redirect", "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},
	{"Content-Type", "image/jpeg"},
	{"x-amz-meta-uuid", "14365123651274"},
	{"x-amz-server-side-encryption", "AES256"},
	{"X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},
	{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
	{"X-Amz-Date", "20151229T000000Z"},
	{"x-amz-meta-tag", ""},
	{"Policy", awsExamplePolicy},
	{"X-Amz-Signature", "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"},
}

func mustPolicy(t *testing.T, doc string) *postPolicy {
	t.Helper()
	p, err := parsePostPolicy([]byte(doc))
	if err != nil {
		t.Fatalf("parsePostPolicy(%s): %v", doc, err)
	}
	return p
}

// The AWS example parses, and its form (with a file photo.jpg) meets every
// condition and names no field the policy does not cover.
func TestPostPolicyAWSExample(t *testing.T) {
	doc, err := base64.StdEncoding.DecodeString(awsExamplePolicy)
	if err != nil {
		t.Fatal(err)
	}
	p := mustPolicy(t, string(doc))
	if want := time.Date(2015, 12, 30, 12, 0, 0, 0, time.UTC); !p.expiration.Equal(want) {
		t.Fatalf("expiration %v, want %v", p.expiration, want)
	}
	if len(p.conditions) != 11 {
		t.Fatalf("%d conditions, want 11", len(p.conditions))
	}
	values := map[string]string{"bucket": "sigv4examplebucket"}
	var names []string
	for _, f := range awsExampleForm {
		names = append(names, f.name)
		values[strings.ToLower(f.name)] = strings.ReplaceAll(f.value, "${filename}", "photo.jpg")
	}
	if c := p.failedCondition(values); c != nil {
		t.Fatalf("condition %s failed", c.text)
	}
	if extra := p.extraFields(names); len(extra) != 0 {
		t.Fatalf("extra fields %v", extra)
	}
	if !p.expired(time.Date(2015, 12, 30, 12, 0, 0, 1, time.UTC)) || p.expired(time.Date(2015, 12, 30, 12, 0, 0, 0, time.UTC)) {
		t.Fatal("the policy must be valid up to its expiration instant and expired after")
	}
	values["key"] = "user/user2/photo.jpg"
	if c := p.failedCondition(values); c == nil || c.text != `["starts-with", "$key", "user/user1/"]` {
		t.Fatalf("a key outside user/user1/ failed %v", c)
	}
}

func TestParsePostPolicyErrors(t *testing.T) {
	const exp = `"expiration": "2030-01-01T00:00:00Z"`
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"not json", `{`, "Invalid Policy: Invalid JSON."},
		{"not an object", `[]`, "Invalid Policy: Invalid JSON."},
		{"null", `null`, "Invalid Policy: Invalid JSON."},
		{"trailing data", `{` + exp + `, "conditions": []} {}`, "Invalid Policy: Invalid JSON."},
		{"trailing comma", `{` + exp + `, "conditions": [{"key": "a"},]}`, "Invalid Policy: Invalid JSON."},
		{"no expiration", `{"conditions": []}`, "Invalid Policy: Policy missing expiration."},
		{"no conditions", `{` + exp + `}`, "Invalid Policy: Policy missing conditions."},
		{"EXPIRATION", `{"EXPIRATION": "2030-01-01T00:00:00Z", "conditions": []}`, "Invalid Policy: Unexpected: 'expiration'."},
		{"CONDITIONS", `{` + exp + `, "CONDITIONS": []}`, "Invalid Policy: Unexpected: 'conditions'."},
		{"IAM policy", `{"Version": "2012-10-17", "Statement": []}`, "Invalid Policy: Unexpected: 'statement'."},
		{"expiration with offset", `{"expiration": "2030-01-01T00:00:00+02:00", "conditions": []}`, "Invalid Policy: Invalid 'expiration' value: '2030-01-01T00:00:00+02:00'."},
		{"expiration with a space", `{"expiration": "2030-01-01 00:00:00 UTC", "conditions": []}`, "Invalid Policy: Invalid 'expiration' value: '2030-01-01 00:00:00 UTC'."},
		{"expiration a number", `{"expiration": 1893456000, "conditions": []}`, "Invalid Policy: Invalid 'expiration' value: '1893456000'."},
		{"conditions an object", `{` + exp + `, "conditions": {}}`, "Invalid Policy: Invalid 'conditions' value: must be a List."},
		{"condition a string", `{` + exp + `, "conditions": ["key"]}`, "Invalid Policy: Invalid condition test: must be a List or Object."},
		{"empty simple condition", `{` + exp + `, "conditions": [{}]}`, "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."},
		{"two properties", `{` + exp + `, "conditions": [{"bucket": "b", "key": "k"}]}`, "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."},
		{"simple condition number", `{` + exp + `, "conditions": [{"Content-Length": 6199034}]}`, "Invalid Policy: Invalid Simple-Condition: value must be a string."},
		{"simple condition null", `{` + exp + `, "conditions": [{"success_action_redirect": null}]}`, "Invalid Policy: Invalid Simple-Condition: value must be a string."},
		{"empty array", `{` + exp + `, "conditions": [[]]}`, "Invalid Policy: Invalid Condition: missing operation identifier."},
		{"operator a number", `{` + exp + `, "conditions": [[1, "$key", "a"]]}`, "Invalid Policy: Invalid Condition: missing operation identifier."},
		{"unknown operator", `{` + exp + `, "conditions": [["in", "$key", "a"]]}`, "Invalid Policy: Invalid Condition: unknown operation 'in'."},
		{"eq two items", `{` + exp + `, "conditions": [["eq", "$key"]]}`, "Invalid Policy: Invalid eq: wrong number of arguments."},
		{"starts-with four items", `{` + exp + `, "conditions": [["starts-with", "$key", "a", "b"]]}`, "Invalid Policy: Invalid starts-with: wrong number of arguments."},
		{"eq number value", `{` + exp + `, "conditions": [["eq", "$key", 5]]}`, "Invalid Policy: Invalid eq: the field name and the value must be strings."},
		{"range one bound", `{` + exp + `, "conditions": [["content-length-range", 0]]}`, "Invalid Policy: Invalid content-length-range: wrong number of arguments."},
		{"range negative", `{` + exp + `, "conditions": [["content-length-range", -1, 0]]}`, "Invalid Policy: Invalid content-length-range: the bounds must not be negative."},
		{"range float", `{` + exp + `, "conditions": [["content-length-range", 0, 512.0]]}`, "Invalid Policy: Invalid JSON."},
		{"range exponent", `{` + exp + `, "conditions": [["content-length-range", 0, 1e3]]}`, "Invalid Policy: Invalid JSON."},
		{"range null", `{` + exp + `, "conditions": [["content-length-range", 0, null]]}`, "Invalid Policy: Invalid JSON."},
		{"range too big", `{` + exp + `, "conditions": [["content-length-range", 0, 99999999999999999999]]}`, "Invalid Policy: Invalid JSON."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePostPolicy([]byte(tc.doc))
			var pe policyError
			if !errors.As(err, &pe) || err.Error() != tc.want {
				t.Fatalf("parsePostPolicy = %v, %v; want %q", p, err, tc.want)
			}
		})
	}
}

func TestPostPolicyConditions(t *testing.T) {
	form := map[string]string{
		"bucket":                  "bkt",
		"key":                     "user/eric/photo.jpg",
		"acl":                     "private",
		"content-type":            "image/jpeg",
		"success_action_redirect": "https://example.com/done",
		"x-amz-meta-tag":          "",
		"x-amz-meta-foo":          "barclamp",
	}
	for _, tc := range []struct {
		name, cond string
		holds      bool
	}{
		{"simple", `{"key": "user/eric/photo.jpg"}`, true},
		{"simple other value", `{"key": "user/eric/other.jpg"}`, false},
		{"values are case-sensitive", `{"key": "USER/eric/photo.jpg"}`, false},
		{"field names are not", `{"KeY": "user/eric/photo.jpg"}`, true},
		{"eq", `["eq", "$acl", "private"]`, true},
		{"EQ", `["EQ", "$ACL", "private"]`, true},
		{"eq fails", `["eq", "$acl", "public-read"]`, false},
		{"eq on the bucket", `["eq", "$bucket", "bkt"]`, true},
		{"bucket", `{"bucket": "other"}`, false},
		{"eq without $", `["eq", "acl", "private"]`, false},
		{"eq on an absent field", `["eq", "$x-amz-meta-absent", ""]`, false},
		{"starts-with", `["starts-with", "$key", "user/eric/"]`, true},
		{"StArTs-WiTh", `["StArTs-WiTh", "$KeY", "user/"]`, true},
		{"starts-with fails", `["starts-with", "$key", "user/bob/"]`, false},
		{"starts-with case", `["starts-with", "$key", "User/"]`, false},
		{"starts-with empty", `["starts-with", "$success_action_redirect", ""]`, true},
		{"starts-with empty on empty", `["starts-with", "$x-amz-meta-tag", ""]`, true},
		{"starts-with empty on absent", `["starts-with", "$Content-Disposition", ""]`, false},
		{"meta", `["starts-with", "$x-amz-meta-foo", "bar"]`, true},
		{"meta must equal", `["eq", "$x-amz-meta-foo", ""]`, false},
		{"range", `["content-length-range", 0, 10]`, true},
		{"range as strings", `["content-length-range", "5", "10"]`, true},
		{"range not a number", `["content-length-range", "test", "10"]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPolicy(t, `{"expiration": "2030-01-01T00:00:00.000Z", "conditions": [`+tc.cond+`]}`)
			if got := p.failedCondition(form) == nil; got != tc.holds {
				t.Fatalf("holds = %v, want %v", got, tc.holds)
			}
		})
	}
}

// Content-Type values holding commas are lists for starts-with; other
// fields are plain strings.
func TestStartsWithContentTypeList(t *testing.T) {
	for _, tc := range []struct {
		field, value, prefix string
		want                 bool
	}{
		{"content-type", "image/jpg,image/png,image/gif", "image/", true},
		{"content-type", "image/jpg, image/png", "image/", true},
		{"content-type", "image/jpg,text/plain", "image/", false},
		{"content-type", "text/plain,image/jpg", "image/", false},
		{"content-type", "image/jpg,text/plain", "", true},
		{"content-type", "image/jpg,", "image/", false},
		{"content-type", "image/png", "image/", true},
		{"key", "image/jpg,text/plain", "image/", true},
		{"cache-control", "max-age=1,public", "max-age", true},
	} {
		if got := startsWith(tc.field, tc.value, tc.prefix); got != tc.want {
			t.Errorf("startsWith(%q, %q, %q) = %v, want %v", tc.field, tc.value, tc.prefix, got, tc.want)
		}
	}
}

func TestPostPolicyExtraFields(t *testing.T) {
	p := mustPolicy(t, `{"expiration": "2030-01-01T00:00:00Z", "conditions": [
		{"bucket": "b"}, ["starts-with", "$key", ""], {"X-Amz-Date": "d"}, ["eq", "noDollar", "x"],
		["content-length-range", 0, 10]]}`)
	names := []string{"key", "x-amz-date", "Policy", "X-Amz-Signature", "file", "x-ignore-flash", "bucket", "Filename", "noDollar", "x-amz-security-token"}
	got := strings.Join(p.extraFields(names), ",")
	if want := "Filename,noDollar,x-amz-security-token"; got != want {
		t.Fatalf("extra fields %q, want %q", got, want)
	}
}

func TestPostPolicySizeRange(t *testing.T) {
	for _, tc := range []struct {
		conds    string
		min, max int64
	}{
		{`{"key": "a"}`, 0, -1},
		{`["content-length-range", 1048576, 10485760]`, 1048576, 10485760},
		{`["content-length-range", "5", "10"]`, 5, 10},
		{`["content-length-range", 0, 100], ["content-length-range", 10, 1000]`, 10, 100},
		{`["content-length-range", 10, 5]`, 10, 5},
		{`["content-length-range", "x", 5]`, 0, -1}, // never holds: fails as a condition
	} {
		p := mustPolicy(t, `{"expiration": "2030-01-01T00:00:00Z", "conditions": [`+tc.conds+`]}`)
		if lo, hi := p.sizeRange(); lo != tc.min || hi != tc.max {
			t.Errorf("%s: range [%d, %d], want [%d, %d]", tc.conds, lo, hi, tc.min, tc.max)
		}
	}
}

// The escapes the policy page lists beyond JSON's: \$ and \v, in strings.
func TestPolicyEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`["starts-with", "$key", "\$foo"]`, `["starts-with", "$key", "$foo"]`},
		{`["starts-with", "$key", "\\$foo"]`, `["starts-with", "$key", "\\$foo"]`},
		{`["eq", "$key", "a\vb"]`, `["eq", "$key", "a\u000bb"]`},
		{`["eq", "$key", "\"\$"]`, `["eq", "$key", "\"$"]`},
		{`{"a\$": 1} \$`, `{"a$": 1} \$`},
		{`"\`, `"\`},
	} {
		if got := string(translatePolicyEscapes([]byte(tc.in))); got != tc.want {
			t.Errorf("translatePolicyEscapes(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	// s3-tests' escaped_field_values: the JSON string "\\$foo" is the
	// value \$foo, which the key \$foo.txt starts with.
	p := mustPolicy(t, `{"expiration": "2030-01-01T00:00:00Z", "conditions": [["starts-with", "$key", "\\$foo"]]}`)
	if c := p.failedCondition(map[string]string{"key": `\$foo.txt`}); c != nil {
		t.Fatalf("condition %s failed", c.text)
	}
	p = mustPolicy(t, `{"expiration": "2030-01-01T00:00:00Z", "conditions": [["starts-with", "$key", "\$foo"]]}`)
	if c := p.failedCondition(map[string]string{"key": `$foo.txt`}); c != nil {
		t.Fatalf("condition %s failed", c.text)
	}
}

// A failed condition is quoted as S3 quotes it: an array in the policy's
// own spelling, simple conditions as eq.
func TestPostConditionText(t *testing.T) {
	for _, tc := range []struct{ cond, want string }{
		{`{"key": "a/b"}`, `["eq", "$key", "a/b"]`},
		{`{"Content-Disposition": "filename=\"x.png\""}`, `["eq", "$Content-Disposition", "filename=\"x.png\""]`},
		{`[ "eq" ,"$X-Amz-Date",  "2"]`, `["eq", "$X-Amz-Date", "2"]`},
		{`["content-length-range", "test", "10"]`, `["content-length-range", "test", "10"]`},
		{`{"key": "<&>"}`, `["eq", "$key", "<&>"]`},
	} {
		p := mustPolicy(t, `{"expiration": "2030-01-01T00:00:00Z", "conditions": [`+tc.cond+`]}`)
		if got := p.conditions[0].text; got != tc.want {
			t.Errorf("%s quoted as %s, want %s", tc.cond, got, tc.want)
		}
	}
}

func TestPolicyTime(t *testing.T) {
	for _, s := range []string{"2015-12-30T12:00:00.000Z", "2015-12-30T12:00:00Z", "2015-12-30T12:00:00.123456789Z"} {
		if _, err := parsePolicyTime(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"2015-12-30", "2015-12-30T12:00:00", "2015-12-30T12:00:00+00:00", "20151230T120000Z", ""} {
		if _, err := parsePolicyTime(s); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}

func TestRedirectURL(t *testing.T) {
	for _, tc := range []struct {
		target, want string
		ok           bool
	}{
		{"http://example.com/done.html", `http://example.com/done.html?bucket=bkt&key=a%2Fb+c.txt&etag=%22e1%22`, true},
		{"https://example.com/done?x=1&y=a b", `https://example.com/done?x=1&y=a b&bucket=bkt&key=a%2Fb+c.txt&etag=%22e1%22`, true},
		{"https://example.com/done?#frag", `https://example.com/done?bucket=bkt&key=a%2Fb+c.txt&etag=%22e1%22#frag`, true},
		{"/relative/path", "", false},
		{"example.com/done", "", false},
		{"ftp://example.com/x", "", false},
		{"http://", "", false},
		{"http://example.com/\r\nX: y", "", false},
		{"", "", false},
	} {
		got, ok := redirectURL(tc.target, "bkt", "a/b c.txt", "e1")
		if got != tc.want || ok != tc.ok {
			t.Errorf("redirectURL(%q) = %q, %v; want %q, %v", tc.target, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMetaValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain ascii", "plain ascii"},
		{"ÄMÄZÕÑ S3", "=?UTF-8?q?=C3=84M=C3=84Z=C3=95=C3=91_S3?="},
		{"line1\r\nline2", "=?UTF-8?q?line1=0D=0Aline2?="},
		{"\xff\xfe", "=?UTF-8?b?//4=?="},
	} {
		if got := metaValue(tc.in); got != tc.want {
			t.Errorf("metaValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Program Files\directory1\file.txt`: "file.txt",
		"dir/sub/photo.jpg":                    "photo.jpg",
		"photo.jpg":                            "photo.jpg",
		"dir/":                                 "",
		"":                                     "",
	} {
		if got := baseName(in); got != want {
			t.Errorf("baseName(%q) = %q, want %q", in, got, want)
		}
	}
}
