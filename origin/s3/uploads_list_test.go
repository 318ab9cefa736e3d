package s3_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ListMultipartUploads echoes its parameters as S3 does, rolls keys into
// common prefixes with a delimiter, pages with both markers, and with
// encoding-type=url encodes every element that holds a key.
func TestListMultipartUploadsEcho(t *testing.T) {
	ts := startServer(t)
	ts.mkbucket("bkt")
	ids := map[string]string{}
	for _, k := range []string{"docs/a b.txt", "docs/sub/1", "docs/sub/2", "docs/z+z", "other"} {
		out, err := ts.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = aws.ToString(out.UploadId)
	}
	list := func(in awss3.ListMultipartUploadsInput) *awss3.ListMultipartUploadsOutput {
		t.Helper()
		in.Bucket = aws.String("bkt")
		out, err := ts.client.ListMultipartUploads(ctx, &in)
		if err != nil {
			t.Fatalf("ListMultipartUploads(%+v): %v", in, err)
		}
		return out
	}
	keys := func(out *awss3.ListMultipartUploadsOutput) (ks, prefixes []string) {
		for _, u := range out.Uploads {
			ks = append(ks, aws.ToString(u.Key))
		}
		for _, p := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(p.Prefix))
		}
		return ks, prefixes
	}

	// Without a delimiter: Prefix echoed, Delimiter and EncodingType absent.
	out := list(awss3.ListMultipartUploadsInput{Prefix: aws.String("docs/")})
	if aws.ToString(out.Prefix) != "docs/" || out.Delimiter != nil || out.EncodingType != "" || aws.ToString(out.KeyMarker) != "" {
		t.Fatalf("echo without delimiter: Prefix %q Delimiter %v EncodingType %q KeyMarker %q", aws.ToString(out.Prefix), out.Delimiter, out.EncodingType, aws.ToString(out.KeyMarker))
	}
	if ks, _ := keys(out); len(ks) != 4 {
		t.Fatalf("uploads under docs/: %v", ks)
	}

	// With a delimiter: docs/sub/ is one common prefix.
	out = list(awss3.ListMultipartUploadsInput{Prefix: aws.String("docs/"), Delimiter: aws.String("/")})
	ks, prefixes := keys(out)
	if !slices.Equal(ks, []string{"docs/a b.txt", "docs/z+z"}) || !slices.Equal(prefixes, []string{"docs/sub/"}) || aws.ToString(out.Delimiter) != "/" {
		t.Fatalf("with delimiter: uploads %v prefixes %v delimiter %q", ks, prefixes, aws.ToString(out.Delimiter))
	}

	// Pages of one, with markers echoed and next markers naming the last entry.
	var seen []string
	in := awss3.ListMultipartUploadsInput{Prefix: aws.String("docs/"), Delimiter: aws.String("/"), MaxUploads: aws.Int32(1)}
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("more than 5 pages")
		}
		out = list(in)
		if aws.ToString(out.KeyMarker) != aws.ToString(in.KeyMarker) || aws.ToString(out.UploadIdMarker) != aws.ToString(in.UploadIdMarker) || aws.ToInt32(out.MaxUploads) != 1 {
			t.Fatalf("page %d echoes markers %q %q max %d, sent %q %q", page, aws.ToString(out.KeyMarker), aws.ToString(out.UploadIdMarker), aws.ToInt32(out.MaxUploads), aws.ToString(in.KeyMarker), aws.ToString(in.UploadIdMarker))
		}
		ks, prefixes := keys(out)
		seen = append(append(seen, ks...), prefixes...)
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		wantNext, wantID := "", ""
		if len(ks) == 1 {
			wantNext, wantID = ks[0], ids[ks[0]]
		} else {
			wantNext = prefixes[0]
		}
		if aws.ToString(out.NextKeyMarker) != wantNext || aws.ToString(out.NextUploadIdMarker) != wantID {
			t.Fatalf("page %d: next markers %q %q, want %q %q", page, aws.ToString(out.NextKeyMarker), aws.ToString(out.NextUploadIdMarker), wantNext, wantID)
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	if !slices.Equal(seen, []string{"docs/a b.txt", "docs/sub/", "docs/z+z"}) {
		t.Fatalf("pages of one listed %v", seen)
	}

	// encoding-type=url: EncodingType echoed, key elements encoded.
	out = list(awss3.ListMultipartUploadsInput{Prefix: aws.String("docs/"), Delimiter: aws.String("/"), KeyMarker: aws.String("docs/a b.txt"), EncodingType: types.EncodingTypeUrl})
	if out.EncodingType != types.EncodingTypeUrl {
		t.Fatalf("EncodingType = %q, want url", out.EncodingType)
	}
	decode := func(s *string) string {
		v, err := url.QueryUnescape(aws.ToString(s))
		if err != nil {
			t.Fatalf("%q is not URL-encoded: %v", aws.ToString(s), err)
		}
		return v
	}
	if aws.ToString(out.KeyMarker) == "docs/a b.txt" || decode(out.KeyMarker) != "docs/a b.txt" || decode(out.Prefix) != "docs/" || decode(out.Delimiter) != "/" {
		t.Fatalf("encoded echo: KeyMarker %q Prefix %q Delimiter %q", aws.ToString(out.KeyMarker), aws.ToString(out.Prefix), aws.ToString(out.Delimiter))
	}
	if len(out.Uploads) != 1 || aws.ToString(out.Uploads[0].Key) == "docs/z+z" || decode(out.Uploads[0].Key) != "docs/z+z" {
		t.Fatalf("encoded keys: %+v", out.Uploads)
	}
	if len(out.CommonPrefixes) != 1 || decode(out.CommonPrefixes[0].Prefix) != "docs/sub/" {
		t.Fatalf("encoded prefixes: %+v", out.CommonPrefixes)
	}
}
