package origin_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/origintest"
)

// The linearizability harness: clients run random gets, puts, deletes and
// If-Match puts on a few keys of one bucket, every call and return is
// recorded, and porcupine checks that the history is linearizable against a
// sequential model of one object per key.

const (
	linBucket         = "linearizable"
	linClients        = 16
	linOpsPerClient   = 250
	linKeys           = 4
	linCheckTimeout   = 10 * time.Second
	linNeverWrittenID = "never-written"
)

type linOpKind int

const (
	linGet linOpKind = iota
	linPut
	linDelete
	linPutIfMatch
)

func (k linOpKind) String() string {
	return [...]string{"get", "put", "delete", "put-if-match"}[k]
}

// linInput is an operation as a client called it.
type linInput struct {
	Op    linOpKind
	Key   string
	Value string // put, put-if-match
	ETag  string // put-if-match: the If-Match value
}

// linCondResult is how a put-if-match ended.
type linCondResult int

const (
	linCondOK linCondResult = iota
	linCondPreconditionFailed
	linCondNoSuchKey
)

func (r linCondResult) String() string {
	return [...]string{"ok", "precondition-failed", "no-such-key"}[r]
}

// linOutput is what the call returned.
type linOutput struct {
	Found   bool          // get: the object existed
	Value   string        // get: its body
	Deleted bool          // delete: DeleteResult.Deleted
	Cond    linCondResult // put-if-match
}

// linState is one key's object in the model: absent, or present with Value.
type linState struct {
	Present bool
	Value   string
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// linModel is the sequential specification of one object, partitioned by
// key. The ETag of a value is its MD5, as the Store's contract says.
var linModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := make(map[string][]porcupine.Operation)
		var keys []string
		for _, op := range history {
			k := op.Input.(linInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		parts := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, byKey[k])
		}
		return parts
	},
	PartitionEvent: func(history []porcupine.Event) [][]porcupine.Event {
		// Return events carry only outputs: map them to their call's key.
		keyOf := make(map[int]string)
		byKey := make(map[string][]porcupine.Event)
		var keys []string
		for _, ev := range history {
			if ev.Kind == porcupine.CallEvent {
				keyOf[ev.Id] = ev.Value.(linInput).Key
			}
			k := keyOf[ev.Id]
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], ev)
		}
		parts := make([][]porcupine.Event, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, byKey[k])
		}
		return parts
	},
	Init: func() any { return linState{} },
	Step: func(state, input, output any) (bool, any) {
		st := state.(linState)
		in := input.(linInput)
		out := output.(linOutput)
		switch in.Op {
		case linGet:
			ok := out.Found == st.Present && (!st.Present || out.Value == st.Value)
			return ok, st
		case linPut:
			return true, linState{Present: true, Value: in.Value}
		case linDelete:
			// Deleted reports whether an object existed.
			return out.Deleted == st.Present, linState{}
		case linPutIfMatch:
			switch {
			case !st.Present:
				return out.Cond == linCondNoSuchKey, st
			case md5Hex(st.Value) == in.ETag:
				return out.Cond == linCondOK, linState{Present: true, Value: in.Value}
			default:
				return out.Cond == linCondPreconditionFailed, st
			}
		}
		panic(fmt.Sprintf("unknown operation %v", in.Op))
	},
	Hash: func(state any) uint64 {
		st := state.(linState)
		h := fnv.New64a()
		if st.Present {
			h.Write([]byte{1})
			io.WriteString(h, st.Value)
		}
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in := input.(linInput)
		out := output.(linOutput)
		switch in.Op {
		case linGet:
			if !out.Found {
				return fmt.Sprintf("get(%s) → not found", in.Key)
			}
			return fmt.Sprintf("get(%s) → %q", in.Key, out.Value)
		case linPut:
			return fmt.Sprintf("put(%s, %q)", in.Key, in.Value)
		case linDelete:
			return fmt.Sprintf("delete(%s) → deleted=%v", in.Key, out.Deleted)
		default:
			return fmt.Sprintf("put(%s, %q, If-Match %.8s…) → %v", in.Key, in.Value, in.ETag, out.Cond)
		}
	},
	DescribeState: func(state any) string {
		st := state.(linState)
		if !st.Present {
			return "absent"
		}
		return fmt.Sprintf("%q (etag %.8s…)", st.Value, md5Hex(st.Value))
	},
}

