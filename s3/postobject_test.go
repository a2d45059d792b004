package s3

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

type formField struct{ name, value string }

// postCase describes one POST Object form. Zero values give a valid signed
// form: the policy always carries the SigV4 fields' conditions plus conds,
// and expires in an hour.
type postCase struct {
	conds     []string    // extra policy conditions (JSON)
	fields    []formField // fields before the file, after the SigV4 ones
	filename  string
	file      []byte
	noFile    bool
	after     []formField // fields after the file
	expires   time.Duration
	policy    string // raw policy JSON instead of the built one
	policyB64 string // raw policy field instead of the encoded one
	accessKey string
	secret    string
	unsigned  bool // no policy and no SigV4 fields at all
	sigMangle bool // flip the signature
}

// postBody encodes a multipart/form-data body.
func postBody(t *testing.T, fields []formField, filename string, file []byte, noFile bool, after []formField) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	if !noFile {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	for _, f := range after {
		if err := mw.WriteField(f.name, f.value); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// postFields returns the form fields of pc before the file: policy and
// SigV4 fields (signed with minio-go's signer) then pc.fields.
func postFields(pc postCase) []formField {
	if pc.unsigned {
		return pc.fields
	}
	now := time.Now().UTC()
	ak, sk := envAccessKey, envSecretKey
	if pc.accessKey != "" {
		ak = pc.accessKey
	}
	if pc.secret != "" {
		sk = pc.secret
	}
	date := now.Format("20060102T150405Z")
	cred := ak + "/" + now.Format("20060102") + "/us-east-1/s3/aws4_request"
	exp := pc.expires
	if exp == 0 {
		exp = time.Hour
	}
	pol := pc.policy
	if pol == "" {
		conds := append([]string{
			`{"x-amz-algorithm": "AWS4-HMAC-SHA256"}`,
			`["eq", "$x-amz-credential", "` + cred + `"]`,
			`["eq", "$x-amz-date", "` + date + `"]`,
		}, pc.conds...)
		pol = fmt.Sprintf(`{"expiration": %q, "conditions": [%s]}`,
			now.Add(exp).Format("2006-01-02T15:04:05.000Z"), strings.Join(conds, ", "))
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(pol))
	if pc.policyB64 != "" {
		b64 = pc.policyB64
	}
	sig := signer.PostPresignSignatureV4(b64, now, sk, "us-east-1")
	if pc.sigMangle {
		sig = strings.Repeat("0", len(sig))
	}
	return append([]formField{
		{"policy", b64},
		{"x-amz-algorithm", "AWS4-HMAC-SHA256"},
		{"x-amz-credential", cred},
		{"x-amz-date", date},
		{"x-amz-signature", sig},
	}, pc.fields...)
}

// post sends pc as an unsigned multipart POST to /bucket.
func (e *testEnv) post(bucket string, pc postCase) rawResponse {
	e.t.Helper()
	body, ct := postBody(e.t, postFields(pc), pc.filename, pc.file, pc.noFile, pc.after)
	return e.postRaw("/"+bucket, body, ct)
}

func (e *testEnv) postRaw(target string, body []byte, contentType string) rawResponse {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+target, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return e.send(req)
}

// wantAbsent asserts that bucket/key does not exist.
func (e *testEnv) wantAbsent(bucket, key string) {
	e.t.Helper()
	if rr := e.do("HEAD", "/"+bucket+"/"+key, nil); rr.status != http.StatusNotFound {
		e.t.Fatalf("%s/%s exists after a refused upload (HEAD %d)", bucket, key, rr.status)
	}
}

func md5hexS(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func TestPostObjectRoute(t *testing.T) {
	s := newRouteTestServer(t)
	cases := []struct {
		target, contentType, want string
	}{
		{"/b1", "multipart/form-data; boundary=xyz", "PostObject"},
		{"/b1/", "Multipart/Form-Data;boundary=xyz", "PostObject"},
		{"/b1?delete", "multipart/form-data; boundary=xyz", "DeleteObjects"},
		{"/b1?delete", "application/xml", "DeleteObjects"},
		{"/b1", "", ""},
		{"/b1", "multipart/mixed; boundary=xyz", ""},
		{"/b1", "application/x-www-form-urlencoded", ""},
		{"/b1/k", "multipart/form-data; boundary=xyz", ""},
	}
	for _, c := range cases {
		r, _ := http.NewRequest(http.MethodPost, "http://localhost"+c.target, nil)
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		if got := s.operation(r); got != c.want {
			t.Errorf("POST %s (%q) = %q, want %q", c.target, c.contentType, got, c.want)
		}
	}
	if !headerMatches(http.Header{"X-Amz-Copy-Source": {"a/b"}}, "x-amz-copy-source") ||
		headerMatches(http.Header{}, "x-amz-copy-source") || !headerMatches(nil, "") {
		t.Error("presence markers no longer match as before")
	}
}

func TestPostObjectUpload(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := newTestServer(t)
	b := e.bucket("posts")
	file := bytes.Repeat([]byte("browser upload "), 10000) // 150 KB: a data file, not inlined
	rr := e.post(b, postCase{
		conds: []string{
			`{"bucket": "posts"}`,
			`["starts-with", "$key", "user/eric/"]`,
			`["starts-with", "$Content-Type", "image/"]`,
			`{"cache-control": "max-age=60"}`,
			`["starts-with", "$Content-Disposition", ""]`,
			`{"x-amz-meta-color": "blue"}`,
			`["starts-with", "$tagging", ""]`,
			`["content-length-range", 1, 1048576]`,
		},
		fields: []formField{
			{"key", "user/eric/photo.png"},
			{"Content-Type", "image/png"},
			{"Cache-Control", "max-age=60"},
			{"content-disposition", `attachment; filename="p.png"`},
			{"X-Amz-Meta-Color", "blue"},
			{"tagging", "<Tagging><TagSet><Tag><Key>k1</Key><Value>v1</Value></Tag></TagSet></Tagging>"},
			{"x-ignore-anything", "not in the policy"},
		},
		filename: "local.png",
		file:     file,
	})
	if rr.status != http.StatusNoContent || len(rr.body) != 0 {
		t.Fatalf("POST: %d %s", rr.status, rr.body)
	}
	if rr.header.Get("ETag") != `"`+md5hexS(file)+`"` {
		t.Fatalf("ETag %q, want the MD5 of the file", rr.header.Get("ETag"))
	}
	if want := e.srv.URL + "/posts/user/eric/photo.png"; rr.header.Get("Location") != want {
		t.Fatalf("Location %q, want %q", rr.header.Get("Location"), want)
	}
	if rr.header.Get("x-amz-version-id") != "" {
		t.Fatalf("x-amz-version-id on an unversioned bucket: %q", rr.header.Get("x-amz-version-id"))
	}
	if got := e.get(b, "user/eric/photo.png", minio.GetObjectOptions{}); got != string(file) {
		t.Fatalf("stored %d bytes, want %d", len(got), len(file))
	}
	h := e.do("HEAD", "/posts/user/eric/photo.png", nil)
	for k, v := range map[string]string{
		"Content-Type": "image/png", "Cache-Control": "max-age=60",
		"Content-Disposition": `attachment; filename="p.png"`, "X-Amz-Meta-Color": "blue",
		"x-amz-tagging-count": "1", "Content-Length": fmt.Sprint(len(file)),
	} {
		if got := h.header.Get(k); got != v {
			t.Errorf("HEAD %s = %q, want %q", k, got, v)
		}
	}
	if h.header.Get("X-Amz-Meta-Anything") != "" || h.header.Get("X-Ignore-Anything") != "" {
		t.Errorf("x-ignore- field stored: %v", h.header)
	}
	var logged map[string]any
	for _, l := range e.accessLines() {
		if l["operation"] == "PostObject" {
			logged = l
		}
	}
	if logged["access_key"] != envAccessKey || logged["key"] != "user/eric/photo.png" || logged["status"] != float64(204) ||
		logged["bytes_in"].(float64) < float64(len(file)) {
		t.Errorf("access log %v", logged)
	}
	if ents, err := os.ReadDir(tmp); err != nil || len(ents) != 0 {
		t.Errorf("temporary files left behind: %v %v", ents, err)
	}
}

func TestPostObjectFilenameAndDefaults(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("names")
	rr := e.post(b, postCase{
		conds:    []string{`["starts-with", "$key", "in/"]`},
		fields:   []formField{{"key", "in/${filename}"}},
		filename: "report 1.txt",
		file:     []byte("hello"),
		after:    []formField{{"x-amz-meta-late", "ignored"}, {"key", "elsewhere"}},
	})
	if rr.status != http.StatusNoContent {
		t.Fatalf("POST: %d %s", rr.status, rr.body)
	}
	if got := e.get(b, "in/report 1.txt", minio.GetObjectOptions{}); got != "hello" {
		t.Fatalf("GET %q", got)
	}
	if rr.header.Get("Location") != e.srv.URL+"/names/in/report%201.txt" {
		t.Errorf("Location %q", rr.header.Get("Location"))
	}
	h := e.do("HEAD", "/names/in/report%201.txt", nil)
	if h.header.Get("Content-Type") != "binary/octet-stream" || h.header.Get("X-Amz-Meta-Late") != "" {
		t.Fatalf("HEAD %v", h.header)
	}
	e.wantAbsent(b, "elsewhere")
}

func TestPostObjectSuccessStatus(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("status")
	for _, c := range []struct {
		value string
		want  int
	}{{"200", 200}, {"201", 201}, {"204", 204}, {"", 204}, {"302", 204}} {
		key := "k" + c.value
		rr := e.post(b, postCase{
			conds:  []string{`["starts-with", "$key", ""]`, `["starts-with", "$success_action_status", ""]`},
			fields: []formField{{"key", key}, {"success_action_status", c.value}},
			file:   []byte("body " + c.value),
		})
		if rr.status != c.want {
			t.Fatalf("success_action_status %q: %d %s, want %d", c.value, rr.status, rr.body, c.want)
		}
		etag := `"` + md5hexS([]byte("body "+c.value)) + `"`
		if rr.header.Get("ETag") != etag {
			t.Errorf("%q: ETag %q", c.value, rr.header.Get("ETag"))
		}
		if c.want != 201 {
			if len(rr.body) != 0 {
				t.Errorf("%q: body %q", c.value, rr.body)
			}
			continue
		}
		var pr struct {
			XMLName                     xml.Name `xml:"PostResponse"`
			Location, Bucket, Key, ETag string
		}
		if err := xml.Unmarshal(rr.body, &pr); err != nil {
			t.Fatalf("201 body %q: %v", rr.body, err)
		}
		if pr.Bucket != b || pr.Key != key || pr.ETag != etag || pr.Location != e.srv.URL+"/status/"+key ||
			rr.header.Get("Content-Type") != "application/xml" {
			t.Fatalf("201 response %+v %v", pr, rr.header)
		}
	}
}

func TestPostObjectRedirect(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("redir")
	noFollow := *http.DefaultClient
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, field := range []string{"success_action_redirect", "redirect"} {
		fields := postFields(postCase{
			conds:  []string{`["starts-with", "$key", ""]`, `["starts-with", "$` + field + `", "https://app.example/"]`},
			fields: []formField{{"key", "a b/" + field}, {field, "https://app.example/done?x=1"}},
		})
		body, ct := postBody(t, fields, "", []byte("redirected"), false, nil)
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/"+b, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: status %d", field, resp.StatusCode)
		}
		u, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || u.Host != "app.example" || u.Path != "/done" {
			t.Fatalf("%s: Location %q", field, resp.Header.Get("Location"))
		}
		q := u.Query()
		if q.Get("x") != "1" || q.Get("bucket") != b || q.Get("key") != "a b/"+field ||
			q.Get("etag") != `"`+md5hexS([]byte("redirected"))+`"` {
			t.Fatalf("%s: redirect query %v", field, q)
		}
	}
	// A value that is not an http(s) URL is ignored, as S3 does.
	rr := e.post(b, postCase{
		conds:  []string{`["starts-with", "$key", ""]`, `["starts-with", "$success_action_redirect", ""]`},
		fields: []formField{{"key", "plain"}, {"success_action_redirect", "javascript:alert(1)"}},
		file:   []byte("x"),
	})
	if rr.status != http.StatusNoContent {
		t.Fatalf("bad redirect: %d %s", rr.status, rr.body)
	}
}

func TestPostObjectPolicyViolations(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("policed")
	keyOK := `["starts-with", "$key", "user/"]`
	cases := []struct {
		name string
		pc   postCase
		msg  string // in the error message
	}{
		{"expired", postCase{expires: -time.Minute, conds: []string{keyOK}, fields: []formField{{"key", "user/a"}}},
			"Policy expired"},
		{"field not covered", postCase{conds: []string{keyOK}, fields: []formField{{"key", "user/a"}, {"x-amz-meta-extra", "1"}}},
			"Extra input fields: x-amz-meta-extra"},
		{"starts-with mismatch", postCase{conds: []string{keyOK}, fields: []formField{{"key", "admin/a"}}},
			`Policy Condition failed: ["starts-with","$key","user/"]`},
		{"filename escapes prefix", postCase{conds: []string{`["starts-with", "$key", "user/a"]`},
			fields: []formField{{"key", "user/${filename}"}}, filename: "b.txt"}, "Policy Condition failed"},
		{"eq mismatch", postCase{conds: []string{keyOK, `["eq", "$Content-Type", "image/png"]`},
			fields: []formField{{"key", "user/a"}, {"content-type", "text/html"}}}, "Content-Type"},
		{"content-type list", postCase{conds: []string{keyOK, `["starts-with", "$Content-Type", "image/"]`},
			fields: []formField{{"key", "user/a"}, {"Content-Type", "image/png, text/html"}}}, "Policy Condition failed"},
		{"condition on absent field", postCase{conds: []string{keyOK, `{"success_action_status": "201"}`},
			fields: []formField{{"key", "user/a"}}}, "success_action_status"},
		{"other bucket", postCase{conds: []string{keyOK, `{"bucket": "someone-else"}`}, fields: []formField{{"key", "user/a"}}},
			"$bucket"},
		{"signature fields not covered", postCase{policy: `{"expiration": "2999-01-01T00:00:00Z", "conditions": [["starts-with", "$key", ""]]}`,
			fields: []formField{{"key", "user/a"}}}, "Extra input fields: x-amz-algorithm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.pc.file = []byte("data")
			rr := e.post(b, c.pc)
			wantError(t, rr, http.StatusForbidden, "AccessDenied")
			if !strings.Contains(rr.err.Message, "Invalid according to Policy: ") || !strings.Contains(rr.err.Message, c.msg) {
				t.Fatalf("message %q does not name %q", rr.err.Message, c.msg)
			}
			e.wantAbsent(b, "user/a")
			e.wantAbsent(b, "admin/a")
			e.wantAbsent(b, "user/b.txt")
		})
	}
}

