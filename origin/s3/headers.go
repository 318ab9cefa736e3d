package s3

import (
	"net/http"
	"slices"
	"strings"
)

// What the server does with each x-amz-* request header that S3 defines.
// A header that asks for a feature the store lacks is refused, never
// accepted and dropped: a client told "200" believes an object is locked,
// encrypted or tagged when it is not. HEADERS.md is this table for people;
// a test keeps the two the same.

// treatment is what happens to a request carrying the header.
type treatment int

const (
	// honoured: the server does what S3 does with it.
	honoured treatment = iota
	// refused: the request is answered with an error (some values that
	// describe what the store does anyway may be accepted; see check).
	refused
	// ignored: it has no meaning for this store, and S3 itself would
	// change nothing observable (no billing, no retention to bypass).
	ignored
)

func (t treatment) String() string {
	return [...]string{honoured: "honoured", refused: "refused", ignored: "ignored"}[t]
}

// headerRule is one row of the table. check, when set, judges the value
// (it is called for refused rows too: the values it accepts are the ones
// that ask for nothing the store lacks).
type headerRule struct {
	treat treatment
	check func(value string) error
	note  string // for HEADERS.md
}

// errACLNotSupported is what S3 answers when a bucket's ACLs are disabled
// (object ownership "bucket owner enforced"), the only mode served here.
var errACLNotSupported = apiError{"AccessControlListNotSupported", http.StatusBadRequest, "The bucket does not allow ACLs: access is decided by credentials and public_buckets, not by ACLs."}

var errInvalidStorageClass = apiError{"InvalidStorageClass", http.StatusBadRequest, "The storage class you specified is not valid."}

// notImplemented refuses every value of a header.
func notImplemented(feature string) func(string) error {
	return func(string) error {
		return errNotImplemented.withMessage(feature + " is not implemented; the request was not carried out.")
	}
}

// allowOnly accepts the listed values (case-insensitively) and refuses the
// rest with err.
func allowOnly(err apiError, values ...string) func(string) error {
	return func(v string) error {
		for _, ok := range values {
			if strings.EqualFold(strings.TrimSpace(v), ok) {
				return nil
			}
		}
		return err
	}
}

