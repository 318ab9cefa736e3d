package redisstorage

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/edgecdn/edge/purge/redistest"
)

func TestStoreLoadListDelete(t *testing.T) {
	s := New(redistest.Start(t).Client(), "test:acme")
	ctx := context.Background()
	if _, err := s.Load(ctx, "certificates/ca/a.test/a.test.crt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing key: %v, want fs.ErrNotExist", err)
	}
	for k, v := range map[string]string{
		"certificates/ca/a.test/a.test.crt": "CERT-A", "certificates/ca/a.test/a.test.key": "KEY-A",
		"certificates/ca/b.test/b.test.crt": "CERT-B", "acme/ca/users/ops/ops.json": "USER",
	} {
		if err := s.Store(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	s.Store(ctx, "certificates/ca/a.test/a.test.crt", []byte("CERT-A2")) // overwritten
	if v, err := s.Load(ctx, "certificates/ca/a.test/a.test.crt"); err != nil || string(v) != "CERT-A2" {
		t.Fatalf("load: %q %v", v, err)
	}
	if !s.Exists(ctx, "certificates/ca") || !s.Exists(ctx, "acme/ca/users/ops/ops.json") || s.Exists(ctx, "certificates/c") {
		t.Error("exists: a directory, a key, and a prefix that is neither")
	}
	if got, _ := s.List(ctx, "certificates/ca", false); !slices.Equal(got, []string{"certificates/ca/a.test", "certificates/ca/b.test"}) {
		t.Errorf("list: %v", got)
	}
	if got, _ := s.List(ctx, "certificates", true); len(got) != 3 {
		t.Errorf("recursive list: %v", got)
	}
	if _, err := s.List(ctx, "nothing", false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("list of nothing: %v", err)
	}
	if ki, err := s.Stat(ctx, "certificates/ca/b.test/b.test.crt"); err != nil || !ki.IsTerminal || ki.Size != 6 || time.Since(ki.Modified) > time.Minute {
		t.Errorf("stat of a key: %+v %v", ki, err)
	}
	if ki, err := s.Stat(ctx, "certificates/ca"); err != nil || ki.IsTerminal {
		t.Errorf("stat of a directory: %+v %v", ki, err)
	}
	if err := s.Delete(ctx, "certificates/ca/a.test"); err != nil {
		t.Fatal(err)
	}
	if s.Exists(ctx, "certificates/ca/a.test") || !s.Exists(ctx, "certificates/ca/b.test/b.test.crt") {
		t.Error("deleting a directory deletes what is below it, and only that")
	}
	if err := s.Delete(ctx, "never/there"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
}

// Two edges on one Redis: one lock at a time, a waiter gets it once it is
// released, a crashed holder's lock expires, and a former holder never
// releases the lock another took after its lease ran out.
func TestLockAcrossEdges(t *testing.T) {
	rds := redistest.Start(t)
	a, b := New(rds.Client(), "test:acme"), New(rds.Client(), "test:acme")
	a.Poll, b.Poll = 10*time.Millisecond, 10*time.Millisecond
	ctx := context.Background()
	if err := a.Lock(ctx, "issue_cert_a.test"); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Lock(ctx, "issue_cert_a.test") }()
	select {
	case err := <-got:
		t.Fatalf("b took a held lock: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := a.Unlock(ctx, "issue_cert_a.test"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b did not get the released lock")
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := a.Lock(short, "issue_cert_a.test"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting past the context: %v", err)
	}
	b.Unlock(ctx, "issue_cert_a.test")

	// A holder that crashed: its lock, unrenewed, expires.
	rds.Client().Set(ctx, "test:acme:lock:renew_b.test", "crashed-holder", 300*time.Millisecond)
	start := time.Now()
	if err := a.Lock(ctx, "renew_b.test"); err != nil || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("a crashed holder's lock: %v after %v", err, time.Since(start))
	}
	// The lease is renewed while held: past several leases, still a's.
	a.Unlock(ctx, "renew_b.test")
	a.Lease = time.Second
	a.Lock(ctx, "renew_b.test")
	time.Sleep(2500 * time.Millisecond)
	if v, _ := rds.Client().Get(ctx, "test:acme:lock:renew_b.test").Result(); v == "" {
		t.Fatal("a held lock expired while its holder was alive")
	}
	// A former holder (whose lease ran out) releases nothing of b's.
	rds.Client().Set(ctx, "test:acme:lock:renew_b.test", "b's token", time.Minute)
	a.Unlock(ctx, "renew_b.test")
	if v, _ := rds.Client().Get(ctx, "test:acme:lock:renew_b.test").Result(); v != "b's token" {
		t.Errorf("a former holder released the lock another holds: %q", v)
	}
	if err := a.Unlock(ctx, "never-locked"); err == nil {
		t.Error("unlocking a lock never taken")
	}
	// Released with a done context (at shutdown), and one holder per
	// name within a process.
	a.Lock(ctx, "c")
	inProcess := make(chan error, 1)
	go func() { inProcess <- a.Lock(ctx, "c") }()
	select {
	case err := <-inProcess:
		t.Fatalf("a second holder of c in one process: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	done, stop := context.WithCancel(ctx)
	stop()
	if err := a.Unlock(done, "c"); err != nil {
		t.Fatalf("unlock with a done context: %v", err)
	}
	if err := <-inProcess; err != nil {
		t.Fatal(err)
	}
	a.Unlock(ctx, "c")
}
