package s3

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3/checksum"
	"github.com/edgecdn/edge/origin/s3/sigv4"
)

// POST Object: the browser upload of S3. An HTML form posts
// multipart/form-data to the bucket URL; its fields carry what PutObject
// takes in headers (key, Content-Type, x-amz-meta-*…), a base64 POST
// policy, and the SigV4 signature of that policy; the last field is the
// file. The policy, not an Authorization header, authorizes the upload:
// the handler verifies its signature, its expiration and every condition
// against the form before the file streams into the store, and the
// content-length-range while it streams.

// opPostObject names the operation; serve lets it through without a
// request signature because postObject authenticates the form itself.
const opPostObject = "PostObject"

// Limits of a POST form.
const (
	// maxPostPreData bounds what precedes the file: S3 allows 20 KB of
	// "form data and boundaries (excluding the contents of the file)".
	maxPostPreData = 20 << 10
	// postReadAhead is what the multipart parser may read past the file
	// part's header before the cap is lifted.
	postReadAhead = 4<<10 + 64
	// maxPostTrailer bounds the ignored parts after the file and the
	// epilogue, which are read and discarded.
	maxPostTrailer = 1 << 20
	// postAlgorithm is the only x-amz-algorithm a form may name.
	postAlgorithm = "AWS4-HMAC-SHA256"
)

// The errors of POST Object, as S3 answers them.
var (
	errMalformedPOST       = apiError{"MalformedPOSTRequest", http.StatusBadRequest, "The body of your POST request is not well-formed multipart/form-data."}
	errPostPreDataTooLarge = apiError{"MaxPostPreDataLengthExceeded", http.StatusBadRequest, fmt.Sprintf("Your POST request fields preceding the upload file were too large: at most %d bytes of fields and boundaries may precede the file.", maxPostPreData)}
	errPostFileCount       = apiError{"InvalidArgument", http.StatusBadRequest, "POST requires exactly one file upload per request."}
	errPostPolicyExpired   = apiError{"AccessDenied", http.StatusForbidden, "Invalid according to Policy: Policy expired."}
	errInvalidPolicyDoc    = apiError{"InvalidPolicyDocument", http.StatusBadRequest, "Invalid Policy: Invalid JSON."}
	errPostTrailerTooLarge = errMalformedPOST.withMessage(fmt.Sprintf("The body of your POST request is not well-formed multipart/form-data: more than %d bytes follow the file.", maxPostTrailer))
)

// errPostMissingField is S3's answer to a form without a required field
// (or with it after the file, where it is ignored).
func errPostMissingField(name string) apiError {
	return errInvalidArgument.withMessage("Bucket POST must contain a field named '" + name + "'.  If it is specified, please check the order of the fields.")
}

// errPolicyDenied is the 403 of a form the policy does not allow.
func errPolicyDenied(why string) apiError {
	return errAccessDenied.withMessage("Invalid according to Policy: " + why)
}

// Causes of a failed read of the form, told apart from multipart's own
// complaints about the body's framing.
var (
	errPreDataCap = errors.New("s3: POST form fields before the file exceed the limit")
	errTrailerCap = errors.New("s3: POST form data after the file exceeds the limit")
)

// bodyReadError is a failure of the request body itself (a client that
// went away, a timeout), passed through the multipart parser.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// formError maps an error from reading the form to its S3 error. It never
// returns io.EOF or io.ErrUnexpectedEOF: the store takes those for the end
// of the file and would keep a truncated one.
func formError(err error) error {
	var be *bodyReadError
	switch {
	case errors.As(err, &be):
		if errors.Is(be.err, io.ErrUnexpectedEOF) || errors.Is(be.err, io.EOF) {
			return errIncompleteBody
		}
		return be.err
	case errors.Is(err, errPreDataCap), errors.Is(err, multipart.ErrMessageTooLarge):
		return errPostPreDataTooLarge
	case errors.Is(err, errTrailerCap):
		return errPostTrailerTooLarge
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errMalformedPOST.withMessage("The body of your POST request is not well-formed multipart/form-data: it ends before the closing boundary.")
	}
	return errMalformedPOST
}

