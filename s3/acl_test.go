package s3

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

func TestACLs(t *testing.T) {
	e := newTestServer(t)
	e.bucket("acl")
	e.put("acl", "k", "v", minio.PutObjectOptions{})

	for _, target := range []string{"/acl?acl", "/acl/k?acl"} {
		rr := e.do("GET", target, nil)
		if rr.status != 200 {
			t.Fatalf("GET %s: %d %s", target, rr.status, rr.body)
		}
		var got struct {
			Owner  owner `xml:"Owner"`
			Grants []struct {
				Grantee struct {
					Type string `xml:"type,attr"`
					ID   string `xml:"ID"`
				} `xml:"Grantee"`
				Permission string `xml:"Permission"`
			} `xml:"AccessControlList>Grant"`
		}
		if err := xml.Unmarshal(rr.body, &got); err != nil {
			t.Fatalf("GET %s: %v\n%s", target, err, rr.body)
		}
		if got.Owner.ID != envAccessKey || len(got.Grants) != 1 || got.Grants[0].Grantee.Type != "CanonicalUser" ||
			got.Grants[0].Grantee.ID != envAccessKey || got.Grants[0].Permission != "FULL_CONTROL" {
			t.Fatalf("GET %s: %+v\n%s", target, got, rr.body)
		}
	}
	wantError(t, e.do("GET", "/acl/missing?acl", nil), 404, "NoSuchKey")
	wantError(t, e.do("GET", "/nobucket?acl", nil), 404, "NoSuchBucket")

	ownerOnly := fmt.Sprintf(`<AccessControlPolicy><Owner><ID>%[1]s</ID></Owner><AccessControlList>
<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>%[1]s</ID></Grantee>
<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`, envAccessKey)
	publicRead := `<AccessControlPolicy><AccessControlList>
<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>
<Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`
	for _, target := range []string{"/acl?acl", "/acl/k?acl"} {
		for _, ok := range []struct {
			body   string
			header []string
		}{
			{"", []string{"x-amz-acl", "private"}},
			{"", []string{"x-amz-acl", "bucket-owner-full-control"}},
			{ownerOnly, nil},
		} {
			if rr := e.do("PUT", target, []byte(ok.body), ok.header...); rr.status != 200 {
				t.Errorf("PUT %s %v %q: %d %s", target, ok.header, ok.body, rr.status, rr.body)
			}
		}
		wantError(t, e.do("PUT", target, nil, "x-amz-acl", "public-read"), 400, "AccessControlListNotSupported")
		wantError(t, e.do("PUT", target, nil, "x-amz-grant-read", `uri="http://acs.amazonaws.com/groups/global/AllUsers"`), 400, "AccessControlListNotSupported")
		wantError(t, e.do("PUT", target, []byte(publicRead)), 400, "AccessControlListNotSupported")
		wantError(t, e.do("PUT", target, nil, "x-amz-acl", "no-such-acl"), 400, "InvalidArgument")
		wantError(t, e.do("PUT", target, []byte("<AccessControlPolicy><Acc")), 400, "MalformedACLError")
		wantError(t, e.do("PUT", target, []byte(ownerOnly), "x-amz-acl", "private"), 400, "UnexpectedContent")
		wantError(t, e.do("PUT", target, nil), 400, "MissingSecurityHeader")
	}
	wantError(t, e.do("PUT", "/acl/missing?acl", nil, "x-amz-acl", "private"), 404, "NoSuchKey")
	// The object is untouched by all of it.
	if got := e.get("acl", "k", minio.GetObjectOptions{}); got != "v" {
		t.Fatalf("object after ACL calls: %q", got)
	}
}

// Writes and bucket creations that ask for an object lock or a wider ACL
// fail instead of storing an object that is neither locked nor public.
func TestWritesRefuseLocksAndACLs(t *testing.T) {
	e := newTestServer(t)
	e.bucket("wacl")
	if rr := e.do("PUT", "/wacl/src", []byte("x")); rr.status != 200 {
		t.Fatalf("PUT src: %d %s", rr.status, rr.body)
	}
	lock := []string{"x-amz-object-lock-mode", "GOVERNANCE", "x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"}
	hold := []string{"x-amz-object-lock-legal-hold", "ON"}
	copySrc := []string{"x-amz-copy-source", "/wacl/src"}
	cases := []struct {
		name, method, target string
		header               []string
		status               int
		code                 string
	}{
		{"put retention", "PUT", "/wacl/k1", lock, 400, "InvalidRequest"},
		{"put legal hold", "PUT", "/wacl/k2", hold, 400, "InvalidRequest"},
		{"copy retention", "PUT", "/wacl/k3", append(slices.Clone(copySrc), lock...), 400, "InvalidRequest"},
		{"multipart legal hold", "POST", "/wacl/k4?uploads", hold, 400, "InvalidRequest"},
		{"put public-read", "PUT", "/wacl/k5", []string{"x-amz-acl", "public-read"}, 400, "AccessControlListNotSupported"},
		{"put grant", "PUT", "/wacl/k6", []string{"x-amz-grant-read", "uri=http://acs.amazonaws.com/groups/global/AllUsers"}, 400, "AccessControlListNotSupported"},
		{"put unknown acl", "PUT", "/wacl/k7", []string{"x-amz-acl", "everyone"}, 400, "InvalidArgument"},
		{"copy public-read", "PUT", "/wacl/k8", append(slices.Clone(copySrc), "x-amz-acl", "public-read"), 400, "AccessControlListNotSupported"},
		{"multipart public-read", "POST", "/wacl/k9?uploads", []string{"x-amz-acl", "public-read-write"}, 400, "AccessControlListNotSupported"},
		{"bucket with lock", "PUT", "/wlock", []string{"x-amz-bucket-object-lock-enabled", "true"}, 501, "NotImplemented"},
		{"bucket public-read", "PUT", "/wpublic", []string{"x-amz-acl", "public-read"}, 400, "InvalidBucketAclWithObjectOwnership"},
		{"put private", "PUT", "/wacl/ok1", []string{"x-amz-acl", "private"}, 200, ""},
		{"put owner full control", "PUT", "/wacl/ok2", []string{"x-amz-acl", "bucket-owner-full-control"}, 200, ""},
		{"put legal hold empty", "PUT", "/wacl/ok3", []string{"x-amz-object-lock-legal-hold", ""}, 200, ""},
		{"bucket private", "PUT", "/wprivate", []string{"x-amz-acl", "private", "x-amz-bucket-object-lock-enabled", "false"}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte("y")
			if strings.Count(tc.target, "/") == 1 {
				body = nil // CreateBucket
			}
			rr := e.do(tc.method, tc.target, body, tc.header...)
			if tc.code == "" {
				if rr.status != tc.status {
					t.Fatalf("%d %s", rr.status, rr.body)
				}
				return
			}
			wantError(t, rr, tc.status, tc.code)
		})
	}
	for _, p := range []string{"/wacl/k1", "/wacl/k2", "/wacl/k3", "/wacl/k5", "/wacl/k6", "/wacl/k7", "/wacl/k8", "/wlock", "/wpublic"} {
		if rr := e.do("HEAD", p, nil); rr.status != 404 {
			t.Errorf("HEAD %s after a refused write: %d", p, rr.status)
		}
	}
	if rr := e.do("GET", "/wacl?uploads", nil); strings.Contains(string(rr.body), "<Upload>") {
		t.Fatalf("a refused CreateMultipartUpload left an upload: %s", rr.body)
	}
}
