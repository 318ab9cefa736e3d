package purge_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/purge"
)

// faultyBus is a Local bus whose Publish can be made to fail, or to block
// until its context ends (Redis down, or paused).
type faultyBus struct {
	*purge.Local
	down    atomic.Bool
	block   atomic.Bool
	blocked chan struct{} // receives when a Publish starts blocking
}

func (b *faultyBus) Publish(ctx context.Context, data []byte) error {
	if b.block.Load() {
		select {
		case b.blocked <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return ctx.Err()
	}
	if b.down.Load() {
		return errors.New("connection refused")
	}
	return b.Local.Publish(ctx, data)
}

// collector subscribes to a bus and keeps every message.
type collector struct {
	mu   sync.Mutex
	msgs []*purge.Message
}

func collect(t *testing.T, bus purge.Bus) *collector {
	t.Helper()
	c := &collector{}
	sub, err := bus.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			d, err := sub.Receive(ctx)
			if err != nil {
				return
			}
			if d.Reset {
				continue
			}
			m, err := purge.Decode(d.Data)
			if err != nil {
				t.Errorf("undecodable message on the bus: %v", err)
				continue
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done; sub.Close() })
	return c
}

// purges returns the keys of the purge messages, in arrival order, and
// the last heartbeat's number.
func (c *collector) purges() (keys []string, seqs []uint64, lastBeat uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		switch m.Type {
		case purge.TypePurge:
			seqs = append(seqs, m.Seq)
			if m.Items[0].Kind == purge.KindObject { // not the bucket's creation
				keys = append(keys, m.Items[0].Key)
			}
		case purge.TypeHeartbeat:
			lastBeat = m.Seq
		}
	}
	return keys, seqs, lastBeat
}

func startOutbox(t *testing.T, bus purge.Bus) (*origin.Engine, *purge.OutboxPublisher) {
	t.Helper()
	var pub atomic.Pointer[purge.OutboxPublisher]
	store, err := origin.Open(t.TempDir(), &origin.Options{Sink: origin.EventSinkFunc(func(origin.Event) {
		if p := pub.Load(); p != nil {
			p.Notify()
		}
	})})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateBucket(context.Background(), "bkt"); err != nil {
		t.Fatal(err)
	}
	p := purge.NewOutboxPublisher(bus, store, purge.OutboxConfig{Heartbeat: 20 * time.Millisecond})
	pub.Store(p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; store.Close() })
	return store, p
}

func put(t *testing.T, store *origin.Engine, key string) origin.ObjectInfo {
	t.Helper()
	info, err := store.PutObject(context.Background(), "bkt", key, strings.NewReader(key), origin.PutOptions{Size: int64(len(key))})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// Every write becomes a purge message numbered by the store's sequence,
// in order; heartbeats carry the last number.
func TestOutboxPublishesEveryWrite(t *testing.T) {
	bus := purge.NewLocal()
	c := collect(t, bus)
	store, _ := startOutbox(t, bus)
	var want []string
	for _, k := range []string{"a", "b", "c", "a"} {
		put(t, store, k)
		want = append(want, k)
	}
	if _, err := store.DeleteObject(context.Background(), "bkt", "b", origin.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "b")
	last, _ := store.LastSeq()
	waitFor(t, "the heartbeat of the last write", func() bool { _, _, beat := c.purges(); return beat == last })
	keys, seqs, _ := c.purges()
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Fatalf("published %v, want %v", keys, want)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("numbers %v are not consecutive", seqs)
		}
	}
	if seqs[len(seqs)-1] != last {
		t.Fatalf("last number %d, store sequence %d", seqs[len(seqs)-1], last)
	}
}

// Writes made while the bus is down are published, in order, once it is
// back; the outbox keeps them until then.
func TestOutboxCatchesUpAfterBusFault(t *testing.T) {
	bus := &faultyBus{Local: purge.NewLocal(), blocked: make(chan struct{}, 1)}
	c := collect(t, bus.Local)
	store, pub := startOutbox(t, bus)
	put(t, store, "before")
	waitFor(t, "the first write", func() bool { k, _, _ := c.purges(); return len(k) == 1 })
	if n := pub.Backlog(); n != 0 {
		t.Errorf("backlog with every write published: %d", n)
	}
	bus.down.Store(true)
	for _, k := range []string{"d1", "d2", "d3"} {
		put(t, store, k)
	}
	waitFor(t, "a backlog of 3", func() bool { return pub.Backlog() == 3 })
	if evs, err := store.EventsAfter(0, 10); err != nil || len(evs) < 3 {
		t.Fatalf("the outbox holds %d events while the bus is down (%v), want the 3 unpublished", len(evs), err)
	}
	bus.down.Store(false)
	last, _ := store.LastSeq()
	waitFor(t, "catching up", func() bool { _, _, beat := c.purges(); return beat == last })
	keys, _, _ := c.purges()
	if strings.Join(keys, ",") != "before,d1,d2,d3" {
		t.Fatalf("published %v", keys)
	}
	waitFor(t, "the outbox acknowledged", func() bool { evs, _ := store.EventsAfter(0, 10); return len(evs) == 0 })
	if n := pub.Backlog(); n != 0 {
		t.Errorf("backlog after catching up: %d", n)
	}
}

// A write never waits on the bus: with every publish stuck (Redis paused),
// writes still complete.
func TestWritesDoNotWaitOnTheBus(t *testing.T) {
	bus := &faultyBus{Local: purge.NewLocal(), blocked: make(chan struct{}, 1)}
	bus.block.Store(true)
	store, _ := startOutbox(t, bus)
	put(t, store, "one")
	<-bus.blocked // the publisher is stuck in a publish now
	done := make(chan struct{})
	go func() {
		for i := range 20 {
			put(t, store, "k"+string(rune('a'+i)))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("writes blocked behind a stuck publish")
	}
}

// At shutdown the publisher sends what was committed and not yet
// published: no notification came for these writes, and the heartbeat is
// an hour away, so only the final flush carries them.
func TestOutboxFlushesAtShutdown(t *testing.T) {
	bus := purge.NewLocal()
	c := collect(t, bus)
	store, err := origin.Open(t.TempDir(), nil) // no sink: nothing notifies the publisher
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	store.CreateBucket(context.Background(), "bkt")
	pub := purge.NewOutboxPublisher(bus, store, purge.OutboxConfig{Heartbeat: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }()
	waitFor(t, "the first heartbeat", func() bool { _, seqs, beat := c.purges(); return beat > 0 || len(seqs) > 0 })
	put(t, store, "late1")
	put(t, store, "late2")
	if keys, _, _ := c.purges(); len(keys) != 0 {
		t.Fatalf("published before the shutdown: %v", keys)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the flushed purges", func() bool { k, _, _ := c.purges(); return len(k) == 2 })
	if evs, _ := store.EventsAfter(0, 10); len(evs) != 0 {
		t.Errorf("the outbox still holds %d events after the flush", len(evs))
	}
}
