package s3

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
)

// nopBackend satisfies Backend for tests that never reach the object layer.
type nopBackend struct{ Backend }

func newRouteTestServer(t *testing.T, domains ...string) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Verifier = NewVerifier(map[string]string{"AK": "SK"}, cfg.Region)
	cfg.Domains = domains
	return New(cfg, nopBackend{})
}

func TestRouteTable(t *testing.T) {
	s := newRouteTestServer(t, "s3.example.com")
	cases := []struct {
		method, target, host string
		header               string // header name that must be set
		want                 string
	}{
		{"GET", "/", "", "", "ListBuckets"},
		{"GET", "/health/live", "", "", "HealthLive"},
		{"GET", "/health/ready", "", "", "HealthReady"},
		{"PUT", "/b1", "", "", "CreateBucket"},
		{"PUT", "/b1/", "", "", "CreateBucket"},
		{"HEAD", "/b1", "", "", "HeadBucket"},
		{"DELETE", "/b1", "", "", "DeleteBucket"},
		{"GET", "/b1", "", "", "ListObjects"},
		{"GET", "/b1/?prefix=a", "", "", "ListObjects"},
		{"GET", "/b1?list-type=2", "", "", "ListObjectsV2"},
		{"GET", "/b1?list-type=2&prefix=x&delimiter=/", "", "", "ListObjectsV2"},
		{"GET", "/b1?location", "", "", "GetBucketLocation"},
		{"GET", "/b1?versioning", "", "", "GetBucketVersioning"},
		{"PUT", "/b1?versioning", "", "", "PutBucketVersioning"},
		{"GET", "/b1?versions", "", "", "ListObjectVersions"},
		{"GET", "/b1?versions&prefix=a&key-marker=k", "", "", "ListObjectVersions"},
		{"GET", "/b1?uploads", "", "", "ListMultipartUploads"},
		{"GET", "/b1?tagging", "", "", "GetBucketTagging"},
		{"PUT", "/b1?tagging", "", "", "PutBucketTagging"},
		{"DELETE", "/b1?tagging", "", "", "DeleteBucketTagging"},
		{"GET", "/b1?policy", "", "", "GetBucketPolicy"},
		{"PUT", "/b1?policy", "", "", "PutBucketPolicy"},
		{"DELETE", "/b1?policy", "", "", "DeleteBucketPolicy"},
		{"GET", "/b1?cors", "", "", "GetBucketCors"},
		{"PUT", "/b1?cors", "", "", "PutBucketCors"},
		{"DELETE", "/b1?cors", "", "", "DeleteBucketCors"},
		{"GET", "/b1?lifecycle", "", "", "GetBucketLifecycleConfiguration"},
		{"PUT", "/b1?lifecycle", "", "", "PutBucketLifecycleConfiguration"},
		{"DELETE", "/b1?lifecycle", "", "", "DeleteBucketLifecycle"},
		{"POST", "/b1?delete", "", "", "DeleteObjects"},
		{"GET", "/b1?inventory", "", "", "NotImplemented"},
		{"PUT", "/b1?website", "", "", "NotImplemented"},
		{"DELETE", "/b1?encryption", "", "", "DeleteBucketEncryption"},
		{"DELETE", "/b1?publicAccessBlock", "", "", "NotImplemented"},
		{"GET", "/b1?website", "", "", "GetBucketWebsite"},
		{"GET", "/b1?publicAccessBlock", "", "", "GetPublicAccessBlock"},
		{"PUT", "/b1/k?retention", "", "", "NotImplemented"},
		{"GET", "/b1?acl", "", "", "GetBucketAcl"},
		{"PUT", "/b1?acl", "", "", "PutBucketAcl"},
		{"GET", "/b1/k?acl", "", "", "GetObjectAcl"},
		{"PUT", "/b1/k?acl", "", "", "PutObjectAcl"},
		{"PUT", "/b1/k", "", "", "PutObject"},
		{"PUT", "/b1/a/b/c.txt", "", "", "PutObject"},
		{"PUT", "/b1/k", "", "x-amz-copy-source", "CopyObject"},
		{"GET", "/b1/k", "", "", "GetObject"},
		{"GET", "/b1/k?versionId=v1", "", "", "GetObject"},
		{"GET", "/b1/k?partNumber=2", "", "", "GetObject"},
		{"HEAD", "/b1/k", "", "", "HeadObject"},
		{"DELETE", "/b1/k", "", "", "DeleteObject"},
		{"DELETE", "/b1/k?versionId=v1", "", "", "DeleteObject"},
		{"POST", "/b1/k?uploads", "", "", "CreateMultipartUpload"},
		{"PUT", "/b1/k?partNumber=1&uploadId=u", "", "", "UploadPart"},
		{"PUT", "/b1/k?partNumber=1&uploadId=u", "", "x-amz-copy-source", "UploadPartCopy"},
		{"GET", "/b1/k?uploadId=u", "", "", "ListParts"},
		{"POST", "/b1/k?uploadId=u", "", "", "CompleteMultipartUpload"},
		{"DELETE", "/b1/k?uploadId=u", "", "", "AbortMultipartUpload"},
		{"GET", "/b1/k?tagging", "", "", "GetObjectTagging"},
		{"PUT", "/b1/k?tagging&versionId=v", "", "", "PutObjectTagging"},
		{"DELETE", "/b1/k?tagging", "", "", "DeleteObjectTagging"},
		{"POST", "/b1/k?lock", "", "", "AcquireLock"},
		{"PUT", "/b1/k?lock&token=t", "", "", "RenewLock"},
		{"DELETE", "/b1/k?lock&token=t", "", "", "ReleaseLock"},
		{"GET", "/b1/k?lock", "", "", "GetLock"},
		// Keys that look like sub-resources or paths are still keys.
		{"GET", "/b1/health/live", "", "", "GetObject"},
		{"GET", "/b1//double//slash", "", "", "GetObject"},
		{"GET", "/b1/a%3Fb", "", "", "GetObject"},
		// Virtual-host style.
		{"GET", "/", "b1.s3.example.com", "", "ListObjects"},
		{"GET", "/?list-type=2", "b1.s3.example.com:9000", "", "ListObjectsV2"},
		{"PUT", "/", "b1.s3.example.com", "", "CreateBucket"},
		{"PUT", "/k", "b1.s3.example.com", "", "PutObject"},
		{"GET", "/health/live", "b1.s3.example.com", "", "GetObject"},
		{"POST", "/k?uploads", "b1.s3.example.com", "", "CreateMultipartUpload"},
		{"GET", "/", "s3.example.com", "", "ListBuckets"},
		// Nothing matches.
		{"POST", "/b1/k", "", "", ""},
		{"PATCH", "/b1", "", "", ""},
		{"POST", "/", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.host+tc.target+" "+tc.header, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.host != "" {
				r.Host = tc.host
			}
			if tc.header != "" {
				r.Header.Set(tc.header, "/src/key")
			}
			if got := s.operation(r); got != tc.want {
				t.Fatalf("operation = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRouteVars(t *testing.T) {
	s := newRouteTestServer(t, "s3.example.com")
	cases := []struct {
		target, host, bucket, key string
	}{
		{"/b1/a/b", "", "b1", "a/b"},
		{"/b1//x", "", "b1", "/x"},
		{"/b1/a%20b", "", "b1", "a b"},
		{"/b1/line%0Abreak%0D", "", "b1", "line\nbreak\r"},
		{"/a/x%0Ay", "b1.s3.example.com", "b1", "a/x\ny"},
		{"/a/b", "b1.s3.example.com", "b1", "a/b"},
		{"/b1", "", "b1", ""},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodGet, tc.target, nil)
		if tc.host != "" {
			r.Host = tc.host
		}
		var m = s.matchVars(r)
		if m["bucket"] != tc.bucket || m["key"] != tc.key {
			t.Errorf("%s %s: vars = %v, want bucket %q key %q", tc.host, tc.target, m, tc.bucket, tc.key)
		}
	}
}

func (s *Server) matchVars(r *http.Request) map[string]string {
	var m mux.RouteMatch
	if !s.router.Match(s.addressed(r), &m) {
		return nil
	}
	return m.Vars
}

// A versionId that no version can have (not "null", not the minted form)
// is InvalidArgument, as S3 answers, on reads and deletes alike; nothing
// is deleted.
func TestMalformedVersionIDRefused(t *testing.T) {
	e := newTestServer(t)
	e.bucket("badvid")
	if rr := e.do("PUT", "/badvid/k", []byte("keep me")); rr.status != 200 {
		t.Fatalf("PUT: %d %s", rr.status, rr.body)
	}
	for _, id := range []string{"garbage", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef"} {
		wantError(t, e.do("DELETE", "/badvid/k?versionId="+id, nil), 400, "InvalidArgument")
		wantError(t, e.do("GET", "/badvid/k?versionId="+id, nil), 400, "InvalidArgument")
	}
	wantError(t, e.do("GET", "/badvid/k?versionId=00000000000000000000000000000001", nil), 404, "NoSuchVersion")
	if rr := e.do("GET", "/badvid/k", nil); rr.status != 200 || string(rr.body) != "keep me" {
		t.Fatalf("object after the refused deletes: %d %q", rr.status, rr.body)
	}
}
