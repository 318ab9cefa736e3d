package purge_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/purge"
)

// recorder is a Target that remembers what it was told.
type recorder struct {
	mu       sync.Mutex
	applied  []*purge.Message
	flushes  int
	degraded bool
}

func (r *recorder) Apply(m *purge.Message) {
	r.mu.Lock()
	r.applied = append(r.applied, m)
	r.mu.Unlock()
}
func (r *recorder) Flush()              { r.mu.Lock(); r.flushes++; r.mu.Unlock() }
func (r *recorder) SetDegraded(on bool) { r.mu.Lock(); r.degraded = on; r.mu.Unlock() }

func (r *recorder) state() (seqs []uint64, flushes int, degraded bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.applied {
		seqs = append(seqs, m.Seq)
	}
	return seqs, r.flushes, r.degraded
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// wire publishes hand-made messages on a Local bus to a running subscriber.
type wire struct {
	t   *testing.T
	bus *purge.Local
	sub *purge.Subscriber
	rec *recorder
}

func startSubscriber(t *testing.T, requireOrigin bool, silence time.Duration) *wire {
	t.Helper()
	w := &wire{t: t, bus: purge.NewLocal(), rec: &recorder{}}
	w.sub = purge.NewSubscriber(purge.SubscriberConfig{Bus: w.bus, Target: w.rec, RequireOrigin: requireOrigin, Silence: silence})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.sub.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; w.bus.Close() })
	// Pub/sub delivers only to subscriptions that exist.
	waitFor(t, "the subscription", func() bool { return w.sub.Stats().Resets > 0 })
	return w
}

func (w *wire) send(m *purge.Message) {
	w.t.Helper()
	if m.V == 0 {
		m.V = purge.Version
	}
	if m.Issued.IsZero() {
		m.Issued = time.Now()
	}
	data, err := purge.Encode(m)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.bus.Publish(context.Background(), data); err != nil {
		w.t.Fatal(err)
	}
}

func originPurge(seq, first uint64) *purge.Message {
	return &purge.Message{Type: purge.TypePurge, Publisher: "origin-a", Role: purge.RoleOrigin, Seq: seq, First: first,
		Items: []purge.Item{{Kind: purge.KindObject, Bucket: "b", Key: "k", Generation: int64(seq)}}}
}

func originBeat(seq, first uint64) *purge.Message {
	return &purge.Message{Type: purge.TypeHeartbeat, Publisher: "origin-a", Role: purge.RoleOrigin, Seq: seq, First: first}
}

// In order, every purge is applied once; duplicates are not applied again.
func TestSubscriberAppliesInOrder(t *testing.T) {
	w := startSubscriber(t, false, 500*time.Millisecond)
	waitFor(t, "health", func() bool { ok, _ := w.sub.Health(); return ok })
	_, base, _ := w.rec.state()
	for seq := uint64(1); seq <= 5; seq++ {
		w.send(originPurge(seq, 1))
	}
	w.send(originPurge(3, 1)) // a duplicate
	w.send(originBeat(5, 1))
	waitFor(t, "five purges", func() bool { s, _, _ := w.rec.state(); return len(s) == 5 })
	seqs, flushes, _ := w.rec.state()
	if !slices.Equal(seqs, []uint64{1, 2, 3, 4, 5}) || flushes != base {
		t.Fatalf("applied %v with %d flushes, want 1..5 and no flush", seqs, flushes-base)
	}
	// The duplicate is received, not applied (the heartbeat is neither).
	waitFor(t, "six purges received", func() bool { return w.sub.Stats().Received == 6 })
	if st := w.sub.Stats(); st.Gaps != 0 || st.Applied != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// Every way of losing a message flushes the target: a gap between
// purges, a heartbeat ahead of the last purge, and meeting a publisher
// after its first purge. Older messages that arrive after a gap was
// flushed for are not applied over newer ones.
func TestSubscriberFlushesOnGaps(t *testing.T) {
	cases := []struct {
		name  string
		msgs  []*purge.Message
		want  []uint64
		gaps  uint64
		flush int
	}{
		{"dropped purge", []*purge.Message{originPurge(1, 1), originPurge(3, 1)}, []uint64{1, 3}, 1, 1},
		{"dropped then reordered", []*purge.Message{originPurge(1, 1), originPurge(3, 1), originPurge(2, 1)}, []uint64{1, 3}, 1, 1},
		{"heartbeat ahead", []*purge.Message{originPurge(1, 1), originBeat(2, 1)}, []uint64{1}, 1, 1},
		{"met late", []*purge.Message{originPurge(4, 2)}, []uint64{4}, 1, 1},
		{"met late at a heartbeat", []*purge.Message{originBeat(3, 1)}, nil, 1, 1},
		{"met at its start", []*purge.Message{originBeat(6, 7), originPurge(7, 7)}, []uint64{7}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := startSubscriber(t, false, 500*time.Millisecond)
			waitFor(t, "health", func() bool { ok, _ := w.sub.Health(); return ok })
			_, base, _ := w.rec.state()
			for _, m := range c.msgs {
				w.send(m)
			}
			w.send(&purge.Message{Type: purge.TypeHeartbeat, Publisher: "edge-z", Role: purge.RoleEdge, Seq: 0, First: 1}) // a marker: all before it was handled
			waitFor(t, "the marker", func() bool { return slices.Contains(w.sub.LiveEdges(), "edge-z") })
			seqs, flushes, _ := w.rec.state()
			if !slices.Equal(seqs, c.want) || flushes-base != c.flush || w.sub.Stats().Gaps != c.gaps {
				t.Fatalf("applied %v, %d flushes, %d gaps; want %v, %d, %d", seqs, flushes-base, w.sub.Stats().Gaps, c.want, c.flush, c.gaps)
			}
		})
	}
}

