package consistency

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Summary counts a run's reads by class, with the staleness of the reads
// that were not fresh and how long writes took to reach every edge.
type Summary struct {
	Reads             int `json:"reads"`
	Fresh             int `json:"fresh"`
	Stale             int `json:"stale"`
	ServedAfterDelete int `json:"served_after_delete"`
	NotFoundAfterPut  int `json:"not_found_after_put"`
	Unexplained       int `json:"unexplained"`
	// BeyondWindow counts the reads that were not fresh by more than
	// WindowMs (the propagation window the run allowed), and AfterPurge
	// those that saw content a purge applied everywhere before they
	// began should have removed.
	WindowMs     float64 `json:"window_ms"`
	BeyondWindow int     `json:"beyond_window"`
	AfterPurge   int     `json:"after_purge"`
	// GenerationsChecked counts the reads whose generation (from the
	// server, where it reports them) was checked against their body's.
	GenerationsChecked int `json:"generations_checked"`
	// StalenessMs is over the reads that were not fresh: how long what
	// they saw had been superseded.
	StalenessMs Quantiles `json:"staleness_ms"`
	// VersionsBehind is over the same reads: how many versions newer than
	// what they saw had been acknowledged (a delete is a version).
	VersionsBehind Quantiles `json:"versions_behind"`
	// StalenessHistogram counts those reads by staleness, for the report.
	StalenessHistogram []Bucket `json:"staleness_histogram,omitempty"`
	// PropagationMs is, over the writes every edge was seen serving, the
	// time from the write's acknowledgement until the last edge served it
	// (or something newer); Unpropagated counts the writes some edge was
	// never seen serving.
	PropagationMs Quantiles `json:"propagation_ms"`
	Unpropagated  int       `json:"unpropagated"`
	// Edges holds the same per edge (empty in an edge's own summary).
	Edges map[string]*Summary `json:"edges,omitempty"`
}

// Bucket counts the values up to UpToMs (and above the previous bucket's);
// the last bucket's UpToMs is 0, meaning no bound.
type Bucket struct {
	UpToMs float64 `json:"up_to_ms"`
	Count  int     `json:"count"`
}

// bucketBounds are the staleness histogram's upper bounds, in ms.
var bucketBounds = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000}

func histogram(ds []time.Duration) []Bucket {
	if len(ds) == 0 {
		return nil
	}
	out := make([]Bucket, len(bucketBounds)+1)
	for i, b := range bucketBounds {
		out[i].UpToMs = b
	}
	for _, d := range ds {
		ms := float64(d) / float64(time.Millisecond)
		i := sort.SearchFloat64s(bucketBounds, ms)
		out[i].Count++
	}
	return out
}

// Quantiles of a distribution (of milliseconds, or of versions); zero
// when it is empty.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// quantiles of durations, in milliseconds.
func quantiles(ds []time.Duration) Quantiles {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	return quantilesOf(ms)
}

func quantilesOf(xs []float64) Quantiles {
	if len(xs) == 0 {
		return Quantiles{}
	}
	slices.Sort(xs)
	at := func(q float64) float64 { return xs[max(int(math.Ceil(q*float64(len(xs))))-1, 0)] }
	return Quantiles{P50: at(0.50), P99: at(0.99), Max: xs[len(xs)-1]}
}

// Summary classifies every read recorded and measures propagation;
// window is how stale a read may be and still be within the propagation
// window.
func (o *Observer) Summary(window time.Duration) Summary {
	o.mu.Lock()
	defer o.mu.Unlock()
	windowMs := float64(window) / float64(time.Millisecond)
	all := Summary{WindowMs: windowMs, Edges: map[string]*Summary{}}
	var stale []time.Duration
	var behind []float64
	perEdgeStale, perEdgeBehind := map[string][]time.Duration{}, map[string][]float64{}
	for _, r := range o.reads {
		v := classify(o.writes[r.Key], o.purges[r.Key], r)
		e := all.Edges[r.Edge]
		if e == nil {
			e = &Summary{WindowMs: windowMs}
			all.Edges[r.Edge] = e
		}
		for _, s := range []*Summary{&all, e} {
			s.Reads++
			*s.count(v.Class)++
			if v.Class != Fresh && v.Class != Unexplained && v.Staleness > window {
				s.BeyondWindow++
			}
			if v.AfterPurge {
				s.AfterPurge++
			}
			if v.GenerationChecked {
				s.GenerationsChecked++
			}
		}
		if v.Class != Fresh && v.Class != Unexplained {
			stale = append(stale, v.Staleness)
			perEdgeStale[r.Edge] = append(perEdgeStale[r.Edge], v.Staleness)
			behind = append(behind, float64(v.Behind))
			perEdgeBehind[r.Edge] = append(perEdgeBehind[r.Edge], float64(v.Behind))
		}
	}
	all.StalenessHistogram = histogram(stale)
	all.StalenessMs = quantiles(stale)
	all.VersionsBehind = quantilesOf(behind)
	for edge, ds := range perEdgeStale {
		all.Edges[edge].StalenessMs = quantiles(ds)
		all.Edges[edge].VersionsBehind = quantilesOf(perEdgeBehind[edge])
	}
	o.propagation(&all)
	return all
}

func (s *Summary) count(c Class) *int {
	return [...]*int{&s.Fresh, &s.Stale, &s.ServedAfterDelete, &s.NotFoundAfterPut, &s.Unexplained}[c]
}

// propagation measures, for each write, when each edge was first seen
// serving it or a newer version, by a read begun after its
// acknowledgement.
func (o *Observer) propagation(all *Summary) {
	byKey := map[string][]Read{}
	for _, r := range o.reads {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	var overall []time.Duration
	perEdge := map[string][]time.Duration{}
	for key, ws := range o.writes {
		reads := byKey[key]
		slices.SortFunc(reads, func(a, b Read) int { return a.Start.Compare(b.Start) })
		for _, w := range ws {
			if w.Ack.Equal(Never) || w.Ack.Before(o.from) {
				continue // never acknowledged, or set-up: nothing to measure
			}
			last, everywhere := time.Duration(0), true
			for edge := range all.Edges {
				d, ok := servedAfter(reads, edge, w, ws)
				if !ok {
					everywhere = false
					continue
				}
				perEdge[edge] = append(perEdge[edge], d)
				last = max(last, d)
			}
			if everywhere {
				overall = append(overall, last)
			} else {
				all.Unpropagated++
			}
		}
	}
	all.PropagationMs = quantiles(overall)
	for edge, ds := range perEdge {
		all.Edges[edge].PropagationMs = quantiles(ds)
	}
}

// servedAfter is how long after w's acknowledgement edge first ended a
// read, begun after it, that saw w or a later write.
func servedAfter(reads []Read, edge string, w Write, ws []Write) (time.Duration, bool) {
	from, _ := slices.BinarySearchFunc(reads, w.Ack, func(r Read, t time.Time) int { return r.Start.Compare(t) })
	for _, r := range reads[from:] {
		if r.Edge != edge {
			continue
		}
		if seenAtLeast(r, w, ws) {
			return r.End.Sub(w.Ack), true
		}
	}
	return 0, false
}

// seenAtLeast: the read saw w's content or a later write's.
func seenAtLeast(r Read, w Write, ws []Write) bool {
	if r.Version == Absent {
		// A 404 is w's content if w deleted, or a later delete's.
		for _, x := range ws {
			if x.Delete && x.Version >= w.Version && x.Start.Before(r.End) {
				return true
			}
		}
		return false
	}
	return r.Version >= w.Version
}