// Storage classes: one class is stored. The classes that read like
// STANDARD (no restore step, same API) are kept as STANDARD; the archive
// classes, whose objects must be restored before a GET, and the classes
// bound to other hardware are refused.
var (
	storedAsStandard = []string{"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"}
	refusedClasses   = []string{"GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "SNOW", "EXPRESS_ONEZONE", "FSX_OPENZFS", "FSX_ONTAP"}
)

func checkStorageClass(v string) error {
	for _, c := range storedAsStandard {
		if v == c {
			return nil
		}
	}
	msg := "The storage class you specified is not valid."
	for _, c := range refusedClasses {
		if v == c {
			msg = "The storage class " + c + " is not available here."
		}
	}
	return errInvalidStorageClass.withMessage(msg + " Use STANDARD (" + strings.Join(storedAsStandard[1:], ", ") + " are stored as STANDARD).")
}

// ownerID is the canonical owner of every bucket (ListBuckets' Owner).
const ownerID = "edge"

func checkExpectedOwner(v string) error {
	if v != ownerID {
		return errAccessDenied.withMessage("The bucket is not owned by the expected account " + v + ".")
	}
	return nil
}

// notModelled describes the headers whose only effect is on another
// feature that is itself refused.
const (
	sseNote   = "server-side encryption: objects are stored unencrypted"
	lockNote  = "Object Lock: nothing can be retained or held"
	aclNote   = "ACLs are disabled (bucket owner enforced), as on new S3 buckets"
	checkNote = "verified against the body, stored, returned with x-amz-checksum-mode"
)

var requestHeaders = map[string]headerRule{
	// Signature V4 and the payload.
	"x-amz-date":                   {honoured, nil, "the request time SigV4 signs; 15 minutes of skew allowed"},
	"x-amz-content-sha256":         {honoured, nil, "payload hash, UNSIGNED-PAYLOAD or a STREAMING-* mode, verified"},
	"x-amz-decoded-content-length": {honoured, nil, "the object size of an aws-chunked body, verified"},
	"x-amz-trailer":                {honoured, nil, "names the trailing checksum of an aws-chunked body, verified"},
	"x-amz-security-token":         {ignored, nil, "signed like any header; only static keys exist, so there is no session to check"},
	"x-amz-user-agent":             {ignored, nil, "informational"},

	// Integrity.
	"x-amz-sdk-checksum-algorithm": {honoured, nil, "the checksum to compute and store when no value is sent"},
	"x-amz-checksum-crc32":         {honoured, nil, checkNote},
	"x-amz-checksum-crc32c":        {honoured, nil, checkNote},
	"x-amz-checksum-crc64nvme":     {honoured, nil, checkNote},
	"x-amz-checksum-sha1":          {honoured, nil, checkNote},
	"x-amz-checksum-sha256":        {honoured, nil, checkNote},
	"x-amz-checksum-mode":          {honoured, nil, "ENABLED returns stored checksums on GET and HEAD of the whole object"},
	"x-amz-checksum-algorithm":     {honoured, nil, "CreateMultipartUpload: the object gets a COMPOSITE checksum (of every part's, which each part must carry) or a FULL_OBJECT one, checked against the x-amz-checksum-* header sent on completion"},
	"x-amz-checksum-type":          {honoured, nil, "CreateMultipartUpload: COMPOSITE or FULL_OBJECT, with the algorithm's rules"},
	"x-amz-mp-object-size":         {honoured, nil, "CompleteMultipartUpload: the joined size must equal it"},

	// Copies, metadata, storage.
	"x-amz-copy-source":                     {honoured, nil, "CopyObject, UploadPartCopy; versionId=null only"},
	"x-amz-copy-source-if-match":            {honoured, nil, "copy source precondition"},
	"x-amz-copy-source-if-none-match":       {honoured, nil, "copy source precondition"},
	"x-amz-copy-source-if-modified-since":   {honoured, nil, "copy source precondition"},
	"x-amz-copy-source-if-unmodified-since": {honoured, nil, "copy source precondition"},
	"x-amz-copy-source-range":               {honoured, nil, "UploadPartCopy"},
	"x-amz-metadata-directive":              {honoured, nil, "COPY or REPLACE"},
	"x-amz-tagging-directive":               {honoured, allowOnly(errInvalidArgument.withMessage("x-amz-tagging-directive must be COPY or REPLACE."), "COPY", "REPLACE"), "COPY or REPLACE; objects carry no S3 tags, so either copies none"},
	"x-amz-storage-class":                   {honoured, checkStorageClass, "STANDARD; " + strings.Join(storedAsStandard[1:], ", ") + " are stored as STANDARD; " + strings.Join(refusedClasses, ", ") + " and unknown classes get InvalidStorageClass"},
	"x-amz-expected-bucket-owner":           {honoured, checkExpectedOwner, `must be "` + ownerID + `", the owner of every bucket, else AccessDenied`},
	"x-amz-source-expected-bucket-owner":    {honoured, checkExpectedOwner, `must be "` + ownerID + `", else AccessDenied`},

	// Features the store does not have: refused.
	"x-amz-acl":                                                   {refused, allowOnly(errACLNotSupported, "private", "bucket-owner-full-control"), aclNote + "; private and bucket-owner-full-control, which describe that, are accepted"},
	"x-amz-grant-full-control":                                    {refused, func(string) error { return errACLNotSupported }, aclNote},
	"x-amz-grant-read":                                            {refused, func(string) error { return errACLNotSupported }, aclNote},
	"x-amz-grant-read-acp":                                        {refused, func(string) error { return errACLNotSupported }, aclNote},
	"x-amz-grant-write":                                           {refused, func(string) error { return errACLNotSupported }, aclNote},
	"x-amz-grant-write-acp":                                       {refused, func(string) error { return errACLNotSupported }, aclNote},
	"x-amz-object-ownership":                                      {refused, allowOnly(errNotImplemented.withMessage("Only the BucketOwnerEnforced object ownership is implemented."), "BucketOwnerEnforced"), "BucketOwnerEnforced, the only mode, is accepted"},
	"x-amz-bucket-object-lock-enabled":                            {refused, allowOnly(errNotImplemented.withMessage("Object Lock is not implemented; create the bucket without x-amz-bucket-object-lock-enabled."), "false"), lockNote + "; false is accepted"},
	"x-amz-object-lock-mode":                                      {refused, notImplemented("Object Lock"), lockNote},
	"x-amz-object-lock-retain-until-date":                         {refused, notImplemented("Object Lock"), lockNote},
	"x-amz-object-lock-legal-hold":                                {refused, notImplemented("Object Lock legal hold"), lockNote},
	"x-amz-server-side-encryption":                                {refused, notImplemented("Server-side encryption"), sseNote},
	"x-amz-server-side-encryption-aws-kms-key-id":                 {refused, notImplemented("Server-side encryption with KMS"), sseNote},
	"x-amz-server-side-encryption-context":                        {refused, notImplemented("Server-side encryption with KMS"), sseNote},
	"x-amz-server-side-encryption-bucket-key-enabled":             {refused, allowOnly(errNotImplemented.withMessage("S3 Bucket Keys are not implemented."), "false"), sseNote + "; false is accepted"},
	"x-amz-server-side-encryption-customer-algorithm":             {refused, notImplemented("Server-side encryption with customer keys (SSE-C)"), sseNote},
	"x-amz-server-side-encryption-customer-key":                   {refused, notImplemented("Server-side encryption with customer keys (SSE-C)"), sseNote},
	"x-amz-server-side-encryption-customer-key-md5":               {refused, notImplemented("Server-side encryption with customer keys (SSE-C)"), sseNote},
	"x-amz-copy-source-server-side-encryption-customer-algorithm": {refused, notImplemented("Server-side encryption with customer keys (SSE-C)"), sseNote},
	"x-amz-copy-source-server-side-encryption-customer-key":       {refused, notImplemented("Server-side encryption with customer keys (SSE-C)"), sseNote},
	"x-amz-copy-source-server-side-encryption-customer-key-md5":   {refused, notImplemented("Server-side encryption with customer keys (SSE-C)"), sseNote},
	"x-amz-tagging":                                               {refused, notImplemented("Object tagging"), "S3 object tags (purge tags come from x-amz-meta-cache-tag)"},
	"x-amz-website-redirect-location":                             {refused, notImplemented("Website redirects"), "nothing would serve the redirect"},
	"x-amz-write-offset-bytes":                                    {refused, notImplemented("Appending to an object"), "appends (directory buckets)"},
	"x-amz-mfa":                                                   {refused, notImplemented("MFA delete"), "MFA delete belongs to versioning, which is not implemented"},
	"x-amz-if-match-last-modified-time":                           {refused, notImplemented("x-amz-if-match-last-modified-time"), "directory-bucket delete condition; refused rather than deleting unconditionally"},
	"x-amz-if-match-size":                                         {refused, notImplemented("x-amz-if-match-size"), "directory-bucket delete condition; refused rather than deleting unconditionally"},
	"x-amz-if-match-initiated-time":                               {refused, notImplemented("x-amz-if-match-initiated-time"), "directory-bucket abort condition; refused rather than aborting unconditionally"},
	"x-amz-rename-source":                                         {refused, notImplemented("RenameObject"), "RenameObject (directory buckets)"},
	"x-amz-s3session-token":                                       {refused, notImplemented("Directory-bucket sessions"), "CreateSession credentials (directory buckets); sign with SigV4 instead"},

	// Read only by operations that answer 501 NotImplemented (their
	// subresource is refused before any header counts).
	"x-amz-object-attributes":                      {ignored, nil, "GetObjectAttributes (?attributes, 501)"},
	"x-amz-max-parts":                              {ignored, nil, "GetObjectAttributes (?attributes, 501)"},
	"x-amz-part-number-marker":                     {ignored, nil, "GetObjectAttributes (?attributes, 501)"},
	"x-amz-bucket-object-lock-token":               {ignored, nil, "PutObjectLockConfiguration (?object-lock, 501)"},
	"x-amz-confirm-remove-self-bucket-access":      {ignored, nil, "PutBucketPolicy (?policy, 501)"},
	"x-amz-skip-destination-validation":            {ignored, nil, "PutBucketNotificationConfiguration (?notification, 501)"},
	"x-amz-transition-default-minimum-object-size": {ignored, nil, "PutBucketLifecycleConfiguration (?lifecycle, 501)"},
	"x-amz-create-session-mode":                    {ignored, nil, "CreateSession (?session, 501)"},

	// Irrelevant here.
	"x-amz-request-payer":               {ignored, nil, "no one is billed"},
	"x-amz-bypass-governance-retention": {ignored, nil, "nothing is under retention, so there is nothing to bypass"},
	"x-amz-optional-object-attributes":  {ignored, nil, "asks for RestoreStatus, which no object has: nothing is archived"},
}

// maxHeaderName bounds the names of the table (a test checks), so a
// name is lower-cased on the stack.
const maxHeaderName = 96

// checkRequestHeaders applies the table to every x-amz-* header of the
// request. Headers S3 does not define are ignored, as S3 ignores them;
// x-amz-meta-* is user metadata. It allocates only for a header it checks.
func checkRequestHeaders(r *request) error {
	var lower [maxHeaderName]byte
	for k, v := range r.ctx.Request.Header.All() {
		if len(k) < len("x-amz-") || !strings.EqualFold(string(k[:6]), "x-amz-") {
			continue
		}
		if len(k) > len(lower) {
			if r.auth != nil && !slices.Contains(r.auth.SignedHeaders, strings.ToLower(string(k))) && strings.HasPrefix(strings.ToLower(string(k)), "x-amz-meta-") {
				return errAccessDenied.withMessage("There were headers present in the request which were not signed.")
			}
			continue
		}
		name := lower[:len(k)]
		for i, c := range k {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			name[i] = c
		}
		rule, known := requestHeaders[string(name)]
		if r.auth != nil && !slices.Contains(r.auth.SignedHeaders, string(name)) && unsignedMatters(string(name), rule, known, r.auth.Presigned) {
			// Whoever signed did not ask for this: a presigned upload URL
			// must not become a copy of another object, or carry metadata
			// its signer never saw.
			return errAccessDenied.withMessage("There were headers present in the request which were not signed: " + string(name) + ".")
		}
		if !known || rule.check == nil {
			continue
		}
		if err := rule.check(string(v)); err != nil {
			return err
		}
	}
	return nil
}

// unsignedMatters reports whether an x-amz-* header sent outside the
// signature would change what the request does: user metadata and every
// header the table honours or refuses. Ignored and unknown headers change
// nothing; a presigned URL's x-amz-content-sha256 only describes a body
// the URL does not cover.
func unsignedMatters(name string, rule headerRule, known, presigned bool) bool {
	switch {
	case strings.HasPrefix(name, "x-amz-meta-"):
		return true
	case !known || rule.treat == ignored:
		return false
	case presigned && name == "x-amz-content-sha256":
		return false
	}
	return true
}
