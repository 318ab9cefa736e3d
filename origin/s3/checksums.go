package s3

import (
	"io"
	"strings"

	"github.com/edgecdn/edge/origin/s3/checksum"
)

// checksummedBody returns the request body and, when the client asked for
// flexible checksums (x-amz-checksum-<alg> header, x-amz-trailer, or
// x-amz-sdk-checksum-algorithm), a Verify hook that compares what arrived
// with what the client sent and returns the checksums to store.
func (r *request) checksummedBody() (io.Reader, func() (map[string]string, error), error) {
	body := r.body()
	want := map[checksum.Algorithm]string{}
	var trailer checksum.Algorithm
	for k, v := range r.ctx.Request.Header.All() {
		name := strings.ToLower(string(k))
		alg, ok := strings.CutPrefix(name, "x-amz-checksum-")
		if !ok || alg == "mode" || alg == "type" || alg == "algorithm" {
			continue
		}
		a, err := checksum.Parse(alg)
		if err != nil {
			return nil, nil, errUnknownChecksumAlg
		}
		want[a] = string(v)
	}
	if t := r.header("x-amz-trailer"); t != "" {
		alg, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(t)), "x-amz-checksum-")
		a, err := checksum.Parse(alg)
		if !ok || err != nil {
			return nil, nil, errUnknownChecksumAlg
		}
		trailer = a
	}
	algs := make([]checksum.Algorithm, 0, len(want)+1)
	for a := range want {
		algs = append(algs, a)
	}
	if trailer != "" {
		algs = append(algs, trailer)
	}
	if s := r.header("x-amz-sdk-checksum-algorithm"); s != "" && len(algs) == 0 {
		a, err := checksum.Parse(s)
		if err != nil {
			return nil, nil, errUnknownChecksumAlg
		}
		algs = append(algs, a)
	}
	if len(algs) == 0 {
		return body, nil, nil
	}
	cr := checksum.NewReader(body, algs...)
	verify := func() (map[string]string, error) {
		if trailer != "" {
			if r.auth == nil {
				return nil, errUnknownChecksumAlg
			}
			v, ok := r.auth.Trailers()[trailer.Header()]
			if !ok {
				return nil, errInvalidRequest.withMessage("The trailer " + trailer.Header() + " announced in x-amz-trailer was not sent.")
			}
			want[trailer] = v
		}
		stored := make(map[string]string, len(algs))
		for _, a := range algs {
			got := cr.Sum(a)
			if w, ok := want[a]; ok && w != got {
				return nil, errBadDigest.withMessage("The " + string(a) + " checksum you specified did not match what we received.")
			}
			stored[string(a)] = got
		}
		return stored, nil
	}
	return cr, verify, nil
}
