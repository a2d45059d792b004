package s3

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	cases := []struct {
		h     string
		size  int64
		ok    bool
		start int64
		n     int64
		err   bool
	}{
		{"bytes=0-0", 10, true, 0, 1, false},
		{"bytes=0-9", 10, true, 0, 10, false},
		{"bytes= 3 - 4 ", 10, true, 3, 2, false},
		{"bytes=9-", 10, true, 9, 1, false},
		{"bytes=-1", 10, true, 9, 1, false},
		{"bytes=-10", 10, true, 0, 10, false},
		{"bytes=10-", 10, true, 0, 0, true},
		{"bytes=10-20", 10, true, 0, 0, true},
		{"bytes=-0", 10, true, 0, 0, true},
		{"bytes=0-", 0, true, 0, 0, true},
		{"", 10, false, 0, 0, false},
		{"bytes=", 10, false, 0, 0, false},
		{"bytes=-", 10, false, 0, 0, false},
		{"bytes=a-b", 10, false, 0, 0, false},
		{"bytes=+1-2", 10, false, 0, 0, false},
		{"bytes=5-4", 10, false, 0, 0, false},
		{"bytes=0-1,2-3", 10, false, 0, 0, false},
		{"bits=0-1", 10, false, 0, 0, false},
		{"bytes=99999999999999999999-", 10, false, 0, 0, false},
	}
	for _, tc := range cases {
		br, ok := parseRange(tc.h)
		if ok != tc.ok {
			t.Errorf("parseRange(%q) ok = %v", tc.h, ok)
			continue
		}
		if !ok {
			continue
		}
		rg, err := br.resolve(tc.size)
		if (err != nil) != tc.err {
			t.Errorf("%q on %d: err %v", tc.h, tc.size, err)
			continue
		}
		if err == nil && (rg.Start != tc.start || rg.Length != tc.n) {
			t.Errorf("%q on %d: %+v", tc.h, tc.size, rg)
		}
	}
}

func FuzzRange(f *testing.F) {
	for _, s := range []string{"bytes=0-1", "bytes=5-", "bytes=-3", "bytes=0-1,2-3", "bytes= 1 - 2", "bytes=-", "bytes=9223372036854775807-"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		br, ok := parseRange(h)
		if !ok || size < 0 {
			return
		}
		rg, err := br.resolve(size)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) {
				t.Fatalf("resolve error %v", err)
			}
			return
		}
		if rg.Start < 0 || rg.Length <= 0 || rg.Start+rg.Length > size {
			t.Fatalf("%q on %d resolved to %+v", h, size, rg)
		}
	})
}

// checkXMLError asserts a parser refused input with an S3 error.
func checkXMLError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if _, known := ToAPIError(err); !known {
		t.Fatalf("parser returned a non-S3 error: %v", err)
	}
}

func addXMLSeeds(f *testing.F, seeds ...string) {
	for _, s := range append(seeds, "", "<", "<a>", "not xml", "<x><y></x>", strings.Repeat("<a>", 100)) {
		f.Add([]byte(s))
	}
}

func FuzzCompleteMultipartXML(f *testing.F) {
	addXMLSeeds(f,
		`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"abc"</ETag></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>2</PartNumber><ETag>x</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber></Part></CompleteMultipartUpload>`)
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, err := parseCompleteMultipart(b)
		checkXMLError(t, err)
		if err == nil {
			if len(parts) == 0 {
				t.Fatal("accepted an empty part list")
			}
			for _, p := range parts {
				if p.Number < 1 || p.Number > 10000 || p.ETag == "" {
					t.Fatalf("accepted part %+v", p)
				}
			}
		}
	})
}

func FuzzDeleteXML(f *testing.F) {
	addXMLSeeds(f,
		`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>v</VersionId></Object></Delete>`,
		`<Delete><Object><Key>a&amp;b</Key></Object></Delete>`)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseDelete(b)
		checkXMLError(t, err)
		if err == nil && (len(d.Objects) == 0 || len(d.Objects) > maxDeleteObjects) {
			t.Fatalf("accepted %d objects", len(d.Objects))
		}
	})
}

func FuzzVersioningXML(f *testing.F) {
	addXMLSeeds(f,
		`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`,
		`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Suspended</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := parseVersioning(b)
		checkXMLError(t, err)
		if err == nil && v != "Enabled" && v != "Suspended" {
			t.Fatalf("accepted status %q", v)
		}
	})
}

func FuzzTaggingXML(f *testing.F) {
	addXMLSeeds(f,
		`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>`,
		`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>`)
	f.Fuzz(func(t *testing.T, b []byte) {
		tags, err := parseTagging(b, maxObjectTags)
		checkXMLError(t, err)
		if err == nil && len(tags) > maxObjectTags {
			t.Fatalf("accepted %d tags", len(tags))
		}
	})
}

func FuzzLifecycleXML(f *testing.F) {
	addXMLSeeds(f,
		`<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><Prefix>tmp/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><And><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>`,
		`<LifecycleConfiguration><Rule><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>`)
	f.Fuzz(func(t *testing.T, b []byte) {
		lc, err := ParseLifecycle(b)
		checkXMLError(t, err)
		if err == nil {
			if len(lc.Rules) == 0 {
				t.Fatal("accepted no rules")
			}
			if _, err := marshalDoc(lc); err != nil {
				t.Fatalf("accepted configuration does not render: %v", err)
			}
		}
	})
}

func FuzzCORSXML(f *testing.F) {
	addXMLSeeds(f, `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := parseCORS(b)
		checkXMLError(t, err)
	})
}

func FuzzCopySource(f *testing.F) {
	for _, s := range []string{"/b/k", "b/k?versionId=v", "/b/a%20b", "/b", "%zz", "/b/k?versionId="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		src, err := parseCopySource(h)
		checkXMLError(t, err)
		if err == nil && (src.bucket == "" || src.key == "") {
			t.Fatalf("accepted %+v", src)
		}
	})
}
