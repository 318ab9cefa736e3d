package s3

import (
	"github.com/valyala/fasthttp"
)

// handlerFunc serves one S3 operation.
type handlerFunc func(h *Handler, r *request) error

// operation is what a request asks for: a name for logs and whether an
// anonymous caller may do it on a public bucket.
type operation struct {
	name   string
	serve  handlerFunc
	public bool
}

// unsupported lists subresources we do not implement: asking for one gets
// 501 NotImplemented, never the plain object or bucket operation.
var unsupported = []string{
	"acl", "analytics", "accelerate", "attributes", "cors", "encryption",
	"intelligent-tiering", "inventory", "legal-hold", "lifecycle", "logging",
	"metadataConfiguration", "metadataTable", "metrics", "notification",
	"object-lock", "ownershipControls", "policy", "policyStatus",
	"publicAccessBlock", "renameObject", "replication", "requestPayment",
	"restore", "retention", "select", "session", "tagging", "torrent",
	"versioning", "versions", "website",
}

func (h *Handler) serve(r *request) error {
	if err := h.locate(r); err != nil {
		return err
	}
	if err := h.authenticate(r); err != nil {
		return err
	}
	op, err := r.route()
	if err != nil {
		return err
	}
	r.op = op.name
	// PostObject is authorized by the signed policy of its form, which
	// postObject checks (and refuses an anonymous form), not by a request
	// signature; so it must get there from a private bucket too.
	if r.auth == nil && op.name != opPostObject && !(op.public && h.public[r.bucket]) {
		return errAccessDenied
	}
	if err := checkRequestHeaders(r); err != nil {
		return err
	}
	return op.serve(h, r)
}

// route picks the operation from the method, the bucket/key and the query.
func (r *request) route() (operation, error) {
	for _, sub := range unsupported {
		if r.hasQuery(sub) {
			return operation{}, errNotImplemented.withMessage("The " + sub + " subresource is not implemented.")
		}
	}
	if r.hasQuery("versionId") {
		if err := currentVersionOnly(r.query("versionId")); err != nil {
			return operation{}, err
		}
	}
	m := string(r.ctx.Method())
	switch {
	case r.bucket == "":
		if m == fasthttp.MethodGet {
			return operation{"ListBuckets", (*Handler).listBuckets, false}, nil
		}
	case !r.hasKey:
		return r.routeBucket(m)
	default:
		return r.routeObject(m)
	}
	return operation{}, errMethodNotAllowed
}

func (r *request) routeBucket(m string) (operation, error) {
	switch m {
	case fasthttp.MethodGet:
		switch {
		case r.hasQuery("location"):
			return operation{"GetBucketLocation", (*Handler).getBucketLocation, false}, nil
		case r.hasQuery("uploads"):
			return operation{"ListMultipartUploads", (*Handler).listUploads, false}, nil
		case r.query("list-type") == "2":
			return operation{"ListObjectsV2", (*Handler).listObjectsV2, true}, nil
		}
		return operation{"ListObjects", (*Handler).listObjectsV1, true}, nil
	case fasthttp.MethodHead:
		return operation{"HeadBucket", (*Handler).headBucket, true}, nil
	case fasthttp.MethodPut:
		return operation{"CreateBucket", (*Handler).createBucket, false}, nil
	case fasthttp.MethodDelete:
		return operation{"DeleteBucket", (*Handler).deleteBucket, false}, nil
	case fasthttp.MethodPost:
		if r.hasQuery("delete") {
			return operation{"DeleteObjects", (*Handler).deleteObjects, false}, nil
		}
		if r.isMultipartForm() {
			return operation{opPostObject, (*Handler).postObject, true}, nil
		}
	}
	return operation{}, errMethodNotAllowed
}

func (r *request) routeObject(m string) (operation, error) {
	upload := r.hasQuery("uploadId")
	switch m {
	case fasthttp.MethodGet:
		if upload {
			return operation{"ListParts", (*Handler).listParts, false}, nil
		}
		return operation{"GetObject", (*Handler).getObject, true}, nil
	case fasthttp.MethodHead:
		return operation{"HeadObject", (*Handler).headObject, true}, nil
	case fasthttp.MethodPut:
		copySource := len(r.ctx.Request.Header.Peek("x-amz-copy-source")) > 0
		switch {
		case upload && copySource:
			return operation{"UploadPartCopy", (*Handler).uploadPartCopy, false}, nil
		case upload:
			return operation{"UploadPart", (*Handler).uploadPart, false}, nil
		case copySource:
			return operation{"CopyObject", (*Handler).copyObject, false}, nil
		}
		return operation{"PutObject", (*Handler).putObject, false}, nil
	case fasthttp.MethodDelete:
		if upload {
			return operation{"AbortMultipartUpload", (*Handler).abortUpload, false}, nil
		}
		return operation{"DeleteObject", (*Handler).deleteObject, false}, nil
	case fasthttp.MethodPost:
		switch {
		case r.hasQuery("uploads"):
			return operation{"CreateMultipartUpload", (*Handler).createUpload, false}, nil
		case upload:
			return operation{"CompleteMultipartUpload", (*Handler).completeUpload, false}, nil
		}
	}
	return operation{}, errMethodNotAllowed
}

// currentVersionOnly accepts the version ids that name an object's current
// version: none, or "null", the id S3 gives every object of a bucket
// without versioning. The store keeps no other version, so any other id
// is refused rather than answered with the current object.
func currentVersionOnly(id string) error {
	if id == "" || id == "null" {
		return nil
	}
	return errNotImplemented.withMessage("Object versions are not implemented: the store keeps only the current version, whose versionId is \"null\".")
}
