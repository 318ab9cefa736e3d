package s3

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A POST policy (S3 "POST Policy", sigv4-HTTPPOSTConstructPolicy) is a
// base64 JSON document with an expiration and a list of conditions that
// the form of a browser upload must meet:
//
//	{ "expiration": "2015-12-30T12:00:00.000Z",
//	  "conditions": [
//	    {"bucket": "sigv4examplebucket"},
//	    ["starts-with", "$key", "user/user1/"],
//	    ["eq", "$acl", "private"],
//	    ["content-length-range", 1048576, 10485760] ] }
//
// This file holds the pure part: parsing the document and evaluating its
// conditions against the (lower-cased, ${filename}-expanded) form fields.

// policyOp is a condition's match type.
type policyOp int

const (
	opEq policyOp = iota
	opStartsWith
	opContentLengthRange
)

// postCondition is one condition of a POST policy.
type postCondition struct {
	op    policyOp
	field string // lower-cased form field name, without '$'; "" for content-length-range
	value string // eq / starts-with operand
	// min and max bound the file size (content-length-range), inclusive.
	min, max int64
	// never marks a condition that can hold for no form: a field name
	// without its '$', or a range bound that is not a number. S3 accepts
	// such a policy and refuses every upload with it.
	never bool
	// text is the condition as S3 quotes it in "Policy Condition failed":
	// an array, in the policy's own spelling.
	text string
}

// postPolicy is a decoded POST policy.
type postPolicy struct {
	expiration time.Time
	conditions []postCondition
}

// policyError is what is wrong with a policy document, for the message of
// InvalidPolicyDocument ("Invalid Policy: …").
type policyError string

func (e policyError) Error() string { return "Invalid Policy: " + string(e) }

const errInvalidPolicyJSON = policyError("Invalid JSON.")

// parsePostPolicy decodes a policy document (the JSON, already base64
// decoded). The member names expiration and conditions are case-sensitive
// and no other member is allowed; condition operators and field names are
// case-insensitive, values are not.
func parsePostPolicy(doc []byte) (*postPolicy, error) {
	var top map[string]json.RawMessage
	if err := decodeStrictJSON(translatePolicyEscapes(doc), &top); err != nil || top == nil {
		return nil, errInvalidPolicyJSON
	}
	for _, name := range slices.Sorted(maps.Keys(top)) {
		if name != "expiration" && name != "conditions" {
			return nil, policyError(fmt.Sprintf("Unexpected: '%s'.", strings.ToLower(name)))
		}
	}
	rawExp, ok := top["expiration"]
	if !ok {
		return nil, policyError("Policy missing expiration.")
	}
	rawConds, ok := top["conditions"]
	if !ok {
		return nil, policyError("Policy missing conditions.")
	}
	p := &postPolicy{}
	var exp string
	if json.Unmarshal(rawExp, &exp) != nil {
		return nil, policyError(fmt.Sprintf("Invalid 'expiration' value: '%s'.", compactJSON(rawExp)))
	}
	t, err := parsePolicyTime(exp)
	if err != nil {
		return nil, policyError(fmt.Sprintf("Invalid 'expiration' value: '%s'.", exp))
	}
	p.expiration = t
	var conds []json.RawMessage
	if jsonKind(rawConds) != '[' || json.Unmarshal(rawConds, &conds) != nil {
		return nil, policyError("Invalid 'conditions' value: must be a List.")
	}
	for _, raw := range conds {
		c, err := parseCondition(raw)
		if err != nil {
			return nil, err
		}
		p.conditions = append(p.conditions, c)
	}
	return p, nil
}

// parsePolicyTime reads an expiration: ISO 8601 in UTC with a literal Z,
// with or without fractional seconds ("2015-12-30T12:00:00.000Z" as in
// AWS's examples and minio-go, "2015-12-30T12:00:00Z" as botocore sends).
// An offset or a space for the T is refused, as S3 refuses it.
func parsePolicyTime(s string) (time.Time, error) {
	// Go accepts a fractional second after the seconds even when the
	// layout has none.
	return time.Parse("2006-01-02T15:04:05Z", s)
}

