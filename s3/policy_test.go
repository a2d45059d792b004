package s3

import (
	"bytes"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestBucketPolicyAnonymous: a policy opens exactly what it says to
// unsigned requests; a Deny wins; an Allow with a condition does not apply.
func TestBucketPolicyAnonymous(t *testing.T) {
	e := newTestServer(t)
	e.bucket("pub")
	e.put("pub", "public/a.txt", "open", minio.PutObjectOptions{})
	e.put("pub", "private/b.txt", "closed", minio.PutObjectOptions{})

	anonGet := func(target string) rawResponse { return e.doAnon("GET", target, nil) }
	wantError(t, anonGet("/pub/public/a.txt"), 403, "AccessDenied")

	policy := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::pub/*"]},
	 {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/private/*"},
	 {"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::pub",
	  "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`
	if rr := e.do("PUT", "/pub?policy", []byte(policy)); rr.status != 204 {
		t.Fatalf("put policy: %d %s", rr.status, rr.body)
	}
	if rr := anonGet("/pub/public/a.txt"); rr.status != 200 || string(rr.body) != "open" {
		t.Fatalf("anonymous GET of a public object: %d %s", rr.status, rr.body)
	}
	if rr := e.doAnon("HEAD", "/pub/public/a.txt", nil); rr.status != 200 {
		t.Fatalf("anonymous HEAD: %d", rr.status)
	}
	wantError(t, anonGet("/pub/private/b.txt"), 403, "AccessDenied")                   // explicit Deny
	wantError(t, anonGet("/pub?list-type=2"), 403, "AccessDenied")                     // Allow under a condition
	wantError(t, e.doAnon("PUT", "/pub/public/new", []byte("x")), 403, "AccessDenied") // not allowed
	wantError(t, e.doAnon("DELETE", "/pub?policy", nil), 403, "AccessDenied")
	if got := e.get("pub", "public/a.txt", minio.GetObjectOptions{}); got != "open" {
		t.Fatalf("signed GET: %q", got)
	}
	// A version needs s3:GetObjectVersion.
	wantError(t, anonGet("/pub/public/a.txt?versionId=null"), 403, "AccessDenied")
	// Without s3:ListBucket a missing key is AccessDenied, so that an
	// anonymous caller cannot tell which keys exist; with it, NoSuchKey.
	wantError(t, anonGet("/pub/public/missing.txt"), 403, "AccessDenied")
	wantError(t, e.do("GET", "/pub/public/missing.txt", nil), 404, "NoSuchKey")
	listing := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::pub/*"]},
	 {"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::pub"}]}`
	if rr := e.do("PUT", "/pub?policy", []byte(listing)); rr.status != 204 {
		t.Fatalf("put policy: %d %s", rr.status, rr.body)
	}
	wantError(t, anonGet("/pub/public/missing.txt"), 404, "NoSuchKey")
	if rr := e.do("PUT", "/pub?policy", []byte(policy)); rr.status != 204 {
		t.Fatalf("put policy back: %d %s", rr.status, rr.body)
	}

	rr := e.do("GET", "/pub?policyStatus", nil)
	if rr.status != 200 || !bytes.Contains(rr.body, []byte("<IsPublic>true</IsPublic>")) {
		t.Fatalf("policy status: %d %s", rr.status, rr.body)
	}
	if rr := e.do("DELETE", "/pub?policy", nil); rr.status != 204 {
		t.Fatalf("delete policy: %d", rr.status)
	}
	wantError(t, anonGet("/pub/public/a.txt"), 403, "AccessDenied")
	wantError(t, e.do("GET", "/pub?policyStatus", nil), 404, "NoSuchBucketPolicy")
	wantError(t, e.do("GET", "/nopub?policyStatus", nil), 404, "NoSuchBucket")
}

func TestBucketPolicyValidation(t *testing.T) {
	e := newTestServer(t)
	e.bucket("val")
	for _, doc := range []string{
		`{"Version":"2012-10-17"}`,
		`{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::val/*"}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::val/*"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Resource":"arn:aws:s3:::val/*"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ec2:RunInstances","Resource":"arn:aws:s3:::val/*"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":7,"Resource":"arn:aws:s3:::val/*"}]}`,
		`{"Version":"2099-01-01","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::val/*"}]}`,
		`{"Version":"","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::val/*"}]}`,
	} {
		wantError(t, e.do("PUT", "/val?policy", []byte(doc)), 400, "MalformedPolicy")
	}
	ok := `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"arn:aws:s3:::va?/*"}}`
	if rr := e.do("PUT", "/val?policy", []byte(ok)); rr.status != 204 {
		t.Fatalf("single-statement policy: %d %s", rr.status, rr.body)
	}
	for _, v := range []string{"2012-10-17", "2008-10-17"} {
		doc := `{"Version":"` + v + `","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::val/*"}}`
		if rr := e.do("PUT", "/val?policy", []byte(doc)); rr.status != 204 {
			t.Fatalf("policy version %s: %d %s", v, rr.status, rr.body)
		}
	}
}

func TestWildMatch(t *testing.T) {
	for _, tc := range []struct {
		p, v string
		want bool
	}{
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y/z", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b", false},
		{"arn:aws:s3:::b/*.jpg", "arn:aws:s3:::b/a/b.jpg", true},
		{"arn:aws:s3:::b/?", "arn:aws:s3:::b/ab", false},
		{"s3:get*", "s3:getobject", true},
		{"*", "", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
	} {
		if got := wildMatch(tc.p, tc.v); got != tc.want {
			t.Errorf("wildMatch(%q, %q) = %v", tc.p, tc.v, got)
		}
	}
}
