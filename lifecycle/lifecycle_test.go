package lifecycle

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"
)

func rule(inner string) []byte {
	return []byte(`<LifecycleConfiguration><Rule>` + inner + `</Rule></LifecycleConfiguration>`)
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		kind      error
	}{
		{"empty", ``, ErrMalformed},
		{"no rules", `<LifecycleConfiguration></LifecycleConfiguration>`, ErrMalformed},
		{"bad status", string(rule(`<Status>On</Status><Expiration><Days>1</Days></Expiration>`)), ErrMalformed},
		{"no action", string(rule(`<Status>Enabled</Status>`)), ErrMalformed},
		{"zero days", string(rule(`<Status>Enabled</Status><Expiration><Days>0</Days></Expiration>`)), ErrInvalid},
		{"two expirations", string(rule(`<Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>`)), ErrMalformed},
		{"date not midnight", string(rule(`<Status>Enabled</Status><Expiration><Date>2030-01-01T01:00:00Z</Date></Expiration>`)), ErrInvalid},
		{"two filters", string(rule(`<Status>Enabled</Status><Filter><Prefix>a</Prefix><ObjectSizeLessThan>4</ObjectSizeLessThan></Filter><Expiration><Days>1</Days></Expiration>`)), ErrMalformed},
		{"marker with tag", string(rule(`<Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>`)), ErrInvalid},
		{"abort with tag", string(rule(`<Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>`)), ErrInvalid},
		{"empty tag key", string(rule(`<Status>Enabled</Status><Filter><Tag><Key></Key><Value>v</Value></Tag></Filter><Expiration><Days>1</Days></Expiration>`)), ErrInvalidTag},
		{"sizes reversed", string(rule(`<Status>Enabled</Status><Filter><And><ObjectSizeGreaterThan>9</ObjectSizeGreaterThan><ObjectSizeLessThan>3</ObjectSizeLessThan></And></Filter><Expiration><Days>1</Days></Expiration>`)), ErrInvalid},
		{"newer out of range", string(rule(`<Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>`)), ErrInvalid},
		{"transition", string(rule(`<Status>Enabled</Status><Transition><Days>1</Days></Transition><Expiration><Days>1</Days></Expiration>`)), ErrNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want kind %v", err, tc.kind)
			}
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" {
				t.Fatalf("error %v says nothing", err)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	lc, err := Parse(rule(`<ID>r</ID><Status>Enabled</Status><Filter><And><Prefix>logs/</Prefix>` +
		`<Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>2</Value></Tag>` +
		`<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter>` +
		`<Expiration><Days>3</Days></Expiration>`))
	if err != nil {
		t.Fatal(err)
	}
	r := &lc.Rules[0]
	tags := map[string]string{"a": "1", "b": "2", "c": "x"}
	for _, tc := range []struct {
		o    Object
		want bool
	}{
		{Object{Key: "logs/x", Size: 50, Tags: tags}, true},
		{Object{Key: "log/x", Size: 50, Tags: tags}, false},
		{Object{Key: "logs/x", Size: 10, Tags: tags}, false},
		{Object{Key: "logs/x", Size: 100, Tags: tags}, false},
		{Object{Key: "logs/x", Size: 50, Tags: map[string]string{"a": "1"}}, false},
		{Object{Key: "logs/x", Size: 50, Tags: map[string]string{"a": "1", "b": "3"}}, false},
	} {
		if got := r.Matches(tc.o); got != tc.want {
			t.Errorf("Matches(%+v) = %v", tc.o, got)
		}
	}
	if !r.MatchesUpload("logs/u") || r.MatchesUpload("x/u") {
		t.Error("MatchesUpload ignores the prefix")
	}
}

