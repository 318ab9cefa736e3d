package origin

import (
	"strings"
	"time"
)

// etagListMatches reports whether the If-Match / If-None-Match header value
// list names etag ("*" matches any existing object). Comparison is by opaque
// tag, ignoring quotes and the weak prefix, as S3 does.
func etagListMatches(list, etag string) bool {
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "*" {
			return true
		}
		item = strings.TrimPrefix(item, "W/")
		if strings.Trim(item, `"`) == etag {
			return true
		}
	}
	return false
}

// checkRead evaluates the conditions of a GET or HEAD against the current
// object, in RFC 9110 §13.2.2 order: If-Match, else If-Unmodified-Since
// (412); If-None-Match, else If-Modified-Since (304). Generation conditions
// come first, as GCS evaluates them. A nil info is a missing object.
func (c *Conditions) checkRead(info *ObjectInfo) error {
	if info == nil {
		if c.IfGenerationMatch != nil && *c.IfGenerationMatch == 0 {
			return nil // "must not exist" holds, but there is nothing to read
		}
		return ErrNoSuchKey
	}
	if c.IfGenerationMatch != nil && *c.IfGenerationMatch != info.Generation {
		return ErrPreconditionFailed
	}
	if c.IfGenerationNotMatch != nil && *c.IfGenerationNotMatch == info.Generation {
		return ErrNotModified
	}
	lm := info.LastModified.Truncate(time.Second)
	if c.IfMatch != "" {
		if !etagListMatches(c.IfMatch, info.ETag) {
			return ErrPreconditionFailed
		}
	} else if !c.IfUnmodifiedSince.IsZero() && lm.After(c.IfUnmodifiedSince) {
		return ErrPreconditionFailed
	}
	if c.IfNoneMatch != "" {
		if etagListMatches(c.IfNoneMatch, info.ETag) {
			return ErrNotModified
		}
	} else if !c.IfModifiedSince.IsZero() && !lm.After(c.IfModifiedSince) {
		return ErrNotModified
	}
	return nil
}

// checkWrite evaluates the conditions of a write (put, copy destination,
// complete, delete) against the current object, inside the transaction that
// makes the write. A nil info is a missing object. As S3 does, If-Match on a
// missing object is ErrNoSuchKey and If-None-Match: * on an existing one is
// ErrPreconditionFailed.
func (c *Conditions) checkWrite(info *ObjectInfo) error {
	if c.IfGenerationMatch != nil {
		want := *c.IfGenerationMatch
		if (info == nil && want != 0) || (info != nil && info.Generation != want) {
			return ErrPreconditionFailed
		}
	}
	if c.IfGenerationNotMatch != nil && info != nil && *c.IfGenerationNotMatch == info.Generation {
		return ErrPreconditionFailed
	}
	if c.IfMatch != "" {
		if info == nil {
			return ErrNoSuchKey
		}
		if !etagListMatches(c.IfMatch, info.ETag) {
			return ErrPreconditionFailed
		}
	}
	if c.IfNoneMatch != "" && info != nil && etagListMatches(c.IfNoneMatch, info.ETag) {
		return ErrPreconditionFailed
	}
	if info != nil {
		lm := info.LastModified.Truncate(time.Second)
		if !c.IfUnmodifiedSince.IsZero() && lm.After(c.IfUnmodifiedSince) {
			return ErrPreconditionFailed
		}
		if !c.IfModifiedSince.IsZero() && !lm.After(c.IfModifiedSince) {
			return ErrPreconditionFailed
		}
	}
	return nil
}
