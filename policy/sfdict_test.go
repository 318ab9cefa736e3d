package policy

import (
	"reflect"
	"testing"
)

func TestParseDictionary(t *testing.T) {
	tests := []struct {
		rule string
		in   string
		want []sfMember // nil with wantErr
		err  bool
	}{
		{"RFC 8941 §3.2 bare key is Boolean true", "no-store", []sfMember{{key: "no-store", kind: sfTrue}}, false},
		{"§3.3.1 integer", "max-age=600", []sfMember{{key: "max-age", kind: sfInteger, text: "600"}}, false},
		{"§3.3.1 negative integer", "max-age=-1", []sfMember{{key: "max-age", kind: sfInteger, text: "-1"}}, false},
		{"§3.3.2 decimal", "max-age=1.5", []sfMember{{key: "max-age", kind: sfDecimal, text: "1.5"}}, false},
		{"§3.3.3 string with escapes", `private="a\"b\\c"`, []sfMember{{key: "private", kind: sfString, text: `a"b\c`}}, false},
		{"§3.3.4 token", "x=abc/def:g", []sfMember{{key: "x", kind: sfToken, text: "abc/def:g"}}, false},
		{"§3.3.6 boolean false", "no-store=?0", []sfMember{{key: "no-store", kind: sfFalse}}, false},
		{"§3.3.5 byte sequence", "x=:aGk=:", []sfMember{{key: "x", kind: sfOther}}, false},
		{"§3.1.1 inner list", "x=(a 1 \"s\");p", []sfMember{{key: "x", kind: sfOther}}, false},
		{"§3.1.2 parameters dropped", "max-age=60;a=1;b, public", []sfMember{{key: "max-age", kind: sfInteger, text: "60"}, {key: "public", kind: sfTrue}}, false},
		{"§3.2 last duplicate wins", "max-age=1, public, max-age=2", []sfMember{{key: "max-age", kind: sfInteger, text: "2"}, {key: "public", kind: sfTrue}}, false},
		{"§4.2 leading and trailing spaces, tabs after commas", "  a,\tb  ", []sfMember{{key: "a", kind: sfTrue}, {key: "b", kind: sfTrue}}, false},
		{"§4.2 empty is no members", "", nil, false},
		{"§3.1.2 upper-case key", "Max-Age=1", nil, true},
		{"§4.2.2 trailing comma", "a,", nil, true},
		{"§4.2.2 missing comma", "a b", nil, true},
		{"§4.2.3.2 key cannot start with a digit", "1a", nil, true},
		{"§4.2.5 unterminated string", `a="x`, nil, true},
		{"§4.2.5 bad escape", `a="\n"`, nil, true},
		{"§4.2.4 integer over 15 digits", "a=1234567890123456", nil, true},
		{"§4.2.4 decimal with 4 fraction digits", "a=1.2345", nil, true},
		{"§4.2.4 decimal ending in a dot", "a=1.", nil, true},
		{"§4.2.8 boolean other than ?0 or ?1", "a=?2", nil, true},
		{"§4.2.1.2 unterminated inner list", "a=(1 2", nil, true},
		{"§4.2.7 unterminated byte sequence", "a=:aGk=", nil, true},
		{"non-ASCII", "a=\"é\"", nil, true},
		{"an empty value", "a=", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			got, err := parseDictionary(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("parseDictionary(%q) error = %v, want error %v", tt.in, err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseDictionary(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	var got []string
	splitList([]string{`max-age=60, private="a, b" ,, `, "", "  no-cache"}, func(m string) { got = append(got, m) })
	want := []string{"max-age=60", `private="a, b"`, "no-cache"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("splitList = %q, want %q (RFC 9110 §5.6.1: empty members skipped, quoted commas kept)", got, want)
	}
}
