package origin

// Limits fixed by the S3 API.
const (
	MaxKeyLength     = 1024
	MaxListKeys      = 1000
	MaxPartNumber    = 10000
	MaxDeleteObjects = 1000
	DefaultMinPart   = 5 << 20 // 5 MiB: every multipart part but the last
	DefaultMaxObject = 5 << 30 // 5 GiB
)