func TestPostObjectContentLengthRange(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := newTestServer(t)
	b := e.bucket("sized")
	conds := []string{`["starts-with", "$key", ""]`, `["content-length-range", 10, "100"]`}
	for _, c := range []struct {
		size   int
		status int
		code   string
	}{{101, 400, "EntityTooLarge"}, {200000, 400, "EntityTooLarge"}, {9, 400, "EntityTooSmall"}, {0, 400, "EntityTooSmall"},
		{10, 204, ""}, {100, 204, ""}} {
		key := fmt.Sprint("size-", c.size)
		rr := e.post(b, postCase{conds: conds, fields: []formField{{"key", key}}, file: bytes.Repeat([]byte("z"), c.size)})
		if c.code == "" {
			if rr.status != c.status {
				t.Fatalf("size %d: %d %s", c.size, rr.status, rr.body)
			}
			if got := e.get(b, key, minio.GetObjectOptions{}); len(got) != c.size {
				t.Fatalf("size %d: stored %d bytes", c.size, len(got))
			}
			continue
		}
		wantError(t, rr, c.status, c.code)
		e.wantAbsent(b, key)
	}
	if ents, err := os.ReadDir(tmp); err != nil || len(ents) != 0 {
		t.Errorf("temporary files left behind: %v %v", ents, err)
	}
}

