package consistency

import (
	"testing"
	"time"
)

// t0 is the start of every hand-built history; at(ms) a time in it.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func put(v int64, start, ack int) Write {
	return Write{Key: "k", Version: v, Start: at(start), Ack: at(ack)}
}

func del(v int64, start, ack int) Write {
	return Write{Key: "k", Version: v, Delete: true, Start: at(start), Ack: at(ack)}
}

func purge(start, ack int) Purge { return Purge{Key: "k", Start: at(start), Ack: at(ack)} }

func read(start, end int, v int64) Read {
	return Read{Edge: "e1", Key: "k", Start: at(start), End: at(end), Version: v}
}

// Reads classified against hand-built histories of one key.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		name   string
		writes []Write
		read   Read
		want   Verdict
		purges []Purge
	}{
		{"never written, 404", nil, read(0, 1, Absent), Verdict{Class: Fresh}, nil},
		{"the acknowledged version", []Write{put(1, 0, 5)}, read(10, 11, 1), Verdict{Class: Fresh}, nil},
		{"an older version", []Write{put(1, 0, 5), put(2, 8, 10)}, read(15, 16, 1), Verdict{Class: Stale, Behind: 1, Staleness: 5 * time.Millisecond}, nil},
		{"two versions behind", []Write{put(1, 0, 5), put(2, 8, 10), put(3, 11, 12)}, read(20, 21, 1), Verdict{Class: Stale, Behind: 2, Staleness: 10 * time.Millisecond}, nil},
		{"a write overlapping the read, not seen yet: not stale", []Write{put(1, 0, 5), put(2, 9, 14)}, read(10, 12, 1), Verdict{Class: Fresh}, nil},
		{"a write overlapping the read, seen already", []Write{put(1, 0, 5), put(2, 9, 14)}, read(10, 12, 2), Verdict{Class: Fresh}, nil},
		{"acknowledged the instant the read began: expected", []Write{put(1, 0, 5), put(2, 6, 10)}, read(10, 11, 1), Verdict{Class: Fresh}, nil},
		{"served after delete", []Write{put(1, 0, 5), del(2, 6, 10)}, read(30, 31, 1), Verdict{Class: ServedAfterDelete, Behind: 1, Staleness: 20 * time.Millisecond}, nil},
		{"404 after put", []Write{put(1, 0, 5)}, read(25, 26, Absent), Verdict{Class: NotFoundAfterPut, Behind: 1, Staleness: 20 * time.Millisecond}, nil},
		{"404 from a delete, after a new put", []Write{put(1, 0, 1), del(2, 2, 3), put(3, 4, 5)}, read(9, 10, Absent), Verdict{Class: NotFoundAfterPut, Behind: 1, Staleness: 4 * time.Millisecond}, nil},
		{"a version nobody wrote", []Write{put(1, 0, 5)}, read(10, 11, 7), Verdict{Class: Unexplained}, nil},
		{"a version written only after the read ended", []Write{put(1, 0, 5), put(2, 20, 25)}, read(10, 11, 2), Verdict{Class: Unexplained}, nil},
		{"content before any write", []Write{put(1, 20, 25)}, read(10, 11, 1), Verdict{Class: Unexplained}, nil},
		{"stale after a purge that landed", []Write{put(1, 0, 5), put(2, 8, 10)}, read(15, 16, 1),
			Verdict{Class: Stale, Behind: 1, Staleness: 5 * time.Millisecond, AfterPurge: true}, []Purge{purge(12, 14)}},
		{"served after delete and after a purge that landed", []Write{put(1, 0, 5), del(2, 8, 10)}, read(15, 16, 1),
			Verdict{Class: ServedAfterDelete, Behind: 1, Staleness: 5 * time.Millisecond, AfterPurge: true}, []Purge{purge(11, 12)}},
		{"a purge sent before the write was acknowledged", []Write{put(1, 0, 5), put(2, 8, 10)}, read(15, 16, 1),
			Verdict{Class: Stale, Behind: 1, Staleness: 5 * time.Millisecond}, []Purge{purge(9, 14)}},
		{"a purge not applied everywhere when the read began", []Write{put(1, 0, 5), put(2, 8, 10)}, read(15, 16, 1),
			Verdict{Class: Stale, Behind: 1, Staleness: 5 * time.Millisecond}, []Purge{purge(12, 15), {Key: "k", Start: at(11), Ack: Never}}},
		{"a purge of another key", []Write{put(1, 0, 5), put(2, 8, 10)}, read(15, 16, 1),
			Verdict{Class: Stale, Behind: 1, Staleness: 5 * time.Millisecond}, []Purge{{Key: "other", Start: at(11), Ack: at(12)}}},
		{"fresh after a purge", []Write{put(1, 0, 5), put(2, 8, 10)}, read(15, 16, 2), Verdict{Class: Fresh}, []Purge{purge(12, 14)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := New()
			for _, w := range c.writes {
				o.Wrote(w)
			}
			for _, p := range c.purges {
				o.Purged(p)
			}
			if got := o.Classify(c.read); got != c.want {
				t.Fatalf("%+v, want %+v", got, c.want)
			}
		})
	}
}