// formReader is the request body under the multipart parser: it caps what
// may be read (limit < 0: no cap) and marks failures of the body itself.
type formReader struct {
	r        io.Reader
	n, limit int64
	capErr   error
}

func (f *formReader) Read(p []byte) (int, error) {
	if f.limit >= 0 {
		if f.n >= f.limit {
			return 0, f.capErr
		}
		if int64(len(p)) > f.limit-f.n {
			p = p[:f.limit-f.n]
		}
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	if err != nil && err != io.EOF {
		err = &bodyReadError{err}
	}
	return n, err
}

// postForm is a POST form read up to the start of its file.
type postForm struct {
	// fields maps lower-cased field names to their values; a name sent
	// more than once has its values joined with commas, as the policy
	// must then name them. x-ignore-* fields are left out.
	fields map[string]string
	// names are the field names as first sent, in order, once each.
	names []string
	// filename is the file part's filename parameter without any path:
	// what ${filename} stands for ("" when there is none).
	filename string
	file     io.Reader // the file's content

	mr   *multipart.Reader
	wire *formReader
}

// isMultipartForm reports whether the request body is multipart/form-data,
// the enclosure type of a POST Object form.
func (r *request) isMultipartForm() bool {
	mt, _, _ := strings.Cut(r.header("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(mt), "multipart/form-data")
}

// readPostForm parses a multipart/form-data body up to the part named
// "file" (names are case-insensitive), whose content it leaves unread.
func readPostForm(body io.Reader, contentType string) (*postForm, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.EqualFold(mt, "multipart/form-data") || params["boundary"] == "" {
		return nil, errMalformedPOST.withMessage("The body of your POST request is not well-formed multipart/form-data: the Content-Type must be multipart/form-data with a boundary.")
	}
	wire := &formReader{r: body, limit: maxPostPreData + postReadAhead, capErr: errPreDataCap}
	f := &postForm{fields: make(map[string]string), mr: multipart.NewReader(wire, params["boundary"]), wire: wire}
	for {
		part, err := f.mr.NextRawPart()
		if err == io.EOF {
			return nil, errPostFileCount
		}
		if err != nil {
			return nil, formError(err)
		}
		name, filename, ok := formPartName(part)
		if !ok {
			return nil, errMalformedPOST.withMessage("The body of your POST request is not well-formed multipart/form-data: every part needs Content-Disposition: form-data with a name.")
		}
		lname := strings.ToLower(name)
		if lname == "file" {
			f.file, f.filename = part, baseName(filename)
			wire.limit = -1 // the file streams, uncapped here
			return f, nil
		}
		value, err := io.ReadAll(part) // bounded by the cap on wire
		if err != nil {
			return nil, formError(err)
		}
		if strings.HasPrefix(lname, "x-ignore-") {
			continue
		}
		if old, dup := f.fields[lname]; dup {
			f.fields[lname] = old + "," + string(value)
		} else {
			f.fields[lname] = string(value)
			f.names = append(f.names, name)
		}
	}
}

// formPartName reads a part's Content-Disposition: form-data; name=…;
// filename=….
func formPartName(part *multipart.Part) (name, filename string, ok bool) {
	disp, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	if err != nil || !strings.EqualFold(disp, "form-data") || params["name"] == "" {
		return "", "", false
	}
	return params["name"], params["filename"], true
}

// baseName keeps what follows the last slash or backslash of a file name:
// "C:\Program Files\directory1\file.txt" is "file.txt".
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		return name[i+1:]
	}
	return name
}

// finish reads what follows the file: the ignored parts and the epilogue.
// A second file, a malformed remainder or one past maxPostTrailer fails
// the upload.
func (f *postForm) finish() error {
	f.wire.limit, f.wire.capErr = f.wire.n+maxPostTrailer, errTrailerCap
	for {
		part, err := f.mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return formError(err)
		}
		if name, _, ok := formPartName(part); ok && strings.EqualFold(name, "file") {
			return errPostFileCount
		}
		if _, err := io.Copy(io.Discard, part); err != nil {
			return formError(err)
		}
	}
	if _, err := io.Copy(io.Discard, f.wire); err != nil {
		return formError(err)
	}
	return nil
}

