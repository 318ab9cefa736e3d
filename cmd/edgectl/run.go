package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/edgecdn/edge/cmd/internal/purgetoken"
	"github.com/edgecdn/edge/purge"
)

const (
	defaultAdmin = "http://127.0.0.1:8081"
	maxItems     = purge.MaxItems // the purge API's limit per call
	// callMargin is how much longer than --timeout the HTTP call may take:
	// with --wait the edge answers only when its wait ends.
	callMargin = 5 * time.Second
	maxAnswer  = 1 << 20
	tokenHelp  = "set EDGE_PURGE_TOKEN to a purge token (the edge prints one at its first start and saves it in <data>/purge-token)"
)

const usage = `edgectl administers running edges through their admin API, and checks
the TTL policy files of their sites.

Usage:
  edgectl purge [flags]              purge cached responses from every edge
  edgectl policy check FILE…         validate policy files: errors with file:line, warnings
  edgectl policy explain [flags]     show which rules match a request, and the decision
  edgectl policy test FILE…          run the tests: section of policy files
  edgectl help [command]             show this help, or a command's

"edgectl help purge" and "edgectl help policy" show a command's flags,
examples and exit statuses.
`

const purgeHead = `Usage: edgectl purge [flags]

Purges cached responses from every edge, through one edge's admin API
(POST /v1/purge). Name what to purge with --url, --prefix, --tag and --host
(each repeatable; at most 1000 in all), or --everything.

Examples:
  edgectl purge --url https://cdn.example.com/img/a.png --url https://cdn.example.com/img/b.png
  edgectl purge --prefix cdn.example.com/img/
  edgectl purge --tag product-42 --soft
  edgectl purge --host cdn.example.com
  edgectl purge --everything --wait --timeout 30s
  edgectl purge -admin http://edge-1:8081 --tag product-42 --json

Flags (-flag and --flag are the same):
`

const purgeTail = `
Environment:
  EDGE_PURGE_TOKEN   the purge token, required (never a flag: it would show in ps);
                     the edge prints one at its first start and saves it in <data>/purge-token
  EDGE_ADMIN_URL     the admin API when -admin is not given

Output: one line on stdout, e.g.
  purged 3 items (seq 17): accepted
  purged 3 items (seq 17): applied by 2 edges
  purged 3 items (seq 17): accepted; 1 edge lagging: edge-c3d4
Errors go to stderr as "edgectl: <status>: <message>".

Exit status:
  0  accepted (with --wait: applied by every live edge)
  1  error: bad usage, missing token, edge unreachable or silent, refused (4xx, 5xx)
  2  accepted, but with --wait some edge did not confirm within --timeout
`

