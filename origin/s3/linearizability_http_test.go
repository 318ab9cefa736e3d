package s3_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/edgecdn/edge/origin/origintest"
)

// The HTTP linearizability check: concurrent clients of the real server
// (aws-sdk-go-v2 over loopback) read, write, delete and conditionally write
// a few keys; porcupine decides whether some sequential order of the calls,
// each taking effect between its request and its response, explains every
// answer. The specification is one S3 object per key.

// kvCall is what a client asked the server.
type kvCall struct {
	Kind    kvKind
	Key     string
	Body    string // the value written (put, put-if-match)
	IfMatch string // put-if-match: the quoted ETag sent in If-Match
}

type kvKind uint8

const (
	kvGet kvKind = iota
	kvPut
	kvDelete
	kvPutIfMatch
)

// kvAnswer is what the server answered.
type kvAnswer struct {
	Status int    // 200 (or 204 for a delete), 404 NoSuchKey, 412 PreconditionFailed
	Body   string // a get's body
}

// objectState is one key's object: Body is its content, Exists whether
// there is an object at all (an empty body is a valid object).
type objectState struct {
	Exists bool
	Body   string
}

func quotedMD5(s string) string {
	sum := md5.Sum([]byte(s))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// s3ObjectModel: a get returns the object or 404; a put replaces it; a
// delete removes it (204 whether or not it existed); a put with If-Match
// replaces it when the tag is its ETag (the MD5 of the body of a
// single-part object), answers 412 when another object is there and 404
// NoSuchKey when none is.
var s3ObjectModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		index := make(map[string]int)
		var parts [][]porcupine.Operation
		for _, op := range history {
			k := op.Input.(kvCall).Key
			i, ok := index[k]
			if !ok {
				i = len(parts)
				index[k] = i
				parts = append(parts, nil)
			}
			parts[i] = append(parts[i], op)
		}
		return parts
	},
	Init: func() any { return objectState{} },
	Step: func(state, input, output any) (bool, any) {
		obj, call, ans := state.(objectState), input.(kvCall), output.(kvAnswer)
		switch call.Kind {
		case kvGet:
			if !obj.Exists {
				return ans.Status == http.StatusNotFound, obj
			}
			return ans.Status == http.StatusOK && ans.Body == obj.Body, obj
		case kvPut:
			return ans.Status == http.StatusOK, objectState{Exists: true, Body: call.Body}
		case kvDelete:
			return ans.Status == http.StatusNoContent, objectState{}
		case kvPutIfMatch:
			switch {
			case !obj.Exists:
				return ans.Status == http.StatusNotFound, obj
			case quotedMD5(obj.Body) != call.IfMatch:
				return ans.Status == http.StatusPreconditionFailed, obj
			default:
				return ans.Status == http.StatusOK, objectState{Exists: true, Body: call.Body}
			}
		}
		return false, obj
	},
	DescribeOperation: func(input, output any) string {
		call, ans := input.(kvCall), output.(kvAnswer)
		switch call.Kind {
		case kvGet:
			if ans.Status == http.StatusOK {
				return fmt.Sprintf("GET %s → %q", call.Key, ans.Body)
			}
			return fmt.Sprintf("GET %s → %d", call.Key, ans.Status)
		case kvPut:
			return fmt.Sprintf("PUT %s %q → %d", call.Key, call.Body, ans.Status)
		case kvDelete:
			return fmt.Sprintf("DELETE %s → %d", call.Key, ans.Status)
		default:
			return fmt.Sprintf("PUT %s %q If-Match %.9s…\" → %d", call.Key, call.Body, call.IfMatch, ans.Status)
		}
	},
	DescribeState: func(state any) string {
		obj := state.(objectState)
		if !obj.Exists {
			return "no object"
		}
		return fmt.Sprintf("%q, ETag %.9s…\"", obj.Body, quotedMD5(obj.Body))
	},
}

// kvClient performs calls through the SDK and maps the outcomes the model
// knows to kvAnswer; anything else is an error that ends the run.
type kvClient struct {
	c      *awss3.Client
	bucket string
}

