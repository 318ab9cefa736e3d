package s3_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// ListBuckets honours prefix, bucket-region and pages of max-buckets, as
// the SDK's paginator drives them.
func TestListBucketsPagesAndFilters(t *testing.T) {
	ts := startServer(t)
	for _, b := range []string{"alpha", "logs-1", "logs-2", "logs-3", "zeta"} {
		ts.mkbucket(b)
	}
	names := func(in *awss3.ListBucketsInput) (all []string, pages int) {
		t.Helper()
		p := awss3.NewListBucketsPaginator(ts.client, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListBuckets(%+v): %v", in, err)
			}
			pages++
			for _, b := range out.Buckets {
				all = append(all, aws.ToString(b.Name))
				if aws.ToString(b.BucketRegion) != "us-east-1" {
					t.Errorf("bucket %s has region %q", aws.ToString(b.Name), aws.ToString(b.BucketRegion))
				}
			}
		}
		return all, pages
	}
	if got, pages := names(&awss3.ListBucketsInput{MaxBuckets: aws.Int32(2)}); !slices.Equal(got, []string{"alpha", "logs-1", "logs-2", "logs-3", "zeta"}) || pages != 3 {
		t.Fatalf("pages of 2: %v in %d pages", got, pages)
	}
	if got, _ := names(&awss3.ListBucketsInput{Prefix: aws.String("logs-"), MaxBuckets: aws.Int32(2)}); !slices.Equal(got, []string{"logs-1", "logs-2", "logs-3"}) {
		t.Fatalf("prefix logs-: %v", got)
	}
	if got, _ := names(&awss3.ListBucketsInput{BucketRegion: aws.String("eu-west-1")}); len(got) != 0 {
		t.Fatalf("buckets in eu-west-1: %v", got)
	}
	_, err := ts.client.ListBuckets(ctx, &awss3.ListBucketsInput{MaxBuckets: aws.Int32(10001)})
	expectCode(t, "ListBuckets max-buckets 10001", err, "InvalidArgument", 400)
}
