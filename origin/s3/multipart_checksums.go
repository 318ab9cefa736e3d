package s3

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3/checksum"
)

// A multipart upload created with x-amz-checksum-algorithm gets, on
// completion, a checksum of the whole object: COMPOSITE, the checksum of
// the parts' checksums with "-<parts>" appended, or FULL_OBJECT, the
// checksum of every byte, computed while the parts are joined.
const (
	checksumComposite  = "COMPOSITE"
	checksumFullObject = "FULL_OBJECT"
)

// uploadChecksum reads CreateMultipartUpload's x-amz-checksum-algorithm and
// x-amz-checksum-type, applying S3's rules: CRC64NVME is full-object only,
// SHA-1 and SHA-256 composite only, the CRC32s either (composite by
// default).
func (r *request) uploadChecksum() (alg checksum.Algorithm, typ string, err error) {
	name, typ := r.header("x-amz-checksum-algorithm"), strings.ToUpper(r.header("x-amz-checksum-type"))
	if name == "" {
		if typ != "" {
			return "", "", errInvalidRequest.withMessage("x-amz-checksum-type needs x-amz-checksum-algorithm.")
		}
		return "", "", nil
	}
	if alg, err = checksum.Parse(name); err != nil {
		return "", "", errUnknownChecksumAlg
	}
	switch {
	case typ == "" && alg == checksum.CRC64NVME:
		typ = checksumFullObject
	case typ == "":
		typ = checksumComposite
	case typ != checksumComposite && typ != checksumFullObject:
		return "", "", errInvalidRequest.withMessage("x-amz-checksum-type must be COMPOSITE or FULL_OBJECT.")
	}
	if (alg == checksum.CRC64NVME && typ == checksumComposite) || ((alg == checksum.SHA1 || alg == checksum.SHA256) && typ == checksumFullObject) {
		return "", "", errInvalidRequest.withMessage(fmt.Sprintf("The %s checksum type is not supported for %s.", typ, alg))
	}
	return alg, typ, nil
}

// completeCheck returns the store's Check for CompleteMultipartUpload: the
// parts' checksums in the request must be those stored with the parts,
// x-amz-mp-object-size must be the joined size, and an upload created
// with a checksum algorithm gets its object checksum, compared with the
// one in the request's x-amz-checksum-<alg> header if sent.
func (r *request) completeCheck(listed []completePart) (func(origin.MultipartUpload, []origin.PartInfo) (func(io.Reader) io.Reader, func() (map[string]string, error), error), error) {
	wantSize := int64(-1)
	if s := r.header("x-amz-mp-object-size"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, errInvalidArgument.withMessage("x-amz-mp-object-size must be a number of bytes.")
		}
		wantSize = n
	}
	sent := map[checksum.Algorithm]string{}
	for _, a := range checksum.Algorithms() {
		if v := r.header(a.Header()); v != "" {
			sent[a] = v
		}
	}
	return func(up origin.MultipartUpload, parts []origin.PartInfo) (func(io.Reader) io.Reader, func() (map[string]string, error), error) {
		var size int64
		for i, p := range parts {
			size += p.Size
			for a, v := range listed[i].checksums() {
				if stored := p.Checksums[string(a)]; stored != v {
					return nil, nil, errInvalidPart.withMessage(fmt.Sprintf("Part %d's %s checksum %q is not the one it was uploaded with.", p.PartNumber, a, v))
				}
			}
		}
		if wantSize >= 0 && size != wantSize {
			return nil, nil, errInvalidRequest.withMessage(fmt.Sprintf("x-amz-mp-object-size is %d, but the listed parts hold %d bytes.", wantSize, size))
		}
		alg := checksum.Algorithm(up.ChecksumAlgorithm)
		for a := range sent {
			if a != alg {
				return nil, nil, errInvalidRequest.withMessage("The upload was not created with the " + string(a) + " checksum algorithm, so " + a.Header() + " cannot be checked.")
			}
		}
		if alg == "" {
			return nil, nil, nil
		}
		if up.ChecksumType == checksumFullObject {
			var sums *checksum.Reader
			wrap := func(r io.Reader) io.Reader { sums = checksum.NewReader(r, alg); return sums }
			return wrap, func() (map[string]string, error) {
				return storedChecksum(alg, sums.Sum(alg), sent[alg])
			}, nil
		}
		partSums := make([]string, len(parts))
		for i, p := range parts {
			if partSums[i] = p.Checksums[string(alg)]; partSums[i] == "" {
				return nil, nil, errInvalidRequest.withMessage(fmt.Sprintf("The upload was created using a %s checksum, and part %d was uploaded without one: upload it again with its checksum.", alg, p.PartNumber))
			}
		}
		composite, err := checksum.Composite(alg, partSums)
		if err != nil {
			return nil, nil, err
		}
		return nil, func() (map[string]string, error) { return storedChecksum(alg, composite, sent[alg]) }, nil
	}, nil
}

// storedChecksum compares the object checksum computed with the one the
// client sent (a composite value may come without its "-<parts>").
func storedChecksum(alg checksum.Algorithm, got, sent string) (map[string]string, error) {
	if sent != "" && sent != got && !strings.HasPrefix(got, sent+"-") {
		return nil, errBadDigest.withMessage(fmt.Sprintf("The %s checksum you specified, %s, is not the object's, %s.", alg, sent, got))
	}
	return map[string]string{string(alg): got}, nil
}

// checksumType says how a stored checksum was computed: composite values
// end in "-<parts>".
func checksumType(value string) string {
	if i := strings.LastIndexByte(value, '-'); i > 0 {
		if _, err := strconv.Atoi(value[i+1:]); err == nil {
			return checksumComposite
		}
	}
	return checksumFullObject
}