// expanded returns the fields with ${filename} replaced by the file's
// name, as the policy is evaluated and the object stored ("all variables
// within the form are expanded prior to validating the POST policy").
func (f *postForm) expanded() map[string]string {
	out := make(map[string]string, len(f.fields)+1)
	for k, v := range f.fields {
		if k != "policy" && k != "x-amz-signature" {
			v = strings.ReplaceAll(v, "${filename}", f.filename)
		}
		out[k] = v
	}
	return out
}

// postFile is the file part as the store reads it: it enforces the
// policy's content-length-range as the bytes pass, and reads the rest of
// the form before it reports the end, so that a malformed remainder fails
// the upload instead of being committed.
type postFile struct {
	form     *postForm
	n        int64
	min, max int64 // max < 0: no upper bound
	err      error
}

func (p *postFile) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.form.file.Read(b)
	p.n += int64(n)
	switch {
	case p.max >= 0 && p.n > p.max:
		p.err = errEntityTooLarge.withMessage(fmt.Sprintf("Your proposed upload exceeds the maximum allowed size: the policy's content-length-range allows at most %d bytes.", p.max))
		return 0, p.err
	case err == io.EOF:
		if p.n < p.min {
			p.err = errEntityTooSmall.withMessage(fmt.Sprintf("Your proposed upload is smaller than the minimum allowed size: %d bytes, and the policy's content-length-range asks for at least %d.", p.n, p.min))
		} else if ferr := p.form.finish(); ferr != nil {
			p.err = ferr
		} else {
			p.err = io.EOF
		}
	case err != nil:
		p.err = formError(err)
	}
	return n, p.err
}

// postResponse is the document of success_action_status 201.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// postObject serves POST Object.
func (h *Handler) postObject(r *request) error {
	form, err := readPostForm(r.body(), r.header("Content-Type"))
	if err != nil {
		return err
	}
	fields := form.fields
	if err := checkPostAuthFields(fields); err != nil {
		return err
	}
	if _, err := h.verifier.VerifyPOST(fields["x-amz-credential"], fields["x-amz-date"], fields["policy"], fields["x-amz-signature"]); err != nil {
		var se *sigv4.Error
		if errors.Is(err, sigv4.ErrInvalidPOSTField) && errors.As(err, &se) {
			// InvalidArgument, as S3 answers a bad X-Amz-Credential
			// field; err still gives the error document its <Region>.
			return errors.Join(errInvalidArgument.withMessage("Invalid form field "+se.Detail+"."), err)
		}
		return err
	}
	doc, err := base64.StdEncoding.DecodeString(fields["policy"])
	if err != nil {
		return errInvalidPolicyDoc.withMessage("Invalid Policy: invalid Base64 encoding.")
	}
	policy, err := parsePostPolicy(doc)
	if err != nil {
		return errInvalidPolicyDoc.withMessage(err.Error())
	}
	if policy.expired(h.cfg.Now()) {
		return errPostPolicyExpired
	}
	values := form.expanded()
	values["bucket"] = r.bucket // the bucket condition names the bucket posted to
	if c := policy.failedCondition(values); c != nil {
		return errPolicyDenied("Policy Condition failed: " + c.text)
	}
	if extra := policy.extraFields(form.names); len(extra) > 0 {
		return errPolicyDenied("Extra input fields: " + strings.Join(extra, ", "))
	}

	// The policy allows the form; now what the form asks for.
	r.key = values["key"]
	opts, err := postPutOptions(values)
	if err != nil {
		return err
	}
	file := &postFile{form: form}
	file.min, file.max = policy.sizeRange()
	body, verify, err := postChecksums(file, values)
	if err != nil {
		return err
	}
	opts.Size, opts.Verify = -1, verify
	info, err := h.store.PutObject(r.ctx, r.bucket, r.key, body, opts)
	if err != nil {
		return err
	}
	h.answerPost(r, values, &info)
	return nil
}

