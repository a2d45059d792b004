package integration

import (
	"context"
	"net/url"
	"testing"

	"github.com/minio/minio-go/v7"
)

// testACLs: ACLs are disabled (every bucket and object is private to its
// owner): reading one shows the owner's full control, setting the same is
// accepted, and asking for more is refused without changing anything.
func testACLs(t *testing.T, tg *target) {
	ctx := context.Background()
	c := tg.c
	b := newBucket(t, c)
	putBytes(t, c, b, "k", []byte("acl body"), minio.PutObjectOptions{})

	info, err := c.GetObjectACL(ctx, b, "k")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Metadata.Get("X-Amz-Acl"); got != "private" {
		t.Fatalf("object ACL reads as %q, want private (grants %+v)", got, info.Grant)
	}
	tg.do(t, rawReq{method: "GET", path: "/" + b, query: url.Values{"acl": {""}}}).wantStatus(t, 200)
	tg.do(t, rawReq{method: "PUT", path: "/" + b, query: url.Values{"acl": {""}}, header: hdr("x-amz-acl", "private")}).wantStatus(t, 200)
	tg.do(t, rawReq{method: "PUT", path: "/" + b + "/k", query: url.Values{"acl": {""}}, header: hdr("x-amz-acl", "bucket-owner-full-control")}).wantStatus(t, 200)
	tg.do(t, rawReq{method: "PUT", path: "/" + b, query: url.Values{"acl": {""}}, header: hdr("x-amz-acl", "public-read")}).
		wantError(t, 400, "AccessControlListNotSupported")
	tg.do(t, rawReq{method: "PUT", path: "/" + b + "/k", query: url.Values{"acl": {""}}, header: hdr("x-amz-acl", "public-read-write")}).
		wantError(t, 400, "AccessControlListNotSupported")
	tg.do(t, rawReq{method: "GET", path: "/" + b + "/missing", query: url.Values{"acl": {""}}}).wantError(t, 404, "NoSuchKey")

	// Still private: an unsigned read is refused, and the object is intact.
	tg.do(t, rawReq{method: "GET", path: "/" + b + "/k", anonymous: true}).wantError(t, 403, "AccessDenied")
	if got, err := getBytes(ctx, c, b, "k", minio.GetObjectOptions{}); err != nil || string(got) != "acl body" {
		t.Fatalf("object after ACL calls: %q, %v", got, err)
	}
}

// testPolicyPublicRead: a bucket policy opens exactly what it names to
// unsigned requests (here: reads under public/), through every node.
func testPolicyPublicRead(t *testing.T, tg *target) {
	ctx := context.Background()
	c := tg.c
	b := newBucket(t, c)
	putBytes(t, c, b, "public/page.html", []byte("<p>hello</p>"), minio.PutObjectOptions{ContentType: "text/html"})
	putBytes(t, c, b, "secret.txt", []byte("no"), minio.PutObjectOptions{})
	anon := func(method, key string) *rawResp {
		return tg.do(t, rawReq{method: method, path: "/" + b + "/" + key, anonymous: true, body: []byte("x")})
	}
	anon("GET", "public/page.html").wantError(t, 403, "AccessDenied")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + b + `/public/*"]}]}`
	if err := c.SetBucketPolicy(ctx, b, policy); err != nil {
		t.Fatal(err)
	}
	r := anon("GET", "public/page.html")
	r.wantStatus(t, 200)
	if string(r.Body) != "<p>hello</p>" {
		t.Fatalf("anonymous read: %q", r.Body)
	}
	anon("GET", "secret.txt").wantError(t, 403, "AccessDenied")
	anon("PUT", "public/new.html").wantError(t, 403, "AccessDenied")
	if _, err := c.StatObject(ctx, b, "public/new.html", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("anonymous PUT stored something: %v", err)
	}
	if err := c.SetBucketPolicy(ctx, b, ""); err != nil { // removes it
		t.Fatal(err)
	}
	anon("GET", "public/page.html").wantError(t, 403, "AccessDenied")
}

// testCORS: a bucket's CORS rules answer unsigned preflights and add the
// Access-Control headers to allowed responses.
func testCORS(t *testing.T, tg *target) {
	c := tg.c
	b := newBucket(t, c)
	putBytes(t, c, b, "asset.js", []byte("js"), minio.PutObjectOptions{})
	preflight := func(origin, method string) *rawResp {
		return tg.do(t, rawReq{method: "OPTIONS", path: "/" + b + "/asset.js", anonymous: true,
			header: hdr("Origin", origin, "Access-Control-Request-Method", method)})
	}
	preflight("https://site.example", "GET").wantError(t, 403, "AccessForbidden")
	cfg := `<CORSConfiguration><CORSRule><AllowedOrigin>https://site.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>60</MaxAgeSeconds></CORSRule></CORSConfiguration>`
	tg.do(t, rawReq{method: "PUT", path: "/" + b, query: url.Values{"cors": {""}}, body: []byte(cfg)}).wantStatus(t, 200)
	r := preflight("https://site.example", "GET")
	r.wantStatus(t, 200)
	if r.Header.Get("Access-Control-Allow-Origin") != "https://site.example" || r.Header.Get("Access-Control-Max-Age") != "60" {
		t.Fatalf("preflight headers: %v", r.Header)
	}
	preflight("https://other.example", "GET").wantError(t, 403, "AccessForbidden")
	preflight("https://site.example", "PUT").wantError(t, 403, "AccessForbidden")
	r = tg.do(t, rawReq{method: "GET", path: "/" + b + "/asset.js", header: hdr("Origin", "https://site.example")})
	r.wantStatus(t, 200)
	if r.Header.Get("Access-Control-Allow-Origin") != "https://site.example" {
		t.Fatalf("GET with Origin: %v", r.Header)
	}
}
