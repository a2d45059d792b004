package integration

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func testBuckets(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	before := time.Now().Add(-2 * time.Minute) // allow for modest clock differences
	name := newBucket(t, c)
	after := time.Now().Add(2 * time.Minute)

	ok, err := c.BucketExists(ctx, name)
	if err != nil || !ok {
		t.Fatalf("BucketExists(%s) = %v, %v; want true", name, ok, err)
	}
	missing := bucketName("missing")
	ok, err = c.BucketExists(ctx, missing)
	if err != nil || ok {
		t.Fatalf("BucketExists(missing) = %v, %v; want false, nil", ok, err)
	}

	buckets, err := c.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	var found *minio.BucketInfo
	for i, b := range buckets {
		if i > 0 && buckets[i-1].Name >= b.Name {
			t.Errorf("ListBuckets not sorted: %q before %q", buckets[i-1].Name, b.Name)
		}
		if b.Name == name {
			found = &buckets[i]
		}
	}
	if found == nil {
		t.Fatalf("ListBuckets: %s missing from %v", name, buckets)
	}
	if found.CreationDate.Before(before) || found.CreationDate.After(after) {
		t.Errorf("CreationDate %v is not the real creation time (between %v and %v)", found.CreationDate, before, after)
	}

	loc, err := c.GetBucketLocation(ctx, name)
	if err != nil || loc != testRegion {
		t.Errorf("GetBucketLocation = %q, %v; want %q", loc, err, testRegion)
	}
	r := tg.do(t, rawReq{method: http.MethodGet, path: "/" + name, query: q("location", "")})
	r.wantStatus(t, http.StatusOK)
	var lc struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		Value   string   `xml:",chardata"`
	}
	if err := xml.Unmarshal(r.Body, &lc); err != nil || (lc.Value != "" && lc.Value != testRegion) {
		t.Errorf("GetBucketLocation body %q (%v): want a LocationConstraint of us-east-1 or empty", r.Body, err)
	}

	// Duplicate create.
	err = c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: testRegion})
	if code := errCode(err); code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
		t.Errorf("creating %s twice: %v (code %q), want BucketAlreadyOwnedByYou", name, err, code)
	}

	// HEAD of a missing bucket is a bare 404.
	r = tg.do(t, rawReq{method: http.MethodHead, path: "/" + missing})
	r.wantStatus(t, http.StatusNotFound)

	// Delete, then it is gone.
	if err := c.RemoveBucket(ctx, name); err != nil {
		t.Fatalf("RemoveBucket: %v", err)
	}
	if ok, err := c.BucketExists(ctx, name); err != nil || ok {
		t.Fatalf("BucketExists after delete = %v, %v", ok, err)
	}
	wantCode(t, c.RemoveBucket(ctx, name), "NoSuchBucket")
	buckets, err = c.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	for _, b := range buckets {
		if b.Name == name {
			t.Fatalf("deleted bucket %s still listed", name)
		}
	}
	// The name can be reused.
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: testRegion}); err != nil {
		t.Fatalf("re-creating a deleted bucket: %v", err)
	}
}

func testBucketNames(t *testing.T, tg *target) {
	invalid := []string{
		"ab",                     // too short
		strings.Repeat("a", 64),  // too long
		"UpperCase",              // upper case
		"under_score",            // underscore
		"-leading-dash",          // must start with a letter or digit
		"trailing-dash-",         // must end with a letter or digit
		"double..dots",           // adjacent periods
		"dot.-dash",              // period next to dash
		"192.168.10.20",          // IP address
		"xn--punycode-prefix",    // reserved prefix
		"suffix-name--ol-s3",     // reserved suffix
		"space name",             // space
		"bad!char",               // punctuation
		"endswith.",              // period at the end
		"sthree-reserved-prefix", // reserved prefix
	}
	for _, name := range invalid {
		t.Run(name, func(t *testing.T) {
			r := tg.do(t, rawReq{method: http.MethodPut, path: "/" + name})
			r.wantError(t, http.StatusBadRequest, "InvalidBucketName")
		})
	}
	valid := []string{
		"abc",
		strings.Repeat("b", 63),
		"with.dots.and-dashes-" + randomName(6),
		"0digits-first-" + randomName(6),
	}
	for _, name := range valid {
		t.Run("valid-"+name[:3], func(t *testing.T) {
			name := name
			if name == "abc" {
				name = "a" + randomName(2) // keep it 3 long but unique
			}
			if len(name) == 63 {
				name = strings.Repeat("b", 53) + randomName(10)
			}
			r := tg.do(t, rawReq{method: http.MethodPut, path: "/" + name})
			r.wantStatus(t, http.StatusOK)
			r = tg.do(t, rawReq{method: http.MethodHead, path: "/" + name})
			r.wantStatus(t, http.StatusOK)
			r = tg.do(t, rawReq{method: http.MethodDelete, path: "/" + name})
			r.wantStatus(t, http.StatusNoContent)
		})
	}
}

func testDeleteBucketNotEmpty(t *testing.T, tg *target) {
	ctx := ctxT(t)
	c := tg.c
	b := newBucket(t, c)
	putBytes(t, c, b, "a/b/c", []byte("x"), minio.PutObjectOptions{})
	r := tg.do(t, rawReq{method: http.MethodDelete, path: "/" + b})
	r.wantError(t, http.StatusConflict, "BucketNotEmpty")
	if err := c.RemoveObject(ctx, b, "a/b/c", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("RemoveObject: %v", err)
	}
	// An unfinished multipart upload keeps nothing visible, but a versioned
	// bucket with only old versions / delete markers is not empty.
	vb := newBucket(t, c)
	if err := c.EnableVersioning(ctx, vb); err != nil {
		t.Fatalf("EnableVersioning: %v", err)
	}
	putBytes(t, c, vb, "k", []byte("v1"), minio.PutObjectOptions{})
	if err := c.RemoveObject(ctx, vb, "k", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("RemoveObject (delete marker): %v", err)
	}
	r = tg.do(t, rawReq{method: http.MethodDelete, path: "/" + vb})
	r.wantError(t, http.StatusConflict, "BucketNotEmpty")

	if err := c.RemoveBucket(ctx, b); err != nil {
		t.Fatalf("RemoveBucket of an emptied bucket: %v", err)
	}
	// Missing bucket.
	r = tg.do(t, rawReq{method: http.MethodDelete, path: "/" + bucketName("missing")})
	r.wantError(t, http.StatusNotFound, "NoSuchBucket")
}