func (k kvClient) do(t *testing.T, call kvCall) (kvAnswer, string, error) {
	c, bucket := t.Context(), aws.String(k.bucket)
	switch call.Kind {
	case kvGet:
		out, err := k.c.GetObject(c, &awss3.GetObjectInput{Bucket: bucket, Key: aws.String(call.Key)})
		if err != nil {
			if apiCode(err) == "NoSuchKey" && httpStatus(err) == http.StatusNotFound {
				return kvAnswer{Status: http.StatusNotFound}, "", nil
			}
			return kvAnswer{}, "", fmt.Errorf("GET %s: %w", call.Key, err)
		}
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			return kvAnswer{}, "", fmt.Errorf("GET %s: reading the body: %w", call.Key, err)
		}
		if etag := aws.ToString(out.ETag); etag != quotedMD5(string(b)) {
			return kvAnswer{}, "", fmt.Errorf("GET %s returned %q with ETag %s, but its MD5 is %s", call.Key, b, etag, quotedMD5(string(b)))
		}
		return kvAnswer{Status: http.StatusOK, Body: string(b)}, aws.ToString(out.ETag), nil
	case kvPut, kvPutIfMatch:
		in := &awss3.PutObjectInput{Bucket: bucket, Key: aws.String(call.Key), Body: strings.NewReader(call.Body)}
		if call.Kind == kvPutIfMatch {
			in.IfMatch = aws.String(call.IfMatch)
		}
		out, err := k.c.PutObject(c, in)
		if err != nil {
			code, status := apiCode(err), httpStatus(err)
			if call.Kind == kvPutIfMatch && (code == "PreconditionFailed" && status == http.StatusPreconditionFailed ||
				code == "NoSuchKey" && status == http.StatusNotFound) {
				return kvAnswer{Status: status}, "", nil
			}
			return kvAnswer{}, "", fmt.Errorf("PUT %s %q (If-Match %q): %w", call.Key, call.Body, call.IfMatch, err)
		}
		if etag := aws.ToString(out.ETag); etag != quotedMD5(call.Body) {
			return kvAnswer{}, "", fmt.Errorf("PUT %s %q answered ETag %s, want its MD5 %s", call.Key, call.Body, etag, quotedMD5(call.Body))
		}
		return kvAnswer{Status: http.StatusOK}, aws.ToString(out.ETag), nil
	case kvDelete:
		if _, err := k.c.DeleteObject(c, &awss3.DeleteObjectInput{Bucket: bucket, Key: aws.String(call.Key)}); err != nil {
			return kvAnswer{}, "", fmt.Errorf("DELETE %s: %w", call.Key, err)
		}
		return kvAnswer{Status: http.StatusNoContent}, "", nil
	}
	return kvAnswer{}, "", errors.New("unknown call")
}

// runHTTPHistory lets clients issue opsPerClient calls each on keys and
// returns every call with the times of its request and response.
func runHTTPHistory(t *testing.T, kv kvClient, clients, opsPerClient int, keys []string) []porcupine.Operation {
	t.Helper()
	return origintest.ConcurrentHistory(clients, func(id int, clock func() int64) []porcupine.Operation {
		rng := rand.New(rand.NewPCG(0x5eed, uint64(id)))
		lastETag := make(map[string]string) // key → the ETag this client saw last
		ops := make([]porcupine.Operation, 0, opsPerClient)
		call := func(c kvCall) bool {
			begin := clock()
			ans, etag, err := kv.do(t, c)
			end := clock()
			if err != nil {
				t.Errorf("client %d: %v", id, err)
				return false
			}
			if etag != "" {
				lastETag[c.Key] = etag
			}
			ops = append(ops, porcupine.Operation{ClientId: id, Input: c, Call: begin, Output: ans, Return: end})
			return true
		}
		for n := 0; len(ops) < opsPerClient; n++ {
			key := keys[rng.IntN(len(keys))]
			body := fmt.Sprintf("c%02d-%04d", id, n) // unique across the run
			ok := true
			switch r := rng.IntN(20); {
			case r < 6:
				ok = call(kvCall{Kind: kvGet, Key: key})
			case r < 9:
				ok = call(kvCall{Kind: kvPut, Key: key, Body: body})
			case r < 11:
				ok = call(kvCall{Kind: kvDelete, Key: key})
			default:
				// Compare-and-swap on the ETag last seen, usually right
				// after reading it; never-seen keys use a tag no body has.
				if r < 17 {
					ok = call(kvCall{Kind: kvGet, Key: key})
				}
				tag, seen := lastETag[key]
				if !seen {
					tag = `"00000000000000000000000000000000"`
				}
				ok = ok && call(kvCall{Kind: kvPutIfMatch, Key: key, Body: body, IfMatch: tag})
			}
			if !ok {
				break
			}
		}
		return ops
	})
}

// requireLinearizable runs porcupine and, unless the history is
// linearizable, writes its visualization to the test's artifact directory.
func requireLinearizable(t *testing.T, history []porcupine.Operation) {
	t.Helper()
	res := origintest.CheckLinearizable(t, s3ObjectModel, history, 10*time.Second, "s3-http-history")
	if res == porcupine.Ok {
		return
	}
	if res == porcupine.Unknown {
		t.Fatalf("porcupine could not decide within its timeout whether the %d operations are linearizable", len(history))
	}
	t.Fatalf("the history of %d operations over HTTP is not linearizable", len(history))
}

