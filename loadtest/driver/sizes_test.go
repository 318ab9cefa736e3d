package driver

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestParseSizes(t *testing.T) {
	for in, want := range map[string][]SizeShare{
		"1024":               {{1024, 1}},
		"64k":                {{65536, 1}},
		"64KiB":              {{65536, 1}},
		"1MiB":               {{1 << 20, 1}},
		"2mb":                {{2 << 20, 1}},
		"10":                 {{minSize, 1}}, // room for the version line
		"1k=80, 64k=15,1m=5": {{1024, 80}, {65536, 15}, {1 << 20, 5}},
		"100b=3":             {{100, 3}},
	} {
		got, err := ParseSizes(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for in, wantErr := range map[string]string{
		"":          "not a size",
		"k":         "not a size",
		"-5":        "out of range",
		"0":         "out of range",
		"2g":        "not a size",
		"2048m":     "out of range",
		"1k=0":      "weight",
		"1k=x":      "weight",
		"1k=80,,2k": "not a size",
	} {
		if _, err := ParseSizes(in); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: error %v, want one saying %q", in, err, wantErr)
		}
	}
}

// Sizes are drawn by weight.
func TestPickSize(t *testing.T) {
	sizes := []SizeShare{{100, 1}, {200, 3}}
	rnd := rand.New(rand.NewPCG(1, 2))
	n := map[int]int{}
	for range 40000 {
		n[pickSize(rnd, sizes)]++
	}
	if len(n) != 2 || n[200] < 29000 || n[200] > 31000 {
		t.Fatalf("drawn: %v, want 3 of 4 of size 200", n)
	}
}

func FuzzParseSizes(f *testing.F) {
	for _, s := range []string{"1024", "1k=80,64k=15,1m=5", "64KiB", "=", ",", "1k=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sizes, err := ParseSizes(s)
		if err != nil {
			return
		}
		for _, sh := range sizes {
			if sh.Bytes < minSize || sh.Bytes > maxSize || sh.Weight < 1 {
				t.Fatalf("%q gave %+v", s, sh)
			}
		}
	})
}

// The last member of Cache-Status is the cache nearest the client.
func TestParseCacheStatus(t *testing.T) {
	for in, want := range map[string]cacheStatus{
		"":                                   {},
		"edge; hit; ttl=30":                  {hit: true},
		"edge; hit=?1":                       {hit: true},
		"edge; fwd=uri-miss; stored; ttl=60": {forwarded: true},
		"edge; fwd=uri-miss; collapsed":      {forwarded: true, collapsed: true},
		"edge; fwd=stale; fwd-status=304":    {forwarded: true, notModified: true},
		"edge; fwd=bypass; detail=too-big":   {forwarded: true},
		"origin-cache; hit, edge; fwd=miss":  {forwarded: true},
		"origin-cache; fwd=miss, edge; hit":  {hit: true},
		"edge; detail=hit":                   {},
	} {
		if got := parseCacheStatus(in); got != want {
			t.Errorf("%q: %+v, want %+v", in, got, want)
		}
	}
}
