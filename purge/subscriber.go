package purge

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Target is what a subscriber invalidates: an edge's cache.
type Target interface {
	// Apply invalidates what m's items name (m.Soft: marks them stale).
	Apply(m *Message)
	// Flush invalidates everything cached, in O(1): purges may have been lost.
	Flush()
	// SetDegraded turns on or off "revalidate every hit with the origin":
	// on while the bus cannot vouch that no purge is being missed.
	SetDegraded(on bool)
}

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	Bus    Bus
	Target Target
	// Self is this edge's publisher: the subscriber acknowledges purges of
	// the purge API through it, and does not apply its own purges again
	// (the purge API applied them before publishing).
	Self *Publisher
	// Silence is how long without a heartbeat from an origin publisher
	// counts as a fault (default 500 ms): go-redis's own health check
	// does not see a silent network fault.
	Silence time.Duration
	// RequireOrigin: healthy only while an origin publisher is heard. An
	// edge whose origin announces no writes cannot vouch for freshness.
	RequireOrigin bool
	// OnApplied, when set, is told each applied purge's delay from its
	// publisher's clock to this edge applying it, and whether an origin
	// (a write) or an edge (the purge API) sent it.
	OnApplied func(delay time.Duration, fromOrigin bool)
	Logger    *zap.Logger
	Now       func() time.Time
}

// Subscriber applies the bus's messages to a Target, in order per
// publisher, and keeps the Target safe when messages may have been lost:
// a gap in a publisher's numbers, a resubscription, or silence longer
// than Silence flushes the Target; silence and a broken subscription also
// put it in degraded mode until the bus is healthy again, when it is
// flushed once more (purges sent meanwhile were missed).
type Subscriber struct {
	cfg SubscriberConfig
	log *zap.Logger

	mu         sync.Mutex
	pubs       map[string]*pubState
	subscribed bool
	healthy    bool
	reason     string
	changed    chan struct{} // closed and replaced when acks arrive
	// toAck holds, per publisher, the last purge to acknowledge; the ack
	// sender sends the latest only, so none is lost to a full queue.
	toAck   map[string]uint64
	ackWake chan struct{}

	applied, gaps, flushes, dropped, resets atomic.Uint64
	received                                atomic.Uint64 // purge messages decoded, applied or not
	lastDelay                               atomic.Int64  // ns, Issued → applied, last origin purge
}

// pubState is what a subscriber knows of one publisher.
type pubState struct {
	role   Role
	last   uint64    // last purge number applied (or accounted for by a flush)
	heard  time.Time // when its newest message arrived
	issued time.Time // the newest Issued among its messages
	// acked holds, for each publisher, the last of its purges this one
	// (an edge) has acknowledged.
	acked map[string]uint64
}