// A message that does not decode is counted and dropped; nothing of it is
// applied and the stream goes on.
func TestSubscriberDropsBadMessages(t *testing.T) {
	w := startSubscriber(t, false, 500*time.Millisecond)
	w.bus.Publish(context.Background(), []byte(`{"v":1,"type":"purge","pub":"origin-a","role":"origin","seq":1,"first":1,"items":[{"kind":"nuke"}]}`))
	w.send(originPurge(1, 1))
	waitFor(t, "the good purge", func() bool { s, _, _ := w.rec.state(); return len(s) == 1 })
	if st := w.sub.Stats(); st.Dropped != 1 {
		t.Fatalf("dropped %d, want 1", st.Dropped)
	}
}

// Silence from the origin longer than the timeout flushes and degrades;
// heartbeats coming back flush again (purges sent meanwhile were missed)
// and end degraded mode.
func TestSubscriberSilence(t *testing.T) {
	w := startSubscriber(t, true, 150*time.Millisecond)
	if _, _, degraded := w.rec.state(); !degraded {
		t.Fatal("not degraded before any origin is heard")
	}
	beat := func(stop <-chan struct{}) {
		for seq := uint64(0); ; {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			w.send(originBeat(seq, 1))
		}
	}
	stop := make(chan struct{})
	go beat(stop)
	waitFor(t, "health with heartbeats", func() bool { _, _, d := w.rec.state(); return !d })
	_, before, _ := w.rec.state()
	close(stop)
	start := time.Now()
	waitFor(t, "degraded after silence", func() bool { _, _, d := w.rec.state(); return d })
	if took := time.Since(start); took > time.Second {
		t.Fatalf("silence noticed after %v, timeout 150ms", took)
	}
	if ok, why := w.sub.Health(); ok || why == "" {
		t.Fatalf("Health() = %v %q during silence", ok, why)
	}
	_, during, _ := w.rec.state()
	if during != before+1 {
		t.Fatalf("%d flushes on going silent, want 1", during-before)
	}
	stop = make(chan struct{})
	defer close(stop)
	go beat(stop)
	waitFor(t, "healthy again", func() bool { _, _, d := w.rec.state(); return !d })
	if _, after, _ := w.rec.state(); after != during+1 {
		t.Fatalf("%d flushes on recovery, want 1", after-during)
	}
}

// A resubscription (the first included) flushes: what was published while
// the subscription was down is lost.
func TestSubscriberFlushesOnReset(t *testing.T) {
	w := startSubscriber(t, false, 500*time.Millisecond)
	waitFor(t, "first subscription", func() bool { return w.sub.Stats().Resets == 1 })
	if w.sub.Stats().Flushes == 0 {
		t.Fatal("the first subscription did not flush")
	}
}

// Purges of the purge API are acknowledged, and WaitApplied sees the acks
// of every edge; a purge this edge published itself is not applied again.
func TestSubscriberAcks(t *testing.T) {
	bus := purge.NewLocal()
	defer bus.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type edge struct {
		pub *purge.Publisher
		sub *purge.Subscriber
		rec *recorder
	}
	var edges []edge
	for range 3 {
		e := edge{pub: purge.NewPublisher(bus, nil), rec: &recorder{}}
		e.sub = purge.NewSubscriber(purge.SubscriberConfig{Bus: bus, Target: e.rec, Self: e.pub})
		go e.sub.Run(ctx)
		go e.pub.Heartbeats(ctx, 20*time.Millisecond)
		edges = append(edges, e)
	}
	a := edges[0]
	waitFor(t, "three live edges", func() bool { return len(a.sub.LiveEdges()) == 3 })
	m, err := a.pub.Purge(ctx, []purge.Item{{Kind: purge.KindTag, Key: "t"}}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if lagging := a.sub.WaitApplied(wctx, a.pub.ID(), m.Seq, a.sub.LiveEdges()); len(lagging) != 0 {
		t.Fatalf("lagging %v", lagging)
	}
	if seqs, _, _ := a.rec.state(); len(seqs) != 0 {
		t.Fatalf("the publishing edge applied its own purge again: %v", seqs)
	}
	for _, e := range edges[1:] {
		if seqs, _, _ := e.rec.state(); !slices.Equal(seqs, []uint64{1}) {
			t.Fatalf("edge %s applied %v", e.pub.ID(), seqs)
		}
	}
	// An edge that is heard but does not apply is named.
	short, scancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer scancel()
	if lagging := a.sub.WaitApplied(short, a.pub.ID(), m.Seq+1, []string{edges[1].pub.ID()}); !slices.Equal(lagging, []string{edges[1].pub.ID()}) {
		t.Fatalf("lagging %v for a purge nobody applied", lagging)
	}
}
