package rules

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// File is one site's policy: defaults, ordered rules and the file's own
// test cases. Load or Parse it; its zero value is not usable.
type File struct {
	// Name is where the file came from, for messages.
	Name     string   `yaml:"-"`
	Defaults Defaults `yaml:"defaults"`
	Rules    []Rule   `yaml:"rules"`
	Tests    []Case   `yaml:"tests"`
	// Warnings are what validation found suspect but not wrong (a rule no
	// request can reach).
	Warnings []string `yaml:"-"`

	defaultsLine int
	keyRules     bool // some rule sets cache_key
}

// Defaults applies before any rule.
type Defaults struct {
	// RespectOrigin uses the origin's stated freshness (default true).
	RespectOrigin *bool `yaml:"respect_origin"`
	// StatusTTL is the edge TTL by status when the origin is silent,
	// merged over the built-in table; a status absent from both is not
	// stored. Keys are statuses ("200") or classes ("5xx").
	StatusTTL map[string]Duration `yaml:"status_ttl"`
	// NegativeTTL is the TTL of a 404 or 410 the origin is silent about
	// (default 3m).
	NegativeTTL *Duration `yaml:"negative_ttl"`
	// MaxNegativeTTL is a ceiling no negative_ttl in the file may exceed.
	MaxNegativeTTL *Duration `yaml:"max_negative_ttl"`
	// StaleWhileRevalidate and StaleIfError apply when the origin says
	// nothing of them.
	StaleWhileRevalidate *Duration `yaml:"stale_while_revalidate"`
	StaleIfError         *Duration `yaml:"stale_if_error"`
}

// Rule is a match and the actions it takes.
type Rule struct {
	Name    string `yaml:"name"`
	Match   Match  `yaml:"match"`
	Actions `yaml:",inline"`

	line int
}

// Match holds when every field it sets holds.
type Match struct {
	Hosts      []string `yaml:"hosts"`
	Path       string   `yaml:"path"`        // glob: * within a segment, ** across segments
	PathPrefix string   `yaml:"path_prefix"` // literal
	Extensions []string `yaml:"extensions"`  // without the dot, any case
	Methods    []string `yaml:"methods"`
	Status     Statuses `yaml:"status"` // 404, [200, 301], 5xx
	Query      string   `yaml:"query"`  // present | absent

	glob *regexp.Regexp
}

// Actions are what a rule sets; unset fields leave what earlier rules
// and the defaults said.
type Actions struct {
	// EdgeTTL is the TTL of a response the origin is silent about (with
	// respect_origin) or of every storable one (without).
	EdgeTTL *Duration `yaml:"edge_ttl"`
	// BrowserTTL is the max-age the edge sends to clients in place of the
	// origin's Cache-Control.
	BrowserTTL    *Duration `yaml:"browser_ttl"`
	RespectOrigin *bool     `yaml:"respect_origin"`
	// MinTTL and MaxTTL clamp the edge TTL, whoever set it.
	MinTTL               *Duration `yaml:"min_ttl"`
	MaxTTL               *Duration `yaml:"max_ttl"`
	NegativeTTL          *Duration `yaml:"negative_ttl"`
	Bypass               *bool     `yaml:"bypass"`
	CacheKey             *CacheKey `yaml:"cache_key"`
	StaleWhileRevalidate *Duration `yaml:"stale_while_revalidate"`
	StaleIfError         *Duration `yaml:"stale_if_error"`
	MaxObjectSize        *int64    `yaml:"max_object_size"`
	Consistency          *string   `yaml:"consistency"` // ttl | purge | strong
	Tags                 []string  `yaml:"tags"`

	// edgeTTLStatuses: the rule that set EdgeTTL names statuses, so it
	// applies to them even where the table caches nothing (merged only).
	edgeTTLStatuses bool
}

// CacheKey says what of the query string is part of the cache key.
type CacheKey struct {
	Query string   `yaml:"query"` // include (default) | ignore | allowlist | sort
	Allow []string `yaml:"allow"` // the parameters kept by allowlist
}

// Case is one test of the file: a request, the origin's response, and
// what the decision must be.
type Case struct {
	Name     string       `yaml:"name"`
	Request  CaseRequest  `yaml:"request"`
	Response CaseResponse `yaml:"response"`
	Expect   Expect       `yaml:"expect"`

	line int
}