// run is the whole program: the subcommand, its flags, one call to the
// admin API and its outcome on stdout. main maps the error to the exit
// status with exitStatus.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("name a subcommand")
	}
	switch args[0] {
	case "purge":
		return runPurge(ctx, args[1:], stdout)
	case "policy":
		return runPolicy(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		help(args[1:], stdout)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (edgectl help lists them)", args[0])
}

// help prints the usage of the command named, else the overview.
func help(args []string, stdout io.Writer) {
	switch {
	case len(args) > 0 && args[0] == "purge":
		purgeUsage(stdout)
	case len(args) > 0 && args[0] == "policy":
		policyUsage(stdout)
	default:
		fmt.Fprint(stdout, usage)
	}
}

// lagging is a purge every edge was sent but some did not confirm in time.
type lagging struct {
	status string
	edges  []string
}

func (e *lagging) Error() string {
	if len(e.edges) == 0 {
		return e.status + ": accepted, but not confirmed by every edge in time"
	}
	return fmt.Sprintf("%s: accepted, but not confirmed in time by %s: %s",
		e.status, plural(len(e.edges), "edge"), strings.Join(e.edges, ", "))
}

// exitStatus is 2 for a purge some edge has not confirmed and for a
// policy command given wrongly, else 1.
func exitStatus(err error) int {
	var l *lagging
	var u usageError
	if errors.As(err, &l) || errors.As(err, &u) {
		return 2
	}
	return 1
}

type purgeOptions struct {
	req     purge.Request
	admin   string
	wait    bool
	json    bool
	timeout time.Duration
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func purgeFlags(o *purgeOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	fs.StringVar(&o.admin, "admin", "", "the edge's admin API `URL` (default $EDGE_ADMIN_URL, else "+defaultAdmin+")")
	fs.Var((*listFlag)(&o.req.Files), "url", "purge one cached `URL`, absolute http(s) (repeatable)")
	fs.Var((*listFlag)(&o.req.Prefixes), "prefix", "purge every cached URL under `host/path`, no scheme (repeatable)")
	fs.Var((*listFlag)(&o.req.Tags), "tag", "purge every cached object whose x-amz-meta-cache-tag names `T` (repeatable)")
	fs.Var((*listFlag)(&o.req.Hosts), "host", "purge everything cached for the `host` name (repeatable)")
	fs.BoolVar(&o.req.PurgeEverything, "everything", false, "purge the whole cache of every edge")
	fs.BoolVar(&o.req.Soft, "soft", false, "mark stale (revalidate on the next request) instead of removing")
	fs.BoolVar(&o.wait, "wait", false, "answer only when every live edge has applied the purge, or --timeout passed")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long --wait waits; the call itself gets 5s more")
	fs.BoolVar(&o.json, "json", false, "print the edge's JSON answer instead of the summary line")
	return fs
}

func purgeUsage(w io.Writer) {
	fs := purgeFlags(new(purgeOptions))
	fs.SetOutput(w)
	fmt.Fprint(w, purgeHead)
	fs.PrintDefaults()
	fmt.Fprint(w, purgeTail)
}

func runPurge(ctx context.Context, args []string, stdout io.Writer) error {
	var o purgeOptions
	fs := purgeFlags(&o)
	fs.SetOutput(io.Discard) // the error is returned, printed once by main
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			purgeUsage(stdout)
			return nil
		}
		return fmt.Errorf("purge: %v (edgectl help purge shows the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("purge: unexpected argument %q: name what to purge with --url, --prefix, --tag, --host or --everything", fs.Arg(0))
	}
	if err := o.validate(); err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	endpoint, err := o.endpoint()
	if err != nil {
		return err
	}
	token := purgetoken.FromEnv()
	if token == "" {
		return errors.New(tokenHelp)
	}
	return o.send(ctx, endpoint, token, stdout)
}

// validate refuses locally what the purge API would refuse with a 400.
func (o *purgeOptions) validate() error {
	r := &o.req
	n := len(r.Files) + len(r.Prefixes) + len(r.Tags) + len(r.Hosts)
	if n == 0 && !r.PurgeEverything {
		return errors.New("nothing to purge: give --url, --prefix, --tag, --host or --everything")
	}
	if r.PurgeEverything {
		n++ // as the API counts it
	}
	if n > maxItems {
		return fmt.Errorf("%d items: at most %d per call; split them into several calls", n, maxItems)
	}
	for _, f := range r.Files {
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return fmt.Errorf("--url %q: give an absolute http(s) URL, e.g. https://cdn.example.com/img/a.png", f)
		}
	}
	for _, p := range r.Prefixes {
		switch {
		case strings.Contains(p, "://"):
			return fmt.Errorf("--prefix %q: write it without the scheme, as host/path, e.g. cdn.example.com/img/", p)
		case !strings.Contains(p, "/"), strings.HasPrefix(p, "/"):
			return fmt.Errorf("--prefix %q: give host/path, e.g. cdn.example.com/img/ (cdn.example.com/ for a whole host, or --host)", p)
		}
	}
	for _, t := range r.Tags {
		if t == "" {
			return errors.New("--tag: a tag cannot be empty")
		}
	}
	for _, h := range r.Hosts {
		if h == "" || strings.Contains(h, "/") {
			return fmt.Errorf("--host %q: give a bare host name, e.g. cdn.example.com (--prefix purges a path)", h)
		}
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %v: give a positive duration, e.g. 10s", o.timeout)
	}
	return nil
}

