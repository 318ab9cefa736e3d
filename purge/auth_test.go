package purge_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/edgecdn/edge/purge"
)

// With a bus key, only messages signed with it are applied: a client that
// reaches the bus without the key can neither purge nor fake a heartbeat,
// and replaying a signed heartbeat does not hide the origin's silence.
func TestAuthenticatedBus(t *testing.T) {
	if _, err := purge.Authenticated(purge.NewLocal(), []byte("short")); err == nil {
		t.Fatal("a 5-byte bus key was accepted")
	}
	raw := purge.NewLocal()
	defer raw.Close()
	key := []byte("0123456789abcdef-bus-key")
	signed, err := purge.Authenticated(raw, key)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	sub := purge.NewSubscriber(purge.SubscriberConfig{Bus: signed, Target: rec, RequireOrigin: true, Silence: 150 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sub.Run(ctx)
	waitFor(t, "the subscription", func() bool { return sub.Stats().Resets > 0 })

	publish := func(b purge.Bus, m *purge.Message) []byte {
		t.Helper()
		m.V = purge.Version
		if m.Issued.IsZero() {
			m.Issued = time.Now()
		}
		data, err := purge.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, data); err != nil {
			t.Fatal(err)
		}
		return data
	}
	// The genuine origin, signing.
	beat := func(seq uint64) *purge.Message {
		return &purge.Message{Type: purge.TypeHeartbeat, Publisher: "origin-a", Role: purge.RoleOrigin, Seq: seq, First: 1}
	}
	publish(signed, beat(0))
	publish(signed, originPurge(1, 1))
	waitFor(t, "the signed purge", func() bool { s, _, _ := rec.state(); return slices.Equal(s, []uint64{1}) })

	// Without the key, and with another key: dropped and counted.
	publish(raw, originPurge(2, 1))
	other, _ := purge.Authenticated(raw, []byte("another-key-0123456789"))
	publish(other, originPurge(2, 1))
	waitFor(t, "two rejections", func() bool { return sub.Stats().Dropped == 2 })
	if s, _, _ := rec.state(); !slices.Equal(s, []uint64{1}) {
		t.Fatalf("unsigned purges were applied: %v", s)
	}

	// Healthy while the origin beats; a replay of its signed heartbeat
	// does not keep it so once the origin goes silent.
	captured := beat(1)
	captured.V, captured.Issued = purge.Version, time.Now()
	data, err := purge.Encode(captured)
	if err != nil {
		t.Fatal(err)
	}
	signed.Publish(ctx, data)
	waitFor(t, "health", func() bool { ok, _ := sub.Health(); return ok })
	stop := time.After(time.Second)
	for replaying := true; replaying; {
		select {
		case <-stop:
			replaying = false
		case <-time.After(20 * time.Millisecond):
			signed.Publish(ctx, data) // the same signed bytes, again and again
		}
	}
	if ok, _ := sub.Health(); ok {
		t.Fatal("replayed heartbeats kept a silent origin looking alive")
	}
}
