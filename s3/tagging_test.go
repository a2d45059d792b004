package s3

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
)

func taggingBody(kv ...string) string {
	var b strings.Builder
	b.WriteString("<Tagging><TagSet>")
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", k2xml(kv[i]), k2xml(kv[i+1]))
	}
	b.WriteString("</TagSet></Tagging>")
	return b.String()
}

func TestObjectTagging(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("tags")
	if err := e.mc.EnableVersioning(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	v1 := e.put(b, "k", "1", minio.PutObjectOptions{UserTags: map[string]string{"a": "1", "b": "x y"}}).VersionID
	v2 := e.put(b, "k", "2", minio.PutObjectOptions{}).VersionID

	got, err := e.mc.GetObjectTagging(e.ctx, b, "k", minio.GetObjectTaggingOptions{VersionID: v1})
	if err != nil || got.ToMap()["a"] != "1" || got.ToMap()["b"] != "x y" {
		t.Fatalf("tags of v1: %v %v", got, err)
	}
	if rr := e.do("HEAD", "/tags/k?versionId="+v1, nil); rr.header.Get("x-amz-tagging-count") != "2" {
		t.Fatalf("x-amz-tagging-count: %v", rr.header)
	}
	if rr := e.do("GET", "/tags/k", nil); rr.header.Get("x-amz-tagging-count") != "" {
		t.Fatalf("untagged latest has a tag count: %v", rr.header)
	}
	tg, _ := tags.NewTags(map[string]string{"env": "prod"}, true)
	if err := e.mc.PutObjectTagging(e.ctx, b, "k", tg, minio.PutObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.mc.GetObjectTagging(e.ctx, b, "k", minio.GetObjectTaggingOptions{})
	if len(got.ToMap()) != 1 || got.ToMap()["env"] != "prod" {
		t.Fatalf("tags of latest: %v", got)
	}
	rr := e.do("GET", "/tags/k?tagging", nil)
	if rr.header.Get("x-amz-version-id") != v2 {
		t.Fatalf("GetObjectTagging version header %q, want %s", rr.header.Get("x-amz-version-id"), v2)
	}
	if err := e.mc.RemoveObjectTagging(e.ctx, b, "k", minio.RemoveObjectTaggingOptions{VersionID: v1}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.mc.GetObjectTagging(e.ctx, b, "k", minio.GetObjectTaggingOptions{VersionID: v1})
	if len(got.ToMap()) != 0 {
		t.Fatalf("tags after delete: %v", got)
	}
	if rr := e.do("DELETE", "/tags/k?tagging", nil); rr.status != 204 {
		t.Fatalf("DeleteObjectTagging: %d", rr.status)
	}

	// Limits.
	eleven := make([]string, 0, 22)
	for i := range 11 {
		eleven = append(eleven, fmt.Sprintf("k%d", i), "v")
	}
	cases := map[string]string{
		"11 tags":       taggingBody(eleven...),
		"duplicate key": taggingBody("a", "1", "a", "2"),
		"long key":      taggingBody(strings.Repeat("k", 129), "v"),
		"long value":    taggingBody("k", strings.Repeat("é", 257)),
		"empty key":     taggingBody("", "v"),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			wantError(t, e.do("PUT", "/tags/k?tagging", []byte(body)), 400, "InvalidTag")
		})
	}
	if rr := e.do("PUT", "/tags/k?tagging", []byte(taggingBody(strings.Repeat("k", 128), strings.Repeat("é", 256)))); rr.status != 200 {
		t.Fatalf("tags at the limits: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do("PUT", "/tags/k?tagging", []byte("<Tagging><TagSet>")), 400, "MalformedXML")
	wantError(t, e.do("PUT", "/tags/missing?tagging", []byte(taggingBody("a", "b"))), 404, "NoSuchKey")
	// S3 answers a header with a repeated or empty key InvalidArgument (a
	// Tagging body with a repeated key is InvalidTag, above).
	wantError(t, e.do("PUT", "/tags/h", []byte("x"), "x-amz-tagging", "a=1&a=2"), 400, "InvalidArgument")
	wantError(t, e.do("PUT", "/tags/h", []byte("x"), "x-amz-tagging", "="), 400, "InvalidArgument")
	wantError(t, e.do("POST", "/tags/h?uploads", nil, "x-amz-tagging", "a=1&b=2&a=3"), 400, "InvalidArgument")
	wantError(t, e.do("PUT", "/tags/h", []byte("x"), "x-amz-tagging", "k="+url.QueryEscape(strings.Repeat("v", 257))), 400, "InvalidTag")
}

func TestTaggingDirectiveOnCopy(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("tagcopy")
	e.put(b, "src", "x", minio.PutObjectOptions{UserTags: map[string]string{"a": "1"}})
	if rr := e.do("PUT", "/tagcopy/copied", nil, "x-amz-copy-source", "/tagcopy/src"); rr.status != 200 {
		t.Fatalf("copy: %d %s", rr.status, rr.body)
	}
	if rr := e.do("HEAD", "/tagcopy/copied", nil); rr.header.Get("x-amz-tagging-count") != "1" {
		t.Fatalf("COPY tagging: %v", rr.header)
	}
	rr := e.do("PUT", "/tagcopy/replaced", nil, "x-amz-copy-source", "/tagcopy/src",
		"x-amz-tagging-directive", "REPLACE", "x-amz-tagging", "b=2&c=3")
	if rr.status != 200 {
		t.Fatalf("copy REPLACE tags: %d %s", rr.status, rr.body)
	}
	got, _ := e.mc.GetObjectTagging(e.ctx, b, "replaced", minio.GetObjectTaggingOptions{})
	if m := got.ToMap(); len(m) != 2 || m["b"] != "2" || m["c"] != "3" {
		t.Fatalf("REPLACE tags: %v", m)
	}
}

func TestBucketTagging(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("btags")
	_, err := e.mc.GetBucketTagging(e.ctx, b)
	wantMinioError(t, err, "NoSuchTagSet")
	tg, _ := tags.NewTags(map[string]string{"team": "storage", "cost": "42"}, false)
	if err := e.mc.SetBucketTagging(e.ctx, b, tg); err != nil {
		t.Fatal(err)
	}
	got, err := e.mc.GetBucketTagging(e.ctx, b)
	if err != nil || got.ToMap()["team"] != "storage" || got.ToMap()["cost"] != "42" {
		t.Fatalf("bucket tags: %v %v", got, err)
	}
	fifty := make([]string, 0, 102)
	for i := range 51 {
		fifty = append(fifty, fmt.Sprintf("k%d", i), "v")
	}
	rr := e.do("PUT", "/btags?tagging", []byte(taggingBody(fifty...)))
	wantError(t, rr, 400, "InvalidTag")
	if !strings.Contains(string(rr.body), "Bucket tag count cannot be greater than 50") {
		t.Fatalf("51 bucket tags: %s", rr.body)
	}
	if rr := e.do("PUT", "/btags?tagging", []byte(taggingBody(fifty[:100]...))); rr.status != 204 {
		t.Fatalf("50 bucket tags: %d %s", rr.status, rr.body)
	}
	if err := e.mc.RemoveBucketTagging(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	_, err = e.mc.GetBucketTagging(e.ctx, b)
	wantMinioError(t, err, "NoSuchTagSet")
	wantError(t, e.do("GET", "/nobtags?tagging", nil), 404, "NoSuchBucket")
}

// TestTagCharacters: S3 allows letters, digits and spaces (any script) and
// + - = . _ : / @ in tag keys and values, and refuses anything else with
// InvalidTag, in a Tagging body and in x-amz-tagging alike.
func TestTagCharacters(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("tagchars")
	e.put(b, "k", "x", minio.PutObjectOptions{})
	if rr := e.do("PUT", "/tagchars/k?tagging", []byte(taggingBody("a+-=._:/@ Z9", "é 日本 +-=._:/@", "v", ""))); rr.status != 200 {
		t.Fatalf("allowed characters: %d %s", rr.status, rr.body)
	}
	for _, kv := range [][2]string{
		{"a#b", "v"}, {"k", "x*y"}, {"k", "a,b"}, {"k(1)", "v"}, {"k", "50%"}, {"k", "a\tb"}, {"k!", "v"},
	} {
		t.Run(kv[0]+"="+kv[1], func(t *testing.T) {
			wantError(t, e.do("PUT", "/tagchars/k?tagging", []byte(taggingBody(kv[0], kv[1]))), 400, "InvalidTag")
			hdr := url.Values{kv[0]: {kv[1]}}.Encode()
			wantError(t, e.do("PUT", "/tagchars/h", []byte("x"), "x-amz-tagging", hdr), 400, "InvalidTag")
			wantError(t, e.do("PUT", "/tagchars?tagging", []byte(taggingBody(kv[0], kv[1]))), 400, "InvalidTag")
		})
	}
}

// TestConfigBodyContentMD5: the configuration PUTs check Content-MD5
// against the body as S3 does: a mismatch is BadDigest, a malformed value
// InvalidDigest, a matching one succeeds.
func TestConfigBodyContentMD5(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("md5cfg")
	e.put(b, "k", "x", minio.PutObjectOptions{})
	acl := `<AccessControlPolicy><Owner><ID>` + envAccessKey + `</ID></Owner><AccessControlList><Grant>` +
		`<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + envAccessKey +
		`</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`
	for _, tc := range []struct{ name, target, body string }{
		{"PutObjectTagging", "/md5cfg/k?tagging", taggingBody("a", "1")},
		{"PutBucketTagging", "/md5cfg?tagging", taggingBody("a", "1")},
		{"PutBucketVersioning", "/md5cfg?versioning", `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`},
		{"PutBucketAcl", "/md5cfg?acl", acl},
		{"PutObjectAcl", "/md5cfg/k?acl", acl},
		{"PutBucketCors", "/md5cfg?cors", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`},
		{"PutBucketLifecycleConfiguration", "/md5cfg?lifecycle", `<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>x/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`},
		{"PutBucketPolicy", "/md5cfg?policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::md5cfg/*"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := md5.Sum([]byte(tc.body + " "))
			wantError(t, e.do("PUT", tc.target, []byte(tc.body), "Content-MD5", base64.StdEncoding.EncodeToString(other[:])), 400, "BadDigest")
			wantError(t, e.do("PUT", tc.target, []byte(tc.body), "Content-MD5", "not-an-md5"), 400, "InvalidDigest")
			sum := md5.Sum([]byte(tc.body))
			if rr := e.do("PUT", tc.target, []byte(tc.body), "Content-MD5", base64.StdEncoding.EncodeToString(sum[:])); rr.status/100 != 2 {
				t.Fatalf("matching Content-MD5: %d %s", rr.status, rr.body)
			}
		})
	}
}

// TestConfigPutNoSuchBucket: a configuration PUT to a missing bucket is
// NoSuchBucket whatever its body, as in S3.
func TestConfigPutNoSuchBucket(t *testing.T) {
	e := newTestServer(t)
	for _, target := range []string{"/nobucket?tagging", "/nobucket?versioning", "/nobucket?cors", "/nobucket?lifecycle", "/nobucket?policy"} {
		for _, body := range []string{"", "<x>", taggingBody("a", "1")} {
			wantError(t, e.do("PUT", target, []byte(body)), 404, "NoSuchBucket")
		}
	}
}
