package edge_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/purge"
)

// versionStore is an origin held in memory, so that ten thousand races
// run in seconds: objects with generations from one sequence, like the
// engine's, and a hook that holds a read after it got its version.
// Only what the edge calls is implemented.
type versionStore struct {
	origin.Store
	mu      sync.Mutex
	seq     uint64
	objects map[string]origin.ObjectInfo
	bodies  map[string]string
	// hold, when set, is called by a read after it has its version (or
	// its 404) and before it returns: the test interleaves writes there.
	hold func(key string)
}

func (s *versionStore) LastSeq() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq, nil
}

func (s *versionStore) write(key, body string) origin.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if body == "" {
		delete(s.objects, key)
		return origin.Event{Seq: s.seq, Bucket: "public", Key: key, Generation: int64(s.seq), Op: origin.OpDelete}
	}
	s.objects[key] = origin.ObjectInfo{
		Bucket: "public", Key: key, Size: int64(len(body)), ETag: "e" + strconv.FormatUint(s.seq, 10),
		Generation: int64(s.seq), LastModified: time.Unix(int64(s.seq), 0), Headers: origin.Headers{CacheControl: "max-age=3600"},
	}
	s.bodies[key] = body
	return origin.Event{Seq: s.seq, Bucket: "public", Key: key, Generation: int64(s.seq), Op: origin.OpPut}
}

func (s *versionStore) GetObject(_ context.Context, bucket, key string, opts origin.GetOptions) (*origin.Object, error) {
	s.mu.Lock()
	info, ok := s.objects[key]
	body := s.bodies[key]
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		hold(key)
	}
	if !ok {
		return nil, origin.ErrNoSuchKey
	}
	if opts.Conditions.IfNoneMatch == `"`+info.ETag+`"` {
		return nil, origin.ErrNotModified
	}
	return &origin.Object{Info: info, Length: info.Size, Body: io.NopCloser(bytes.NewReader([]byte(body)))}, nil
}

func (s *versionStore) HeadObject(_ context.Context, bucket, key string, _ origin.GetOptions) (origin.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.objects[key]
	if !ok {
		return info, origin.ErrNoSuchKey
	}
	return info, nil
}

// get serves one GET in process and returns status and body.
func get(e *edge.Edge, key string) (int, string) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI("/" + key)
	ctx.Request.Header.SetHost("localhost")
	e.ServeFastHTTP(&ctx)
	return ctx.Response.StatusCode(), string(ctx.Response.Body())
}

// The fill-vs-purge race, forced: a fill reads the old state of an object
// (an old version, or a 404), the object is overwritten or deleted and the
// purge applied, and only then does the fill complete. Whatever the order
// of the rest — the purge with the write's generation or without one (a
// purge API call), duplicated, arriving before or after the write was seen
// by another read — the old state must never be stored: the next request
// gets the new state. 10 000 randomized rounds; 0 stale answers allowed.
func TestFillNeverStoresWhatAPurgeCovers(t *testing.T) {
	const rounds = 10000
	store := &versionStore{objects: map[string]origin.ObjectInfo{}, bodies: map[string]string{}}
	e, err := edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Bucket: "public"}}}, edge.FromStore(store))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	stale := 0
	for round := range rounds {
		key := "k" + strconv.Itoa(round)
		oldExists := rng.IntN(4) != 0 // else the old state is a 404
		if oldExists {
			store.write(key, "old")
		}
		newBody := "new"
		if oldExists && rng.IntN(4) == 0 {
			newBody = "" // a delete
		}
		withGeneration := rng.IntN(3) != 0

		read := make(chan struct{})
		release := make(chan struct{})
		var once sync.Once
		store.mu.Lock()
		store.hold = func(k string) {
			if k == key {
				once.Do(func() { close(read); <-release })
			}
		}
		store.mu.Unlock()

		first := make(chan struct{})
		go func() { get(e, key); close(first) }()
		recv(t, read, "the fill to read the old state") // the fill has it in hand

		ev := store.write(key, newBody)
		msg := &purge.Message{Role: purge.RoleOrigin, Items: []purge.Item{{Kind: purge.KindObject, Bucket: "public", Key: key, Generation: ev.Generation}}}
		if !withGeneration {
			msg = &purge.Message{Role: purge.RoleEdge, Items: []purge.Item{{Kind: purge.KindURL, Host: "localhost", Key: "/" + key}}}
		}
		for range 1 + rng.IntN(2) { // duplicates are harmless
			e.Apply(msg)
		}
		close(release)
		recv(t, first, "the first request")
		store.mu.Lock()
		store.hold = nil
		store.mu.Unlock()

		status, body := get(e, key)
		if (newBody == "" && status != 404) || (newBody != "" && (status != 200 || body != newBody)) {
			stale++
			if stale <= 5 {
				t.Errorf("round %d (old exists %v, delete %v, generation %v): after the purge got %d %q", round, oldExists, newBody == "", withGeneration, status, body)
			}
		}
	}
	if stale > 0 {
		t.Fatalf("%d stale answers in %d rounds", stale, rounds)
	}
}
