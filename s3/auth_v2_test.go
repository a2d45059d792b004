package s3

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestSignatureV2 drives the server with minio-go signing Version 2:
// header-signed reads, writes, listings and sub-resources, a multipart
// upload, presigned URLs, and the failures.
func TestSignatureV2(t *testing.T) {
	e := newTestServer(t)
	e.bucket("legacy")
	v2 := e.client(func(o *minio.Options) { o.Creds = credentials.NewStaticV2(envAccessKey, envSecretKey, "") })
	ctx := e.ctx
	body := []byte("signed the old way")
	if _, err := v2.PutObject(ctx, "legacy", "dir/a key+x", bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ContentType: "text/plain", UserTags: map[string]string{"t": "1"}}); err != nil {
		t.Fatal(err)
	}
	if got := e.get("legacy", "dir/a key+x", minio.GetObjectOptions{}); got != string(body) {
		t.Fatalf("stored %q", got)
	}
	obj, err := v2.GetObject(ctx, "legacy", "dir/a key+x", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(obj); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("V2 GET %q %v", got, err)
	}
	if tags, err := v2.GetObjectTagging(ctx, "legacy", "dir/a key+x", minio.GetObjectTaggingOptions{}); err != nil || tags.ToMap()["t"] != "1" {
		t.Fatalf("V2 tagging (a signed sub-resource): %v %v", tags, err)
	}
	n := 0
	for o := range v2.ListObjects(ctx, "legacy", minio.ListObjectsOptions{Prefix: "dir/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("V2 listing: %d objects", n)
	}
	big := bytes.Repeat([]byte("m"), 6<<20)
	if _, err := v2.PutObject(ctx, "legacy", "multi", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
		t.Fatalf("V2 multipart: %v", err)
	}

	u, err := v2.PresignedGetObject(ctx, "legacy", "dir/a key+x", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u.RawQuery, "AWSAccessKeyId=") {
		t.Fatalf("not a V2 URL: %s", u)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("V2 presigned GET: %d %q", resp.StatusCode, got)
	}

	// Failures.
	wrong := e.client(func(o *minio.Options) { o.Creds = credentials.NewStaticV2(envAccessKey, "not the secret", "") })
	if _, err := wrong.StatObject(ctx, "legacy", "multi", minio.StatObjectOptions{}); minio.ToErrorResponse(err).StatusCode != 403 {
		t.Fatalf("wrong secret: %v", err)
	}
	unknown := e.client(func(o *minio.Options) { o.Creds = credentials.NewStaticV2("nobody", envSecretKey, "") })
	if _, err := unknown.GetObjectTagging(ctx, "legacy", "multi", minio.GetObjectTaggingOptions{}); minio.ToErrorResponse(err).Code != "InvalidAccessKeyId" {
		t.Fatalf("unknown key: %v", err)
	}
	q := u.Query()
	q.Set("Expires", "1000000000")
	wantError(t, e.doAnon("GET", u.Path+"?"+q.Encode(), nil), 403, "AccessDenied")
	q = u.Query()
	q.Set("Signature", "AAAA"+q.Get("Signature")[4:])
	wantError(t, e.doAnon("GET", u.Path+"?"+q.Encode(), nil), 403, "SignatureDoesNotMatch")
	req, _ := http.NewRequest("GET", e.srv.URL+"/legacy/multi", nil)
	req.Header.Set("Authorization", "AWS "+envAccessKey+":c2lnbmF0dXJl")
	req.Header.Set("Date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
	wantError(t, e.send(req), 403, "RequestTimeTooSkewed")
}
