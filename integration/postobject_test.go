package integration

import (
	"bytes"
	"encoding/xml"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// postForm sends a browser-style multipart/form-data POST: the fields
// (any order), then the file, to url.
func postForm(t *testing.T, url string, fields map[string]string, filename string, file []byte) (*http.Response, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(file); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, url, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestPostObjectPresignedPolicy uploads through a minio-go presigned POST
// policy with a plain net/http form, as a browser would, and checks that
// the policy is enforced by the real server.
func TestPostObjectPresignedPolicy(t *testing.T) {
	srv := startServer(t)
	c := srv.Client(t)
	ctx := ctxT(t)
	b := newBucket(t, c)

	p := minio.NewPostPolicy()
	for _, err := range []error{
		p.SetBucket(b),
		p.SetKeyStartsWith("uploads/"),
		p.SetContentType("text/plain"),
		p.SetContentLengthRange(1, 64<<10),
		p.SetUserMetadata("origin", "browser"),
		p.SetSuccessStatusAction("201"),
		p.SetExpires(time.Now().UTC().Add(10 * time.Minute)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	u, fields, err := c.PresignedPostPolicy(ctx, p)
	if err != nil {
		t.Fatalf("PresignedPostPolicy: %v", err)
	}

	// A conforming upload: the key chosen inside the allowed prefix.
	body := randomBytes(40 << 10)
	fields["key"] = "uploads/${filename}"
	resp, out := postForm(t, u.String(), fields, "notes.txt", body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s\n%s", resp.StatusCode, out, srv.Log())
	}
	var pr struct {
		Bucket, Key, ETag, Location string
	}
	if err := xml.Unmarshal(out, &pr); err != nil {
		t.Fatalf("PostResponse %q: %v", out, err)
	}
	if pr.Bucket != b || pr.Key != "uploads/notes.txt" || pr.ETag != `"`+md5hex(body)+`"` ||
		pr.Location != srv.URL+"/"+b+"/uploads/notes.txt" || resp.Header.Get("ETag") != pr.ETag {
		t.Fatalf("PostResponse %+v, ETag header %q", pr, resp.Header.Get("ETag"))
	}
	if got := mustGet(t, c, b, "uploads/notes.txt", minio.GetObjectOptions{}); !bytes.Equal(got, body) {
		t.Fatalf("read back %d bytes that differ from the %d uploaded", len(got), len(body))
	}
	st, err := c.StatObject(ctx, b, "uploads/notes.txt", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.ContentType != "text/plain" || st.UserMetadata["Origin"] != "browser" || st.Size != int64(len(body)) {
		t.Fatalf("stat: type %q meta %v size %d", st.ContentType, st.UserMetadata, st.Size)
	}

	// A key outside the allowed prefix is refused and nothing is stored.
	fields["key"] = "private/evil.txt"
	resp, out = postForm(t, u.String(), fields, "evil.txt", []byte("evil"))
	if resp.StatusCode != http.StatusForbidden || !bytes.Contains(out, []byte("<Code>AccessDenied</Code>")) ||
		!bytes.Contains(out, []byte("Invalid according to Policy")) {
		t.Fatalf("policy violation: %d %s", resp.StatusCode, out)
	}
	if _, err := c.StatObject(ctx, b, "private/evil.txt", minio.StatObjectOptions{}); errCode(err) != "NoSuchKey" {
		t.Fatalf("refused upload was stored (stat: %v)", err)
	}

	// Too large for the policy's content-length-range: refused, nothing stored.
	fields["key"] = "uploads/big.bin"
	resp, out = postForm(t, u.String(), fields, "big.bin", randomBytes(65<<10))
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(out, []byte("<Code>EntityTooLarge</Code>")) {
		t.Fatalf("oversized upload: %d %s", resp.StatusCode, out)
	}
	if _, err := c.StatObject(ctx, b, "uploads/big.bin", minio.StatObjectOptions{}); errCode(err) != "NoSuchKey" {
		t.Fatalf("oversized upload was stored (stat: %v)", err)
	}
}
