package s3

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
)

func TestBucketNames(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"abc", true},
		{"my-bucket.v2", true},
		{"0bucket9", true},
		{strings.Repeat("a", 63), true},
		{"ab", false},
		{strings.Repeat("a", 64), false},
		{"MyBucket", false},
		{"my_bucket", false},
		{"-bucket", false},
		{"bucket-", false},
		{".bucket", false},
		{"bucket.", false},
		{"my..bucket", false},
		{"192.168.1.1", false},
		{"xn--bucket", false},
		{"bucket-s3alias", false},
		{"bucket--ol-s3", false},
		{"my.-bucket", false},
		{"buck et", false},
	}
	for _, tc := range cases {
		err := validBucketName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("validBucketName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestBucketLifecycle(t *testing.T) {
	e := newTestServer(t)
	before := time.Now().Add(-time.Second)
	e.bucket("alpha")
	e.bucket("beta")

	buckets, err := e.mc.ListBuckets(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(buckets) != 2 || buckets[0].Name != "alpha" || buckets[1].Name != "beta" {
		t.Fatalf("ListBuckets = %+v", buckets)
	}
	if buckets[0].CreationDate.Before(before) || buckets[0].CreationDate.After(time.Now().Add(time.Second)) {
		t.Fatalf("CreationDate %v is not the real one", buckets[0].CreationDate)
	}

	ok, err := e.mc.BucketExists(e.ctx, "alpha")
	if err != nil || !ok {
		t.Fatalf("BucketExists(alpha) = %v, %v", ok, err)
	}
	ok, err = e.mc.BucketExists(e.ctx, "gamma")
	if err != nil || ok {
		t.Fatalf("BucketExists(gamma) = %v, %v", ok, err)
	}
	loc, err := e.mc.GetBucketLocation(e.ctx, "alpha")
	if err != nil || loc != "us-east-1" {
		t.Fatalf("GetBucketLocation = %q, %v", loc, err)
	}

	wantMinioError(t, e.mc.MakeBucket(e.ctx, "alpha", minio.MakeBucketOptions{}), "BucketAlreadyOwnedByYou")
	wantError(t, e.do("PUT", "/Bad_Name", nil), 400, "InvalidBucketName")

	e.put("alpha", "obj", "x", minio.PutObjectOptions{})
	wantMinioError(t, e.mc.RemoveBucket(e.ctx, "alpha"), "BucketNotEmpty")
	if err := e.mc.RemoveObject(e.ctx, "alpha", "obj", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.mc.RemoveBucket(e.ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	wantMinioError(t, e.mc.RemoveBucket(e.ctx, "alpha"), "NoSuchBucket")
	wantError(t, e.do("GET", "/alpha?location", nil), 404, "NoSuchBucket")
}

func TestCreateBucketConfiguration(t *testing.T) {
	e := newTestServer(t)
	good := `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`
	if rr := e.do("PUT", "/withcfg", []byte(good)); rr.status != 200 || rr.header.Get("Location") != "/withcfg" {
		t.Fatalf("CreateBucket with config: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do("PUT", "/badcfg", []byte(`<CreateBucketConfiguration><LocationConstraint>`)), 400, "MalformedXML")
	wantError(t, e.do("PUT", "/othercfg", []byte(`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`)), 400, "InvalidLocationConstraint")
	wantError(t, e.do("PUT", "/10.0.0.1", nil), 400, "InvalidBucketName")
	if rr := e.do("HEAD", "/withcfg", nil); rr.status != 200 || rr.header.Get("x-amz-bucket-region") != "us-east-1" ||
		rr.header.Get("x-amz-access-point-alias") != "false" {
		t.Fatalf("HeadBucket: %d %v", rr.status, rr.header)
	}
	if rr := e.do("HEAD", "/nope", nil); rr.status != 404 || len(rr.body) != 0 {
		t.Fatalf("HeadBucket missing: %d %q", rr.status, rr.body)
	}
}

// ListBuckets honours prefix, bucket-region and max-buckets and pages with
// continuation tokens, as S3 does; the SDK's paginator walks the pages.
func TestListBucketsPaging(t *testing.T) {
	e := newTestServer(t)
	for _, b := range []string{"pa-1", "pa-2", "pa-3", "pb-1", "zz-other"} {
		e.bucket(b)
	}
	c := e.sdk()
	var names []string
	pages := 0
	p := awss3.NewListBucketsPaginator(c, &awss3.ListBucketsInput{Prefix: aws.String("pa-"), MaxBuckets: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if aws.ToString(out.Prefix) != "pa-" {
			t.Errorf("Prefix %q", aws.ToString(out.Prefix))
		}
		for _, b := range out.Buckets {
			if aws.ToString(b.BucketRegion) != "us-east-1" {
				t.Errorf("BucketRegion %q", aws.ToString(b.BucketRegion))
			}
			names = append(names, aws.ToString(b.Name))
		}
	}
	if pages != 2 || strings.Join(names, ",") != "pa-1,pa-2,pa-3" {
		t.Fatalf("%d pages: %v", pages, names)
	}
	out, err := c.ListBuckets(e.ctx, &awss3.ListBucketsInput{BucketRegion: aws.String("eu-west-1")})
	if err != nil || len(out.Buckets) != 0 {
		t.Fatalf("other region: %+v %v", out, err)
	}
	out, err = c.ListBuckets(e.ctx, &awss3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 5 || out.ContinuationToken != nil {
		t.Fatalf("all buckets: %+v %v", out, err)
	}
	wantError(t, e.do("GET", "/?max-buckets=0", nil), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/?max-buckets=10001", nil), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/?continuation-token=%21%21", nil), 400, "InvalidArgument")
}
