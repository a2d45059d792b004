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
