package s3

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGetBucketLifecycleNamespace: GetBucketLifecycleConfiguration answers
// in S3's namespace whether or not the PUT used it.
func TestGetBucketLifecycleNamespace(t *testing.T) {
	e := newTestServer(t)
	e.bucket("lcns")
	for _, root := range []string{`<LifecycleConfiguration>`, `<LifecycleConfiguration xmlns="` + s3NS + `">`} {
		doc := root + `<Rule><ID>r</ID><Status>Enabled</Status><Filter><Prefix>tmp/</Prefix></Filter>` +
			`<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`
		if rr := e.do("PUT", "/lcns?lifecycle", []byte(doc)); rr.status != 200 {
			t.Fatalf("PUT %s: %d %s", root, rr.status, rr.body)
		}
		rr := e.do("GET", "/lcns?lifecycle", nil)
		if want := `<LifecycleConfiguration xmlns="` + s3NS + `"><Rule><ID>r</ID>`; rr.status != 200 || !strings.Contains(string(rr.body), want) {
			t.Fatalf("after PUT %s: GET %d %s, want %s", root, rr.status, rr.body, want)
		}
	}
}

// TestPostObjectExpiration: an upload that a lifecycle rule expires is
// answered with x-amz-expiration naming the day and the rule, as S3 does;
// one that no rule matches has none.
func TestPostObjectExpiration(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("lcexp")
	doc := `<LifecycleConfiguration><Rule><ID>tmp "rule"</ID><Status>Enabled</Status><Filter><Prefix>tmp/</Prefix></Filter>` +
		`<Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>`
	if rr := e.do("PUT", "/lcexp?lifecycle", []byte(doc)); rr.status != 200 {
		t.Fatalf("PUT lifecycle: %d %s", rr.status, rr.body)
	}
	conds := []string{`["starts-with", "$key", ""]`}
	before := time.Now().UTC()
	rr := e.post(b, postCase{conds: conds, fields: []formField{{"key", "tmp/a"}}, file: []byte("x")})
	if rr.status != http.StatusNoContent {
		t.Fatalf("POST: %d %s", rr.status, rr.body)
	}
	header := func(created time.Time) string {
		d := created.AddDate(0, 0, 3)
		return `expiry-date="` + time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).Format(http.TimeFormat) +
			`", rule-id="tmp \"rule\""`
	}
	// The upload was created between before and now (which may straddle
	// midnight UTC).
	if got := rr.header.Get("x-amz-expiration"); got != header(before) && got != header(time.Now().UTC()) {
		t.Fatalf("x-amz-expiration = %q, want %q", got, header(before))
	}
	rr = e.post(b, postCase{conds: conds, fields: []formField{{"key", "keep/a"}}, file: []byte("x")})
	if rr.status != http.StatusNoContent || rr.header.Get("x-amz-expiration") != "" {
		t.Fatalf("POST of an unmatched key: %d %v", rr.status, rr.header)
	}
}

// TestObjectExpirationHeader: PUT, HEAD, GET, CopyObject and
// CompleteMultipartUpload of a current version that a rule expires carry
// x-amz-expiration; a key no rule matches, and a noncurrent version, do
// not; a changed configuration shows at once.
func TestObjectExpirationHeader(t *testing.T) {
	e := newTestServer(t)
	e.bucket("lchdr")
	put := func(days string) {
		doc := `<LifecycleConfiguration><Rule><ID>logs</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter>` +
			`<Expiration><Days>` + days + `</Days></Expiration></Rule></LifecycleConfiguration>`
		if rr := e.do("PUT", "/lchdr?lifecycle", []byte(doc)); rr.status != 200 {
			t.Fatalf("PUT lifecycle: %d %s", rr.status, rr.body)
		}
	}
	put("1")
	want := func(days int, t0, t1 time.Time) []string {
		var out []string
		for _, c := range []time.Time{t0, t1} {
			d := c.UTC().AddDate(0, 0, days+1)
			out = append(out, `expiry-date="`+time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)+`", rule-id="logs"`)
		}
		return out
	}
	check := func(what string, rr rawResponse, ok []string) {
		t.Helper()
		got := rr.header.Get("x-amz-expiration")
		if rr.status/100 != 2 || (ok == nil) != (got == "") || ok != nil && got != ok[0] && got != ok[1] {
			t.Fatalf("%s: %d, x-amz-expiration %q, want one of %q", what, rr.status, got, ok)
		}
	}
	t0 := time.Now()
	check("PUT", e.do("PUT", "/lchdr/logs/a", []byte("x")), want(1, t0, time.Now()))
	check("HEAD", e.do("HEAD", "/lchdr/logs/a", nil), want(1, t0, time.Now()))
	check("GET", e.do("GET", "/lchdr/logs/a", nil), want(1, t0, time.Now()))
	check("PUT unmatched", e.do("PUT", "/lchdr/keep/a", []byte("x")), nil)
	check("HEAD unmatched", e.do("HEAD", "/lchdr/keep/a", nil), nil)
	check("copy", e.do("PUT", "/lchdr/logs/copy", nil, "x-amz-copy-source", "/lchdr/keep/a"), want(1, t0, time.Now()))

	rr := e.do("POST", "/lchdr/logs/mp?uploads", nil)
	id := between(string(rr.body), "<UploadId>", "</UploadId>")
	part := e.do("PUT", "/lchdr/logs/mp?partNumber=1&uploadId="+id, []byte("part"))
	body := `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>` + part.header.Get("ETag") + `</ETag></Part></CompleteMultipartUpload>`
	check("complete", e.do("POST", "/lchdr/logs/mp?uploadId="+id, []byte(body)), want(1, t0, time.Now()))

	put("5")
	check("HEAD after the rule changed", e.do("HEAD", "/lchdr/logs/a", nil), want(5, t0, time.Now()))
	if rr := e.do("DELETE", "/lchdr?lifecycle", nil); rr.status != 204 {
		t.Fatalf("DELETE lifecycle: %d", rr.status)
	}
	check("HEAD without a configuration", e.do("HEAD", "/lchdr/logs/a", nil), nil)
}

// between returns the text of s between the first open and the next close.
func between(s, open, close string) string {
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	if j := strings.Index(s, close); j >= 0 {
		return s[:j]
	}
	return ""
}