// The summary counts per edge, and measures staleness and how long each
// write took to reach every edge.
func TestSummary(t *testing.T) {
	o := New()
	o.Wrote(put(1, 0, 10))
	o.Wrote(put(2, 100, 110))
	for _, r := range []Read{
		{Edge: "e1", Key: "k", Start: at(20), End: at(21), Version: 1},   // fresh, and v1 on e1 at +11
		{Edge: "e2", Key: "k", Start: at(30), End: at(40), Version: 1},   // fresh, v1 on e2 at +30
		{Edge: "e1", Key: "k", Start: at(120), End: at(122), Version: 2}, // fresh, v2 on e1 at +12
		{Edge: "e2", Key: "k", Start: at(150), End: at(151), Version: 1}, // stale 40 ms
		{Edge: "e2", Key: "k", Start: at(200), End: at(210), Version: 2}, // fresh, v2 on e2 at +100
	} {
		o.ReadDone(r)
	}
	s := o.Summary(30 * time.Millisecond)
	if s.BeyondWindow != 1 || s.Edges["e2"].BeyondWindow != 1 || s.Edges["e1"].BeyondWindow != 0 || s.WindowMs != 30 {
		t.Errorf("beyond a 30 ms window: %d (e1 %d, e2 %d)", s.BeyondWindow, s.Edges["e1"].BeyondWindow, s.Edges["e2"].BeyondWindow)
	}
	if within := o.Summary(40 * time.Millisecond); within.BeyondWindow != 0 {
		t.Errorf("a read 40 ms stale is beyond a 40 ms window")
	}
	if s.Reads != 5 || s.Fresh != 4 || s.Stale != 1 || s.Edges["e2"].Stale != 1 || s.Edges["e1"].Fresh != 2 {
		t.Fatalf("counts: %+v e1 %+v e2 %+v", s, s.Edges["e1"], s.Edges["e2"])
	}
	if h := s.StalenessHistogram; len(h) != 16 || h[5].UpToMs != 50 || h[5].Count != 1 {
		t.Errorf("staleness histogram: %+v", h)
	}
	if s.VersionsBehind != (Quantiles{P50: 1, P99: 1, Max: 1}) || s.Edges["e2"].VersionsBehind.Max != 1 {
		t.Errorf("versions behind: %+v", s.VersionsBehind)
	}
	if s.StalenessMs != (Quantiles{P50: 40, P99: 40, Max: 40}) {
		t.Errorf("staleness: %+v", s.StalenessMs)
	}
	// v1 reached every edge at +30, v2 at +100.
	if s.PropagationMs != (Quantiles{P50: 30, P99: 100, Max: 100}) || s.Unpropagated != 0 {
		t.Errorf("propagation: %+v (unpropagated %d)", s.PropagationMs, s.Unpropagated)
	}
	if e1 := s.Edges["e1"].PropagationMs; e1 != (Quantiles{P50: 11, P99: 12, Max: 12}) {
		t.Errorf("propagation on e1: %+v", e1)
	}
	// v1 was set-up: only v2 is measured.
	o.MeasureFrom(at(50))
	if p := o.Summary(0).PropagationMs; p != (Quantiles{P50: 100, P99: 100, Max: 100}) {
		t.Errorf("propagation of the writes after 50 ms: %+v", p)
	}
}

