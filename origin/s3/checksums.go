package s3

import (
	"io"
	"strings"

	"github.com/edgecdn/edge/origin/s3/checksum"
)

// checksummedBody returns the request body and the Verify hook the store
// calls once it has read the declared size. The hook reads the body to its
// end — only there does the signed payload's SHA-256 get checked and an
// aws-chunked body's trailer arrive — then, when the client asked for
// flexible checksums (x-amz-checksum-<alg> header, x-amz-trailer, or
// x-amz-sdk-checksum-algorithm), compares what arrived with what the
// client sent and returns the checksums to store.
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
		return body, func() (map[string]string, error) { return nil, drain(body) }, nil
	}
	cr := checksum.NewReader(body, algs...)
	verify := func() (map[string]string, error) {
		if err := drain(cr); err != nil {
			return nil, err
		}
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
		return checkSums(cr, algs, want)
	}
	return cr, verify, nil
}

// checkSums compares the checksums cr computed with the values the client
// sent (want) and returns every computed one, to be stored.
func checkSums(cr *checksum.Reader, algs []checksum.Algorithm, want map[checksum.Algorithm]string) (map[string]string, error) {
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

// errBodyTooLong: the payload went on past the size the request declared.
var errBodyTooLong = apiError{"InvalidRequest", 400, "The request body is longer than its declared length."}

// drain reads what is left of a body whose declared bytes were consumed:
// nothing but the end (and, in aws-chunked bodies, the final chunk and the
// trailer), so that the checks made at the end run.
func drain(body io.Reader) error {
	var one [1]byte
	for {
		n, err := body.Read(one[:])
		if n > 0 {
			return errBodyTooLong
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