// NewSubscriber returns a subscriber; Run starts it.
func NewSubscriber(cfg SubscriberConfig) *Subscriber {
	if cfg.Silence <= 0 {
		cfg.Silence = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Subscriber{
		cfg: cfg, log: cfg.Logger, pubs: make(map[string]*pubState),
		reason: "not subscribed yet", changed: make(chan struct{}), toAck: make(map[string]uint64), ackWake: make(chan struct{}, 1),
	}
	cfg.Target.SetDegraded(true)
	return s
}

// Timings of the receive loop.
const (
	// forgetAfter: a publisher not heard for this long is forgotten (it
	// stopped, or restarted under a new id).
	forgetAfter = time.Minute
	// liveFor: an edge heard within this is live, and ?wait=1 waits for it.
	liveFor = 3 * time.Second
	// resubscribeBackoff bounds the pause between failed subscriptions.
	resubscribeBackoff = time.Second
)

// Run receives and applies messages until ctx ends.
func (s *Subscriber) Run(ctx context.Context) error {
	if s.cfg.Self != nil {
		go s.sendAcks(ctx)
	}
	backoff := 10 * time.Millisecond
	for ctx.Err() == nil {
		sub, err := s.cfg.Bus.Subscribe(ctx)
		if err != nil {
			s.setSubscribed(false, "cannot subscribe: "+err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, resubscribeBackoff)
			continue
		}
		backoff = 10 * time.Millisecond
		s.receive(ctx, sub)
		sub.Close()
	}
	return nil
}

// receive runs one subscription until ctx ends or it is closed.
func (s *Subscriber) receive(ctx context.Context, sub Subscription) {
	tick := s.cfg.Silence / 5
	for {
		rctx, cancel := context.WithTimeout(ctx, tick)
		d, err := sub.Receive(rctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
		case errors.Is(err, ErrClosed):
			s.setSubscribed(false, "subscription closed")
			return
		case err != nil:
			// The next Receive reconnects; until its Reset, anything may
			// be lost.
			s.setSubscribed(false, "bus: "+err.Error())
			select {
			case <-ctx.Done():
				return
			case <-time.After(tick):
			}
		case d.Reset:
			s.resets.Add(1)
			s.flush("subscribed anew: messages sent meanwhile may be lost")
			s.setSubscribed(true, "")
		case d.Rejected != "":
			s.dropped.Add(1)
			s.log.Warn("purge: dropped a message the bus rejected", zap.String("why", d.Rejected))
		default:
			m, err := Decode(d.Data)
			if err != nil {
				s.dropped.Add(1)
				s.log.Warn("purge: dropped a message that does not decode", zap.Error(err))
				break
			}
			s.handle(m)
		}
		s.check()
	}
}

// handle applies one message.
func (s *Subscriber) handle(m *Message) {
	now := s.cfg.Now()
	if m.Type == TypePurge {
		s.received.Add(1)
	}
	s.mu.Lock()
	p, known := s.pubs[m.Publisher]
	if !known {
		p = &pubState{role: m.Role, acked: make(map[string]uint64)}
		s.pubs[m.Publisher] = p
	}
	var gap, apply bool
	// Silence is judged by messages newer than any seen: a replayed old
	// heartbeat must not keep a silent publisher looking alive.
	if m.Issued.After(p.issued) {
		p.issued, p.heard = m.Issued, now
	}
	switch m.Type {
	case TypeAck:
		if m.Seq > p.acked[m.AckOf] {
			p.acked[m.AckOf] = m.Seq
			close(s.changed)
			s.changed = make(chan struct{})
		}
	case TypeHeartbeat:
		// A publisher met at a heartbeat has sent purges we never saw
		// unless its count is still below its first number.
		gap = (!known && m.Seq >= m.First) || (known && m.Seq > p.last)
		p.last = max(p.last, m.Seq)
	case TypePurge:
		switch {
		case known && m.Seq <= p.last:
			// A duplicate, or older than a gap already flushed for.
		case !known && m.Seq != m.First, known && m.Seq > p.last+1:
			gap, apply = true, true
		default:
			apply = true
		}
		p.last = max(p.last, m.Seq)
	}
	self := s.cfg.Self != nil && m.Publisher == s.cfg.Self.ID()
	if self {
		// Its own purges were applied before they were published: a lost
		// one is the other edges' concern.
		gap = false
	}
	s.mu.Unlock()

	if gap {
		s.gaps.Add(1)
		s.flush("a gap in the messages of " + m.Publisher)
	}
	if !apply {
		return
	}
	if !self {
		s.cfg.Target.Apply(m)
	}
	s.applied.Add(1)
	if m.Role == RoleOrigin {
		s.lastDelay.Store(int64(now.Sub(m.Issued)))
	}
	if f := s.cfg.OnApplied; f != nil && !self { // its own purges were applied before they were sent
		f(now.Sub(m.Issued), m.Role == RoleOrigin)
	}
	if m.Role == RoleEdge && s.cfg.Self != nil {
		if self {
			s.recordAck(s.cfg.Self.ID(), m.Publisher, m.Seq)
		} else {
			s.mu.Lock()
			s.toAck[m.Publisher] = max(s.toAck[m.Publisher], m.Seq)
			s.mu.Unlock()
			select {
			case s.ackWake <- struct{}{}:
			default:
			}
		}
	}
}

// sendAcks publishes acknowledgements off the receive loop, so a slow bus
// never delays applying purges.
func (s *Subscriber) sendAcks(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ackWake:
		}
		s.mu.Lock()
		pending := s.toAck
		s.toAck = make(map[string]uint64)
		s.mu.Unlock()
		for of, seq := range pending {
			if err := s.cfg.Self.Ack(ctx, of, seq); err != nil && ctx.Err() == nil {
				s.log.Debug("purge: ack not sent", zap.Error(err))
			}
		}
	}
}

