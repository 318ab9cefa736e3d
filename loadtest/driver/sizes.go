package driver

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// SizeShare is one object size of a run and its weight among the others.
type SizeShare struct {
	Bytes, Weight int
}

// minSize holds the version line a body starts with.
const minSize = 32

// ParseSizes reads an object size distribution: one size ("1024",
// "64k", "1MiB"), or sizes with weights ("1k=80,64k=15,1m=5").
func ParseSizes(s string) ([]SizeShare, error) {
	var out []SizeShare
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		size, weight, hasWeight := strings.Cut(part, "=")
		sh := SizeShare{Weight: 1}
		var err error
		if sh.Bytes, err = parseBytes(size); err != nil {
			return nil, fmt.Errorf("size %q: %v (give bytes, or a number with k or m, e.g. 64k)", part, err)
		}
		if hasWeight {
			if sh.Weight, err = strconv.Atoi(strings.TrimSpace(weight)); err != nil || sh.Weight < 1 || sh.Weight > 1_000_000 {
				return nil, fmt.Errorf("size %q: the weight after = must be a whole number from 1 to 1000000", part)
			}
		}
		out = append(out, sh)
	}
	return out, nil
}

// maxSize bounds one object: a load test keeps bodies in memory.
const maxSize = 1 << 30

func parseBytes(s string) (int, error) {
	s = strings.TrimSpace(s)
	mult := 1
	lower := strings.ToLower(s)
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"k", 1 << 10}, {"m", 1 << 20}, {"b", 1}} {
		if strings.HasSuffix(lower, u.suffix) {
			s, mult = s[:len(s)-len(u.suffix)], u.mult
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil:
		return 0, fmt.Errorf("not a size")
	case n < 1 || n > maxSize/mult:
		return 0, fmt.Errorf("out of range (1 byte to 1 GiB)")
	}
	return max(n*mult, minSize), nil
}

// pickSize draws a size by weight.
func pickSize(rnd *rand.Rand, sizes []SizeShare) int {
	total := 0
	for _, s := range sizes {
		total += s.Weight
	}
	n := rnd.IntN(total)
	for _, s := range sizes {
		if n < s.Weight {
			return s.Bytes
		}
		n -= s.Weight
	}
	return sizes[len(sizes)-1].Bytes
}