// checkPostAuthFields decides how the form is signed: SigV2 fields are
// refused like any SigV2 request, a form with no signing field at all is
// anonymous (and anonymous callers may not write), and a SigV4 form must
// carry every signing field and the key.
func checkPostAuthFields(fields map[string]string) error {
	for _, v2 := range []string{"awsaccesskeyid", "signature"} {
		if _, ok := fields[v2]; ok {
			return errUnsupportedAuth
		}
	}
	// A policy alone signs nothing: such a form is anonymous, as in S3.
	signing := []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature"}
	signed := false
	for _, name := range signing {
		if _, ok := fields[strings.ToLower(name)]; ok {
			signed = true
		}
	}
	if !signed {
		return errAccessDenied
	}
	if alg, ok := fields["x-amz-algorithm"]; ok && alg != postAlgorithm {
		return errUnsupportedAuth
	}
	for _, name := range append(signing, "Policy", "key") {
		if _, ok := fields[strings.ToLower(name)]; !ok {
			return errPostMissingField(name)
		}
	}
	return nil
}

// postPutOptions reads what PutObject would read from headers out of the
// form: the stored representation headers, Content-MD5, and x-amz-meta-*
// (names lower-cased, x-amz-meta-cache-tag giving the purge tags).
func postPutOptions(values map[string]string) (origin.PutOptions, error) {
	var opts origin.PutOptions
	if err := refuseUnsupportedFields(values); err != nil {
		return opts, err
	}
	for name, dst := range map[string]*string{
		"content-type":        &opts.ContentType,
		"cache-control":       &opts.CacheControl,
		"content-disposition": &opts.ContentDisposition,
		"content-encoding":    &opts.ContentEncoding,
		"content-language":    &opts.ContentLanguage,
		"expires":             &opts.Expires,
	} {
		v := values[name]
		if !validFieldValue(v) {
			return opts, errInvalidArgument.withMessage("The " + name + " field must not hold control characters.")
		}
		*dst = v
	}
	if s, ok := values["content-md5"]; ok {
		sum, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(sum) != 16 {
			return opts, errInvalidDigest
		}
		opts.ContentMD5 = sum
	}
	for name, v := range values {
		m, ok := strings.CutPrefix(name, "x-amz-meta-")
		if !ok || m == "" {
			continue
		}
		if !isToken(m) {
			return opts, errInvalidArgument.withMessage("The metadata field name x-amz-meta-" + m + " is not a valid HTTP header name.")
		}
		if opts.UserMeta == nil {
			opts.UserMeta = make(map[string]string)
		}
		opts.UserMeta[m] = metaValue(v)
	}
	opts.Tags = tagsOf(opts.UserMeta)
	return opts, nil
}

// refuseUnsupportedFields applies to the form the table the REST API
// applies to request headers (headers.go): an x-amz-* field asking for
// what the store does not do (SSE, Object Lock, grants, a storage class…)
// is refused as the header would be, never accepted and dropped. The
// form's acl and tagging fields are the x-amz-acl and x-amz-tagging
// headers of PutObject: acl may only say private or
// bucket-owner-full-control, which describe a bucket without ACLs.
func refuseUnsupportedFields(values map[string]string) error {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		header := name
		switch name {
		case "acl":
			header = "x-amz-acl"
		case "tagging":
			header = "x-amz-tagging"
		}
		if !strings.HasPrefix(header, "x-amz-") || strings.HasPrefix(header, "x-amz-meta-") {
			continue
		}
		if rule, ok := requestHeaders[header]; ok && rule.check != nil {
			if err := rule.check(values[name]); err != nil {
				return err
			}
		}
	}
	return nil
}

