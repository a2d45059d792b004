package s3

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

func deleteBody(quiet bool, keys ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<Delete><Quiet>%v</Quiet>", quiet)
	for _, k := range keys {
		key, vid, _ := strings.Cut(k, "@")
		fmt.Fprintf(&b, "<Object><Key>%s</Key>", k2xml(key))
		if vid != "" {
			fmt.Fprintf(&b, "<VersionId>%s</VersionId>", vid)
		}
		b.WriteString("</Object>")
	}
	b.WriteString("</Delete>")
	return b.String()
}

func k2xml(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func TestDeleteObjects(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("batch")
	for i := range 5 {
		e.put(b, fmt.Sprintf("k%d", i), "x", minio.PutObjectOptions{})
	}
	// minio-go's RemoveObjects (Content-MD5, batch).
	ch := make(chan minio.ObjectInfo, 3)
	for _, k := range []string{"k0", "k1", "missing"} {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	for r := range e.mc.RemoveObjects(e.ctx, b, ch, minio.RemoveObjectsOptions{}) {
		t.Fatalf("RemoveObjects error: %+v", r)
	}
	if got := e.listAll(b, minio.ListObjectsOptions{Recursive: true}); strings.Join(got, ",") != "k2,k3,k4" {
		t.Fatalf("after batch delete: %v", got)
	}

	body := deleteBody(false, "k2", "never", "")
	rr := e.do("POST", "/batch?delete", []byte(body), "Content-MD5", md5b64(body))
	var res deleteResult
	if rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil {
		t.Fatalf("DeleteObjects: %d %s", rr.status, rr.body)
	}
	if len(res.Deleted) != 2 || len(res.Errors) != 1 || res.Errors[0].Code != "UserKeyMustBeSpecified" {
		t.Fatalf("result %+v", res)
	}
	// Quiet mode reports only errors.
	body = deleteBody(true, "k3", strings.Repeat("x", 1025))
	rr = e.do("POST", "/batch?delete", []byte(body), "Content-MD5", md5b64(body))
	res = deleteResult{}
	if rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil || len(res.Deleted) != 0 || len(res.Errors) != 1 || res.Errors[0].Code != "KeyTooLongError" {
		t.Fatalf("quiet: %d %s", rr.status, rr.body)
	}

	// Entries are deleted several at once; the answer keeps their order.
	var many []string
	for i := range 40 {
		k := fmt.Sprintf("m/%02d", 39-i)
		e.put(b, k, "x", minio.PutObjectOptions{})
		many = append(many, k)
		if i == 20 {
			many = append(many, strings.Repeat("y", 1025))
		}
	}
	body = deleteBody(false, many...)
	rr = e.do("POST", "/batch?delete", []byte(body), "Content-MD5", md5b64(body))
	res = deleteResult{}
	if rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil || len(res.Deleted) != 40 || len(res.Errors) != 1 {
		t.Fatalf("40 keys: %d %s", rr.status, rr.body)
	}
	var order []string
	for _, d := range res.Deleted {
		order = append(order, d.Key)
	}
	if want := slices.DeleteFunc(slices.Clone(many), func(k string) bool { return len(k) > 1024 }); !slices.Equal(order, want) {
		t.Fatalf("deleted in answer order %v, want %v", order, want)
	}
	if got := e.listAll(b, minio.ListObjectsOptions{Prefix: "m/", Recursive: true}); len(got) != 0 {
		t.Fatalf("left after the batch: %v", got)
	}

	// Errors of the request as a whole.
	wantError(t, e.do("POST", "/batch?delete", []byte(deleteBody(false, "k4"))), 400, "InvalidRequest")
	wantError(t, e.do("POST", "/batch?delete", []byte(deleteBody(false, "k4")), "Content-MD5", md5b64("other")), 400, "BadDigest")
	for _, bad := range []string{"<Delete><Object><Key>k4</Key>", "<Delete></Delete>", "not xml", ""} {
		wantError(t, e.do("POST", "/batch?delete", []byte(bad), "Content-MD5", md5b64(bad)), 400, "MalformedXML")
	}
	keys := make([]string, 1001)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	body = deleteBody(true, keys...)
	wantError(t, e.do("POST", "/batch?delete", []byte(body), "Content-MD5", md5b64(body)), 400, "MalformedXML")
	body = deleteBody(true, keys[:1000]...)
	if rr := e.do("POST", "/batch?delete", []byte(body), "Content-MD5", md5b64(body)); rr.status != 200 {
		t.Fatalf("1000 keys: %d %s", rr.status, rr.body)
	}
	body = deleteBody(false, "k4")
	wantError(t, e.do("POST", "/nobatch?delete", []byte(body), "Content-MD5", md5b64(body)), 404, "NoSuchBucket")
	// A checksum header instead of Content-MD5 is accepted.
	if rr := e.do("POST", "/batch?delete", []byte(body), "x-amz-sdk-checksum-algorithm", "CRC32"); rr.status != 200 {
		t.Fatalf("checksum instead of MD5: %d %s", rr.status, rr.body)
	}
}

func TestDeleteObjectsVersioned(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("vbatch")
	if err := e.mc.EnableVersioning(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	v1 := e.put(b, "a", "1", minio.PutObjectOptions{}).VersionID
	v2 := e.put(b, "a", "2", minio.PutObjectOptions{}).VersionID

	body := deleteBody(false, "a", "a@"+v1)
	rr := e.do("POST", "/vbatch?delete", []byte(body), "Content-MD5", md5b64(body))
	var res deleteResult
	if rr.status != 200 || xml.Unmarshal(rr.body, &res) != nil || len(res.Deleted) != 2 {
		t.Fatalf("versioned batch: %d %s", rr.status, rr.body)
	}
	marker := res.Deleted[0]
	if !marker.DeleteMarker || marker.DeleteMarkerVersionID == "" || marker.VersionID != "" {
		t.Fatalf("marker entry %+v", marker)
	}
	if d := res.Deleted[1]; d.VersionID != v1 || d.DeleteMarker {
		t.Fatalf("version entry %+v", d)
	}
	// Removing the marker by version reports it as a delete marker.
	body = deleteBody(false, "a@"+marker.DeleteMarkerVersionID)
	rr = e.do("POST", "/vbatch?delete", []byte(body), "Content-MD5", md5b64(body))
	res = deleteResult{}
	if xml.Unmarshal(rr.body, &res) != nil || len(res.Deleted) != 1 || !res.Deleted[0].DeleteMarker ||
		res.Deleted[0].DeleteMarkerVersionID != marker.DeleteMarkerVersionID || res.Deleted[0].VersionID != marker.DeleteMarkerVersionID {
		t.Fatalf("marker removal: %s", rr.body)
	}
	if got := e.get(b, "a", minio.GetObjectOptions{}); got != "2" {
		t.Fatalf("latest after marker removal %q (want version %s)", got, v2)
	}
}
