package s3

import (
	"encoding/xml"
	"fmt"
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