func (s *Subscriber) recordAck(edge, of string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pubs[edge]
	if !ok {
		p = &pubState{role: RoleEdge, acked: make(map[string]uint64), heard: s.cfg.Now()}
		s.pubs[edge] = p
	}
	if seq > p.acked[of] {
		p.acked[of] = seq
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

func (s *Subscriber) flush(why string) {
	s.flushes.Add(1)
	s.log.Info("purge: flushing the cache", zap.String("why", why))
	s.cfg.Target.Flush()
}

func (s *Subscriber) setSubscribed(on bool, reason string) {
	s.mu.Lock()
	s.subscribed = on
	if !on {
		s.reason = reason
	}
	s.mu.Unlock()
	s.check()
}

// check re-judges health, flushing and switching degraded mode when it
// changes, and forgets publishers long gone.
func (s *Subscriber) check() {
	now := s.cfg.Now()
	s.mu.Lock()
	healthy, reason := s.subscribed, s.reason
	if healthy && s.cfg.RequireOrigin {
		healthy, reason = false, "no heartbeat from an origin publisher for "+s.cfg.Silence.String()
		for _, p := range s.pubs {
			if p.role == RoleOrigin && now.Sub(p.heard) <= s.cfg.Silence {
				healthy = true
				break
			}
		}
	}
	for id, p := range s.pubs {
		if now.Sub(p.heard) > forgetAfter {
			delete(s.pubs, id)
		}
	}
	was := s.healthy
	s.healthy = healthy
	if healthy {
		s.reason = ""
	} else {
		s.reason = reason
	}
	s.mu.Unlock()
	if healthy == was {
		return
	}
	if healthy {
		s.flush("the bus is healthy again: purges sent during the fault were missed")
		s.log.Info("purge: bus healthy; leaving degraded mode")
	} else {
		s.flush("bus fault: " + reason)
		s.log.Warn("purge: bus unhealthy; every hit is revalidated until it recovers", zap.String("why", reason))
	}
	s.cfg.Target.SetDegraded(!healthy)
}

// Health says whether the bus vouches for the cache, and if not, why.
func (s *Subscriber) Health() (healthy bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.healthy, s.reason
}

// Stats are a subscriber's counters.
type Stats struct {
	Applied, Gaps, Flushes, Dropped, Resets uint64
	// Received counts the purge messages decoded (a repeat, or one for
	// another edge's scope, is received and not applied).
	Received uint64
	// LastDelay is the publish-to-apply time of the last origin purge
	// (publisher and subscriber clocks).
	LastDelay time.Duration
}

// Stats returns the counters.
func (s *Subscriber) Stats() Stats {
	return Stats{
		Applied: s.applied.Load(), Gaps: s.gaps.Load(), Flushes: s.flushes.Load(),
		Dropped: s.dropped.Load(), Resets: s.resets.Load(), LastDelay: time.Duration(s.lastDelay.Load()),
		Received: s.received.Load(),
	}
}

// LiveEdges lists the edges heard recently (this one included once its
// heartbeats go round), sorted.
func (s *Subscriber) LiveEdges() []string {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, p := range s.pubs {
		if p.role == RoleEdge && now.Sub(p.heard) <= liveFor {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// WaitApplied waits until every edge listed acknowledged publisher's
// purges up to seq, or ctx ends; it returns the edges that had not.
func (s *Subscriber) WaitApplied(ctx context.Context, publisher string, seq uint64, edges []string) (lagging []string) {
	for {
		s.mu.Lock()
		lagging = lagging[:0]
		for _, e := range edges {
			if p := s.pubs[e]; p == nil || p.acked[publisher] < seq {
				lagging = append(lagging, e)
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if len(lagging) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return lagging
		case <-changed:
		}
	}
}
