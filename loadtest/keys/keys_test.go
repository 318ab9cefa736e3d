package keys

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Draws follow the Zipf weights: a chi-square test over 200 000 draws,
// and the ratios the law fixes (rank 1 twice as often as rank 2 at s=1).
func TestZipfDistribution(t *testing.T) {
	for _, s := range []float64{0, 0.8, 1, 1.5} {
		const n, draws = 50, 200_000
		z, err := NewZipf(n, s)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(7, uint64(s*10)))
		counts := make([]int, n)
		for range draws {
			counts[z.Next(r)]++
		}
		chi2 := 0.0
		for k := range n {
			want := z.P(k) * draws
			chi2 += (float64(counts[k]) - want) * (float64(counts[k]) - want) / want
		}
		// 49 degrees of freedom: the 99.9th percentile is 85.4.
		if chi2 > 85.4 {
			t.Errorf("s=%v: chi-square %.1f over 49 degrees of freedom: not the Zipf law", s, chi2)
		}
		want := math.Pow(2, s) // P(rank 1) / P(rank 2)
		if got := float64(counts[0]) / float64(counts[1]); math.Abs(got-want)/want > 0.05 {
			t.Errorf("s=%v: rank 1 drawn %.3f times as often as rank 2, want %.3f", s, got, want)
		}
	}
}

func TestZipfRefusesBadArguments(t *testing.T) {
	for _, c := range []struct {
		n int
		s float64
	}{{0, 1}, {10, -1}, {10, math.NaN()}, {10, math.Inf(1)}} {
		if _, err := NewZipf(c.n, c.s); err == nil {
			t.Errorf("NewZipf(%d, %v) accepted", c.n, c.s)
		}
	}
}
