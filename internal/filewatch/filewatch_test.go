package filewatch

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// watch watches f until the test ends; each callback sends on the channel.
func watch(t *testing.T, f string) <-chan struct{} {
	changed := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, []string{f}, func() { changed <- struct{}{} }, func(err error) { t.Errorf("watcher: %v", err) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return changed
}

// A file written in place, or replaced by renaming another over it, calls
// back once it settles; a file nobody watches does not.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "watched.yaml")
	os.WriteFile(f, []byte("a"), 0o644)
	changed := watch(t, f)
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

// Kubernetes swaps a Secret's files in by renaming a new symlink over
// "..data": no event names the watched file, which now resolves to
// another.
func TestWatchSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "..v1"), 0o755)
	os.WriteFile(filepath.Join(dir, "..v1", "tls.crt"), []byte("one"), 0o644)
	os.Symlink("..v1", filepath.Join(dir, "..data"))
	f := filepath.Join(dir, "tls.crt")
	os.Symlink(filepath.Join("..data", "tls.crt"), f)
	changed := watch(t, f)
	// Swap versions until the watcher (started on its own goroutine)
	// reports one; each swap is a change.
	deadline := time.Now().Add(5 * time.Second)
	for v := 2; ; v++ {
		version := "..v" + strconv.Itoa(v)
		os.Mkdir(filepath.Join(dir, version), 0o755)
		os.WriteFile(filepath.Join(dir, version, "tls.crt"), []byte("next"), 0o644)
		tmp := filepath.Join(dir, "..data_tmp")
		os.Symlink(version, tmp)
		os.Rename(tmp, filepath.Join(dir, "..data"))
		select {
		case <-changed:
			return
		case <-time.After(4 * Settle):
			if time.Now().After(deadline) {
				t.Fatal("a symlink swap was not reported")
			}
		}
	}
}