// validFieldValue reports whether v may become a header value as it is:
// no control characters but tab (UTF-8 passes as obs-text).
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// metaValue stores a metadata value that is not printable US-ASCII in its
// RFC 2047 encoded-word form, as S3 does for browser uploads: form values
// may hold UTF-8 and line breaks, which a header cannot carry as they are.
func metaValue(v string) string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c >= 0x7f {
			if utf8.ValidString(v) {
				return mime.QEncoding.Encode("UTF-8", v)
			}
			return mime.BEncoding.Encode("UTF-8", v)
		}
	}
	return v
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// postChecksums wraps the file in the flexible checksums the form asks
// for: x-amz-checksum-<alg> values to verify, x-amz-checksum-algorithm to
// compute; the Verify hook compares them once the file is read.
func postChecksums(file io.Reader, values map[string]string) (io.Reader, func() (map[string]string, error), error) {
	want := map[checksum.Algorithm]string{}
	var algs []checksum.Algorithm
	var declared []string
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		suffix, ok := strings.CutPrefix(name, "x-amz-checksum-")
		if !ok || suffix == "type" || suffix == "mode" {
			continue
		}
		if suffix == "algorithm" {
			suffix = values[name]
			declared = append(declared, suffix)
		}
		a, err := checksum.Parse(suffix)
		if err != nil {
			return nil, nil, errUnknownChecksumAlg
		}
		if name != "x-amz-checksum-algorithm" {
			want[a] = values[name]
		}
		algs = append(algs, a)
	}
	for _, d := range declared {
		if a, _ := checksum.Parse(d); want[a] == "" {
			return nil, nil, errInvalidRequest.withMessage("x-amz-checksum-algorithm " + d + " needs the " + a.Header() + " field.")
		}
	}
	if len(algs) == 0 {
		return file, nil, nil
	}
	cr := checksum.NewReader(file, algs...)
	return cr, func() (map[string]string, error) { return checkSums(cr, algs, want) }, nil
}

// answerPost answers a stored upload: a 303 to success_action_redirect
// (or redirect) when it is a URL, else the status success_action_status
// names — 200 or 204 empty, 201 with the PostResponse document — 204 by
// default. Every answer carries the ETag and the object's URL.
func (h *Handler) answerPost(r *request, values map[string]string, info *origin.ObjectInfo) {
	setWriteHeaders(r.ctx, info)
	for _, field := range []string{"success_action_redirect", "redirect"} {
		if to, ok := redirectURL(values[field], r.bucket, r.key, info.ETag); ok {
			r.ctx.Response.Header.Set("Location", to)
			r.ctx.SetStatusCode(fasthttp.StatusSeeOther)
			return
		}
	}
	location := h.objectURL(r)
	r.ctx.Response.Header.Set("Location", location)
	switch values["success_action_status"] {
	case "200":
		r.ctx.SetStatusCode(fasthttp.StatusOK)
	case "201":
		writeXML(r.ctx, fasthttp.StatusCreated, postResponse{Location: location, Bucket: r.bucket, Key: r.key, ETag: quoteETag(info.ETag)})
	default: // "204", absent, or a value S3 does not know
		r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	}
}

// redirectURL appends bucket, key and etag to a success redirect, keeping
// the URL's own query; ok is false for what is not an absolute http(s)
// URL, which S3 treats as if the field were absent.
func redirectURL(target, bucket, key, etag string) (string, bool) {
	if target == "" {
		return "", false
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	q := "bucket=" + url.QueryEscape(bucket) + "&key=" + url.QueryEscape(key) + "&etag=" + url.QueryEscape(quoteETag(etag))
	if u.RawQuery != "" {
		q = u.RawQuery + "&" + q
	}
	u.RawQuery, u.ForceQuery = q, false
	return u.String(), true
}

// objectURL is the URL of the object just posted, in the style the
// request used; the key is one escaped path segment ('/' as %2F), as S3
// writes it.
func (h *Handler) objectURL(r *request) string {
	scheme := "http"
	if r.ctx.IsTLS() {
		scheme = "https"
	}
	host := r.host()
	if host == "" { // HTTP/1.0 without Host: a path is all we know
		return "/" + r.bucket + "/" + url.PathEscape(r.key)
	}
	if _, virtual := h.virtualBucket(host); virtual {
		return scheme + "://" + host + "/" + url.PathEscape(r.key)
	}
	return scheme + "://" + host + "/" + r.bucket + "/" + url.PathEscape(r.key)
}
