package edge_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/purge"
)

// chaosBus delivers a Local bus's messages dropped, duplicated and
// reordered at random (a swap with the next message), to stand for what a
// network and Redis pub/sub can do to them.
type chaosBus struct {
	*purge.Local
	mu                 sync.Mutex
	rng                *rand.Rand
	drops, dups, swaps int
	droppedPurges      int
}

func (b *chaosBus) Subscribe(ctx context.Context) (purge.Subscription, error) {
	s, err := b.Local.Subscribe(ctx)
	return &chaosSub{Subscription: s, bus: b}, err
}

type chaosSub struct {
	purge.Subscription
	bus     *chaosBus
	pending []purge.Delivery
}

func (s *chaosSub) Receive(ctx context.Context) (purge.Delivery, error) {
	for {
		if len(s.pending) > 0 {
			d := s.pending[0]
			s.pending = s.pending[1:]
			return d, nil
		}
		d, err := s.Subscription.Receive(ctx)
		if err != nil || d.Reset {
			return d, err
		}
		b := s.bus
		b.mu.Lock()
		isPurge := strings.Contains(string(d.Data), `"type":"purge"`)
		switch r := b.rng.IntN(100); {
		case r < 8:
			b.drops++
			if isPurge {
				b.droppedPurges++
			}
			b.mu.Unlock()
			continue
		case r < 14:
			b.dups++
			s.pending = append(s.pending, d)
		case r < 20:
			// Hold this one back until the next arrives.
			b.swaps++
			b.mu.Unlock()
			next, err := s.Subscription.Receive(ctx)
			if err != nil {
				return d, nil
			}
			s.pending = append(s.pending, d)
			return next, nil
		}
		b.mu.Unlock()
		return d, nil
	}
}

// With messages dropped, duplicated and reordered between the bus and the
// edge, every loss is caught (a gap, a flush), no read ever goes back to
// an older version than one already served, and once the writes stop
// every object is served at its last version.
func TestBusChaosNeverRegresses(t *testing.T) {
	store, err := origin.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateBucket(ctx, "public"); err != nil {
		t.Fatal(err)
	}
	e, err := edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Bucket: "public"}}}, edge.FromStore(store))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	bus := &chaosBus{Local: purge.NewLocal(), rng: rand.New(rand.NewPCG(7, 7))}
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait(); bus.Close() }()
	pub := purge.NewOutboxPublisher(bus, store, purge.OutboxConfig{Heartbeat: 10 * time.Millisecond})
	sub := purge.NewSubscriber(purge.SubscriberConfig{Bus: bus, Target: e, RequireOrigin: true, Silence: time.Second})
	wg.Add(2)
	go func() { defer wg.Done(); sub.Run(runCtx) }()
	go func() { defer wg.Done(); pub.Run(runCtx) }()
	waitFor(t, "a healthy bus", func() bool { ok, _ := sub.Health(); return ok })

	const keys, writes = 8, 400
	served := make([]int, keys) // highest version each key was served at
	last := make([]int, keys)
	for w := 1; w <= writes; w++ {
		k := w % keys
		key := "k" + strconv.Itoa(k)
		body := strconv.Itoa(w)
		if _, err := store.PutObject(ctx, "public", key, strings.NewReader(body), origin.PutOptions{
			Size: int64(len(body)), Headers: origin.Headers{CacheControl: "max-age=3600"},
		}); err != nil {
			t.Fatal(err)
		}
		last[k] = w
		pub.Notify()
		for r := range keys {
			status, got := get(e, "k"+strconv.Itoa(r))
			if status == 404 {
				continue // not written yet
			}
			v, _ := strconv.Atoi(got)
			if v < served[r] {
				t.Fatalf("after write %d, k%d went back from version %d to %d", w, r, served[r], v)
			}
			served[r] = v
		}
	}
	// Once the heartbeats carry the last number, every loss has been seen.
	for k := range keys {
		want := strconv.Itoa(last[k])
		waitFor(t, fmt.Sprintf("k%d at its last version %s", k, want), func() bool {
			_, got := get(e, "k"+strconv.Itoa(k))
			return got == want
		})
	}
	bus.mu.Lock()
	defer bus.mu.Unlock()
	st := sub.Stats()
	t.Logf("chaos: %d dropped (%d purges), %d duplicated, %d reordered; the subscriber saw %d gaps and flushed %d times",
		bus.drops, bus.droppedPurges, bus.dups, bus.swaps, st.Gaps, st.Flushes)
	if bus.droppedPurges > 0 && st.Gaps == 0 {
		t.Fatalf("%d purges were dropped and no gap was found", bus.droppedPurges)
	}
}
