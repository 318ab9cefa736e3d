package purge

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Token is one purge API credential and what it may purge.
type Token struct {
	Token string `yaml:"token"`
	// Hosts limits the token to these sites' hosts; empty allows all.
	Hosts []string `yaml:"hosts"`
}

// APIConfig configures the purge API.
type APIConfig struct {
	Tokens []Token
	// Serves reports whether a host belongs to a site of this edge: a
	// purge naming another host is a mistake worth a 400.
	Serves     func(host string) bool
	Target     Target      // the local cache, purged before the answer
	Publisher  *Publisher  // this edge's publisher, to reach the others
	Subscriber *Subscriber // acknowledgements and live edges, for ?wait=1
	// Rate and Burst limit each token (default 10 calls a second, burst 20).
	Rate   float64
	Burst  int
	Logger *zap.Logger
}

// API is the purge HTTP API: POST /v1/purge.
type API struct {
	cfg      APIConfig
	tokens   []apiToken
	limiters []*rate.Limiter // one per token, in the same order
	log      *zap.Logger
}

type apiToken struct {
	sum   [sha256.Size]byte
	hosts map[string]bool // nil: every host
}

// Limits of one call.
const (
	maxBodyBytes   = 1 << 20
	defaultWait    = 10 * time.Second
	maxWait        = time.Minute
	maxTagBytes    = 1024
	defaultRate    = 10
	defaultBurst   = 20
	purgeAPIPrefix = "/v1/purge"
)

// NewAPI checks the configuration and returns the API.
func NewAPI(cfg APIConfig) (*API, error) {
	if len(cfg.Tokens) == 0 {
		return nil, errors.New("purge: the API needs at least one token")
	}
	if cfg.Target == nil || cfg.Publisher == nil || cfg.Subscriber == nil || cfg.Serves == nil {
		return nil, errors.New("purge: the API needs a target, a publisher, a subscriber and the served hosts")
	}
	if cfg.Rate <= 0 {
		cfg.Rate = defaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = defaultBurst
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	a := &API{cfg: cfg, log: cfg.Logger}
	for i, t := range cfg.Tokens {
		if len(t.Token) < 16 {
			return nil, fmt.Errorf("purge: token %d is shorter than 16 characters: use a long random string", i+1)
		}
		at := apiToken{sum: sha256.Sum256([]byte(t.Token))}
		if len(t.Hosts) > 0 {
			at.hosts = make(map[string]bool)
			for _, h := range t.Hosts {
				h = strings.ToLower(h)
				if !cfg.Serves(h) {
					return nil, fmt.Errorf("purge: token %d names host %q, which no site serves", i+1, h)
				}
				at.hosts[h] = true
			}
		}
		a.tokens = append(a.tokens, at)
		a.limiters = append(a.limiters, rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst))
	}
	return a, nil
}

// Request is the JSON body of POST /v1/purge.
type Request struct {
	Files           []string `json:"files,omitempty"`
	Prefixes        []string `json:"prefixes,omitempty"`
	Tags            []string `json:"tags,omitempty"`
	Hosts           []string `json:"hosts,omitempty"`
	PurgeEverything bool     `json:"purge_everything,omitempty"`
	Soft            bool     `json:"soft,omitempty"`
}

// Response is the JSON answer of an accepted purge.
type Response struct {
	ID    string `json:"id"`
	Seq   uint64 `json:"seq"`
	Items int    `json:"items"`
	Soft  bool   `json:"soft"`
	// Waited is true with ?wait=1; AppliedBy then lists the edges that
	// acknowledged, Lagging those that did not in time.
	Waited    bool     `json:"waited"`
	AppliedBy []string `json:"applied_by"`
	Lagging   []string `json:"lagging"`
}

type errorBody struct {
	Error string `json:"error"`
}

