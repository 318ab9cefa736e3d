package origin_test

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/origin"
)

const concBucket = "concurrency"

// openConcurrencyEngine opens an Engine on a fresh directory with one bucket,
// closed when the test ends.
func openConcurrencyEngine(t *testing.T) *origin.Engine {
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
	if err := e.CreateBucket(t.Context(), concBucket); err != nil {
		t.Fatalf("CreateBucket(%q): %v", concBucket, err)
	}
	return e
}

// readObject returns the whole body of bucket/key and its metadata.
func readObject(t *testing.T, s origin.Store, bucket, key string) (string, origin.ObjectInfo, error) {
	t.Helper()
	obj, err := s.GetObject(t.Context(), bucket, key, origin.GetOptions{})
	if err != nil {
		return "", origin.ObjectInfo{}, err
	}
	defer obj.Body.Close()
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		return "", origin.ObjectInfo{}, fmt.Errorf("reading body of %s/%s: %w", bucket, key, err)
	}
	return string(b), obj.Info, nil
}

// TestConcurrentCreateOnlyOneWinner: of many writers racing to create the
// same key with If-None-Match: *, exactly one succeeds and the others see
// ErrPreconditionFailed; the object then holds the winner's body.
func TestConcurrentCreateOnlyOneWinner(t *testing.T) {
	e := openConcurrencyEngine(t)
	const (
		writers = 32
		key     = "only-one"
	)
	type result struct {
		info origin.ObjectInfo
		err  error
	}
	results := make([]result, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			body := fmt.Sprintf("written by writer %d", i)
			<-start
			info, err := e.PutObject(t.Context(), concBucket, key, strings.NewReader(body), origin.PutOptions{
				Size:       int64(len(body)),
				Conditions: origin.Conditions{IfNoneMatch: "*"},
			})
			results[i] = result{info, err}
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	failed := 0
	for i, r := range results {
		switch {
		case r.err == nil:
			if winner >= 0 {
				t.Errorf("writers %d and %d both created %q with If-None-Match: * (generations %d and %d)",
					winner, i, key, results[winner].info.Generation, r.info.Generation)
			} else {
				winner = i
			}
		case errors.Is(r.err, origin.ErrPreconditionFailed):
			failed++
		default:
			t.Errorf("writer %d: got error %v, want nil or ErrPreconditionFailed", i, r.err)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d writers created %q; %d got ErrPreconditionFailed", writers, key, failed)
	}
	if failed != writers-1 {
		t.Errorf("%d writers got ErrPreconditionFailed, want %d", failed, writers-1)
	}

	got, info, err := readObject(t, e, concBucket, key)
	if err != nil {
		t.Fatalf("GetObject(%q) after the race: %v", key, err)
	}
	want := fmt.Sprintf("written by writer %d", winner)
	if got != want {
		t.Errorf("object holds %q, want the winner's body %q", got, want)
	}
	if w := results[winner].info; info.Generation != w.Generation || info.ETag != w.ETag {
		t.Errorf("object has generation %d, ETag %q; the winner's put returned generation %d, ETag %q",
			info.Generation, info.ETag, w.Generation, w.ETag)
	}
}

// TestIfMatchCounter: writers increment a counter object with
// read-modify-write cycles guarded by If-Match; no increment may be lost.
func TestIfMatchCounter(t *testing.T) {
	e := openConcurrencyEngine(t)
	const (
		writers    = 16
		increments = 200
		key        = "counter"
	)
	if _, err := e.PutObject(t.Context(), concBucket, key, strings.NewReader("0"), origin.PutOptions{Size: 1}); err != nil {
		t.Fatalf("PutObject(%q, 0): %v", key, err)
	}

	type write struct {
		value int
		gen   int64
	}
	var (
		mu           sync.Mutex
		writes       []write
		totalRetries atomic.Int64
	)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			retries, losses := 0, 0
			for done := 0; done < increments; {
				body, info, err := readObject(t, e, concBucket, key)
				if err != nil {
					t.Errorf("writer %d: GetObject(%q): %v", w, key, err)
					return
				}
				v, err := strconv.Atoi(body)
				if err != nil {
					t.Errorf("writer %d: counter holds %q, not a number", w, body)
					return
				}
				next := strconv.Itoa(v + 1)
				put, err := e.PutObject(t.Context(), concBucket, key, strings.NewReader(next), origin.PutOptions{
					Size:       int64(len(next)),
					Conditions: origin.Conditions{IfMatch: info.ETag},
				})
				if errors.Is(err, origin.ErrPreconditionFailed) {
					// Another writer won this round. Back off a random
					// while, as a real client would, so that the losers
					// do not all write a body that is bound to lose
					// again. Only speed depends on it, not correctness.
					retries++
					losses++
					backoff := time.Duration(2<<min(losses, 4)) * time.Millisecond
					time.Sleep(rand.N(backoff))
					continue
				}
				if err != nil {
					t.Errorf("writer %d: PutObject(%q, %s, If-Match %s): %v", w, key, next, info.ETag, err)
					return
				}
				losses = 0
				mu.Lock()
				writes = append(writes, write{v + 1, put.Generation})
				mu.Unlock()
				done++
			}
			totalRetries.Add(int64(retries))
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d increments needed %d retries after ErrPreconditionFailed", writers*increments, totalRetries.Load())

	body, _, err := readObject(t, e, concBucket, key)
	if err != nil {
		t.Fatalf("GetObject(%q) at the end: %v", key, err)
	}
	if want := strconv.Itoa(writers * increments); body != want {
		t.Errorf("counter is %s after %d×%d increments, want %s", body, writers, increments, want)
	}

	// Every successful conditional write moved the counter by exactly one
	// from the value it read, so the written values are 1…N, each once, and
	// their generations grow with the value and are all distinct.
	if len(writes) != writers*increments {
		t.Fatalf("%d successful writes, want %d", len(writes), writers*increments)
	}
	slices.SortFunc(writes, func(a, b write) int { return a.value - b.value })
	for i, w := range writes {
		if w.value != i+1 {
			t.Fatalf("successful writes wrote value %d where %d was expected: two writers incremented the same value (a lost update)", w.value, i+1)
		}
		if i > 0 && w.gen <= writes[i-1].gen {
			t.Errorf("value %d has generation %d, value %d has generation %d: generations must be unique and grow with every write",
				w.value, w.gen, writes[i-1].value, writes[i-1].gen)
		}
	}
}
