package purge

import (
	"context"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/edgecdn/edge/origin"
)

// Outbox is the store's durable list of committed changes (origin.Engine).
type Outbox interface {
	EventsAfter(seq uint64, max int) ([]origin.Event, error)
	Ack(seq uint64) error
	LastSeq() (uint64, error)
}

// OutboxPublisher publishes the store's changes: every committed write
// becomes a purge of that object on every edge. It runs beside the store,
// off the write path (a write never waits on the bus), numbers messages by
// the store's sequence, and acknowledges in the outbox only what it has
// published, so events written while the bus was down go out, in order,
// once it is back.
type OutboxPublisher struct {
	bus       Bus
	outbox    Outbox
	id        string
	heartbeat time.Duration
	log       *zap.Logger
	now       func() time.Time
	notify    chan struct{}
	// published is 1 + the last sequence number sent on the bus (0:
	// Run has not read the outbox yet).
	published atomic.Uint64
}

// OutboxConfig configures an OutboxPublisher.
type OutboxConfig struct {
	Heartbeat time.Duration // default DefaultHeartbeat
	Logger    *zap.Logger
	Now       func() time.Time
}

// NewOutboxPublisher returns a publisher of ob's events on bus.
func NewOutboxPublisher(bus Bus, ob Outbox, cfg OutboxConfig) *OutboxPublisher {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &OutboxPublisher{
		bus: bus, outbox: ob, id: newID(RoleOrigin), heartbeat: cfg.Heartbeat,
		log: cfg.Logger, now: cfg.Now, notify: make(chan struct{}, 1),
	}
}

// flushTimeout bounds the last publishing at shutdown.
const flushTimeout = 2 * time.Second

// Backlog is how many committed changes the bus has not carried yet (0
// before Run has read the outbox).
func (p *OutboxPublisher) Backlog() uint64 {
	pub := p.published.Load()
	last, err := p.outbox.LastSeq()
	if err != nil || pub == 0 || last < pub-1 {
		return 0
	}
	return last - (pub - 1)
}

// ID is the publisher's id.
func (p *OutboxPublisher) ID() string { return p.id }

// Notify says new events are in the outbox; the store's EventSink calls
// it, so a write is published at once rather than at the next heartbeat.
// It never blocks.
func (p *OutboxPublisher) Notify() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// Tuning of the drain loop.
const (
	outboxBatch = 512
	// ackEvery spaces the outbox acknowledgements: each is a durable
	// write, and republishing a few events after a crash is harmless.
	ackEvery    = time.Second
	retryFirst  = 50 * time.Millisecond
	retryLatest = time.Second
)

// Run publishes until ctx ends.
func (p *OutboxPublisher) Run(ctx context.Context) error {
	pos, err := p.start()
	if err != nil {
		return err
	}
	first := pos + 1
	acked, lastSent, lastAck := pos, time.Time{}, p.now()
	retry := retryFirst
	for {
		sent, err := p.drain(ctx, &pos, first)
		p.published.Store(pos + 1)
		if sent {
			lastSent = p.now()
		}
		if err == nil && p.now().Sub(lastSent) >= p.heartbeat {
			hb := &Message{V: Version, Type: TypeHeartbeat, Publisher: p.id, Role: RoleOrigin, Seq: pos, First: first, Issued: p.now()}
			if err = p.send(ctx, hb); err == nil {
				lastSent = p.now()
			}
		}
		if pos > acked && p.now().Sub(lastAck) >= ackEvery {
			if aerr := p.outbox.Ack(pos); aerr != nil {
				p.log.Warn("purge publisher: outbox ack failed", zap.Error(aerr))
			} else {
				acked, lastAck = pos, p.now()
			}
		}
		wait := p.heartbeat
		if err != nil {
			p.log.Warn("purge publisher: bus unavailable, will retry", zap.Error(err), zap.Uint64("published_up_to", pos))
			wait, retry = retry, min(retry*2, retryLatest)
		} else {
			retry = retryFirst
		}
		select {
		case <-ctx.Done():
			// Flush: changes committed before the shutdown still reach
			// the edges, within a bound (a bus that is down keeps them
			// in the outbox for the next start).
			flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
			p.drain(flush, &pos, first)
			cancel()
			p.published.Store(pos + 1)
			if pos > acked {
				p.outbox.Ack(pos)
			}
			return nil
		case <-p.notify:
		case <-time.After(wait):
		}
	}
}

// start finds where publishing begins: at the oldest event still in the
// outbox (unpublished, or published but not yet acknowledged), else after
// the newest change.
func (p *OutboxPublisher) start() (uint64, error) {
	evs, err := p.outbox.EventsAfter(0, 1)
	if err != nil {
		return 0, err
	}
	if len(evs) > 0 {
		return evs[0].Seq - 1, nil
	}
	return p.outbox.LastSeq()
}

// drain publishes the events after *pos, advancing it past each one sent.
func (p *OutboxPublisher) drain(ctx context.Context, pos *uint64, first uint64) (sent bool, err error) {
	for {
		evs, err := p.outbox.EventsAfter(*pos, outboxBatch)
		if err != nil || len(evs) == 0 {
			return sent, err
		}
		for _, ev := range evs {
			m := &Message{
				V: Version, Type: TypePurge, Publisher: p.id, Role: RoleOrigin, Seq: ev.Seq, First: first,
				Issued: p.now(), Items: []Item{itemOf(ev)},
			}
			if err := p.send(ctx, m); err != nil {
				return sent, err
			}
			*pos, sent = ev.Seq, true
		}
	}
}

// itemOf is the purge an origin change calls for.
func itemOf(ev origin.Event) Item {
	switch ev.Op {
	case origin.OpPut, origin.OpDelete:
		return Item{Kind: KindObject, Bucket: ev.Bucket, Key: ev.Key, Generation: ev.Generation}
	}
	return Item{Kind: KindBucket, Bucket: ev.Bucket}
}

func (p *OutboxPublisher) send(ctx context.Context, m *Message) error { return send(ctx, p.bus, m) }