// apiError is a refusal: its status and what to fix.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func refuse(status int, format string, args ...any) *apiError {
	return &apiError{status, fmt.Sprintf(format, args...)}
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != purgeAPIPrefix {
		writeJSON(w, http.StatusNotFound, errorBody{"no such endpoint: POST " + purgeAPIPrefix + " purges"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{"use POST " + purgeAPIPrefix})
		return
	}
	resp, status, err := a.serve(w, r)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = refuse(http.StatusInternalServerError, "%v", err)
		}
		if ae.status >= 500 {
			a.log.Warn("purge API call failed", zap.Int("status", ae.status), zap.String("error", ae.msg))
		}
		writeJSON(w, ae.status, errorBody{ae.msg})
		return
	}
	writeJSON(w, status, resp)
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) (*Response, int, error) {
	tok, err := a.authenticate(r)
	if err != nil {
		// A 401 names the scheme to use (RFC 9110 §11.6.1).
		w.Header().Set("WWW-Authenticate", `Bearer realm="purge"`)
		return nil, 0, err
	}
	if lim := a.limiters[tok]; !lim.Allow() {
		wait := time.Duration(float64(time.Second) / a.cfg.Rate)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return nil, 0, refuse(http.StatusTooManyRequests, "too many purge calls for this token: at most %g a second (burst %d); retry later", a.cfg.Rate, a.cfg.Burst)
	}
	wait, timeout, err := waitParams(r.URL.Query())
	if err != nil {
		return nil, 0, err
	}
	req, err := decodeRequest(w, r)
	if err != nil {
		return nil, 0, err
	}
	items, scope, err := a.items(req, &a.tokens[tok])
	if err != nil {
		return nil, 0, err
	}
	if err := a.fitsMessage(items, scope, req.Soft); err != nil {
		return nil, 0, err
	}

	// Publishing numbers the purge; it is applied here before the answer,
	// whether the others could be told or not, so the very next request
	// to this edge misses. A caller hanging up must not cancel a purge
	// already numbered: lost, it would make every edge flush (the
	// publisher bounds the publish itself).
	m, pubErr := a.cfg.Publisher.Purge(context.WithoutCancel(r.Context()), items, req.Soft, scope)
	a.cfg.Target.Apply(m)
	a.cfg.Subscriber.recordAck(a.cfg.Publisher.ID(), m.Publisher, m.Seq)
	resp := &Response{ID: m.Publisher + ":" + strconv.FormatUint(m.Seq, 10), Seq: m.Seq, Items: len(items), Soft: req.Soft, AppliedBy: []string{}, Lagging: []string{}}
	if pubErr != nil {
		return nil, 0, refuse(http.StatusServiceUnavailable,
			"the purge bus is unavailable (%v): purge %s applied on this edge only; the other edges flush their caches when they hear from it again. Retry to be sure", pubErr, resp.ID)
	}
	if !wait {
		return resp, http.StatusOK, nil
	}
	resp.Waited = true
	edges := a.cfg.Subscriber.LiveEdges()
	if !slices.Contains(edges, a.cfg.Publisher.ID()) {
		edges = append(edges, a.cfg.Publisher.ID())
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	lagging := a.cfg.Subscriber.WaitApplied(ctx, m.Publisher, m.Seq, edges)
	for _, e := range edges {
		if !slices.Contains(lagging, e) {
			resp.AppliedBy = append(resp.AppliedBy, e)
		}
	}
	slices.Sort(resp.AppliedBy)
	if len(lagging) > 0 {
		resp.Lagging = lagging
		return resp, http.StatusAccepted, nil
	}
	return resp, http.StatusOK, nil
}

// authenticate finds the caller's token; every configured token is
// compared, in constant time, so timing tells nothing of them.
func (a *API) authenticate(r *http.Request) (int, error) {
	scheme, given, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	// The scheme is case-insensitive (RFC 9110 §11.1).
	if !strings.EqualFold(scheme, "Bearer") || given == "" {
		return 0, refuse(http.StatusUnauthorized, "send the purge token as Authorization: Bearer <token>")
	}
	sum := sha256.Sum256([]byte(given))
	found := -1
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return 0, refuse(http.StatusUnauthorized, "unknown purge token: send one of the edge's purge.tokens (or its EDGE_PURGE_TOKEN, or the token saved in its data directory's %s file)", TokenFile)
	}
	return found, nil
}

func waitParams(q url.Values) (bool, time.Duration, error) {
	wait := false
	switch v := q.Get("wait"); v {
	case "", "0", "false":
	case "1", "true":
		wait = true
	default:
		return false, 0, refuse(http.StatusBadRequest, "wait=%q: use wait=1", v)
	}
	timeout := defaultWait
	if v := q.Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxWait {
			return false, 0, refuse(http.StatusBadRequest, "timeout=%q: give a duration such as 5s, at most %v", v, maxWait)
		}
		timeout = d
	}
	return wait, timeout, nil
}

func decodeRequest(w http.ResponseWriter, r *http.Request) (*Request, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		// Media types are case-insensitive and may carry parameters (charset).
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, refuse(http.StatusUnsupportedMediaType, "Content-Type %q: send application/json", ct)
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	var req Request
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, refuse(http.StatusRequestEntityTooLarge, "the body is over %d bytes: send at most %d items a call", maxBodyBytes, MaxItems)
		}
		return nil, refuse(http.StatusBadRequest, "the body is not the purge JSON: %v (fields: files, prefixes, tags, hosts, purge_everything, soft)", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, refuse(http.StatusBadRequest, "the body has data after the JSON object")
	}
	return &req, nil
}