func TestPostObjectAuthentication(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("authed")
	conds := []string{`["starts-with", "$key", ""]`}
	base := func() postCase {
		return postCase{conds: conds, fields: []formField{{"key", "k"}}, file: []byte("x")}
	}
	bad := base()
	bad.sigMangle = true
	wantError(t, e.post(b, bad), 403, "SignatureDoesNotMatch")
	wrongSecret := base()
	wrongSecret.secret = "not-the-secret"
	wantError(t, e.post(b, wrongSecret), 403, "SignatureDoesNotMatch")
	unknown := base()
	unknown.accessKey = "nobody"
	wantError(t, e.post(b, unknown), 403, "InvalidAccessKeyId")
	// A policy changed after signing no longer matches its signature.
	tampered := base()
	tampered.policy = `{"expiration": "2999-01-01T00:00:00Z", "conditions": [["starts-with", "$key", ""], ["starts-with", "$x-amz-credential", ""], ["starts-with", "$x-amz-date", ""], ["starts-with", "$x-amz-algorithm", ""]]}`
	fields := postFields(tampered)
	fields[0].value = base64.StdEncoding.EncodeToString([]byte(strings.Replace(tampered.policy, "2999", "2998", 1)))
	body, ct := postBody(t, fields, "", []byte("x"), false, nil)
	wantError(t, e.postRaw("/"+b, body, ct), 403, "SignatureDoesNotMatch")

	anon := postCase{unsigned: true, fields: []formField{{"key", "k"}}, file: []byte("x")}
	wantError(t, e.post(b, anon), 403, "AccessDenied")
	v2 := postCase{unsigned: true, fields: []formField{{"key", "k"}, {"AWSAccessKeyId", envAccessKey}, {"policy", "e30="}, {"signature", "abc"}}, file: []byte("x")}
	wantError(t, e.post(b, v2), 403, "SignatureDoesNotMatch")
	noCred := postCase{unsigned: true, fields: []formField{{"key", "k"}, {"policy", "e30="}, {"x-amz-signature", strings.Repeat("a", 64)}}, file: []byte("x")}
	wantError(t, e.post(b, noCred), 400, "InvalidArgument")
	e.wantAbsent(b, "k")

	good := base()
	if rr := e.post(b, good); rr.status != http.StatusNoContent {
		t.Fatalf("valid form: %d %s", rr.status, rr.body)
	}

	// With anonymous requests allowed, an unsigned form uploads (its
	// policy, if any, still applies).
	ea := newTestServer(t, withConfig(func(c *Config) { c.AllowAnonymous = true }))
	ba := ea.bucket("public")
	if rr := ea.post(ba, anon); rr.status != http.StatusNoContent {
		t.Fatalf("anonymous form: %d %s", rr.status, rr.body)
	}
	if got := ea.get(ba, "k", minio.GetObjectOptions{}); got != "x" {
		t.Fatalf("anonymous upload stored %q", got)
	}
	pol := base64.StdEncoding.EncodeToString([]byte(`{"expiration": "2999-01-01T00:00:00Z", "conditions": [["starts-with", "$key", "pub/"]]}`))
	anonPol := postCase{unsigned: true, fields: []formField{{"key", "k2"}, {"policy", pol}}, file: []byte("x")}
	wantError(t, ea.post(ba, anonPol), 403, "AccessDenied")
	ea.wantAbsent(ba, "k2")

	// Without anonymous requests, a bucket policy may open uploads under a
	// prefix to unsigned forms.
	open := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + b + `/drop/*"}]}`
	if rr := e.do("PUT", "/"+b+"?policy", []byte(open)); rr.status != http.StatusNoContent {
		t.Fatalf("put policy: %d %s", rr.status, rr.body)
	}
	outside := postCase{unsigned: true, fields: []formField{{"key", "outside"}}, file: []byte("x")}
	wantError(t, e.post(b, outside), 403, "AccessDenied")
	e.wantAbsent(b, "outside")
	dropped := postCase{unsigned: true, fields: []formField{{"key", "drop/${filename}"}}, filename: "d.txt", file: []byte("dropped")}
	if rr := e.post(b, dropped); rr.status != http.StatusNoContent {
		t.Fatalf("unsigned form allowed by the policy: %d %s", rr.status, rr.body)
	}
	if got := e.get(b, "drop/d.txt", minio.GetObjectOptions{}); got != "dropped" {
		t.Fatalf("dropped upload: %q", got)
	}
}

