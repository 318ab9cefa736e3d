// Package bustest is the conformance suite of purge.Bus implementations:
// the in-process bus and the Redis bus run the same tests.
package bustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/edgecdn/edge/purge"
)

// Run runs the suite; newBus returns a fresh bus for each test, closed by
// the test.
func Run(t *testing.T, newBus func(t *testing.T) purge.Bus) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, purge.Bus)
	}{
		{"ResetFirst", testResetFirst},
		{"InOrder", testInOrder},
		{"EverySubscriber", testEverySubscriber},
		{"LargeMessage", testLargeMessage},
		{"DeadlineKeepsSubscription", testDeadline},
		{"ClosedSubscription", testClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBus(t)
			defer b.Close()
			tc.fn(t, b)
		})
	}
}

func subscribe(t *testing.T, b purge.Bus) purge.Subscription {
	t.Helper()
	sub, err := b.Subscribe(context.Background())
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() { sub.Close() })
	d := receive(t, sub)
	if !d.Reset {
		t.Fatalf("first delivery %q, want a Reset", d.Data)
	}
	return sub
}

func receive(t *testing.T, sub purge.Subscription) purge.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return d
}

func publish(t *testing.T, b purge.Bus, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Publish(ctx, data); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func testResetFirst(t *testing.T, b purge.Bus) { subscribe(t, b) }

func testInOrder(t *testing.T, b purge.Bus) {
	sub := subscribe(t, b)
	for i := range 200 {
		publish(t, b, fmt.Appendf(nil, "message %d", i))
	}
	for i := range 200 {
		if d := receive(t, sub); string(d.Data) != fmt.Sprintf("message %d", i) || d.Reset {
			t.Fatalf("delivery %d: %q (reset %v)", i, d.Data, d.Reset)
		}
	}
}

func testEverySubscriber(t *testing.T, b purge.Bus) {
	subs := []purge.Subscription{subscribe(t, b), subscribe(t, b), subscribe(t, b)}
	publish(t, b, []byte("to all"))
	for i, s := range subs {
		if d := receive(t, s); string(d.Data) != "to all" {
			t.Fatalf("subscriber %d got %q", i, d.Data)
		}
	}
}

func testLargeMessage(t *testing.T, b purge.Bus) {
	sub := subscribe(t, b)
	big := bytes.Repeat([]byte("0123456789abcdef"), purge.MaxMessageBytes/16)
	publish(t, b, big)
	if d := receive(t, sub); !bytes.Equal(d.Data, big) {
		t.Fatalf("a %d-byte message arrived as %d bytes", len(big), len(d.Data))
	}
}

// A Receive that times out says so with the context's error, and the
// subscription still delivers what comes next.
func testDeadline(t *testing.T, b purge.Bus) {
	sub := subscribe(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := sub.Receive(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive with nothing published: %v, want DeadlineExceeded", err)
	}
	publish(t, b, []byte("after"))
	if d := receive(t, sub); string(d.Data) != "after" {
		t.Fatalf("after a timeout got %q", d.Data)
	}
}

func testClosed(t *testing.T, b purge.Bus) {
	sub := subscribe(t, b)
	sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := sub.Receive(ctx); !errors.Is(err, purge.ErrClosed) {
		t.Fatalf("Receive on a closed subscription: %v, want ErrClosed", err)
	}
}