func TestCutoffs(t *testing.T) {
	now := time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC)
	day := 2 * time.Second
	lc, err := Parse([]byte(`<LifecycleConfiguration>` +
		`<Rule><ID>days</ID><Status>Enabled</Status><Expiration><Days>3</Days></Expiration>` +
		`<NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>4</NewerNoncurrentVersions></NoncurrentVersionExpiration>` +
		`<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>` +
		`<Rule><ID>past</ID><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>` +
		`<Rule><ID>future</ID><Status>Enabled</Status><Expiration><Date>2031-01-01T00:00:00Z</Date></Expiration></Rule>` +
		`<Rule><ID>off</ID><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>` +
		`<Rule><ID>dm</ID><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>` +
		`<Rule><ID>huge</ID><Status>Enabled</Status><Expiration><Days>2000000000</Days></Expiration></Rule>` +
		`</LifecycleConfiguration>`))
	if err != nil {
		t.Fatal(err)
	}
	r := lc.Rules
	if c, ok := r[0].CurrentCutoff(now, day); !ok || !c.Equal(now.Add(-6*time.Second)) {
		t.Errorf("days cutoff = %v %v", c, ok)
	}
	if c, keep, ok := r[0].NoncurrentCutoff(now, day); !ok || keep != 4 || !c.Equal(now.Add(-4*time.Second)) {
		t.Errorf("noncurrent cutoff = %v %d %v", c, keep, ok)
	}
	if c, ok := r[0].UploadCutoff(now, day); !ok || !c.Equal(now.Add(-2*time.Second)) {
		t.Errorf("upload cutoff = %v %v", c, ok)
	}
	if c, ok := r[1].CurrentCutoff(now, day); !ok || c.Before(now) {
		t.Errorf("past date: cutoff %v %v, want everything due", c, ok)
	}
	if _, ok := r[2].CurrentCutoff(now, day); ok {
		t.Error("future date is due")
	}
	if _, ok := r[3].CurrentCutoff(now, day); ok {
		t.Error("disabled rule is due")
	}
	if !r[4].RemovesDeleteMarkers() || r[0].RemovesDeleteMarkers() {
		t.Error("RemovesDeleteMarkers")
	}
	if _, ok := r[5].CurrentCutoff(now, 24*time.Hour); ok {
		t.Error("an age that overflows is due")
	}
	if !Due(now.Add(-6*time.Second), now, 3, day) || Due(now.Add(-5*time.Second), now, 3, day) {
		t.Error("Due boundary")
	}
}

// TestMarshalNamespace: a configuration read without S3's namespace is
// written in it, and what is written parses back.
func TestMarshalNamespace(t *testing.T) {
	lc, err := Parse(rule(`<ID>r</ID><Status>Enabled</Status><Filter><Prefix>p/</Prefix></Filter><Expiration><Days>1</Days></Expiration>`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := xml.Marshal(lc)
	if err != nil {
		t.Fatal(err)
	}
	if want := `<LifecycleConfiguration xmlns="` + Namespace + `"><Rule><ID>r</ID>`; !strings.HasPrefix(string(b), want) {
		t.Fatalf("marshalled %s, want it to start with %s", b, want)
	}
	back, err := Parse(b)
	if err != nil || len(back.Rules) != 1 || back.Rules[0].KeyPrefix() != "p/" {
		t.Fatalf("parse back %s: %+v %v", b, back, err)
	}
}

func TestExpiry(t *testing.T) {
	lc, err := Parse([]byte(`<LifecycleConfiguration>` +
		`<Rule><ID>logs</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>3</Days></Expiration></Rule>` +
		`<Rule><ID>soon</ID><Status>Enabled</Status><Filter><Prefix>logs/tmp/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule>` +
		`<Rule><ID>off</ID><Status>Disabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule>` +
		`<Rule><ID>date</ID><Status>Enabled</Status><Filter><Tag><Key>t</Key><Value>x</Value></Tag></Filter><Expiration><Date>2030-06-01T00:00:00Z</Date></Expiration></Rule>` +
		`<Rule><ID>markers</ID><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>` +
		`<Rule><ID>old</ID><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>` +
		`</LifecycleConfiguration>`))
	if err != nil {
		t.Fatal(err)
	}
	// S3's example: created 2014-01-15 10:30 UTC, 3 days: due 2014-01-19 00:00 UTC.
	created := time.Date(2014, 1, 15, 10, 30, 0, 0, time.UTC)
	midnight := time.Date(2014, 1, 15, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		o       Object
		created time.Time
		at      time.Time
		rule    string
	}{
		{Object{Key: "logs/a"}, created, time.Date(2014, 1, 19, 0, 0, 0, 0, time.UTC), "logs"},
		{Object{Key: "logs/a"}, midnight, time.Date(2014, 1, 19, 0, 0, 0, 0, time.UTC), "logs"},
		{Object{Key: "logs/tmp/a"}, created, time.Date(2014, 1, 17, 0, 0, 0, 0, time.UTC), "soon"},
		{Object{Key: "x", Tags: map[string]string{"t": "x"}}, created, time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC), "date"},
		{Object{Key: "logs/a", Tags: map[string]string{"t": "x"}}, created, time.Date(2014, 1, 19, 0, 0, 0, 0, time.UTC), "logs"},
		{Object{Key: "other"}, created, time.Time{}, ""},
	} {
		at, rule, ok := lc.Expiry(tc.o, tc.created)
		if ok != (tc.rule != "") || !at.Equal(tc.at) || rule != tc.rule {
			t.Errorf("Expiry(%+v, %v) = %v %q %v, want %v %q", tc.o, tc.created, at, rule, ok, tc.at, tc.rule)
		}
	}
}
