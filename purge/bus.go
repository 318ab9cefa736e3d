package purge

import (
	"context"
	"errors"
	"sync"
)

// Bus carries encoded messages from publishers to every subscriber, the
// way Redis pub/sub does: at most once, to whoever is subscribed when the
// message is published. Losses are found by the subscriber (sequence gaps,
// silence), not prevented by the bus.
type Bus interface {
	// Publish sends data to every current subscriber. An error means it
	// may not have reached them; publishing again is harmless.
	Publish(ctx context.Context, data []byte) error
	// Subscribe starts a subscription; its first Delivery is a Reset.
	Subscribe(ctx context.Context) (Subscription, error)
	Close() error
}

// Subscription receives what is published after it starts.
type Subscription interface {
	// Receive waits for the next delivery until ctx ends (then it returns
	// ctx's error, and the subscription stays usable). Other errors mean
	// the connection is broken; the next Receive tries to restore it and
	// reports success as a Reset.
	Receive(ctx context.Context) (Delivery, error)
	Close() error
}

// Delivery is one message, or the news that the subscription was
// (re)established: anything published before a Reset may have been lost.
type Delivery struct {
	Data  []byte
	Reset bool
	// Rejected says why the bus refused a message it received (it failed
	// authentication); the subscriber counts and drops it.
	Rejected string
}

// ErrClosed is returned by a closed Bus or Subscription.
var ErrClosed = errors.New("purge: bus closed")

// Local is the in-process Bus of a single node (the all-in-one): lossless
// and in order, with the same asynchronous delivery as Redis, so the same
// subscriber code runs on it.
type Local struct {
	mu     sync.Mutex
	subs   map[*localSub]struct{}
	closed bool
}

// NewLocal returns an empty in-process bus.
func NewLocal() *Local { return &Local{subs: make(map[*localSub]struct{})} }

// Publish queues a copy of data for every subscriber.
func (b *Local) Publish(_ context.Context, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	for s := range b.subs {
		s.push(Delivery{Data: append([]byte(nil), data...)})
	}
	return nil
}

// Subscribe starts a subscription.
func (b *Local) Subscribe(context.Context) (Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	s := &localSub{bus: b, wake: make(chan struct{}, 1)}
	s.push(Delivery{Reset: true})
	b.subs[s] = struct{}{}
	return s, nil
}

// Close ends every subscription.
func (b *Local) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		s.close()
	}
	clear(b.subs)
	return nil
}

// localSub queues without bound: the in-process bus has no slow-reader
// drop, and its publishers (the store's writes, purge calls) are bounded
// by the work that produced them.
type localSub struct {
	bus    *Local
	mu     sync.Mutex
	queue  []Delivery
	closed bool
	wake   chan struct{}
}

func (s *localSub) push(d Delivery) {
	s.mu.Lock()
	s.queue = append(s.queue, d)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *localSub) Receive(ctx context.Context) (Delivery, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Delivery{}, ErrClosed
		}
		if len(s.queue) > 0 {
			d := s.queue[0]
			s.queue[0] = Delivery{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return d, nil
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-ctx.Done():
			return Delivery{}, ctx.Err()
		}
	}
}

func (s *localSub) close() {
	s.mu.Lock()
	s.closed = true
	s.queue = nil
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *localSub) Close() error {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	s.close()
	return nil
}