// CaseRequest is a test's request.
type CaseRequest struct {
	Method  string            `yaml:"method"` // default GET
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
}

// CaseResponse is a test's origin response.
type CaseResponse struct {
	Status  int               `yaml:"status"` // default 200
	Headers map[string]string `yaml:"headers"`
}

// Expect is what a test checks; unset fields are not checked.
type Expect struct {
	Store                *bool     `yaml:"store"`
	StaleWhileRevalidate *Duration `yaml:"stale_while_revalidate"`
	StaleIfError         *Duration `yaml:"stale_if_error"`
	MaxObjectSize        *int64    `yaml:"max_object_size"`
	Reason               *string   `yaml:"reason"`
	EdgeTTL              *Duration `yaml:"edge_ttl"`
	BrowserTTL           *Duration `yaml:"browser_ttl"`
	Rule                 *string   `yaml:"rule"`
	Tags                 []string  `yaml:"tags"`
	Consistency          *string   `yaml:"consistency"`
}

// Duration is a Go duration in the file ("90s", "20m", "2h").
type Duration time.Duration

// UnmarshalYAML reads a duration, saying on which line one is malformed.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %q is not a duration: write a Go duration such as 90s, 20m or 2h", n.Line, n.Value)
	}
	if v < 0 {
		return fmt.Errorf("line %d: %s is negative: a TTL is 0 or more", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Statuses is a set of status codes and classes.
type Statuses []statusMatch

type statusMatch struct{ lo, hi int }

// UnmarshalYAML reads one status or class, or a list of them.
func (s *Statuses) UnmarshalYAML(n *yaml.Node) error {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	for _, it := range items {
		m, err := parseStatus(it.Value)
		if err != nil || it.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: status %q: write a code from 100 to 599 (404) or a class (1xx to 5xx)", it.Line, it.Value)
		}
		*s = append(*s, m)
	}
	return nil
}

func parseStatus(v string) (statusMatch, error) {
	v = strings.TrimSpace(v)
	if len(v) == 3 && v[1:] == "xx" && v[0] >= '1' && v[0] <= '5' {
		c := int(v[0]-'0') * 100
		return statusMatch{c, c + 99}, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100 || n > 599 {
		return statusMatch{}, errors.New("bad status")
	}
	return statusMatch{n, n}, nil
}

func (s Statuses) holds(status int) bool {
	for _, m := range s {
		if status >= m.lo && status <= m.hi {
			return true
		}
	}
	return false
}

// lineRef is how yaml.v3 and this package's decoders name a line.
var lineRef = regexp.MustCompile(`(?m)^\s*line (\d+):`)

// defaultStatusTTL is the built-in table for a silent origin: Cloudflare's
// documented edge TTLs.
var defaultStatusTTL = map[int]time.Duration{
	200: 120 * time.Minute, 206: 120 * time.Minute, 301: 120 * time.Minute,
	302: 20 * time.Minute, 303: 20 * time.Minute,
	404: 3 * time.Minute, 410: 3 * time.Minute,
}

// Load reads and validates the policy file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return Parse(path, data)
}

// Parse reads and validates a policy file's bytes; name is where they
// came from, for messages. Every error names the file and line.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Name: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil && !errors.Is(err, io.EOF) {
		// "line 4: field edge_tll not found…", one per line: as file:4.
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "yaml: "), "unmarshal errors:\n")
		msg = lineRef.ReplaceAllString(strings.TrimSpace(msg), name+":$1:")
		if !strings.HasPrefix(msg, name) {
			msg = name + ": " + msg
		}
		return nil, errors.New(msg)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document (a line \"---\" starts another): put the whole policy in the first", name)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		lines(&root, f)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// lines records where each rule and test starts, for messages.
func lines(root *yaml.Node, f *File) {
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		if key.Value == "defaults" {
			f.defaultsLine = key.Line
		}
		for j, item := range val.Content {
			switch {
			case key.Value == "rules" && j < len(f.Rules):
				f.Rules[j].line = item.Line
			case key.Value == "tests" && j < len(f.Tests):
				f.Tests[j].line = item.Line
			}
		}
	}
}

