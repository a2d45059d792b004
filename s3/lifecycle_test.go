package s3

import (
	"strings"
	"testing"
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
