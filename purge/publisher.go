package purge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// DefaultHeartbeat is how often publishers say they are alive: a fifth of
// the default silence timeout, so one late heartbeat is not an alarm.
const DefaultHeartbeat = 100 * time.Millisecond

// publishTimeout bounds one publish: Redis blocks PUBLISH while it is
// down, and nobody may wait on that for long.
const publishTimeout = time.Second

// newID names a publisher for one run of its process.
func newID(role Role) string {
	var b [6]byte
	rand.Read(b[:])
	return string(role) + "-" + hex.EncodeToString(b[:])
}

// Publisher numbers and sends the messages of one edge process: purges
// of the purge API, acknowledgements and heartbeats. Its numbers start at
// 1 every run; its id changes every run.
type Publisher struct {
	bus Bus
	id  string
	now func() time.Time

	// mu serialises numbering and sending: a message is sent only once the
	// one before it was accepted, so they arrive in order even over a pool
	// of connections, and a heartbeat never overtakes the purge it counts.
	mu  sync.Mutex
	seq uint64
}

// NewPublisher returns an edge's publisher on bus.
func NewPublisher(bus Bus, now func() time.Time) *Publisher {
	if now == nil {
		now = time.Now
	}
	return &Publisher{bus: bus, id: newID(RoleEdge), now: now}
}

// ID is the publisher's id, which its messages carry.
func (p *Publisher) ID() string { return p.id }

// Purge numbers and publishes a purge. The number is used even when the
// publish fails: subscribers then see a gap at the next heartbeat and
// flush, which is what a lost purge calls for.
func (p *Publisher) Purge(ctx context.Context, items []Item, soft bool, scope []string) (*Message, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	m := &Message{
		V: Version, Type: TypePurge, Publisher: p.id, Role: RoleEdge, Seq: p.seq, First: 1,
		Issued: p.now(), Soft: soft, Scope: scope, Items: items,
	}
	return m, p.send(ctx, m)
}

// Ack tells the purge's publisher that this edge applied its purges up to seq.
func (p *Publisher) Ack(ctx context.Context, of string, seq uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.send(ctx, &Message{V: Version, Type: TypeAck, Publisher: p.id, Role: RoleEdge, Seq: seq, First: 1, Issued: p.now(), AckOf: of})
}

// Seq is the number of the last purge published.
func (p *Publisher) Seq() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seq
}

// Heartbeats sends a heartbeat every interval until ctx ends.
func (p *Publisher) Heartbeats(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p.mu.Lock()
		// A failed heartbeat is what silence detection is for.
		p.send(ctx, &Message{V: Version, Type: TypeHeartbeat, Publisher: p.id, Role: RoleEdge, Seq: p.seq, First: 1, Issued: p.now()})
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Publisher) send(ctx context.Context, m *Message) error { return send(ctx, p.bus, m) }

// send encodes and publishes m, giving up after publishTimeout.
func send(ctx context.Context, bus Bus, m *Message) error {
	data, err := Encode(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	return bus.Publish(ctx, data)
}