func parseCondition(raw json.RawMessage) (postCondition, error) {
	switch jsonKind(raw) {
	case '{':
		return parseSimpleCondition(raw)
	case '[':
		return parseArrayCondition(raw)
	}
	return postCondition{}, policyError("Invalid condition test: must be a List or Object.")
}

// parseSimpleCondition reads {"field": "value"}, an exact match.
func parseSimpleCondition(raw json.RawMessage) (postCondition, error) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return postCondition{}, errInvalidPolicyJSON
	}
	if len(m) != 1 {
		return postCondition{}, policyError("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
	}
	var name string
	var rv json.RawMessage
	for k, v := range m {
		name, rv = k, v
	}
	var value string
	if jsonKind(rv) != '"' || json.Unmarshal(rv, &value) != nil {
		return postCondition{}, policyError("Invalid Simple-Condition: value must be a string.")
	}
	return postCondition{
		op:    opEq,
		field: strings.ToLower(name),
		value: value,
		text:  "[" + quoteJSON("eq") + ", " + quoteJSON("$"+name) + ", " + quoteJSON(value) + "]",
	}, nil
}

// parseArrayCondition reads ["eq"|"starts-with", "$field", "value"] and
// ["content-length-range", min, max].
func parseArrayCondition(raw json.RawMessage) (postCondition, error) {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return postCondition{}, errInvalidPolicyJSON
	}
	var opName string
	if len(items) == 0 || jsonKind(items[0]) != '"' || json.Unmarshal(items[0], &opName) != nil {
		return postCondition{}, policyError("Invalid Condition: missing operation identifier.")
	}
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = compactJSON(it)
	}
	c := postCondition{text: "[" + strings.Join(texts, ", ") + "]"}
	switch strings.ToLower(opName) {
	case "eq":
		c.op = opEq
	case "starts-with":
		c.op = opStartsWith
	case "content-length-range":
		c.op = opContentLengthRange
	default:
		return postCondition{}, policyError(fmt.Sprintf("Invalid Condition: unknown operation '%s'.", opName))
	}
	if len(items) != 3 {
		return postCondition{}, policyError(fmt.Sprintf("Invalid %s: wrong number of arguments.", strings.ToLower(opName)))
	}
	if c.op == opContentLengthRange {
		var ok bool
		var err error
		if c.min, ok, err = rangeBound(items[1]); err == nil && ok {
			c.max, ok, err = rangeBound(items[2])
		}
		if err != nil {
			return postCondition{}, err
		}
		c.never = !ok
		return c, nil
	}
	var field string
	if jsonKind(items[1]) != '"' || json.Unmarshal(items[1], &field) != nil ||
		jsonKind(items[2]) != '"' || json.Unmarshal(items[2], &c.value) != nil {
		return postCondition{}, policyError(fmt.Sprintf("Invalid %s: the field name and the value must be strings.", strings.ToLower(opName)))
	}
	name, ok := strings.CutPrefix(field, "$")
	c.field, c.never = strings.ToLower(name), !ok
	return c, nil
}

// rangeBound reads a content-length-range bound: a non-negative integer,
// as a JSON number or a string of digits. ok is false for a string that is
// not a number (the condition then never holds, as S3 treats it); a
// fraction, an exponent, a negative number or another JSON type makes the
// policy invalid.
func rangeBound(raw json.RawMessage) (n int64, ok bool, err error) {
	switch jsonKind(raw) {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false, errInvalidPolicyJSON
		}
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || n < 0 {
			return 0, false, nil
		}
		return n, true, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		n, perr := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
		if perr != nil {
			return 0, false, errInvalidPolicyJSON
		}
		if n < 0 {
			return 0, false, policyError("Invalid content-length-range: the bounds must not be negative.")
		}
		return n, true, nil
	}
	return 0, false, errInvalidPolicyJSON
}

// expired reports whether the policy may no longer be used at now; the
// expiration instant itself is still valid.
func (p *postPolicy) expired(now time.Time) bool { return now.After(p.expiration) }

