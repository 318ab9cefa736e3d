// Package consistency is the load test's consistency observer: it records
// every write the load generator makes (when it was acknowledged, which
// version of its key it made) and classifies every read against the
// writes acknowledged before the read began — fresh, stale (by how long
// and by how many versions), served after delete, 404 after put — per
// edge, and measures how long each write took to be served by every edge.
//
// Versions are the generator's: it numbers the writes of each key 1, 2,
// … in the order it issues them (one writer per key at a time) and puts
// the number in the body, so a read says which version it saw, whatever
// the S3 server. A delete is a version too, one whose content is
// "absent". Where the server reports generations (X-Object-Generation on
// its answers and the edge's), they are recorded too, and a read whose
// body is one version's and generation another's is unexplained.
package consistency

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// Absent is the version a read reports when it got a 404, and the
// content of a delete.
const Absent = -1

// Never is the Ack of a write whose outcome is unknown (its answer was
// lost): reads may see it or not, and none expects it.
var Never = time.Unix(1<<62, 0)

// Write is one write or delete of a key, as the generator saw it.
type Write struct {
	Key     string
	Version int64 // 1, 2, … per key, in issue order
	Delete  bool
	// Generation is the server's for this write (0: not reported).
	Generation int64
	// Start is when the request was sent, Ack when its success came back.
	Start, Ack time.Time
}

// Purge is one purge API call for a key, as the generator saw it: Start
// when it was sent, Ack when the API answered that every edge had
// applied it (Never when it did not say so).
type Purge struct {
	Key        string
	Start, Ack time.Time
}

// Read is one read of a key through an edge.
type Read struct {
	Edge, Key  string
	Start, End time.Time
	// Version is what the body said, or Absent for a 404.
	Version int64
	// Generation is what the response's X-Object-Generation said (0:
	// nothing).
	Generation int64
}

// Class is what a read was, against the writes acknowledged before it.
type Class int

// The classes of a read.
const (
	// Fresh: the latest version acknowledged before the read began, or one
	// a write overlapping the read made (it may or may not count yet).
	Fresh Class = iota
	// Stale: an older version.
	Stale
	// ServedAfterDelete: content, though the key was deleted.
	ServedAfterDelete
	// NotFoundAfterPut: a 404, though the key had been written.
	NotFoundAfterPut
	// Unexplained: a version no write had made by the time the read
	// ended, or a body and a generation of different writes: a bug in
	// the system or the generator.
	Unexplained
)

func (c Class) String() string {
	return [...]string{"fresh", "stale", "served_after_delete", "not_found_after_put", "unexplained"}[c]
}

// Verdict is one read's classification.
type Verdict struct {
	Class Class
	// Staleness is how long the version read had been superseded when the
	// read began, and Behind by how many versions (Stale,
	// ServedAfterDelete and NotFoundAfterPut).
	Staleness time.Duration
	Behind    int64
	// AfterPurge: a purge of the key, sent after the write the read
	// missed was acknowledged, had been applied everywhere before the
	// read began — a purge that did not land.
	AfterPurge bool
	// GenerationChecked: the read's generation was compared with the one
	// its version's write reported.
	GenerationChecked bool
}

// Observer keeps the writes and reads of a run. Its methods are safe for
// concurrent use.
type Observer struct {
	mu     sync.Mutex
	writes map[string][]Write // per key, by version
	purges map[string][]Purge // per key
	reads  []Read
	// from: writes acknowledged before it were set-up (a prefill), not
	// measured for propagation.
	from time.Time
}

// New is an empty observer.
func New() *Observer { return &Observer{writes: map[string][]Write{}, purges: map[string][]Purge{}} }

// Wrote records an acknowledged write or delete.
func (o *Observer) Wrote(w Write) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ws := o.writes[w.Key]
	i := sort.Search(len(ws), func(i int) bool { return ws[i].Version >= w.Version })
	o.writes[w.Key] = slices.Insert(ws, i, w)
}

