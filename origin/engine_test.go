package origin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func openTest(t *testing.T, opts *Options) *Engine {
	t.Helper()
	e, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.CreateBucket(context.Background(), "bkt"); err != nil {
		t.Fatal(err)
	}
	return e
}

func put(t *testing.T, e *Engine, key, body string) ObjectInfo {
	t.Helper()
	info, err := e.PutObject(context.Background(), "bkt", key, strings.NewReader(body), PutOptions{Size: int64(len(body))})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return info
}

func read(t *testing.T, e *Engine, key string) string {
	t.Helper()
	obj, err := e.GetObject(context.Background(), "bkt", key, GetOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer obj.Body.Close()
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bodyFiles counts the files under data/ and tmp/.
func bodyFiles(t *testing.T, e *Engine) (data, tmp int) {
	t.Helper()
	err := filepath.WalkDir(e.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Base(filepath.Dir(filepath.Dir(path))) {
		case "data":
			data++
		}
		if filepath.Base(filepath.Dir(path)) == "tmp" {
			tmp++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return data, tmp
}

// A failing fsync or a full disk fails the write, leaves the previous
// version readable and leaves no file behind; the store keeps working.
func TestWriteFaultsLeaveNoPartialObject(t *testing.T) {
	faults := []struct {
		name  string
		apply func(e *Engine)
	}{
		{"fsync", func(e *Engine) {
			e.syncFile = func(*os.File) error { return syscall.EIO }
		}},
		{"disk full", func(e *Engine) {
			var n int
			e.writeFile = func(f *os.File, p []byte) (int, error) {
				if n++; n > 1 {
					return 0, syscall.ENOSPC
				}
				return f.Write(p)
			}
		}},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			e := openTest(t, nil)
			old := put(t, e, "k", "version one")
			fault.apply(e)
			big := bytes.Repeat([]byte("x"), 3*copyBufSize)
			_, err := e.PutObject(context.Background(), "bkt", "k", bytes.NewReader(big), PutOptions{Size: -1})
			if err == nil {
				t.Fatal("put succeeded despite the injected fault")
			}
			_, err = e.PutObject(context.Background(), "bkt", "new", bytes.NewReader(big), PutOptions{Size: -1})
			if err == nil {
				t.Fatal("put of a new key succeeded despite the injected fault")
			}
			e.writeFile, e.syncFile = (*os.File).Write, (*os.File).Sync

			if got := read(t, e, "k"); got != "version one" {
				t.Fatalf("after the failed overwrite k reads %q, want the old version", got)
			}
			if info, err := e.HeadObject(context.Background(), "bkt", "k", GetOptions{}); err != nil || info.Generation != old.Generation {
				t.Fatalf("head k = gen %d, %v; want gen %d", info.Generation, err, old.Generation)
			}
			if _, err := e.HeadObject(context.Background(), "bkt", "new", GetOptions{}); !errors.Is(err, ErrNoSuchKey) {
				t.Fatalf("failed create left an object behind: %v", err)
			}
			if data, tmp := bodyFiles(t, e); data != 1 || tmp != 0 {
				t.Fatalf("files after failed writes: %d bodies, %d temp; want 1 and 0", data, tmp)
			}
			put(t, e, "k", "version two")
			if got := read(t, e, "k"); got != "version two" {
				t.Fatalf("store broken after the fault: k reads %q", got)
			}
		})
	}
}

func TestMaxObjectSize(t *testing.T) {
	e := openTest(t, &Options{MaxObjectSize: 1000})
	for _, size := range []int64{1000, -1} {
		body := strings.Repeat("a", 1000)
		if _, err := e.PutObject(context.Background(), "bkt", "ok", strings.NewReader(body), PutOptions{Size: size}); err != nil {
			t.Fatalf("1000 bytes at the limit (declared %d): %v", size, err)
		}
	}
	for _, size := range []int64{1001, -1} {
		body := strings.Repeat("a", 1001)
		_, err := e.PutObject(context.Background(), "bkt", "big", strings.NewReader(body), PutOptions{Size: size})
		if !errors.Is(err, ErrEntityTooLarge) {
			t.Fatalf("1001 bytes (declared %d): err = %v, want ErrEntityTooLarge", size, err)
		}
	}
	if data, tmp := bodyFiles(t, e); data != 1 || tmp != 0 {
		t.Fatalf("files: %d bodies, %d temp; want 1 and 0", data, tmp)
	}
}

// Every committed change appears in the outbox once, in commit order, with
// the generation the write returned; the sink sees the same sequence.
func TestOutboxHasEveryCommitInOrder(t *testing.T) {
	var mu sync.Mutex
	var sunk []Event
	e := openTest(t, &Options{Sink: EventSinkFunc(func(ev Event) {
		mu.Lock()
		sunk = append(sunk, ev)
		mu.Unlock()
	})})
	ctx := context.Background()

	var wg sync.WaitGroup
	gens := make(chan int64, 400)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				key := string(rune('a'+w)) + "/" + string(rune('0'+i%10))
				info := put(t, e, key, "v")
				gens <- info.Generation
				if i%4 == 3 {
					if _, err := e.DeleteObject(ctx, "bkt", key, DeleteOptions{}); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(gens)
	// A failed conditional write commits nothing.
	if _, err := e.PutObject(ctx, "bkt", "a/0", strings.NewReader("x"), PutOptions{Size: 1, Conditions: Conditions{IfMatch: "nope"}}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("conditional put: %v", err)
	}
	// Deleting a missing key changes nothing and records nothing.
	if _, err := e.DeleteObject(ctx, "bkt", "missing", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	last, err := e.LastSeq()
	if err != nil {
		t.Fatal(err)
	}
	const want = 1 + 8*40 + 8*10 // create-bucket, puts, deletes
	if last != want {
		t.Fatalf("LastSeq = %d, want %d", last, want)
	}
	events, err := e.EventsAfter(0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != want {
		t.Fatalf("outbox holds %d events, want %d", len(events), want)
	}
	putGens := map[int64]bool{}
	for i, ev := range events {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d: not in commit order or not once", i, ev.Seq)
		}
		if ev.Op == OpPut {
			putGens[ev.Generation] = true
		}
	}
	for g := range gens {
		if !putGens[g] {
			t.Fatalf("acknowledged write with generation %d is missing from the outbox", g)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sunk) != len(events) {
		t.Fatalf("sink saw %d events, outbox has %d", len(sunk), len(events))
	}
	for i := range sunk {
		if sunk[i] != events[i] {
			t.Fatalf("sink event %d = %+v, outbox has %+v", i, sunk[i], events[i])
		}
	}

	if err := e.Ack(100); err != nil {
		t.Fatal(err)
	}
	rest, err := e.EventsAfter(0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != want-100 || rest[0].Seq != 101 {
		t.Fatalf("after Ack(100): %d events starting at %d", len(rest), rest[0].Seq)
	}
	page, err := e.EventsAfter(200, 5)
	if err != nil || len(page) != 5 || page[0].Seq != 201 {
		t.Fatalf("EventsAfter(200, 5) = %v, %v", page, err)
	}
}

func TestOutboxLimitDropsOldest(t *testing.T) {
	e := openTest(t, &Options{OutboxLimit: 10})
	for range 30 {
		put(t, e, "k", "v")
	}
	events, err := e.EventsAfter(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 10 || events[0].Seq != 22 || events[9].Seq != 31 {
		t.Fatalf("outbox after 31 changes with limit 10: %d events, first %d", len(events), events[0].Seq)
	}
}

// Generations and sequence numbers continue across a restart, and Open
// removes temp files and bodies no metadata points to.
func TestReopenContinuesAndReclaims(t *testing.T) {
	dir := t.TempDir()
	e, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.CreateBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	first, err := e.PutObject(ctx, "bkt", "k", strings.NewReader("one"), PutOptions{Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	orphan := filepath.Join(dir, "data", "ab", "ab"+strings.Repeat("0", 30))
	stray := filepath.Join(dir, "tmp", "body-123")
	for _, f := range []string{orphan, stray} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, f := range []string{orphan, stray} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived Open: %v", f, err)
		}
	}
	if got := read(t, e, "k"); got != "one" {
		t.Fatalf("k = %q after reopen", got)
	}
	second := put(t, e, "k", "two")
	if second.Generation <= first.Generation {
		t.Fatalf("generation went from %d to %d across a restart", first.Generation, second.Generation)
	}
}

// A reader streaming an object keeps its bytes when a writer overwrites or
// deletes the object and its old body is reclaimed.
func TestReaderSurvivesOverwriteAndDelete(t *testing.T) {
	e := openTest(t, nil)
	old := strings.Repeat("old!", 100000)
	put(t, e, "k", old)
	obj, err := e.GetObject(context.Background(), "bkt", "k", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(obj.Body, head); err != nil {
		t.Fatal(err)
	}
	put(t, e, "k", "new")
	if _, err := e.DeleteObject(context.Background(), "bkt", "k", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(head)+string(rest) != old {
		t.Fatalf("the streaming reader got %d bytes, not the old body", len(head)+len(rest))
	}
	if data, _ := bodyFiles(t, e); data != 0 {
		t.Fatalf("%d bodies left after overwrite and delete", data)
	}
}

// Keys that look like paths are data: they never reach the file system.
func TestPathLikeKeysStayKeys(t *testing.T) {
	e := openTest(t, nil)
	keys := []string{"../../etc/passwd", "a//b", "a/../b", "a%2Fb", "/abs", "..", "."}
	for i, k := range keys {
		put(t, e, k, string(rune('A'+i)))
	}
	for i, k := range keys {
		if got := read(t, e, k); got != string(rune('A'+i)) {
			t.Errorf("key %q reads %q", k, got)
		}
	}
	if data, _ := bodyFiles(t, e); data != len(keys) {
		t.Fatalf("%d bodies for %d keys", data, len(keys))
	}
}
