package origin

import "time"

// Options configure an Engine. A nil *Options means all defaults.
type Options struct {
	// MaxObjectSize caps one object's size (default 5 GiB).
	MaxObjectSize int64
	// MinPartSize is the smallest multipart part but the last (default 5 MiB).
	MinPartSize int64
	// Sink, when set, is told of every committed change (see EventSink).
	Sink EventSink
	// OutboxLimit is how many unacknowledged events the outbox keeps before
	// dropping the oldest (default 1<<20); a consumer sees the gap in Seq.
	OutboxLimit int
	// Now is the clock for Last-Modified (default time.Now).
	Now func() time.Time
}

func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	if v.MaxObjectSize <= 0 {
		v.MaxObjectSize = DefaultMaxObject
	}
	if v.MinPartSize <= 0 {
		v.MinPartSize = DefaultMinPart
	}
	if v.OutboxLimit <= 0 {
		v.OutboxLimit = 1 << 20
	}
	if v.Now == nil {
		v.Now = time.Now
	}
	return v
}