// items turns a request into purge items, checking each against the
// token's hosts; scope limits tags and everything to those hosts.
func (a *API) items(req *Request, tok *apiToken) (items []Item, scope []string, err error) {
	n := len(req.Files) + len(req.Prefixes) + len(req.Tags) + len(req.Hosts)
	if req.PurgeEverything {
		n++
	}
	switch {
	case n == 0:
		return nil, nil, refuse(http.StatusBadRequest, "nothing to purge: give files, prefixes, tags, hosts or purge_everything")
	case n > MaxItems:
		return nil, nil, refuse(http.StatusBadRequest, "%d items: at most %d a call", n, MaxItems)
	}
	allowed := func(host string) error {
		if !a.cfg.Serves(host) {
			return refuse(http.StatusBadRequest, "host %q is not served by this edge", host)
		}
		if tok.hosts != nil && !tok.hosts[host] {
			return refuse(http.StatusForbidden, "this token may not purge host %q", host)
		}
		return nil
	}
	for _, f := range req.Files {
		host, path, err := parseFileURL(f)
		if err != nil {
			return nil, nil, err
		}
		if err := allowed(host); err != nil {
			return nil, nil, err
		}
		items = append(items, Item{Kind: KindURL, Host: host, Key: path})
	}
	for _, p := range req.Prefixes {
		host, path, err := parsePrefix(p)
		if err != nil {
			return nil, nil, err
		}
		if err := allowed(host); err != nil {
			return nil, nil, err
		}
		items = append(items, Item{Kind: KindPrefix, Host: host, Key: path})
	}
	for _, h := range req.Hosts {
		host, err := parseHost(h)
		if err != nil {
			return nil, nil, err
		}
		if err := allowed(host); err != nil {
			return nil, nil, err
		}
		items = append(items, Item{Kind: KindHost, Host: host})
	}
	for _, t := range req.Tags {
		if t == "" || len(t) > maxTagBytes || strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, nil, refuse(http.StatusBadRequest, "tag %q: tags are 1 to %d bytes without control characters", t, maxTagBytes)
		}
		items = append(items, Item{Kind: KindTag, Key: t})
	}
	if req.PurgeEverything {
		items = append(items, Item{Kind: KindEverything})
	}
	if tok.hosts != nil {
		for h := range tok.hosts {
			scope = append(scope, h)
		}
		slices.Sort(scope)
	}
	return items, scope, nil
}

// fitsMessage checks that the purge, encoded for the bus, stays under
// MaxMessageBytes, which subscribers enforce: a body within maxBodyBytes
// can grow up to sixfold (JSON writes &, < and > as \u0026…), and a
// message over the limit would be dropped by every other edge.
func (a *API) fitsMessage(items []Item, scope []string, soft bool) error {
	data, err := json.Marshal(&Message{
		V: Version, Type: TypePurge, Publisher: a.cfg.Publisher.ID(), Role: RoleEdge,
		Seq: math.MaxUint64, First: 1, Issued: time.Now(), Soft: soft, Scope: scope, Items: items,
	})
	if err != nil {
		return err
	}
	const slack = 64 // for a longer time stamp (time zone) in the real message
	if len(data)+slack > MaxMessageBytes {
		return refuse(http.StatusRequestEntityTooLarge, "this purge is too large: %d bytes once encoded for the other edges, over %d; send fewer or shorter items a call", len(data), MaxMessageBytes)
	}
	return nil
}

// parseFileURL reads an absolute http(s) URL into its host and raw path
// (the query is left out: a URL purge covers every variant of the object).
func parseFileURL(s string) (host, path string, err error) {
	u, perr := url.Parse(s)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", "", refuse(http.StatusBadRequest, "file %q: give an absolute http:// or https:// URL such as https://cdn.example.com/img/a.png", s)
	}
	if host, err = parseHost(u.Host); err != nil {
		return "", "", err
	}
	path = u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return host, path, nil
}

// parsePrefix reads "host/path-prefix"; the path is escaped as a file
// URL's is (url.URL.EscapedPath), so that "img/café/" and "img/caf%C3%A9/"
// both name the raw paths that requests (and files) spell the second way.
func parsePrefix(s string) (host, path string, err error) {
	h, rest, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(s, "://") || strings.ContainsAny(s, " ?#") {
		return "", "", refuse(http.StatusBadRequest, "prefix %q: give a host and a path prefix without scheme, such as cdn.example.com/img/", s)
	}
	if host, err = parseHost(h); err != nil {
		return "", "", err
	}
	raw := "/" + rest
	decoded, uerr := url.PathUnescape(raw)
	if uerr != nil {
		return "", "", refuse(http.StatusBadRequest, "prefix %q: a %% must start an escape such as %%2F (%%25 for %% itself)", s)
	}
	return host, (&url.URL{Path: decoded, RawPath: raw}).EscapedPath(), nil
}

// parseHost lower-cases a host and drops a port.
func parseHost(s string) (string, error) {
	h := strings.ToLower(s)
	// Checked before the port is split off, which would read
	// "https://cdn.example.com" as host "https".
	bad := strings.ContainsAny(h, "/@?# \t")
	if hp, _, err := net.SplitHostPort(h); err == nil {
		h = hp
	}
	if bad || h == "" || strings.Contains(h, ":") {
		return "", refuse(http.StatusBadRequest, "host %q: give a bare host name such as cdn.example.com", s)
	}
	return h, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
