package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/cmd/internal/testenv"
	"github.com/edgecdn/edge/purge"
)

func TestMain(m *testing.M) {
	testenv.ClearEdgeVars()
	os.Exit(m.Run())
}

const testToken = "test-purge-token-0123456789"

// wireRequest is the purge API's body, written from the contract rather
// than from run.go's type, so a misspelt field fails the strict decode.
type wireRequest struct {
	Files           []string `json:"files"`
	Prefixes        []string `json:"prefixes"`
	Tags            []string `json:"tags"`
	Hosts           []string `json:"hosts"`
	PurgeEverything bool     `json:"purge_everything"`
	Soft            bool     `json:"soft"`
}

type apiCall struct {
	rawQuery string
	req      wireRequest
}

// fakeAPI plays the edge's purge API: it checks what the contract fixes
// (method, path, token, content type, a strict JSON body), records the
// call and answers a canned response.
type fakeAPI struct {
	t      *testing.T
	url    string
	status int
	header http.Header
	body   string

	mu    sync.Mutex
	calls []apiCall
}

// newAPI starts a fake API on loopback and sets the token edgectl reads.
func newAPI(t *testing.T, status int, body string) *fakeAPI {
	t.Helper()
	t.Setenv("EDGE_PURGE_TOKEN", testToken)
	t.Setenv("EDGE_ADMIN_URL", "")
	a := &fakeAPI{t: t, status: status, body: body, header: http.Header{}}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

func (a *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	t := a.t
	if r.Method != http.MethodPost || r.URL.Path != "/v1/purge" {
		t.Errorf("request %s %s, want POST /v1/purge", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization %q, want the bearer token", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q, want application/json", got)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var req wireRequest
	if err := dec.Decode(&req); err != nil {
		t.Errorf("body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("body: data after the JSON object (%v)", err)
	}
	a.mu.Lock()
	a.calls = append(a.calls, apiCall{rawQuery: r.URL.RawQuery, req: req})
	a.mu.Unlock()
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (a *fakeAPI) called() []apiCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]apiCall(nil), a.calls...)
}

// only returns the one call the test expected.
func (a *fakeAPI) only(t *testing.T) apiCall {
	t.Helper()
	calls := a.called()
	if len(calls) != 1 {
		t.Fatalf("the API got %d calls, want 1", len(calls))
	}
	return calls[0]
}

func (a *fakeAPI) notCalled(t *testing.T) {
	t.Helper()
	if n := len(a.called()); n != 0 {
		t.Fatalf("the API got %d calls, want none", n)
	}
}

// edgectl runs the program as main would and returns its outputs and the
// exit status main would give (0 for no error).
func edgectl(t *testing.T, args ...string) (stdout, stderr string, status int, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var o, e bytes.Buffer
	err = run(ctx, args, &o, &e)
	if err != nil {
		status = exitStatus(err)
	}
	return o.String(), e.String(), status, err
}

// purge runs edgectl purge against the fake API.
func (a *fakeAPI) purge(t *testing.T, args ...string) (stdout string, status int, err error) {
	t.Helper()
	stdout, _, status, err = edgectl(t, append([]string{"purge", "-admin", a.url}, args...)...)
	return stdout, status, err
}

const (
	acceptedBody = `{"id":"edge-a1b2:17","seq":17,"items":3,"soft":false,"waited":false,"applied_by":[],"lagging":[]}`
	appliedBody  = `{"id":"edge-a1b2:17","seq":17,"items":3,"soft":false,"waited":true,"applied_by":["edge-a1b2","edge-c3d4"],"lagging":[]}`
	laggingBody  = `{"id":"edge-a1b2:17","seq":17,"items":3,"soft":false,"waited":true,"applied_by":["edge-a1b2"],"lagging":["edge-c3d4"]}`
)

func TestFlagsMapIntoJSON(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want wireRequest
	}{
		{"urls, either dash", []string{"--url", "https://cdn.example.com/img/a.png", "-url", "http://cdn.example.com/b?x=1"},
			wireRequest{Files: []string{"https://cdn.example.com/img/a.png", "http://cdn.example.com/b?x=1"}}},
		{"prefixes", []string{"--prefix", "cdn.example.com/img/", "--prefix", "static.example.com/"},
			wireRequest{Prefixes: []string{"cdn.example.com/img/", "static.example.com/"}}},
		{"tags", []string{"--tag", "product-42", "--tag", "home"},
			wireRequest{Tags: []string{"product-42", "home"}}},
		{"hosts", []string{"--host", "cdn.example.com", "--host", "img.example.com"},
			wireRequest{Hosts: []string{"cdn.example.com", "img.example.com"}}},
		{"everything", []string{"--everything"}, wireRequest{PurgeEverything: true}},
		{"soft tag", []string{"--tag", "t", "--soft"}, wireRequest{Tags: []string{"t"}, Soft: true}},
		{"all at once", []string{
			"--url", "https://cdn.example.com/a", "--prefix", "cdn.example.com/p/", "--tag", "t1",
			"--host", "h.example.com", "--url", "https://cdn.example.com/b", "--tag", "t2",
			"--everything", "--soft", "--json",
		}, wireRequest{
			Files: []string{"https://cdn.example.com/a", "https://cdn.example.com/b"}, Prefixes: []string{"cdn.example.com/p/"},
			Tags: []string{"t1", "t2"}, Hosts: []string{"h.example.com"}, PurgeEverything: true, Soft: true,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := newAPI(t, http.StatusOK, acceptedBody)
			if _, _, err := api.purge(t, c.args...); err != nil {
				t.Fatal(err)
			}
			call := api.only(t)
			if !reflect.DeepEqual(call.req, c.want) {
				t.Errorf("sent %+v\nwant %+v", call.req, c.want)
			}
			if call.rawQuery != "" {
				t.Errorf("query %q without --wait, want none", call.rawQuery)
			}
		})
	}
}