// runLinearizabilityHistory runs the clients against s (whose bucket
// linBucket exists) and returns the recorded history. An unexpected error,
// or metadata that contradicts a body, fails t and stops that client.
func runLinearizabilityHistory(t *testing.T, s origin.Store, seed uint64) []porcupine.Operation {
	t.Helper()
	ctx := t.Context()
	keys := make([]string, linKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	return origintest.ConcurrentHistory(linClients, func(c int, now func() int64) []porcupine.Operation {
		rng := rand.New(rand.NewPCG(seed, uint64(c)))
		seen := make(map[string]string) // key → the ETag this client saw last
		ops := make([]porcupine.Operation, 0, linOpsPerClient)
		do := func(in linInput) bool {
			call := now()
			out, etag, err := linDo(ctx, s, in)
			ret := now()
			if err != nil {
				t.Errorf("client %d: %v", c, err)
				return false
			}
			if etag != "" {
				seen[in.Key] = etag
			}
			ops = append(ops, porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret})
			return true
		}
		for i := 0; len(ops) < linOpsPerClient; i++ {
			key := keys[rng.IntN(len(keys))]
			value := fmt.Sprintf("seed%d-client%d-op%d", seed, c, i)
			var ok bool
			switch p := rng.IntN(100); {
			case p < 30:
				ok = do(linInput{Op: linGet, Key: key})
			case p < 45:
				ok = do(linInput{Op: linPut, Key: key, Value: value})
			case p < 52:
				ok = do(linInput{Op: linDelete, Key: key})
			default:
				// A conditional put with the ETag this client saw last
				// on the key; two times in three a read-modify-write
				// that reads the key just before.
				if p < 85 && !do(linInput{Op: linGet, Key: key}) {
					return ops
				}
				etag := seen[key]
				if etag == "" {
					etag = md5Hex(linNeverWrittenID)
				}
				ok = do(linInput{Op: linPutIfMatch, Key: key, Value: value, ETag: etag})
			}
			if !ok {
				break
			}
		}
		return ops
	})
}

// linDo performs one operation and returns its outcome and the ETag it saw
// (if any). Errors are unexpected outcomes, including metadata that does not
// match the body.
func linDo(ctx context.Context, s origin.Store, in linInput) (linOutput, string, error) {
	var out linOutput
	switch in.Op {
	case linGet:
		obj, err := s.GetObject(ctx, linBucket, in.Key, origin.GetOptions{})
		if errors.Is(err, origin.ErrNoSuchKey) {
			return out, "", nil
		}
		if err != nil {
			return out, "", fmt.Errorf("GetObject(%s): %w", in.Key, err)
		}
		b, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			return out, "", fmt.Errorf("GetObject(%s): reading body: %w", in.Key, err)
		}
		if int64(len(b)) != obj.Info.Size || obj.Info.ETag != md5Hex(string(b)) {
			return out, "", fmt.Errorf("GetObject(%s) returned %q (%d bytes, md5 %s) with Size %d, ETag %s",
				in.Key, b, len(b), md5Hex(string(b)), obj.Info.Size, obj.Info.ETag)
		}
		out.Found, out.Value = true, string(b)
		return out, obj.Info.ETag, nil
	case linPut, linPutIfMatch:
		opts := origin.PutOptions{Size: int64(len(in.Value))}
		if in.Op == linPutIfMatch {
			opts.Conditions.IfMatch = in.ETag
		}
		info, err := s.PutObject(ctx, linBucket, in.Key, strings.NewReader(in.Value), opts)
		switch {
		case in.Op == linPutIfMatch && errors.Is(err, origin.ErrPreconditionFailed):
			out.Cond = linCondPreconditionFailed
			return out, "", nil
		case in.Op == linPutIfMatch && errors.Is(err, origin.ErrNoSuchKey):
			out.Cond = linCondNoSuchKey
			return out, "", nil
		case err != nil:
			return out, "", fmt.Errorf("PutObject(%s, %q, If-Match %q): %w", in.Key, in.Value, in.ETag, err)
		}
		if want := md5Hex(in.Value); info.ETag != want {
			return out, "", fmt.Errorf("PutObject(%s, %q) returned ETag %s, want its MD5 %s", in.Key, in.Value, info.ETag, want)
		}
		out.Cond = linCondOK
		return out, info.ETag, nil
	case linDelete:
		res, err := s.DeleteObject(ctx, linBucket, in.Key, origin.DeleteOptions{})
		if err != nil {
			return out, "", fmt.Errorf("DeleteObject(%s): %w", in.Key, err)
		}
		out.Deleted = res.Deleted
		return out, "", nil
	}
	panic("unreachable")
}

// checkLinearizable checks history against linModel (see
// origintest.CheckLinearizable).
func checkLinearizable(t *testing.T, history []porcupine.Operation, name string) porcupine.CheckResult {
	t.Helper()
	return origintest.CheckLinearizable(t, linModel, history, linCheckTimeout, name)
}

func openLinearizabilityEngine(t *testing.T) *origin.Engine {
	t.Helper()
	e, err := origin.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := e.CreateBucket(t.Context(), linBucket); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	return e
}

// TestLinearizable checks that concurrent gets, puts, deletes and If-Match
// puts on a real Engine form a linearizable history per object.
func TestLinearizable(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			e := openLinearizabilityEngine(t)
			history := runLinearizabilityHistory(t, e, seed)
			if t.Failed() {
				t.FailNow()
			}
			if n := len(history); n < linClients*linOpsPerClient {
				t.Fatalf("recorded %d operations, want %d", n, linClients*linOpsPerClient)
			}
			logOutcomes(t, history)
			if res := checkLinearizable(t, history, fmt.Sprintf("history-seed%d", seed)); res != porcupine.Ok {
				t.Fatalf("history of %d operations is not linearizable: porcupine says %s", len(history), res)
			}
		})
	}
}