// validate checks what the decoder cannot: values in range, rules that
// can be reached, names that are unique.
func (f *File) validate() error {
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", f.Name, line, fmt.Sprintf(format, args...)))
	}
	for k := range f.Defaults.StatusTTL {
		if _, err := parseStatus(k); err != nil {
			fail(f.defaultsLine, "defaults.status_ttl: %q: keys are codes from 100 to 599 (\"404\") or classes (\"5xx\")", k)
		}
	}
	ceiling := f.Defaults.MaxNegativeTTL
	if ceiling != nil && f.Defaults.NegativeTTL != nil && *f.Defaults.NegativeTTL > *ceiling {
		fail(f.defaultsLine, "defaults.negative_ttl %v is over max_negative_ttl %v: lower it or raise the ceiling", time.Duration(*f.Defaults.NegativeTTL), time.Duration(*ceiling))
	}
	names := map[string]int{}
	for i := range f.Rules {
		r := &f.Rules[i]
		where := fmt.Sprintf("rule %d", i+1)
		if r.Name == "" {
			fail(r.line, "%s: give it a name: Cache-Status and explain show it", where)
		} else if first, dup := names[r.Name]; dup {
			fail(r.line, "rule %q: the name is taken by rule %d", r.Name, first)
		} else {
			names[r.Name] = i + 1
			where = fmt.Sprintf("rule %q", r.Name)
		}
		if err := r.Match.compile(); err != nil {
			fail(r.line, "%s: %v", where, err)
		}
		if r.Consistency != nil && !slices.Contains([]string{"ttl", "purge", "strong"}, *r.Consistency) {
			fail(r.line, "%s: consistency %q: use ttl, purge or strong", where, *r.Consistency)
		}
		if r.MaxObjectSize != nil && *r.MaxObjectSize <= 0 {
			fail(r.line, "%s: max_object_size %d: give a size in bytes above 0", where, *r.MaxObjectSize)
		}
		if r.MinTTL != nil && r.MaxTTL != nil && *r.MinTTL > *r.MaxTTL {
			fail(r.line, "%s: min_ttl %v is over max_ttl %v", where, time.Duration(*r.MinTTL), time.Duration(*r.MaxTTL))
		}
		if ceiling != nil && r.NegativeTTL != nil && *r.NegativeTTL > *ceiling {
			fail(r.line, "%s: negative_ttl %v is over max_negative_ttl %v: lower it or raise the ceiling", where, time.Duration(*r.NegativeTTL), time.Duration(*ceiling))
		}
		if k := r.CacheKey; k != nil {
			f.keyRules = true
			if len(r.Match.Status) > 0 {
				fail(r.line, "%s: cache_key is chosen before the response: a rule that matches on status cannot set it", where)
			}
			switch k.Query {
			case "", "include", "ignore", "sort":
				if len(k.Allow) > 0 {
					fail(r.line, "%s: cache_key.allow needs query: allowlist", where)
				}
			case "allowlist":
				if len(k.Allow) == 0 {
					fail(r.line, "%s: cache_key query allowlist: list the parameters to keep in allow", where)
				}
			default:
				fail(r.line, "%s: cache_key query %q: use include, ignore, allowlist or sort", where, k.Query)
			}
		}
	}
	for i := range f.Rules {
		for j := i + 1; j < len(f.Rules); j++ {
			if f.Rules[j].Match.covers(&f.Rules[i].Match) && f.Rules[j].Actions.setsAllOf(&f.Rules[i].Actions) {
				f.Warnings = append(f.Warnings, fmt.Sprintf("%s:%d: rule %q never changes a decision: rule %q, later, matches whatever it matches and sets everything it sets",
					f.Name, f.Rules[i].line, f.Rules[i].Name, f.Rules[j].Name))
				break
			}
		}
	}
	for i := range f.Tests {
		c := &f.Tests[i]
		if c.Request.URL == "" {
			fail(c.line, "test %d (%q): give request.url", i+1, c.Name)
		} else if _, err := caseRequest(c); err != nil {
			fail(c.line, "test %d (%q): %v", i+1, c.Name, err)
		}
	}
	return errors.Join(errs...)
}