// The most the API takes, 1000 items of every kind together, goes out.
func TestThousandItems(t *testing.T) {
	api := newAPI(t, http.StatusOK, acceptedBody)
	var args []string
	for i := range 250 {
		args = append(args, "--url", fmt.Sprintf("https://cdn.example.com/%d", i), "--prefix", fmt.Sprintf("cdn.example.com/%d/", i),
			"--tag", fmt.Sprint("t", i), "--host", fmt.Sprintf("h%d.example.com", i))
	}
	if _, _, err := api.purge(t, args...); err != nil {
		t.Fatal(err)
	}
	r := api.only(t).req
	if n := len(r.Files) + len(r.Prefixes) + len(r.Tags) + len(r.Hosts); n != 1000 {
		t.Fatalf("sent %d items, want 1000", n)
	}
}

func TestWaitSetsQuery(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--wait"}, "wait=1&timeout=10s"},
		{[]string{"--wait", "--timeout", "1m30s"}, "wait=1&timeout=1m30s"},
		{[]string{"-wait", "-timeout=250ms"}, "wait=1&timeout=250ms"},
		{[]string{"--timeout", "3s"}, ""},
	} {
		api := newAPI(t, http.StatusOK, appliedBody)
		if _, _, err := api.purge(t, append([]string{"--tag", "t"}, c.args...)...); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got := api.only(t).rawQuery; got != c.want {
			t.Errorf("%v: query %q, want %q", c.args, got, c.want)
		}
	}
}