// A body of one write served with another's generation is unexplained;
// a generation nobody reported is not checked.
func TestGenerations(t *testing.T) {
	o := New()
	w1, w2 := put(1, 0, 5), put(2, 10, 15)
	w1.Generation, w2.Generation = 101, 205
	o.Wrote(w1)
	o.Wrote(w2)
	for _, c := range []struct {
		read Read
		want Class
	}{
		{Read{Key: "k", Start: at(20), End: at(21), Version: 2, Generation: 205}, Fresh},
		{Read{Key: "k", Start: at(20), End: at(21), Version: 2, Generation: 101}, Unexplained},
		{Read{Key: "k", Start: at(20), End: at(21), Version: 1, Generation: 101}, Stale},
		{Read{Key: "k", Start: at(20), End: at(21), Version: 1, Generation: 205}, Unexplained},
		{Read{Key: "k", Start: at(20), End: at(21), Version: 2}, Fresh},
	} {
		if v := o.Classify(c.read); v.Class != c.want || v.GenerationChecked != (c.read.Generation != 0) {
			t.Errorf("version %d generation %d: %v (checked %v), want %v", c.read.Version, c.read.Generation, v.Class, v.GenerationChecked, c.want)
		}
	}
	o.Wrote(Write{Key: "k", Version: 3, Start: at(30), Ack: at(35)}) // its generation not reported
	if v := o.Classify(Read{Key: "k", Start: at(40), End: at(41), Version: 3, Generation: 999}); v.Class != Fresh {
		t.Errorf("a generation no write reported: %v", v.Class)
	}
}

// A write whose answer was lost may be seen or not, by any read ending
// after it was sent, and no read expects it.
func TestUnknownOutcome(t *testing.T) {
	o := New()
	o.Wrote(put(1, 0, 5))
	o.Wrote(Write{Key: "k", Version: 2, Start: at(10), Ack: Never})
	for _, r := range []Read{read(20, 21, 2), read(20, 21, 1), read(30, 31, 1)} {
		if v := o.Classify(r); v.Class != Fresh {
			t.Errorf("%+v: %+v", r, v)
		}
	}
	if v := o.Classify(read(2, 3, 2)); v.Class != Unexplained {
		t.Errorf("seen before it was sent: %+v", v)
	}
	// Staleness runs from the first acknowledged write after what was
	// seen: the lost one may never have happened.
	o.Wrote(put(3, 40, 50))
	if v := o.Classify(read(1050, 1051, 1)); v.Class != Stale || v.Staleness != time.Second || v.Behind != 2 {
		t.Errorf("v1 a second after v3 was acknowledged: %+v", v)
	}
	// A write whose answer was lost may land after later ones: its
	// content is never proof of staleness.
	if v := o.Classify(read(1050, 1051, 2)); v.Class != Fresh {
		t.Errorf("the lost v2 after v3: %+v", v)
	}
}

// A 404 shows a put propagated only if a later delete had been sent by
// the time the read ended: a sticky 404 from before the put is not it.
func TestPropagationIgnoresStickyNotFound(t *testing.T) {
	o := New()
	o.Wrote(put(1, 0, 5))
	o.Wrote(del(2, 3000, 3005))
	o.ReadDone(read(20, 21, Absent))     // sticky: the put is not there yet
	o.ReadDone(read(3010, 3011, Absent)) // the delete's 404
	if p := o.Summary(0).PropagationMs; p.Max != 3006 {
		t.Fatalf("propagation: %+v, want v1's to end with the read at 3011 ms", p)
	}
}
