// Package keys chooses which key of a load test's key space each
// operation touches: uniformly, or with Zipf popularity, where the key of
// rank k (from 1) is chosen with a weight of 1/k^s — the few hot keys and
// long tail of real CDN traffic.
package keys

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Zipf chooses ranks 0…n-1 with weights 1/(rank+1)^s. Unlike
// math/rand's, it takes any exponent s ≥ 0 (0 is uniform; CDN traffic is
// often near 1, which math/rand refuses). It is safe for concurrent use
// when each goroutine passes its own *rand.Rand.
type Zipf struct {
	cdf []float64 // cumulative weights, normalised to end at 1
}

// NewZipf builds the chooser for n keys and exponent s.
func NewZipf(n int, s float64) (*Zipf, error) {
	if n < 1 {
		return nil, fmt.Errorf("keys: %d keys: give at least 1", n)
	}
	if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return nil, fmt.Errorf("keys: Zipf exponent %v: give a number ≥ 0 (0 is uniform)", s)
	}
	z := &Zipf{cdf: make([]float64, n)}
	total := 0.0
	for k := range n {
		total += math.Pow(float64(k+1), -s)
		z.cdf[k] = total
	}
	for k := range z.cdf {
		z.cdf[k] /= total
	}
	return z, nil
}

// Next is a rank drawn with r.
func (z *Zipf) Next(r *rand.Rand) int {
	u := r.Float64()
	i := sort.SearchFloat64s(z.cdf, u)
	return min(i, len(z.cdf)-1)
}

// P is the probability of rank k.
func (z *Zipf) P(k int) float64 {
	if k == 0 {
		return z.cdf[0]
	}
	return z.cdf[k] - z.cdf[k-1]
}