func TestAnswersToExitStatus(t *testing.T) {
	for _, c := range []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		wait    bool
		exit    int
		stdout  string
		wantErr string
	}{
		{name: "accepted", status: 200, body: acceptedBody, exit: 0,
			stdout: "purged 3 items (seq 17): accepted\n"},
		{name: "applied everywhere", status: 200, body: appliedBody, wait: true, exit: 0,
			stdout: "purged 3 items (seq 17): applied by 2 edges\n"},
		{name: "lagging", status: 202, body: laggingBody, wait: true, exit: 2,
			stdout:  "purged 3 items (seq 17): accepted; 1 edge lagging: edge-c3d4\n",
			wantErr: "202 Accepted: accepted, but not confirmed in time by 1 edge: edge-c3d4"},
		{name: "bad request", status: 400, body: `{"error":"files[0]: \"x\" is not an absolute URL"}`, exit: 1,
			wantErr: `400 Bad Request: files[0]: "x" is not an absolute URL`},
		{name: "unknown token", status: 401, body: `{"error":"unknown token"}`, exit: 1,
			wantErr: "401 Unauthorized: unknown token (edgectl sends the token in EDGE_PURGE_TOKEN)"},
		{name: "host not allowed", status: 403, body: `{"error":"this token may not purge host a.example.com"}`, exit: 1,
			wantErr: "403 Forbidden: this token may not purge host a.example.com"},
		{name: "method", status: 405, body: `{"error":"use POST"}`, exit: 1, wantErr: "405 Method Not Allowed: use POST"},
		{name: "too big", status: 413, body: `{"error":"body over 1 MiB"}`, exit: 1, wantErr: "413 Request Entity Too Large: body over 1 MiB"},
		{name: "rate limited", status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"error":"too many purges"}`, exit: 1,
			wantErr: "429 Too Many Requests: too many purges (retry after 7s)"},
		{name: "bus down", status: 503, body: `{"error":"purge bus unavailable; retry"}`, exit: 1,
			wantErr: "503 Service Unavailable: purge bus unavailable; retry"},
		{name: "not our JSON", status: 500, header: map[string]string{"Content-Type": "text/html"}, body: "<html>\n<b>oops</b>\n</html>", exit: 1,
			wantErr: "500 Internal Server Error: <html> <b>oops</b> </html>"},
		{name: "empty error", status: 502, body: "", exit: 1, wantErr: "502 Bad Gateway: no message in the answer"},
		{name: "not found", status: 404, header: map[string]string{"Content-Type": "text/plain"}, body: "404 page not found\n", exit: 1,
			wantErr: "404 Not Found: 404 page not found (is -admin an edge's admin API?)"},
		{name: "other success", status: 204, exit: 1, wantErr: "204 No Content: no message in the answer"},
		{name: "200 not JSON", status: 200, header: map[string]string{"Content-Type": "text/html"}, body: "<html>welcome</html>", exit: 1,
			wantErr: "200 OK: the answer is not the purge API's JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := newAPI(t, c.status, c.body)
			for k, v := range c.header {
				api.header.Set(k, v)
			}
			args := []string{"--tag", "t"}
			if c.wait {
				args = append(args, "--wait")
			}
			stdout, exit, err := api.purge(t, args...)
			if exit != c.exit {
				t.Errorf("exit status %d (err %v), want %d", exit, err, c.exit)
			}
			if stdout != c.stdout {
				t.Errorf("stdout %q, want %q", stdout, c.stdout)
			}
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), c.wantErr)) {
				t.Errorf("err %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestSummaryLines(t *testing.T) {
	for _, c := range []struct {
		status int
		args   []string
		body   string
		want   string
	}{
		{200, []string{"--url", "https://a.example.com/x", "--wait"},
			`{"id":"e:5","seq":5,"items":1,"waited":true,"applied_by":["e"],"lagging":[]}`,
			"purged 1 item (seq 5): applied by 1 edge"},
		{200, []string{"--tag", "t", "--soft"},
			`{"id":"e:6","seq":6,"items":1,"soft":true,"waited":false}`,
			"soft-purged 1 item (seq 6): accepted"},
		{200, []string{"--everything"},
			`{"id":"e:7","seq":7,"items":0,"waited":false,"applied_by":[],"lagging":[]}`,
			"purged everything (seq 7): accepted"},
		{202, []string{"--everything", "--wait", "--timeout", "2s"},
			`{"id":"e:8","seq":8,"items":0,"waited":true,"applied_by":["a"],"lagging":["b","c"]}`,
			"purged everything (seq 8): accepted; 2 edges lagging: b, c"},
		{202, []string{"--tag", "t", "--wait", "--timeout", "2s"},
			`{"id":"e:9","seq":9,"items":1,"waited":true,"applied_by":["a"],"lagging":[]}`,
			"purged 1 item (seq 9): accepted; not confirmed by every edge within 2s"},
		// A 200 that still names lagging edges is not "applied everywhere".
		{200, []string{"--tag", "t", "--wait"},
			`{"id":"e:10","seq":10,"items":1,"waited":true,"applied_by":["a"],"lagging":["b"]}`,
			"purged 1 item (seq 10): accepted; 1 edge lagging: b"},
	} {
		api := newAPI(t, c.status, c.body)
		stdout, exit, err := api.purge(t, c.args...)
		if stdout != c.want+"\n" {
			t.Errorf("%v: stdout %q, want %q", c.args, stdout, c.want)
		}
		wantExit := 0
		if strings.Contains(c.want, "lagging") || c.status == 202 {
			wantExit = 2
		}
		if exit != wantExit {
			t.Errorf("%v: exit status %d (err %v), want %d", c.args, exit, err, wantExit)
		}
	}
}

func TestJSONPrintsTheAnswer(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		exit   int
	}{{200, appliedBody, 0}, {200, appliedBody + "\n", 0}, {202, laggingBody, 2}} {
		api := newAPI(t, c.status, c.body)
		stdout, exit, err := api.purge(t, "--tag", "t", "--wait", "--json")
		if stdout != strings.TrimSuffix(c.body, "\n")+"\n" {
			t.Errorf("stdout %q, want the answer %q", stdout, c.body)
		}
		if exit != c.exit {
			t.Errorf("%d: exit status %d (err %v), want %d", c.status, exit, err, c.exit)
		}
	}
	// Refusals go to stderr as always; stdout stays empty.
	api := newAPI(t, http.StatusForbidden, `{"error":"no"}`)
	stdout, exit, err := api.purge(t, "--tag", "t", "--json")
	if stdout != "" || exit != 1 || err == nil || err.Error() != "403 Forbidden: no" {
		t.Errorf("403 with --json: stdout %q, exit %d, err %v", stdout, exit, err)
	}
}

// A redirect is reported, never followed with the token.
func TestRedirectNotFollowed(t *testing.T) {
	elsewhere := newAPI(t, http.StatusOK, acceptedBody)
	api := newAPI(t, http.StatusTemporaryRedirect, "")
	api.header.Set("Location", elsewhere.url+"/v1/purge")
	_, exit, err := api.purge(t, "--tag", "t")
	if exit != 1 || err == nil || !strings.Contains(err.Error(), "307 Temporary Redirect") || !strings.Contains(err.Error(), elsewhere.url) {
		t.Fatalf("exit %d, err %v; want 1 and the redirect named", exit, err)
	}
	elsewhere.notCalled(t)
}

func TestNetworkError(t *testing.T) {
	t.Setenv("EDGE_PURGE_TOKEN", testToken)
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, stderr, exit, err := edgectl(t, "purge", "-admin", srv.URL, "--tag", "t")
	if exit != 1 || err == nil || !strings.Contains(err.Error(), "cannot reach "+srv.URL+"/v1/purge") {
		t.Fatalf("exit %d, err %v; want 1 and cannot reach", exit, err)
	}
	if stderr != "" {
		t.Errorf("run wrote %q on stderr; main prints the error", stderr)
	}
}

// A call that gets no answer ends with the context (main's is cancelled by
// a signal; the HTTP call has its own deadline).
func TestNoAnswer(t *testing.T) {
	t.Setenv("EDGE_PURGE_TOKEN", testToken)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	for _, c := range []struct {
		stop func(context.Context) (context.Context, context.CancelFunc)
		want string
	}{
		{func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 100*time.Millisecond)
		}, "no answer from " + srv.URL + "/v1/purge within 15s; a purge is safe to repeat"},
		{func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, "interrupted before " + srv.URL + "/v1/purge answered"},
	} {
		ctx, cancel := c.stop(context.Background())
		err := run(ctx, []string{"purge", "-admin", srv.URL, "--tag", "t"}, io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || exitStatus(err) != 1 {
			t.Errorf("err %v, want %q and exit status 1", err, c.want)
		}
	}
}

func TestToken(t *testing.T) {
	for _, env := range []struct {
		value string
		set   bool
	}{{"", false}, {"", true}, {" \n", true}} {
		api := newAPI(t, http.StatusOK, acceptedBody)
		if env.set {
			t.Setenv("EDGE_PURGE_TOKEN", env.value)
		} else {
			os.Unsetenv("EDGE_PURGE_TOKEN") // restored by newAPI's t.Setenv
		}
		_, exit, err := api.purge(t, "--tag", "t")
		if exit != 1 || err == nil || err.Error() != tokenHelp {
			t.Errorf("EDGE_PURGE_TOKEN %q (set %v): exit %d, err %v; want %q", env.value, env.set, exit, err, tokenHelp)
		}
		api.notCalled(t)
	}
	// $(cat data/purge-token) keeps no newline, but a file read raw does.
	api := newAPI(t, http.StatusOK, acceptedBody)
	t.Setenv("EDGE_PURGE_TOKEN", testToken+"\n")
	if _, _, err := api.purge(t, "--tag", "t"); err != nil {
		t.Fatal(err)
	}
	api.only(t)
}

// Every mistake edgectl can see is refused before any call, with exit 1
// and a message that says how to write it.
func TestLocalValidation(t *testing.T) {
	many := []string{}
	for i := range 1001 {
		many = append(many, "--tag", fmt.Sprint("t", i))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "purge: nothing to purge: give --url, --prefix, --tag, --host or --everything"},
		{[]string{"--soft", "--wait"}, "purge: nothing to purge"},
		{[]string{"--url", "cdn.example.com/img/a.png"}, `purge: --url "cdn.example.com/img/a.png": give an absolute http(s) URL`},
		{[]string{"--url", "/img/a.png"}, `purge: --url "/img/a.png": give an absolute http(s) URL`},
		{[]string{"--url", "ftp://cdn.example.com/a"}, `purge: --url "ftp://cdn.example.com/a": give an absolute http(s) URL`},
		{[]string{"--url", "https:///a"}, `purge: --url "https:///a": give an absolute http(s) URL`},
		{[]string{"--url", "https://cdn.example.com/%zz"}, `purge: --url "https://cdn.example.com/%zz": give an absolute http(s) URL`},
		{[]string{"--prefix", "https://cdn.example.com/img/"}, `purge: --prefix "https://cdn.example.com/img/": write it without the scheme`},
		{[]string{"--prefix", "cdn.example.com"}, `purge: --prefix "cdn.example.com": give host/path`},
		{[]string{"--prefix", "/img/"}, `purge: --prefix "/img/": give host/path`},
		{[]string{"--tag", ""}, "purge: --tag: a tag cannot be empty"},
		{[]string{"--host", "cdn.example.com/img"}, `purge: --host "cdn.example.com/img": give a bare host name`},
		{[]string{"--host", ""}, `purge: --host "": give a bare host name`},
		{[]string{"--url", "https://user@cdn.example.com/a"}, `purge: --url "https://user@cdn.example.com/a": give an absolute http(s) URL`},
		{append(many[2:], "--everything"), "purge: 1001 items: at most 1000 per call"},
		{many, "purge: 1001 items: at most 1000 per call; split them into several calls"},
		{[]string{"--tag", "t", "--timeout", "0s"}, "purge: --timeout 0s: give a positive duration"},
		{[]string{"--tag", "t", "--timeout", "-1s"}, "purge: --timeout -1s: give a positive duration"},
		{[]string{"--tag", "t", "--timeout", "soon"}, `purge: invalid value "soon" for flag -timeout`},
		{[]string{"--tags", "t"}, "purge: flag provided but not defined: -tags (edgectl help purge shows the flags)"},
		{[]string{"https://cdn.example.com/a.png"}, `purge: unexpected argument "https://cdn.example.com/a.png": name what to purge with --url`},
	} {
		api := newAPI(t, http.StatusOK, acceptedBody)
		stdout, stderr, exit, err := edgectl(t, append([]string{"purge", "-admin", api.url}, c.args...)...)
		if exit != 1 || err == nil || !strings.HasPrefix(err.Error(), c.want) {
			name := strings.Join(c.args, " ")
			if len(name) > 80 {
				name = name[:80] + "…"
			}
			t.Errorf("%s: exit %d, err %v; want 1 and %q", name, exit, err, c.want)
		}
		if stdout != "" || stderr != "" {
			t.Errorf("%v: printed %q, %q; want only the error", c.args, stdout, stderr)
		}
		api.notCalled(t)
	}
}

func TestAdminURL(t *testing.T) {
	// EDGE_ADMIN_URL names the API when -admin is not given...
	api := newAPI(t, http.StatusOK, acceptedBody)
	t.Setenv("EDGE_ADMIN_URL", api.url)
	if _, _, _, err := edgectl(t, "purge", "--tag", "t"); err != nil {
		t.Fatal(err)
	}
	api.only(t)

	// ...and -admin wins over it.
	other := newAPI(t, http.StatusOK, acceptedBody)
	t.Setenv("EDGE_ADMIN_URL", api.url)
	if _, _, _, err := edgectl(t, "purge", "-admin", other.url, "--tag", "t"); err != nil {
		t.Fatal(err)
	}
	api.only(t)
	other.only(t)

	// The default is only resolved here: calling it would purge whatever
	// edge this machine runs.
	t.Setenv("EDGE_ADMIN_URL", "")
	if got := adminURL(""); got != "http://127.0.0.1:8081" {
		t.Errorf("default admin URL %q", got)
	}
	for admin, want := range map[string]string{
		"http://127.0.0.1:8081":             "http://127.0.0.1:8081/v1/purge",
		"https://edge-1.example.com/admin/": "https://edge-1.example.com/admin/v1/purge",
		"http://edge-1:8081/?x=1#top":       "http://edge-1:8081/v1/purge",
	} {
		o := purgeOptions{admin: admin}
		if got, err := o.endpoint(); err != nil || got != want {
			t.Errorf("-admin %s: endpoint %q, %v; want %q", admin, got, err, want)
		}
	}

	for _, bad := range []string{"127.0.0.1:8081", "edge-1", "ftp://edge-1/", "http://"} {
		_, _, exit, err := edgectl(t, "purge", "-admin", bad, "--tag", "t")
		if exit != 1 || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("admin URL %q: give an http(s) URL", bad)) {
			t.Errorf("-admin %q: exit %d, err %v", bad, exit, err)
		}
		t.Setenv("EDGE_ADMIN_URL", bad)
		if _, _, _, err := edgectl(t, "purge", "--tag", "t"); err == nil || !strings.Contains(err.Error(), "EDGE_ADMIN_URL") {
			t.Errorf("EDGE_ADMIN_URL %q: err %v", bad, err)
		}
		t.Setenv("EDGE_ADMIN_URL", "")
	}
}

func TestUsage(t *testing.T) {
	stdout, stderr, exit, err := edgectl(t)
	if exit != 1 || err == nil || err.Error() != "name a subcommand" || stdout != "" || !strings.Contains(stderr, "edgectl purge [flags]") {
		t.Errorf("no subcommand: exit %d, err %v, stdout %q, stderr %q", exit, err, stdout, stderr)
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		stdout, stderr, _, err := edgectl(t, args...)
		if err != nil || !strings.Contains(stdout, "edgectl purge [flags]") || stderr != "" {
			t.Errorf("%v: err %v, stdout %q, stderr %q", args, err, stdout, stderr)
		}
	}
	_, _, exit, err = edgectl(t, "purje")
	if exit != 1 || err == nil || err.Error() != `unknown subcommand "purje" (edgectl help lists them)` {
		t.Errorf("unknown subcommand: exit %d, err %v", exit, err)
	}

	// The purge usage shows every flag, an example of each, the
	// environment and the exit statuses.
	for _, args := range [][]string{{"help", "purge"}, {"purge", "-h"}, {"purge", "--help"}} {
		stdout, stderr, _, err := edgectl(t, args...)
		if err != nil || stderr != "" {
			t.Errorf("%v: err %v, stderr %q", args, err, stderr)
		}
		for _, want := range []string{
			"-admin URL", "-url URL", "-prefix host/path", "-tag T", "-host host", "-everything", "-soft", "-wait", "-timeout duration", "-json",
			"--url https://cdn.example.com/img/a.png", "--prefix cdn.example.com/img/", "--tag product-42 --soft",
			"--host cdn.example.com", "--everything --wait --timeout 30s", "-admin http://edge-1:8081", "--json",
			"EDGE_PURGE_TOKEN", "EDGE_ADMIN_URL", "<data>/purge-token", "(default 10s)",
			"0  accepted", "1  error", "2  accepted, but",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%v: usage lacks %q:\n%s", args, want, stdout)
			}
		}
	}
}

func TestExitStatus(t *testing.T) {
	if got := exitStatus(errors.New("x")); got != 1 {
		t.Errorf("plain error: %d", got)
	}
	if got := exitStatus(fmt.Errorf("wrapped: %w", &lagging{status: "202 Accepted"})); got != 2 {
		t.Errorf("lagging: %d", got)
	}
}

// The request body names only what was asked for.
func TestBodyOmitsUnset(t *testing.T) {
	body, err := json.Marshal(&purge.Request{Tags: []string{"t"}})
	if err != nil || string(body) != `{"tags":["t"]}` {
		t.Errorf("body %s, %v", body, err)
	}
}