// TestLinearizableOverHTTP: 16 clients of the real server; every answer
// must be explained by one sequential order of the calls.
func TestLinearizableOverHTTP(t *testing.T) {
	const clients = 16
	opsPerClient := 130 // 2080 operations
	if testing.Short() {
		opsPerClient = 30
	}
	ts := startServer(t)
	ts.mkbucket("lin")
	// A connection per client, all closed before the server shuts down (it
	// would wait 5 s for connections that never carried a request).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	t.Cleanup(tr.CloseIdleConnections)
	client := ts.newClient(testKeyID, testSecret, func(o *awss3.Options) { o.HTTPClient = &http.Client{Transport: tr} })

	keys := []string{"k0", "k1", "dir/k2", "k 3"}
	begin := time.Now()
	history := runHTTPHistory(t, kvClient{c: client, bucket: "lin"}, clients, opsPerClient, keys)
	if t.Failed() {
		t.FailNow()
	}
	if len(history) < clients*opsPerClient {
		t.Fatalf("recorded %d operations, want at least %d", len(history), clients*opsPerClient)
	}
	t.Logf("%d clients ran %d operations on %d keys in %v", clients, len(history), len(keys), time.Since(begin).Round(time.Millisecond))

	// Each outcome the model distinguishes must occur, or the run proves less
	// than it claims.
	seen := make(map[string]int)
	for _, op := range history {
		call, ans := op.Input.(kvCall), op.Output.(kvAnswer)
		seen[fmt.Sprintf("%s→%d", [...]string{"get", "put", "delete", "put-if-match"}[call.Kind], ans.Status)]++
	}
	t.Logf("outcomes: %v", seen)
	for _, want := range []string{"get→200", "get→404", "put→200", "delete→204", "put-if-match→200", "put-if-match→412", "put-if-match→404"} {
		if seen[want] == 0 {
			t.Errorf("no operation ended %s: the workload does not exercise that case", want)
		}
	}
	requireLinearizable(t, history)
}

// TestLinearizableOverHTTPModelRejectsStaleRead makes sure the model is not
// vacuous: a read that returns an overwritten value after the overwrite
// completed, or a conditional put that succeeds on a stale ETag, is not
// linearizable.
func TestLinearizableOverHTTPModelRejectsStaleRead(t *testing.T) {
	op := func(client int, call kvCall, ans kvAnswer, begin, end int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: call, Call: begin, Output: ans, Return: end}
	}
	ok := []porcupine.Operation{
		op(0, kvCall{Kind: kvPut, Key: "k", Body: "v1"}, kvAnswer{Status: 200}, 0, 10),
		op(1, kvCall{Kind: kvPut, Key: "k", Body: "v2"}, kvAnswer{Status: 200}, 5, 30),
		op(2, kvCall{Kind: kvGet, Key: "k"}, kvAnswer{Status: 200, Body: "v1"}, 20, 25), // concurrent with v2's put
	}
	if !porcupine.CheckOperations(s3ObjectModel, ok) {
		t.Fatal("the model rejects a read concurrent with the overwrite")
	}
	for name, h := range map[string][]porcupine.Operation{
		"stale read": {
			op(0, kvCall{Kind: kvPut, Key: "k", Body: "v1"}, kvAnswer{Status: 200}, 0, 10),
			op(1, kvCall{Kind: kvPut, Key: "k", Body: "v2"}, kvAnswer{Status: 200}, 11, 20),
			op(2, kvCall{Kind: kvGet, Key: "k"}, kvAnswer{Status: 200, Body: "v1"}, 21, 25),
		},
		"lost delete": {
			op(0, kvCall{Kind: kvPut, Key: "k", Body: "v1"}, kvAnswer{Status: 200}, 0, 10),
			op(1, kvCall{Kind: kvDelete, Key: "k"}, kvAnswer{Status: 204}, 11, 20),
			op(2, kvCall{Kind: kvGet, Key: "k"}, kvAnswer{Status: 200, Body: "v1"}, 21, 25),
		},
		"compare-and-swap on a stale ETag": {
			op(0, kvCall{Kind: kvPut, Key: "k", Body: "v1"}, kvAnswer{Status: 200}, 0, 10),
			op(1, kvCall{Kind: kvPut, Key: "k", Body: "v2"}, kvAnswer{Status: 200}, 11, 20),
			op(2, kvCall{Kind: kvPutIfMatch, Key: "k", Body: "v3", IfMatch: quotedMD5("v1")}, kvAnswer{Status: 200}, 21, 25),
		},
		"conditional put on a missing key answered 412": {
			op(0, kvCall{Kind: kvPutIfMatch, Key: "k", Body: "v3", IfMatch: quotedMD5("v1")}, kvAnswer{Status: 412}, 0, 5),
		},
	} {
		if porcupine.CheckOperations(s3ObjectModel, h) {
			t.Errorf("the model accepts a history with a %s", name)
		}
	}
}
