package origin

import (
	"context"
	"errors"
	"slices"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Group commit. Every change goes through one committer goroutine, which
// takes all the changes waiting at that moment and applies them in a single
// bbolt transaction: one fsync for the group instead of one per change.
// Bodies are already durable, so the group is as durable as its members.
//
// A change whose function fails is taken out and run alone, and the rest of
// the group is run again without it: a failed function may have written to
// the transaction, and bbolt has no savepoints. Failures are cheap to retry
// because a rolled-back transaction writes nothing to disk.

// maxGroup bounds one transaction, keeping its dirty pages modest.
const maxGroup = 256

type commitReq struct {
	fn   func(w *writeTx) error
	w    *writeTx
	err  error
	done chan struct{}
}

// update queues fn for the committer and waits. After the commit is durable
// the committer deletes the bodies fn dropped and tells the sink of fn's
// events, in commit order, before update returns them.
func (e *Engine) update(ctx context.Context, fn func(w *writeTx) error) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req := &commitReq{fn: fn, done: make(chan struct{})}
	select {
	case e.commits <- req:
	case <-e.closing:
		return nil, ErrClosed
	}
	<-req.done
	if req.err != nil {
		return nil, req.err
	}
	return req.w.events, nil
}

// committer runs until Close, applying queued changes in groups.
func (e *Engine) committer() {
	defer close(e.committerDone)
	group := make([]*commitReq, 0, maxGroup)
	for {
		select {
		case req := <-e.commits:
			group = append(group[:0], req)
		case <-e.closing:
			return
		}
	drain:
		for len(group) < maxGroup {
			select {
			case req := <-e.commits:
				group = append(group, req)
			default:
				break drain
			}
		}
		e.commitGroup(group)
	}
}

func (e *Engine) commitGroup(group []*commitReq) {
	for len(group) > 0 {
		var failed *commitReq
		err := e.db.Update(func(tx *bolt.Tx) error {
			for _, r := range group {
				r.w = &writeTx{Tx: tx, e: e}
				if err := r.fn(r.w); err != nil {
					failed = r
					return err
				}
			}
			return nil
		})
		if failed == nil || len(group) == 1 {
			e.finish(group, err)
			return
		}
		e.commitGroup([]*commitReq{failed})
		group = slices.DeleteFunc(group, func(r *commitReq) bool { return r == failed })
	}
}

// finish reports a committed (err == nil) or failed group to its callers.
func (e *Engine) finish(group []*commitReq, err error) {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		err = ErrClosed
	}
	for _, r := range group {
		r.err = err
		if err == nil {
			e.removeBodies(r.w.garbage)
			if e.opts.Sink != nil {
				for _, ev := range r.w.events {
					e.opts.Sink.Committed(ev)
				}
			}
		}
		close(r.done)
	}
}
