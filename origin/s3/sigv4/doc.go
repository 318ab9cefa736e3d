// Package sigv4 verifies AWS Signature Version 4 on the server side, the way
// S3 does: requests signed in the Authorization header or by a presigned
// URL, and the payload modes of x-amz-content-sha256, including the
// aws-chunked bodies whose chunks and trailers carry signatures of their own.
//
// It knows nothing of HTTP servers: the HTTP layer copies the request line
// and headers into a Request, calls Verifier.Verify, and reads the body
// through Auth.Body.
//
// # What the HTTP layer must pass
//
//   - RawPath and RawQuery exactly as received, before any decoding or
//     normalisation (fasthttp: URI().PathOriginal() without the query, and
//     URI().QueryString()). S3 signs the path as sent: "//", "/../" and
//     "%2F" are part of the key.
//   - Every header, with lower-cased names and one value per header line;
//     Content-Length must be among them when the client sent it, since SDKs
//     sign it. Host is taken from Request.Host.
//   - The body reader must end where the request body ends (Content-Length
//     or chunked transfer coding), not at the end of the connection.
//
// # Caveats
//
//   - The query is decoded with %XX only: a bare '+' is a plus sign, as S3
//     reads it. A handler that decodes the query itself must do the same,
//     or a signature would cover a different value than the one used.
//   - Bytes of PayloadSigned, PayloadUnsigned and unsigned aws-chunked
//     bodies are handed out before the end of the body proves them good:
//     whoever stores them must discard everything when Read returns an
//     error other than io.EOF. Signed chunks are only released once their
//     signature checks.
//   - Trailing checksums (Auth.Trailers) are parsed, and signed when the
//     mode says so, but not compared with the data: that is the caller's
//     job, e.g. with package checksum.
//   - Session tokens (X-Amz-Security-Token) are signed like any header but
//     not checked; Credentials only maps access keys to secrets.
//   - The store must keep the decoded bytes only, and strip "aws-chunked"
//     from a Content-Encoding it stores.
package sigv4
