package s3

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/minio/minio-go/v7"
)

func TestBucketVersioningConfig(t *testing.T) {
	e := newTestServer(t)
	e.bucket("vcfg")
	vc, err := e.mc.GetBucketVersioning(e.ctx, "vcfg")
	if err != nil || vc.Status != "" {
		t.Fatalf("unversioned: %+v %v", vc, err)
	}
	if err := e.mc.EnableVersioning(e.ctx, "vcfg"); err != nil {
		t.Fatal(err)
	}
	if vc, _ = e.mc.GetBucketVersioning(e.ctx, "vcfg"); vc.Status != "Enabled" {
		t.Fatalf("enabled: %+v", vc)
	}
	if err := e.mc.SuspendVersioning(e.ctx, "vcfg"); err != nil {
		t.Fatal(err)
	}
	if vc, _ = e.mc.GetBucketVersioning(e.ctx, "vcfg"); vc.Status != "Suspended" {
		t.Fatalf("suspended: %+v", vc)
	}
	for _, body := range []string{
		`<VersioningConfiguration><Status>On</Status></VersioningConfiguration>`,
		`<VersioningConfiguration></VersioningConfiguration>`,
		`<VersioningConfiguration><Status>Enabled</Status>`,
		``,
	} {
		wantError(t, e.do("PUT", "/vcfg?versioning", []byte(body)), 400, "MalformedXML")
	}
	// MfaDelete: Disabled is what every bucket has; Enabled is refused
	// (MFA Delete is not implemented); anything else is not in the schema.
	wantError(t, e.do("PUT", "/vcfg?versioning", []byte(
		`<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Sometimes</MfaDelete></VersioningConfiguration>`)), 400, "MalformedXML")
	wantError(t, e.do("PUT", "/vcfg?versioning", []byte(
		`<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>`)), 501, "NotImplemented")
	if vc, _ = e.mc.GetBucketVersioning(e.ctx, "vcfg"); vc.Status != "Suspended" || vc.MFADelete != "" {
		t.Fatalf("after refused changes: %+v", vc)
	}
	if rr := e.do("PUT", "/vcfg?versioning", []byte(
		`<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`)); rr.status != 200 {
		t.Fatalf("MfaDelete Disabled: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do("GET", "/novcfg?versioning", nil), 404, "NoSuchBucket")
}

func TestVersionedObjects(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("vers")
	if err := e.mc.EnableVersioning(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		ui := e.put(b, "k", fmt.Sprintf("v%d", i), minio.PutObjectOptions{})
		if ui.VersionID == "" || ui.VersionID == "null" {
			t.Fatalf("PUT %d: version ID %q", i, ui.VersionID)
		}
		ids = append(ids, ui.VersionID)
	}
	for i, id := range ids {
		if got := e.get(b, "k", minio.GetObjectOptions{VersionID: id}); got != fmt.Sprintf("v%d", i) {
			t.Fatalf("version %s: %q", id, got)
		}
	}
	// Delete writes a marker; GET/HEAD then 404 with x-amz-delete-marker.
	rr := e.do("DELETE", "/vers/k", nil)
	marker := rr.header.Get("x-amz-version-id")
	if rr.status != 204 || rr.header.Get("x-amz-delete-marker") != "true" || marker == "" {
		t.Fatalf("DELETE: %d %v", rr.status, rr.header)
	}
	for _, m := range []string{"GET", "HEAD"} {
		rr = e.do(m, "/vers/k", nil)
		if rr.status != 404 || rr.header.Get("x-amz-delete-marker") != "true" || rr.header.Get("x-amz-version-id") != marker {
			t.Fatalf("%s after delete: %d %v", m, rr.status, rr.header)
		}
	}
	// Addressing the marker by version ID: 405 with Allow and Last-Modified.
	rr = e.do("GET", "/vers/k?versionId="+marker, nil)
	wantError(t, rr, 405, "MethodNotAllowed")
	if rr.header.Get("x-amz-delete-marker") != "true" || rr.header.Get("Allow") == "" || rr.header.Get("Last-Modified") == "" {
		t.Fatalf("marker by version: %v", rr.header)
	}
	if got := e.get(b, "k", minio.GetObjectOptions{VersionID: ids[1]}); got != "v1" {
		t.Fatalf("old version after delete: %q", got)
	}
	// Copy from an old version.
	rr = e.do("PUT", "/vers/restored", nil, "x-amz-copy-source", "/vers/k?versionId="+ids[0])
	if rr.status != 200 || rr.header.Get("x-amz-copy-source-version-id") != ids[0] || rr.header.Get("x-amz-version-id") == "" {
		t.Fatalf("copy from version: %d %v %s", rr.status, rr.header, rr.body)
	}
	wantError(t, e.do("PUT", "/vers/x", nil, "x-amz-copy-source", "/vers/k?versionId="+marker), 400, "InvalidRequest")

	// List versions: markers and versions interleaved, newest first.
	var lv versionsPage
	rr = e.do("GET", "/vers?versions&prefix=k", nil)
	if err := xml.Unmarshal(rr.body, &lv); err != nil {
		t.Fatal(err)
	}
	raw := string(rr.body)
	if !(indexOf(raw, "<DeleteMarker>") < indexOf(raw, "<Version>")) {
		t.Fatalf("delete marker not first: %s", raw)
	}
	var seen []string
	for o := range e.mc.ListObjects(e.ctx, b, minio.ListObjectsOptions{WithVersions: true, Prefix: "k"}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		seen = append(seen, o.VersionID)
		if o.IsDeleteMarker != (o.VersionID == marker) || o.IsLatest != (o.VersionID == marker) {
			t.Fatalf("entry %+v", o)
		}
	}
	if !slices.Equal(seen, []string{marker, ids[2], ids[1], ids[0]}) {
		t.Fatalf("versions %v, want %v", seen, []string{marker, ids[2], ids[1], ids[0]})
	}
	// Paging with key-marker / version-id-marker.
	var got []string
	for km, vm := "", ""; ; {
		q := "/vers?versions&max-keys=1"
		if km != "" {
			q += "&key-marker=" + km + "&version-id-marker=" + vm
		}
		lv = versionsPage{}
		rr = e.do("GET", q, nil)
		if err := xml.Unmarshal(rr.body, &lv); err != nil || rr.status != 200 {
			t.Fatalf("%s: %d %s", q, rr.status, rr.body)
		}
		for _, v := range lv.Entries {
			if v.XMLName.Local != "Version" && v.XMLName.Local != "DeleteMarker" {
				continue
			}
			got = append(got, v.Key+"@"+v.VersionID)

		}
		if !lv.IsTruncated {
			break
		}
		km, vm = lv.NextKeyMarker, lv.NextVersionIDMarker
	}
	if len(got) != 5 || got[0] != "k@"+marker {
		t.Fatalf("paged versions: %v", got)
	}
	wantError(t, e.do("GET", "/vers?versions&version-id-marker=x", nil), 400, "InvalidArgument")

	// Deleting the marker restores the key.
	rr = e.do("DELETE", "/vers/k?versionId="+marker, nil)
	if rr.status != 204 || rr.header.Get("x-amz-delete-marker") != "true" || rr.header.Get("x-amz-version-id") != marker {
		t.Fatalf("delete marker removal: %d %v", rr.status, rr.header)
	}
	if got := e.get(b, "k", minio.GetObjectOptions{}); got != "v2" {
		t.Fatalf("after undelete: %q", got)
	}
	// Deleting a version for good.
	if err := e.mc.RemoveObject(e.ctx, b, "k", minio.RemoveObjectOptions{VersionID: ids[0]}); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("GET", "/vers/k?versionId="+ids[0], nil), 404, "NoSuchVersion")
}

func TestSuspendedVersioning(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("susp")
	if err := e.mc.EnableVersioning(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	v1 := e.put(b, "k", "versioned", minio.PutObjectOptions{})
	if err := e.mc.SuspendVersioning(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	rr := e.do("PUT", "/susp/k", []byte("null1"))
	if rr.header.Get("x-amz-version-id") != "null" {
		t.Fatalf("suspended PUT version header %q", rr.header.Get("x-amz-version-id"))
	}
	e.do("PUT", "/susp/k", []byte("null2"))
	if got := e.get(b, "k", minio.GetObjectOptions{VersionID: "null"}); got != "null2" {
		t.Fatalf("null version %q", got)
	}
	if got := e.get(b, "k", minio.GetObjectOptions{VersionID: v1.VersionID}); got != "versioned" {
		t.Fatalf("old version %q", got)
	}
	// Unversioned buckets never send x-amz-version-id.
	e.bucket("plainb")
	if rr := e.do("PUT", "/plainb/k", []byte("x")); rr.header.Get("x-amz-version-id") != "" {
		t.Fatalf("unversioned PUT sent version %q", rr.header.Get("x-amz-version-id"))
	}
	if rr := e.do("DELETE", "/plainb/k", nil); rr.status != http.StatusNoContent || rr.header.Get("x-amz-version-id") != "" {
		t.Fatalf("unversioned DELETE: %d %v", rr.status, rr.header)
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// versionsPage parses a ListVersionsResult keeping entry order.
type versionsPage struct {
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string `xml:"NextVersionIdMarker"`
	Entries             []struct {
		XMLName   xml.Name
		Key       string
		VersionID string `xml:"VersionId"`
	} `xml:",any"`
}

// An empty versionId is refused, as S3 does, rather than read as "latest":
// DELETE ?versionId= must not remove the current object.
func TestEmptyVersionIDRefused(t *testing.T) {
	e := newTestServer(t)
	e.bucket("emptyvid")
	if rr := e.do("PUT", "/emptyvid/k", []byte("keep me")); rr.status != 200 {
		t.Fatalf("PUT: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do("DELETE", "/emptyvid/k?versionId=", nil), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/emptyvid/k?versionId=", nil), 400, "InvalidArgument")
	wantError(t, e.do("GET", "/emptyvid/k?tagging&versionId=", nil), 400, "InvalidArgument")
	if rr := e.do("HEAD", "/emptyvid/k?versionId=", nil); rr.status != 400 || len(rr.body) != 0 {
		t.Fatalf("HEAD: %d %q", rr.status, rr.body)
	}
	if rr := e.do("GET", "/emptyvid/k", nil); rr.status != 200 || string(rr.body) != "keep me" {
		t.Fatalf("object after the refused delete: %d %q", rr.status, rr.body)
	}
	if rr := e.do("GET", "/emptyvid/k?versionId=null", nil); rr.status != 200 {
		t.Fatalf("versionId=null: %d %s", rr.status, rr.body)
	}
}