func TestPostObjectMalformed(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("malformed")
	conds := []string{`["starts-with", "$key", ""]`}
	cases := []struct {
		name   string
		pc     postCase
		status int
		code   string
	}{
		{"missing file", postCase{conds: conds, fields: []formField{{"key", "k"}}, noFile: true}, 400, "IncorrectNumberOfFilesInPostRequest"},
		{"missing key", postCase{conds: conds, file: []byte("x")}, 400, "UserKeyMustBeSpecified"},
		{"empty key", postCase{conds: conds, fields: []formField{{"key", "${filename}"}}, file: []byte("x")}, 400, "UserKeyMustBeSpecified"},
		{"key too long", postCase{conds: conds, fields: []formField{{"key", strings.Repeat("k", 1025)}}, file: []byte("x")}, 400, "KeyTooLongError"},
		{"policy not base64", postCase{policyB64: "%%%not base64%%%", fields: []formField{{"key", "k"}}, file: []byte("x")}, 400, "InvalidPolicyDocument"},
		{"policy not JSON", postCase{policy: `{"expiration": "2999-01-01T00:00:00Z", "conditions": [`, fields: []formField{{"key", "k"}}, file: []byte("x")}, 400, "InvalidPolicyDocument"},
		{"policy bad condition", postCase{policy: `{"expiration": "2999-01-01T00:00:00Z", "conditions": [["matches", "$key", "k"]]}`, fields: []formField{{"key", "k"}}, file: []byte("x")}, 400, "InvalidPolicyDocument"},
		{"policy no expiration", postCase{policy: `{"conditions": []}`, fields: []formField{{"key", "k"}}, file: []byte("x")}, 400, "InvalidPolicyDocument"},
		{"duplicate field", postCase{conds: conds, fields: []formField{{"key", "k"}, {"Key", "k"}}, file: []byte("x")}, 400, "InvalidArgument"},
		{"bucket field differs", postCase{conds: append(conds, `["starts-with", "$bucket", ""]`), fields: []formField{{"key", "k"}, {"bucket", "other"}}, file: []byte("x")}, 400, "InvalidArgument"},
		{"fields too large", postCase{conds: append(conds, `["starts-with", "$x-amz-meta-big", ""]`), fields: []formField{{"key", "k"}, {"x-amz-meta-big", strings.Repeat("b", 30<<10)}}, file: []byte("x")}, 400, "MaxPostPreDataLengthExceeded"},
		{"bad tagging", postCase{conds: append(conds, `["starts-with", "$tagging", ""]`), fields: []formField{{"key", "k"}, {"tagging", "<Tagging>"}}, file: []byte("x")}, 400, "MalformedXML"},
		// ACLs are disabled: the acl field may only say what every object has.
		{"public acl", postCase{conds: append(conds, `{"acl": "public-read"}`), fields: []formField{{"key", "k"}, {"acl", "public-read"}}, file: []byte("x")}, 400, "AccessControlListNotSupported"},
		{"unknown acl", postCase{conds: append(conds, `{"acl": "everyone"}`), fields: []formField{{"key", "k"}, {"acl", "everyone"}}, file: []byte("x")}, 400, "InvalidArgument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.post(b, c.pc), c.status, c.code)
			e.wantAbsent(b, "k")
		})
	}
	t.Run("private acl", func(t *testing.T) {
		rr := e.post(b, postCase{conds: append(conds, `{"acl": "private"}`), fields: []formField{{"key", "acl"}, {"acl", "private"}}, file: []byte("x")})
		if rr.status != http.StatusNoContent {
			t.Fatalf("acl private: %d %s", rr.status, rr.body)
		}
	})
	t.Run("no such bucket", func(t *testing.T) {
		wantError(t, e.post("nosuchbucket", postCase{conds: conds, fields: []formField{{"key", "k"}}, file: []byte("x")}), 404, "NoSuchBucket")
	})
	t.Run("no boundary", func(t *testing.T) {
		wantError(t, e.postRaw("/"+b, []byte("--x\r\n"), "multipart/form-data"), 400, "MalformedPOSTRequest")
	})
	t.Run("truncated body", func(t *testing.T) {
		body, ct := postBody(t, postFields(postCase{conds: conds, fields: []formField{{"key", "k"}}}), "", bytes.Repeat([]byte("t"), 5000), false, nil)
		wantError(t, e.postRaw("/"+b, body[:len(body)-100], ct), 400, "MalformedPOSTRequest")
		e.wantAbsent(b, "k")
	})
	t.Run("not multipart", func(t *testing.T) {
		wantError(t, e.postRaw("/"+b, []byte("garbage without boundaries"), "multipart/form-data; boundary=zzz"), 400, "MalformedPOSTRequest")
	})
	t.Run("huge part headers", func(t *testing.T) {
		var buf bytes.Buffer
		buf.WriteString("--zzz\r\nContent-Disposition: form-data; name=\"key\"\r\n")
		for buf.Len() < 200<<10 {
			buf.WriteString("X-Filler: " + strings.Repeat("f", 1000) + "\r\n")
		}
		buf.WriteString("\r\nk\r\n--zzz--\r\n")
		rr := e.postRaw("/"+b, buf.Bytes(), "multipart/form-data; boundary=zzz")
		if rr.status != 400 || (rr.err.Code != "MaxPostPreDataLengthExceeded" && rr.err.Code != "MalformedPOSTRequest") {
			t.Fatalf("got %d %s", rr.status, rr.body)
		}
	})
}