// MeasureFrom excludes the writes acknowledged before t from the
// propagation figures: they set the run up (a prefill), and reads are
// still judged against them.
func (o *Observer) MeasureFrom(t time.Time) {
	o.mu.Lock()
	o.from = t
	o.mu.Unlock()
}

// Purged records a purge API call.
func (o *Observer) Purged(p Purge) {
	o.mu.Lock()
	o.purges[p.Key] = append(o.purges[p.Key], p)
	o.mu.Unlock()
}

// ReadDone records a read.
func (o *Observer) ReadDone(r Read) {
	o.mu.Lock()
	o.reads = append(o.reads, r)
	o.mu.Unlock()
}

// Classify judges r against the writes recorded so far.
func (o *Observer) Classify(r Read) Verdict {
	o.mu.Lock()
	defer o.mu.Unlock()
	return classify(o.writes[r.Key], o.purges[r.Key], r)
}

// classify judges r against its key's writes, ordered by version, and
// the purges of the key.
func classify(ws []Write, ps []Purge, r Read) Verdict {
	checked := false
	if r.Version != Absent && r.Generation != 0 {
		i := slices.IndexFunc(ws, func(w Write) bool { return w.Version == r.Version && !w.Delete })
		if i >= 0 && ws[i].Generation != 0 {
			if ws[i].Generation != r.Generation {
				return Verdict{Class: Unexplained, GenerationChecked: true} // one write's body under another's generation
			}
			checked = true
		}
	}
	v := classifyVersion(ws, ps, r)
	v.GenerationChecked = checked
	return v
}

// classifyVersion judges r by the version its body names.
func classifyVersion(ws []Write, ps []Purge, r Read) Verdict {
	// expected is the last write acknowledged before the read began (nil:
	// never written, so absent).
	var expected *Write
	for i := range ws {
		if ws[i].Ack.Before(r.Start) && (expected == nil || ws[i].Version > expected.Version) {
			expected = &ws[i]
		}
	}
	content := func(w *Write) int64 {
		if w == nil || w.Delete {
			return Absent
		}
		return w.Version
	}
	if r.Version == content(expected) {
		return Verdict{Class: Fresh}
	}
	// A write overlapping the read (sent before it ended, acknowledged
	// after it began) may be seen or not; so may one whose answer was
	// lost, whenever it was sent: it may still land after later writes.
	for i := range ws {
		w := &ws[i]
		if w.Start.Before(r.End) && !w.Ack.Before(r.Start) && content(w) == r.Version {
			return Verdict{Class: Fresh}
		}
	}
	if expected == nil {
		return Verdict{Class: Unexplained} // content before any write was acknowledged or under way
	}
	// What the read saw was current until the next write after it.
	seen := int64(0) // the version whose content was seen (0: none yet)
	if r.Version != Absent {
		seen = r.Version
		if i := slices.IndexFunc(ws, func(w Write) bool { return w.Version == r.Version && !w.Delete }); i < 0 || ws[i].Start.After(r.End) {
			return Verdict{Class: Unexplained}
		}
	} else {
		// A 404: the content of the last delete before the expected
		// version, or of no write at all.
		for i := range ws {
			if ws[i].Delete && ws[i].Version < expected.Version {
				seen = ws[i].Version
			}
		}
	}
	v := Verdict{Class: Stale, Behind: expected.Version - seen}
	for i := range ws {
		// The first acknowledged write after what was seen (a write whose
		// answer was lost may never have happened).
		if ws[i].Version > seen && !ws[i].Ack.Equal(Never) {
			v.Staleness = max(0, r.Start.Sub(ws[i].Ack))
			v.AfterPurge = slices.ContainsFunc(ps, func(p Purge) bool {
				return p.Start.After(ws[i].Ack) && p.Ack.Before(r.Start)
			})
			break
		}
	}
	switch {
	case expected.Delete:
		v.Class = ServedAfterDelete
	case r.Version == Absent:
		v.Class = NotFoundAfterPut
	}
	return v
}
