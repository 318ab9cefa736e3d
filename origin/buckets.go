package origin

import "time"

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name    string
	Created time.Time
}