// failedCondition returns the first condition (other than the size range,
// which is checked as the file streams) that the form does not meet, or
// nil. fields maps lower-cased field names to their expanded values; a
// condition on an absent field fails, even starts-with "".
func (p *postPolicy) failedCondition(fields map[string]string) *postCondition {
	for i := range p.conditions {
		c := &p.conditions[i]
		if !c.holds(fields) {
			return c
		}
	}
	return nil
}

func (c *postCondition) holds(fields map[string]string) bool {
	if c.never {
		return false
	}
	if c.op == opContentLengthRange {
		return true // the size is checked while the file streams
	}
	v, ok := fields[c.field]
	if !ok {
		return false
	}
	if c.op == opEq {
		return v == c.value
	}
	return startsWith(c.field, v, c.value)
}

// startsWith is the starts-with match. A Content-Type holding commas is a
// list, each of whose entries must start with the prefix; other fields are
// plain strings whatever they hold. An empty prefix matches anything.
func startsWith(field, value, prefix string) bool {
	if field != "content-type" || prefix == "" || !strings.Contains(value, ",") {
		return strings.HasPrefix(value, prefix)
	}
	for entry := range strings.SplitSeq(value, ",") {
		if !strings.HasPrefix(strings.TrimSpace(entry), prefix) {
			return false
		}
	}
	return true
}

// covers reports whether some eq or starts-with condition names the field
// (lower-cased).
func (p *postPolicy) covers(field string) bool {
	for i := range p.conditions {
		c := &p.conditions[i]
		if c.op != opContentLengthRange && !c.never && c.field == field {
			return true
		}
	}
	return false
}

// exemptFromPolicy lists the fields no condition needs to name: the
// signature, the file and the policy itself, and x-ignore-* (sigv4 "POST
// Policy", Conditions). x-amz-security-token is not among them.
func exemptFromPolicy(field string) bool {
	switch field {
	case "x-amz-signature", "file", "policy":
		return true
	}
	return strings.HasPrefix(field, "x-ignore-")
}

// extraFields returns the names (as sent) of the form fields that no
// condition covers.
func (p *postPolicy) extraFields(names []string) []string {
	var extra []string
	for _, name := range names {
		if f := strings.ToLower(name); !exemptFromPolicy(f) && !p.covers(f) {
			extra = append(extra, name)
		}
	}
	return extra
}

// sizeRange is the file size every content-length-range allows: [min,
// max], max -1 when no condition bounds it.
func (p *postPolicy) sizeRange() (minSize, maxSize int64) {
	maxSize = -1
	for _, c := range p.conditions {
		if c.op != opContentLengthRange || c.never {
			continue
		}
		minSize = max(minSize, c.min)
		if maxSize < 0 || c.max < maxSize {
			maxSize = c.max
		}
	}
	return minSize, maxSize
}

// translatePolicyEscapes turns the two escapes the POST policy page lists
// but JSON lacks into JSON: \$ (a dollar sign) and \v (vertical tab),
// inside strings only. Everything else is left for the JSON decoder.
func translatePolicyEscapes(doc []byte) []byte {
	if !bytes.Contains(doc, []byte(`\$`)) && !bytes.Contains(doc, []byte(`\v`)) {
		return doc
	}
	out := make([]byte, 0, len(doc)+8)
	inString := false
	for i := 0; i < len(doc); i++ {
		ch := doc[i]
		switch {
		case !inString:
			inString = ch == '"'
		case ch == '"':
			inString = false
		case ch == '\\' && i+1 < len(doc):
			i++
			switch doc[i] {
			case '$':
				out = append(out, '$')
			case 'v':
				out = append(out, `\u000b`...)
			default:
				out = append(out, '\\', doc[i])
			}
			continue
		}
		out = append(out, ch)
	}
	return out
}

// decodeStrictJSON decodes exactly one JSON value, with numbers kept as
// written, and nothing after it.
func decodeStrictJSON(doc []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON document")
	}
	return nil
}

// jsonKind is the first byte of a JSON value: '{', '[', '"', a digit or
// '-', 't', 'f' or 'n'.
func jsonKind(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// quoteJSON is s as a JSON string, without HTML escaping.
func quoteJSON(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