// endpoint is the purge URL on the admin API named by -admin, else by
// EDGE_ADMIN_URL, else the default.
func (o *purgeOptions) endpoint() (string, error) {
	admin := adminURL(o.admin)
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("admin URL %q: give an http(s) URL, e.g. %s (-admin or EDGE_ADMIN_URL)", admin, defaultAdmin)
	}
	u = u.JoinPath("v1", "purge")
	u.RawQuery, u.Fragment = "", ""
	if o.wait {
		u.RawQuery = "wait=1&timeout=" + url.QueryEscape(o.timeout.String())
	}
	return u.String(), nil
}

func adminURL(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv("EDGE_ADMIN_URL"); env != "" {
		return env
	}
	return defaultAdmin
}

// send makes the call and reports its outcome: the summary (or the JSON
// answer) on stdout, and an error for anything but a purge applied as asked.
func (o *purgeOptions) send(ctx context.Context, endpoint, token string, stdout io.Writer) error {
	body, err := json.Marshal(&o.req)
	if err != nil {
		return err
	}
	limit := o.timeout + callMargin
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "edgectl")
	// A redirect is reported, not followed: it would repost the token to
	// wherever it points (or turn the POST into a GET).
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("no answer from %s within %v; a purge is safe to repeat", endpoint, limit)
		case errors.Is(err, context.Canceled):
			return fmt.Errorf("interrupted before %s answered; a purge is safe to repeat", endpoint)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("cannot reach %s: %v (is the edge running? -admin or EDGE_ADMIN_URL names its admin API)", endpoint, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s: reading the answer: %v", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return refusal(resp, answer)
	}
	var res purge.Response
	if err := json.Unmarshal(answer, &res); err != nil {
		return fmt.Errorf("%s: the answer is not the purge API's JSON (%v); is %s an edge's admin API?", resp.Status, err, endpoint)
	}
	if o.json {
		stdout.Write(answer)
		if !bytes.HasSuffix(answer, []byte("\n")) {
			fmt.Fprintln(stdout)
		}
	} else {
		fmt.Fprintln(stdout, o.summary(resp.StatusCode, &res))
	}
	if resp.StatusCode == http.StatusAccepted || len(res.Lagging) > 0 {
		return &lagging{status: resp.Status, edges: res.Lagging}
	}
	return nil
}

// summary is the one line that says what was purged and how far it got.
func (o *purgeOptions) summary(code int, res *purge.Response) string {
	what := "purged " + plural(res.Items, "item")
	if o.req.PurgeEverything {
		what = "purged everything"
	}
	if res.Soft {
		what = "soft-" + what
	}
	outcome := "accepted"
	switch {
	case len(res.Lagging) > 0:
		outcome = fmt.Sprintf("accepted; %s lagging: %s", plural(len(res.Lagging), "edge"), strings.Join(res.Lagging, ", "))
	case code == http.StatusAccepted:
		outcome = "accepted; not confirmed by every edge within " + o.timeout.String()
	case res.Waited:
		outcome = "applied by " + plural(len(res.AppliedBy), "edge")
	}
	return fmt.Sprintf("%s (seq %d): %s", what, res.Seq, outcome)
}

// refusal is the error for an answer other than 200 and 202: the status,
// the API's message, and a hint where edgectl knows more than the edge.
func refusal(resp *http.Response, answer []byte) error {
	var doc struct {
		Error string `json:"error"`
	}
	msg := ""
	if json.Unmarshal(answer, &doc) == nil {
		msg = doc.Error
	}
	if msg == "" {
		msg = strings.Join(strings.Fields(string(answer)), " ")
		if len(msg) > 200 {
			msg = strings.ToValidUTF8(msg[:200], "") + "…"
		}
	}
	if msg == "" {
		msg = "no message in the answer"
	}
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		msg += " (edgectl sends the token in EDGE_PURGE_TOKEN)"
	case code == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "":
		ra := resp.Header.Get("Retry-After")
		if s, err := strconv.Atoi(ra); err == nil {
			ra = (time.Duration(s) * time.Second).String()
		}
		msg += " (retry after " + ra + ")"
	case code == http.StatusNotFound:
		msg += " (is -admin an edge's admin API?)"
	case code >= 300 && code < 400:
		msg += fmt.Sprintf(" (redirected to %q; point -admin or EDGE_ADMIN_URL there)", resp.Header.Get("Location"))
	}
	return fmt.Errorf("%s: %s", resp.Status, msg)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
