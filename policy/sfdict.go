package policy

import "errors"

// errStructuredField is returned by parseDictionary for a field value that is
// not a valid RFC 8941 Dictionary; RFC 9213 §2.1 then has the whole targeted
// field ignored.
var errStructuredField = errors.New("policy: invalid structured field dictionary")

// sfKind is the type of a dictionary member's value, as far as cache
// directives care.
type sfKind int

const (
	sfTrue    sfKind = iota // bare key, or ?1: a directive without argument
	sfFalse                 // ?0: no directive this edge knows takes it
	sfInteger               // text holds the digits, possibly with a leading '-'
	sfDecimal               // text holds the number as written
	sfString                // text holds the unescaped string
	sfToken                 // text holds the token
	sfOther                 // byte sequence, inner list or date: no directive takes one
)

// sfMember is one member of a Structured Fields Dictionary; its parameters
// are dropped, as RFC 9213 §2.1 says they are to be ignored.
type sfMember struct {
	key  string
	kind sfKind
	text string
}

// parseDictionary parses value as an RFC 8941 §4.2.2 Dictionary. When a key
// repeats, the last value wins (RFC 8941 §3.2). An empty value yields no
// members and no error.
func parseDictionary(value string) ([]sfMember, error) {
	p := sfParser{s: value}
	p.skip(isSP)
	var members []sfMember
	for !p.done() {
		key, ok := p.key()
		if !ok {
			return nil, errStructuredField
		}
		m := sfMember{key: key, kind: sfTrue}
		if p.peek() == '=' {
			p.i++
			if p.peek() == '(' {
				if !p.innerList() {
					return nil, errStructuredField
				}
				m.kind = sfOther
			} else if m.kind, m.text, ok = p.bareItem(); !ok {
				return nil, errStructuredField
			}
		}
		if !p.parameters() {
			return nil, errStructuredField
		}
		members = appendLastWins(members, m)
		p.skip(isOWS)
		if p.done() {
			break
		}
		if p.s[p.i] != ',' {
			return nil, errStructuredField
		}
		p.i++
		p.skip(isOWS)
		if p.done() { // a trailing comma is an error
			return nil, errStructuredField
		}
	}
	return members, nil
}

func appendLastWins(members []sfMember, m sfMember) []sfMember {
	for i := range members {
		if members[i].key == m.key {
			members[i] = m
			return members
		}
	}
	return append(members, m)
}

type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfParser) skip(match func(byte) bool) {
	for !p.done() && match(p.s[p.i]) {
		p.i++
	}
}

// key parses an RFC 8941 key: lcalpha or '*', then lcalpha, digits, "_-.*".
func (p *sfParser) key() (string, bool) {
	start := p.i
	if c := p.peek(); !isLower(c) && c != '*' {
		return "", false
	}
	p.i++
	p.skip(func(c byte) bool {
		return isLower(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*'
	})
	return p.s[start:p.i], true
}

// parameters parses and discards ";key[=value]" parameters.
func (p *sfParser) parameters() bool {
	for p.peek() == ';' {
		p.i++
		p.skip(isSP)
		if _, ok := p.key(); !ok {
			return false
		}
		if p.peek() == '=' {
			p.i++
			if _, _, ok := p.bareItem(); !ok {
				return false
			}
		}
	}
	return true
}

// innerList parses and discards "(item item ...)" with parameters.
func (p *sfParser) innerList() bool {
	p.i++ // '('
	for !p.done() {
		p.skip(isSP)
		if p.peek() == ')' {
			p.i++
			return true
		}
		if _, _, ok := p.bareItem(); !ok {
			return false
		}
		if !p.parameters() {
			return false
		}
		if c := p.peek(); c != ' ' && c != ')' {
			return false
		}
	}
	return false
}

func (p *sfParser) bareItem() (sfKind, string, bool) {
	switch c := p.peek(); {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		return p.str()
	case c == '*' || isAlpha(c):
		return p.token()
	case c == ':':
		return p.bytes()
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			p.i += 2
			if p.s[p.i-1] == '1' {
				return sfTrue, "", true
			}
			return sfFalse, "", true
		}
		return 0, "", false
	case c == '@': // RFC 9651 Date: an integer no cache directive takes
		p.i++
		if k, _, ok := p.number(); !ok || k != sfInteger {
			return 0, "", false
		}
		return sfOther, "", true
	default:
		return 0, "", false
	}
}

// number parses an Integer (at most 15 digits) or a Decimal (at most 12
// integer digits and 1 to 3 fraction digits), RFC 8941 §4.2.4.
func (p *sfParser) number() (sfKind, string, bool) {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	digitsStart := p.i
	p.skip(isDigit)
	intDigits := p.i - digitsStart
	if intDigits == 0 {
		return 0, "", false
	}
	if p.peek() != '.' {
		if intDigits > 15 {
			return 0, "", false
		}
		return sfInteger, p.s[start:p.i], true
	}
	p.i++
	fracStart := p.i
	p.skip(isDigit)
	if frac := p.i - fracStart; intDigits > 12 || frac < 1 || frac > 3 {
		return 0, "", false
	}
	return sfDecimal, p.s[start:p.i], true
}

// str parses a String: printable ASCII, with only \" and \\ escaped.
func (p *sfParser) str() (sfKind, string, bool) {
	p.i++ // opening quote
	var out []byte
	for !p.done() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return sfString, string(out), true
		case c == '\\':
			if p.done() || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return 0, "", false
			}
			out = append(out, p.s[p.i])
			p.i++
		case c < 0x20 || c > 0x7e:
			return 0, "", false
		default:
			out = append(out, c)
		}
	}
	return 0, "", false
}

// token parses a Token: ALPHA or '*', then tchar, ':' or '/'.
func (p *sfParser) token() (sfKind, string, bool) {
	start := p.i
	p.i++
	p.skip(func(c byte) bool { return isTchar(c) || c == ':' || c == '/' })
	return sfToken, p.s[start:p.i], true
}

// bytes parses and discards a Byte Sequence ":base64:".
func (p *sfParser) bytes() (sfKind, string, bool) {
	p.i++
	p.skip(func(c byte) bool { return isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '=' })
	if p.peek() != ':' {
		return 0, "", false
	}
	p.i++
	return sfOther, "", true
}

func isSP(c byte) bool    { return c == ' ' }
func isOWS(c byte) bool   { return c == ' ' || c == '\t' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return isLower(c) || ('A' <= c && c <= 'Z') }

// isTchar reports whether c may appear in an RFC 9110 token.
func isTchar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
