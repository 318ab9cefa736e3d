package origin

// ListOptions are ListObjectsV2's parameters (V1's Marker is StartAfter).
type ListOptions struct {
	Prefix            string
	Delimiter         string
	StartAfter        string
	ContinuationToken string
	// MaxKeys caps objects plus common prefixes; 0 means 1000, above 1000 is 1000.
	MaxKeys int
}

// ListResult is one page of a listing, in UTF-8 binary key order.
type ListResult struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	IsTruncated    bool
	// NextContinuationToken resumes after this page (opaque).
	NextContinuationToken string
	// NextMarker is the last key or common prefix returned (for V1).
	NextMarker string
}
