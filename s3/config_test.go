package s3

import (
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/lifecycle"
)

func TestBucketPolicy(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("pol")
	_, err := e.mc.GetBucketPolicy(e.ctx, b)
	if err != nil {
		t.Fatalf("minio-go maps a missing policy to \"\": %v", err)
	}
	wantError(t, e.do("GET", "/pol?policy", nil), 404, "NoSuchBucketPolicy")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::pol/*"]}]}`
	if err := e.mc.SetBucketPolicy(e.ctx, b, policy); err != nil {
		t.Fatal(err)
	}
	got, err := e.mc.GetBucketPolicy(e.ctx, b)
	if err != nil || got != policy {
		t.Fatalf("policy %q %v", got, err)
	}
	rr := e.do("GET", "/pol?policy", nil)
	if rr.header.Get("Content-Type") != "application/json" || string(rr.body) != policy {
		t.Fatalf("raw policy: %v %s", rr.header, rr.body)
	}
	wantError(t, e.do("PUT", "/pol?policy", []byte(`{"Version":`)), 400, "MalformedPolicy")
	wantError(t, e.do("PUT", "/pol?policy", []byte(`[1,2]`)), 400, "MalformedPolicy")
	wantError(t, e.do("PUT", "/pol?policy", []byte(`{"x":"`+strings.Repeat("a", 21<<10)+`"}`)), 400, "MalformedPolicy")
	if rr := e.do("DELETE", "/pol?policy", nil); rr.status != 204 {
		t.Fatalf("delete policy: %d", rr.status)
	}
	wantError(t, e.do("GET", "/pol?policy", nil), 404, "NoSuchBucketPolicy")
	wantError(t, e.do("PUT", "/nopol?policy", []byte(policy)), 404, "NoSuchBucket")
}

func TestBucketCors(t *testing.T) {
	e := newTestServer(t)
	e.bucket("cors")
	wantError(t, e.do("GET", "/cors?cors", nil), 404, "NoSuchCORSConfiguration")
	good := `<CORSConfiguration><CORSRule><AllowedOrigin>https://example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>`
	if rr := e.do("PUT", "/cors?cors", []byte(good)); rr.status != 200 {
		t.Fatalf("put cors: %d %s", rr.status, rr.body)
	}
	rr := e.do("GET", "/cors?cors", nil)
	var cc corsConfiguration
	if rr.status != 200 || decodeXML(rr.body, &cc) != nil || len(cc.Rules) != 1 || cc.Rules[0].AllowedOrigins[0] != "https://example.com" ||
		len(cc.Rules[0].AllowedMethods) != 2 || *cc.Rules[0].MaxAgeSeconds != 300 {
		t.Fatalf("get cors: %d %s", rr.status, rr.body)
	}
	for body, code := range map[string]string{
		`<CORSConfiguration></CORSConfiguration>`:                                                                                          "MalformedXML",
		`<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`:                                   "MalformedXML",
		`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>`:                                     "MalformedXML",
		`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule>`:                     "MalformedXML",
		`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`: "InvalidRequest",
	} {
		wantError(t, e.do("PUT", "/cors?cors", []byte(body)), 400, code)
	}
	if rr := e.do("DELETE", "/cors?cors", nil); rr.status != 204 {
		t.Fatalf("delete cors: %d", rr.status)
	}
	wantError(t, e.do("GET", "/cors?cors", nil), 404, "NoSuchCORSConfiguration")
}

func TestBucketLifecycleConfiguration(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("lcy")
	_, err := e.mc.GetBucketLifecycle(e.ctx, b)
	wantMinioError(t, err, "NoSuchLifecycleConfiguration")

	cfg := lifecycle.NewConfiguration()
	cfg.Rules = []lifecycle.Rule{
		{ID: "tmp", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "tmp/"},
			Expiration: lifecycle.Expiration{Days: 7}},
		{ID: "old", Status: "Enabled",
			NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 30, NewerNoncurrentVersions: 2}},
		{ID: "mpu", Status: "Disabled", AbortIncompleteMultipartUpload: lifecycle.AbortIncompleteMultipartUpload{DaysAfterInitiation: 3}},
		{ID: "tagged", Status: "Enabled", RuleFilter: lifecycle.Filter{And: lifecycle.And{Prefix: "logs/",
			Tags: []lifecycle.Tag{{Key: "class", Value: "scratch"}}}}, Expiration: lifecycle.Expiration{Days: 1}},
	}
	if err := e.mc.SetBucketLifecycle(e.ctx, b, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := e.mc.GetBucketLifecycle(e.ctx, b)
	if err != nil || len(got.Rules) != 4 || got.Rules[0].Expiration.Days != 7 || got.Rules[0].RuleFilter.Prefix != "tmp/" ||
		got.Rules[1].NoncurrentVersionExpiration.NoncurrentDays != 30 || got.Rules[2].AbortIncompleteMultipartUpload.DaysAfterInitiation != 3 ||
		got.Rules[3].RuleFilter.And.Tags[0].Value != "scratch" {
		t.Fatalf("lifecycle round trip: %+v %v", got, err)
	}
	// The stored document parses back with ParseLifecycle.
	doc, err := e.st.GetBucketConfig(e.ctx, b, lifecycleConfigKind)
	if err != nil {
		t.Fatal(err)
	}
	if lc, err := ParseLifecycle(doc); err != nil || len(lc.Rules) != 4 {
		t.Fatalf("stored document: %v", err)
	}

	rule := func(inner string) string {
		return `<LifecycleConfiguration><Rule>` + inner + `</Rule></LifecycleConfiguration>`
	}
	cases := []struct {
		name, body, code string
	}{
		{"no rules", `<LifecycleConfiguration></LifecycleConfiguration>`, "MalformedXML"},
		{"bad status", rule(`<Status>On</Status><Expiration><Days>1</Days></Expiration>`), "MalformedXML"},
		{"no action", rule(`<Status>Enabled</Status><Filter><Prefix>a</Prefix></Filter>`), "MalformedXML"},
		{"zero days", rule(`<Status>Enabled</Status><Expiration><Days>0</Days></Expiration>`), "InvalidArgument"},
		{"days and date", rule(`<Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>`), "MalformedXML"},
		{"date not midnight", rule(`<Status>Enabled</Status><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>`), "InvalidArgument"},
		{"two filters", rule(`<Status>Enabled</Status><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><Days>1</Days></Expiration>`), "MalformedXML"},
		{"prefix and filter", rule(`<Status>Enabled</Status><Prefix>a</Prefix><Filter></Filter><Expiration><Days>1</Days></Expiration>`), "MalformedXML"},
		{"noncurrent days", rule(`<Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>-1</NoncurrentDays></NoncurrentVersionExpiration>`), "InvalidArgument"},
		{"abort with tag", rule(`<Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>`), "InvalidArgument"},
		{"size bounds", rule(`<Status>Enabled</Status><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Expiration><Days>1</Days></Expiration>`), "InvalidArgument"},
		{"duplicate ids", `<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>`, "InvalidArgument"},
		{"truncated", `<LifecycleConfiguration><Rule>`, "MalformedXML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("PUT", "/lcy?lifecycle", []byte(tc.body)), 400, tc.code)
		})
	}
	if err := e.mc.SetBucketLifecycle(e.ctx, b, lifecycle.NewConfiguration()); err != nil {
		t.Fatal(err) // minio-go deletes the configuration when it has no rules
	}
	wantError(t, e.do("GET", "/lcy?lifecycle", nil), 404, "NoSuchLifecycleConfiguration")
}
