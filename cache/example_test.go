package cache_test

import (
	"fmt"
	"time"

	"github.com/edgecdn/edge/cache"
)

// A fill begins before its origin request and stores its result with the
// fence it got; a purge that lands in between keeps the old version out.
func Example() {
	c, err := cache.New(cache.Config{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	fence := c.Begin("photos", "cat.jpg")
	// ... the origin answers with generation 7 while, meanwhile, a write
	// of generation 8 is purged:
	c.Purge(cache.Selector{Kind: cache.ByKey, Bucket: "photos", Value: "cat.jpg", Generation: 8})
	old := &cache.Entry{
		Key: "cdn.example.com/cat.jpg", Bucket: "photos", Object: "cat.jpg",
		Status: 200, Body: []byte("old cat"), Generation: 7,
		StoredAt: time.Now(), FreshFor: time.Hour,
	}
	fmt.Println("stored generation 7:", c.Set(fence, old))

	// The next fill reads the new version.
	fence = c.Begin("photos", "cat.jpg")
	fresh := *old
	fresh.Body, fresh.Generation = []byte("new cat"), 8
	fmt.Println("stored generation 8:", c.Set(fence, &fresh))

	if e, ok := c.Get("cdn.example.com/cat.jpg"); ok && e.Fresh(time.Now()) {
		fmt.Printf("serving %s\n", e.Body)
	}

	c.Purge(cache.Selector{Kind: cache.ByPrefix, Bucket: "photos", Value: "cat"})
	_, ok := c.Get("cdn.example.com/cat.jpg")
	fmt.Println("hit after a prefix purge:", ok)
	// Output:
	// stored generation 7: false
	// stored generation 8: true
	// serving new cat
	// hit after a prefix purge: false
}