func TestPostObjectChecksumsAndVersions(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("sums")
	if err := e.mc.EnableVersioning(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	data := []byte("checksummed body")
	var crc [4]byte
	v := crc32.ChecksumIEEE(data)
	crc[0], crc[1], crc[2], crc[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	good := base64.StdEncoding.EncodeToString(crc[:])
	conds := []string{`["starts-with", "$key", ""]`, `["starts-with", "$x-amz-checksum-crc32", ""]`}

	rr := e.post(b, postCase{conds: conds, fields: []formField{{"key", "c"}, {"x-amz-checksum-crc32", good}}, file: data})
	if rr.status != http.StatusNoContent || rr.header.Get("x-amz-checksum-crc32") != good {
		t.Fatalf("POST: %d %v %s", rr.status, rr.header, rr.body)
	}
	vid := rr.header.Get("x-amz-version-id")
	st, err := e.mc.StatObject(e.ctx, b, "c", minio.StatObjectOptions{})
	if err != nil || vid == "" || st.VersionID != vid {
		t.Fatalf("version header %q, stat %q (%v)", vid, st.VersionID, err)
	}
	h := e.do("HEAD", "/sums/c", nil, "x-amz-checksum-mode", "ENABLED")
	if h.header.Get("x-amz-checksum-crc32") != good {
		t.Fatalf("stored checksum %q", h.header.Get("x-amz-checksum-crc32"))
	}

	wrong := base64.StdEncoding.EncodeToString([]byte{1, 2, 3, 4})
	rr = e.post(b, postCase{conds: conds, fields: []formField{{"key", "d"}, {"x-amz-checksum-crc32", wrong}}, file: data})
	wantError(t, rr, 400, "BadDigest")
	e.wantAbsent(b, "d")
}

func TestParsePostPolicy(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	p, err := parsePostPolicy(enc(`{"expiration": "2030-01-02T03:04:05.000Z", "conditions": [
		{"bucket": "b", "ACL": "private"},
		["EQ", "$X-Amz-Meta-Color", "blue"],
		["starts-with", "$key", ""],
		["content-length-range", 5, 50],
		["content-length-range", "10", 100]]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.expiration.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) || !p.hasRange || p.minLength != 10 || p.maxLength != 50 {
		t.Fatalf("policy %+v", p)
	}
	fields := map[string]string{"acl": "private", "x-amz-meta-color": "blue", "key": "ignored", "bucket": "b"}
	if err := p.check(fields, "b", "any/key"); err != nil {
		t.Fatalf("check: %v", err)
	}
	if err := p.check(fields, "c", "any/key"); err == nil {
		t.Fatal("bucket condition not checked against the URL bucket")
	}
	fields["x-amz-meta-color"] = "Blue"
	if err := p.check(fields, "b", "k"); err == nil {
		t.Fatal("eq is case-sensitive on values")
	}
	for _, bad := range []string{
		`{"expiration": "tomorrow", "conditions": []}`,
		`{"expiration": "2030-01-02T03:04:05Z"}`,
		`{"expiration": "2030-01-02T03:04:05Z", "conditions": [["eq", "key", "x"]]}`,
		`{"expiration": "2030-01-02T03:04:05Z", "conditions": [["eq", "$key"]]}`,
		`{"expiration": "2030-01-02T03:04:05Z", "conditions": [["content-length-range", 10, 5]]}`,
		`{"expiration": "2030-01-02T03:04:05Z", "conditions": [["content-length-range", -1, 5]]}`,
		`{"expiration": "2030-01-02T03:04:05Z", "conditions": [{"key": ["x"]}]}`,
		`{"expiration": "2030-01-02T03:04:05Z", "conditions": [null]}`,
		`{"expiration": "2030-01-02T03:04:05Z", "conditions": [42]}`,
		`[]`,
	} {
		if _, err := parsePostPolicy(enc(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		} else if ae, _ := ToAPIError(err); ae.Code != "InvalidPolicyDocument" {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func FuzzParsePostPolicy(f *testing.F) {
	for _, s := range []string{
		`{"expiration": "2030-01-02T03:04:05.000Z", "conditions": [{"bucket": "b"}, ["starts-with", "$key", "u/"], ["content-length-range", 1, 10]]}`,
		`{"expiration": "2030-01-02T03:04:05Z", "conditions": [["eq", "$Content-Type", "a,b"], {"a": 1}]}`,
		`{"conditions": [[]]}`,
		`{"expiration": 5}`,
		``,
	} {
		f.Add(base64.StdEncoding.EncodeToString([]byte(s)))
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, policy string) {
		p, err := parsePostPolicy(policy)
		if err != nil {
			if ae, _ := ToAPIError(err); ae.Code != "InvalidPolicyDocument" {
				t.Fatalf("error %v", err)
			}
			return
		}
		if p.hasRange && p.minLength < 0 {
			t.Fatalf("negative length range %+v", p)
		}
		_ = p.check(map[string]string{"key": "k", "content-type": "a, b", "x-ignore-x": ""}, "b", "k")
	})
}

// TestPostObjectSpoolDir: the form's file is spooled in Config.SpoolDir
// (the node puts it next to its data), which is left empty.
func TestPostObjectSpoolDir(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		ok   bool
	}{
		{"existing", func(t *testing.T) string { return t.TempDir() }, true},
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "gone") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			e := newTestServer(t, func(c *Config, _ *Backend) { c.SpoolDir = dir })
			b := e.bucket("spool")
			rr := e.post(b, postCase{conds: []string{`{"bucket": "spool"}`, `{"key": "k"}`}, fields: []formField{{"key", "k"}}, file: []byte("spooled")})
			if got := rr.status == http.StatusNoContent; got != tc.ok {
				t.Fatalf("POST with spool dir %s: %d %s", dir, rr.status, rr.body)
			}
			if tc.ok {
				if got := e.get(b, "k", minio.GetObjectOptions{}); got != "spooled" {
					t.Fatalf("stored %q", got)
				}
				if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
					t.Fatalf("spool dir after the upload: %v %v", ents, err)
				}
			}
		})
	}
}

// v2PostFields signs policy as boto3's generate_presigned_post does without
// a SigV4 configuration: AWSAccessKeyId, policy and the base64 HMAC-SHA1 of
// the base64 policy.
func v2PostFields(policy, accessKey, secret string) []formField {
	b64 := base64.StdEncoding.EncodeToString([]byte(policy))
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(b64))
	return []formField{
		{"AWSAccessKeyId", accessKey},
		{"policy", b64},
		{"signature", base64.StdEncoding.EncodeToString(m.Sum(nil))},
	}
}

func TestPostObjectSignatureV2(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("v2form")
	exp := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05Z")
	pol := `{"expiration": "` + exp + `", "conditions": [{"bucket": "` + b + `"}, ["starts-with", "$key", "up/"], {"Content-Type": "text/plain"}, ["content-length-range", 1, 100]]}`
	send := func(fields []formField) rawResponse {
		body, ct := postBody(t, fields, "a.txt", []byte("v2 body"), false, nil)
		return e.postRaw("/"+b, body, ct)
	}
	good := append([]formField{{"key", "up/${filename}"}, {"Content-Type", "text/plain"}}, v2PostFields(pol, envAccessKey, envSecretKey)...)
	if rr := send(good); rr.status != http.StatusNoContent {
		t.Fatalf("V2 form: %d %s", rr.status, rr.body)
	}
	if got := e.get(b, "up/a.txt", minio.GetObjectOptions{}); got != "v2 body" {
		t.Fatalf("V2 upload stored %q", got)
	}
	if ct := e.do("HEAD", "/"+b+"/up/a.txt", nil).header.Get("Content-Type"); ct != "text/plain" {
		t.Fatalf("V2 upload Content-Type %q", ct)
	}

	wrong := append([]formField{{"key", "up/w"}, {"Content-Type", "text/plain"}}, v2PostFields(pol, envAccessKey, "not-the-secret")...)
	wantError(t, send(wrong), 403, "SignatureDoesNotMatch")
	unknown := append([]formField{{"key", "up/u"}, {"Content-Type", "text/plain"}}, v2PostFields(pol, "nobody", envSecretKey)...)
	wantError(t, send(unknown), 403, "InvalidAccessKeyId")
	outside := append([]formField{{"key", "down/o"}, {"Content-Type", "text/plain"}}, v2PostFields(pol, envAccessKey, envSecretKey)...)
	wantError(t, send(outside), 403, "AccessDenied")
	extra := append([]formField{{"key", "up/x"}, {"Content-Type", "text/plain"}, {"x-amz-meta-a", "b"}}, v2PostFields(pol, envAccessKey, envSecretKey)...)
	wantError(t, send(extra), 403, "AccessDenied")
	noPolicy := []formField{{"key", "up/n"}, {"AWSAccessKeyId", envAccessKey}, {"signature", "abc"}}
	wantError(t, send(noPolicy), 400, "InvalidArgument")
	for _, k := range []string{"up/w", "up/u", "down/o", "up/x", "up/n"} {
		e.wantAbsent(b, k)
	}
}