// logOutcomes logs how often each outcome occurred, to show the history
// exercises every case of the model.
func logOutcomes(t *testing.T, history []porcupine.Operation) {
	t.Helper()
	counts := make(map[string]int)
	for _, op := range history {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		switch in.Op {
		case linGet:
			counts[fmt.Sprintf("get found=%v", out.Found)]++
		case linDelete:
			counts[fmt.Sprintf("delete deleted=%v", out.Deleted)]++
		case linPut:
			counts["put"]++
		case linPutIfMatch:
			counts["put-if-match "+out.Cond.String()]++
		}
	}
	t.Logf("outcomes: %v", counts)
}

// staleStore wraps a Store and serves deliberately stale reads: it
// remembers the first value successfully put to each key and, once a later
// put (one that began after the first returned) has returned, it answers
// every other GetObject on that key with the remembered old value.
type staleStore struct {
	origin.Store

	mu     sync.Mutex
	clock  int64 // orders the wrapper's own calls and returns
	first  map[string]*staleFirst
	served int // stale answers given
}

type staleFirst struct {
	value       string
	etag        string
	returned    int64 // clock when its put returned
	overwritten bool  // a put that began after returned has returned
	gets        int   // gets of the key since it was overwritten
}

func newStaleStore(s origin.Store) *staleStore {
	return &staleStore{Store: s, first: make(map[string]*staleFirst)}
}

func (s *staleStore) PutObject(ctx context.Context, bucket, key string, body io.Reader, opts origin.PutOptions) (origin.ObjectInfo, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return origin.ObjectInfo{}, err
	}
	s.mu.Lock()
	s.clock++
	began := s.clock
	s.mu.Unlock()
	info, err := s.Store.PutObject(ctx, bucket, key, bytes.NewReader(b), opts)
	if err != nil {
		return info, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock++
	if f := s.first[key]; f == nil {
		s.first[key] = &staleFirst{value: string(b), etag: info.ETag, returned: s.clock}
	} else if began > f.returned {
		f.overwritten = true
	}
	return info, nil
}

func (s *staleStore) GetObject(ctx context.Context, bucket, key string, opts origin.GetOptions) (*origin.Object, error) {
	s.mu.Lock()
	f := s.first[key]
	stale := false
	if f != nil && f.overwritten {
		f.gets++
		stale = f.gets%2 == 1
	}
	if stale {
		s.served++
	}
	s.mu.Unlock()
	if !stale {
		return s.Store.GetObject(ctx, bucket, key, opts)
	}
	return &origin.Object{
		Info:   origin.ObjectInfo{Bucket: bucket, Key: key, Size: int64(len(f.value)), ETag: f.etag},
		Length: int64(len(f.value)),
		Body:   io.NopCloser(strings.NewReader(f.value)),
	}, nil
}

// provablyStaleReads counts the gets in history that returned a value v
// although a put of v returned before a put of another value began, and that
// put returned before the get began: since every value is written once, no
// linearization can explain them.
func provablyStaleReads(history []porcupine.Operation) int {
	type put struct{ call, ret int64 }
	puts := make(map[string]map[string]put) // key → value → its successful put
	for _, op := range history {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		if in.Op == linPut || (in.Op == linPutIfMatch && out.Cond == linCondOK) {
			if puts[in.Key] == nil {
				puts[in.Key] = make(map[string]put)
			}
			puts[in.Key][in.Value] = put{op.Call, op.Return}
		}
	}
	n := 0
	for _, op := range history {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		if in.Op != linGet || !out.Found {
			continue
		}
		old, ok := puts[in.Key][out.Value]
		if !ok {
			continue
		}
		for v, p := range puts[in.Key] {
			if v != out.Value && old.ret < p.call && p.ret < op.Call {
				n++
				break
			}
		}
	}
	return n
}

// TestLinearizabilityCheckerCatchesStaleReads runs the same harness against
// a store that serves stale reads and requires the checker to reject the
// history, so that TestLinearizable cannot pass because the checker is blind.
func TestLinearizabilityCheckerCatchesStaleReads(t *testing.T) {
	e := openLinearizabilityEngine(t)
	stale := newStaleStore(e)
	history := runLinearizabilityHistory(t, stale, 1)
	if t.Failed() {
		t.FailNow()
	}
	stale.mu.Lock()
	served := stale.served
	stale.mu.Unlock()
	provable := provablyStaleReads(history)
	t.Logf("the stale store answered %d gets with an overwritten value, %d of them provably stale", served, provable)
	if provable == 0 {
		t.Fatalf("the history of %d operations holds no provably stale read (%d stale answers served); the test proves nothing", len(history), served)
	}
	res, _ := porcupine.CheckOperationsVerbose(linModel, history, linCheckTimeout)
	if res != porcupine.Illegal {
		t.Fatalf("porcupine says %s for a history with %d provably stale reads, want %s: the checker would not catch a stale read",
			res, provable, porcupine.Illegal)
	}
}
