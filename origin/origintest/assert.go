package origintest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/origin"
)

// expectErr checks that err wraps want and, as the contract promises for
// every failure, an *origin.Error.
func expectErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want error %q", what, want)
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %q, want one wrapping %q", what, err, want)
		return
	}
	var oe *origin.Error
	if !errors.As(err, &oe) {
		t.Errorf("%s: error %q (%T) is not an *origin.Error", what, err, err)
	}
}

// expectErrOneOf is expectErr for calls where the contract allows either
// error (for example an upload ID in a bucket that does not exist).
func expectErrOneOf(t testing.TB, what string, err error, wants ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want one of %q", what, wants)
		return
	}
	for _, w := range wants {
		if errors.Is(err, w) {
			return
		}
	}
	t.Errorf("%s: got error %q, want one wrapping one of %q", what, err, wants)
}

func expectNoErr(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: unexpected error: %v", what, err)
	}
}

func mustNoErr(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// checkInfo checks the identity, size and ETag of an object's info.
func checkInfo(t testing.TB, what string, info origin.ObjectInfo, bucket, key string, body []byte) {
	t.Helper()
	if info.Bucket != bucket || info.Key != key {
		t.Errorf("%s: info names %q/%q, want %q/%q", what, info.Bucket, info.Key, bucket, key)
	}
	if info.Size != int64(len(body)) {
		t.Errorf("%s: Size %d, want %d", what, info.Size, len(body))
	}
	if want := md5hex(body); info.ETag != want {
		t.Errorf("%s: ETag %q, want %q (lower-case hex MD5 of the body, unquoted)", what, info.ETag, want)
	}
}

func expectBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: body is %d bytes, want %d; first difference at offset %d (got %s, want %s)",
		what, len(got), len(want), i, excerpt(got, i), excerpt(want, i))
}

func excerpt(b []byte, i int) string {
	if i >= len(b) {
		return "end of body"
	}
	return fmt.Sprintf("%q", b[i:min(len(b), i+16)])
}

func expectStrings(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if slices.Equal(got, want) {
		return
	}
	if len(got) > 20 || len(want) > 20 {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		g, w := "end", "end"
		if i < len(got) {
			g = fmt.Sprintf("%q", got[i])
		}
		if i < len(want) {
			w = fmt.Sprintf("%q", want[i])
		}
		t.Errorf("%s: got %d items, want %d; first difference at index %d: got %s, want %s", what, len(got), len(want), i, g, w)
		return
	}
	t.Errorf("%s:\n got  %q\n want %q", what, got, want)
}

// meta is the metadata a write stores with an object.
type meta struct {
	origin.Headers
	UserMeta map[string]string
	Tags     []string
}

// fullMeta sets every stored field.
func fullMeta(tag string) meta {
	return meta{
		Headers: origin.Headers{
			ContentType:        "text/plain; charset=utf-8",
			CacheControl:       "max-age=60, " + tag,
			ContentDisposition: `attachment; filename="` + tag + `.txt"`,
			ContentEncoding:    "identity",
			ContentLanguage:    "de-CH",
			Expires:            "Wed, 21 Oct 2037 07:28:00 GMT",
		},
		UserMeta: map[string]string{"color": "blue-" + tag, "x-owner": "team " + tag},
		Tags:     []string{"product-" + tag, "section-" + tag},
	}
}

func (m meta) putOptions(size int64) origin.PutOptions {
	return origin.PutOptions{Headers: m.Headers, UserMeta: maps.Clone(m.UserMeta), Tags: slices.Clone(m.Tags), Size: size}
}

func checkMeta(t testing.TB, what string, info origin.ObjectInfo, want meta) {
	t.Helper()
	if info.Headers != want.Headers {
		t.Errorf("%s: Headers\n got  %+v\n want %+v", what, info.Headers, want.Headers)
	}
	if !(len(info.UserMeta) == 0 && len(want.UserMeta) == 0) && !maps.Equal(info.UserMeta, want.UserMeta) {
		t.Errorf("%s: UserMeta %v, want %v", what, info.UserMeta, want.UserMeta)
	}
	if !(len(info.Tags) == 0 && len(want.Tags) == 0) && !slices.Equal(info.Tags, want.Tags) {
		t.Errorf("%s: Tags %q, want %q", what, info.Tags, want.Tags)
	}
}

// checkRecent checks that got lies between before and after, allowing for a
// Last-Modified kept at one-second resolution.
func checkRecent(t testing.TB, what string, got, before, after time.Time) {
	t.Helper()
	if got.IsZero() {
		t.Errorf("%s: time is zero, want about %v", what, after)
		return
	}
	lo, hi := before.Add(-time.Second), after.Add(time.Second)
	if got.Before(lo) || got.After(hi) {
		t.Errorf("%s: time %v, want between %v and %v", what, got, lo, hi)
	}
}

// ---- data ----

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func md5raw(b []byte) []byte {
	s := md5.Sum(b)
	return s[:]
}

// multipartETag is S3's ETag of an object made of parts:
// hex(md5(md5(p1) || md5(p2) || …)) + "-N".
func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		h.Write(md5raw(p))
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts))
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed byte) []byte {
	var s [32]byte
	s[0] = seed
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

func ptr[T any](v T) *T { return &v }

// parallel runs fn(i) for i in [0, n) on at most workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, workers) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