// compile checks the match and prepares its glob.
func (m *Match) compile() error {
	if m.Path != "" {
		if !strings.HasPrefix(m.Path, "/") {
			return fmt.Errorf("match.path %q: a glob starts with /", m.Path)
		}
		m.glob = globRegexp(m.Path)
	}
	if m.PathPrefix != "" && !strings.HasPrefix(m.PathPrefix, "/") {
		return fmt.Errorf("match.path_prefix %q: a path starts with /", m.PathPrefix)
	}
	switch m.Query {
	case "", "present", "absent":
	default:
		return fmt.Errorf("match.query %q: use present or absent", m.Query)
	}
	for i, e := range m.Extensions {
		m.Extensions[i] = strings.ToLower(strings.TrimPrefix(e, "."))
	}
	for i, h := range m.Hosts {
		m.Hosts[i] = strings.ToLower(h)
	}
	for _, meth := range m.Methods {
		if meth != strings.ToUpper(meth) || meth == "" {
			return fmt.Errorf("match.methods %q: methods are upper case (GET, HEAD)", meth)
		}
	}
	return nil
}

// globRegexp turns a path glob into an anchored expression: ** any run of
// characters, * any run within a segment, ? one character but /.
func globRegexp(glob string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch {
		case strings.HasPrefix(glob[i:], "**"):
			b.WriteString(".*")
			i++
		case glob[i] == '*':
			b.WriteString("[^/]*")
		case glob[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// covers reports, conservatively, whether m matches every request o
// matches: m sets no field o leaves unset, and each it sets is equal.
func (m *Match) covers(o *Match) bool {
	return covered(m.Hosts, o.Hosts) && (m.Path == "" || m.Path == o.Path) &&
		(m.PathPrefix == "" || strings.HasPrefix(o.PathPrefix, m.PathPrefix) && o.PathPrefix != "") &&
		covered(m.Extensions, o.Extensions) && covered(m.Methods, o.Methods) &&
		(len(m.Status) == 0 || slices.Equal(m.Status, o.Status)) && (m.Query == "" || m.Query == o.Query)
}

// covered: an unset list matches anything; a set one matches what o's
// does if it holds every element of o's.
func covered(m, o []string) bool {
	if len(m) == 0 {
		return true
	}
	if len(o) == 0 {
		return false
	}
	for _, v := range o {
		if !slices.Contains(m, v) {
			return false
		}
	}
	return true
}

// setsAllOf reports whether a sets every field o sets.
func (a *Actions) setsAllOf(o *Actions) bool {
	return (o.EdgeTTL == nil || a.EdgeTTL != nil) && (o.BrowserTTL == nil || a.BrowserTTL != nil) &&
		(o.RespectOrigin == nil || a.RespectOrigin != nil) && (o.MinTTL == nil || a.MinTTL != nil) &&
		(o.MaxTTL == nil || a.MaxTTL != nil) && (o.NegativeTTL == nil || a.NegativeTTL != nil) &&
		(o.Bypass == nil || a.Bypass != nil) && (o.CacheKey == nil || a.CacheKey != nil) &&
		(o.StaleWhileRevalidate == nil || a.StaleWhileRevalidate != nil) && (o.StaleIfError == nil || a.StaleIfError != nil) &&
		(o.MaxObjectSize == nil || a.MaxObjectSize != nil) && (o.Consistency == nil || a.Consistency != nil) &&
		(len(o.Tags) == 0) // tags add up: a rule with tags always adds them
}

// caseRequest is the Request a test case describes.
func caseRequest(c *Case) (Request, error) {
	req, err := http.NewRequest(cmp.Or(c.Request.Method, http.MethodGet), c.Request.URL, nil)
	if err != nil || req.URL.Host == "" {
		return Request{}, fmt.Errorf("request.url %q: give an absolute URL (https://host/path)", c.Request.URL)
	}
	h := http.Header{}
	for k, v := range c.Request.Headers {
		h.Set(k, v)
	}
	return Request{Method: req.Method, Host: req.URL.Hostname(), Path: cmp.Or(req.URL.EscapedPath(), "/"), Query: req.URL.RawQuery, Header: h}, nil
}
