package filewatch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A file written in place, or replaced by renaming another over it, calls
// back once it settles; a file nobody watches does not.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "watched.yaml")
	os.WriteFile(f, []byte("a"), 0o644)
	changed := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, []string{f}, func() { changed <- struct{}{} }, func(err error) { t.Errorf("watcher: %v", err) })
	}()
	defer func() { cancel(); <-done }()
	// The watcher adds the directory on its own goroutine: write until it
	// reports, then each change must be reported.
	deadline := time.Now().Add(5 * time.Second)
	for ready := false; !ready; {
		os.WriteFile(f, []byte("a"), 0o644)
		select {
		case <-changed:
			ready = true
		case <-time.After(4 * Settle):
			if time.Now().After(deadline) {
				t.Fatal("no callback for a file written in place")
			}
		}
	}
	expect := func(what string) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no callback", what)
		}
	}
	os.WriteFile(f, []byte("b"), 0o644)
	expect("written in place")
	tmp := filepath.Join(dir, "new.tmp")
	os.WriteFile(tmp, []byte("c"), 0o644)
	os.Rename(tmp, f)
	expect("renamed over")
	os.WriteFile(filepath.Join(dir, "other.yaml"), []byte("x"), 0o644)
	select {
	case <-changed:
		t.Fatal("a callback for a file not watched")
	case <-time.After(3 * Settle):
	}
}

func TestWatchNothing(t *testing.T) {
	if err := Watch(context.Background(), nil, func() {}, func(error) {}); err != nil {
		t.Fatal(err)
	}
}
