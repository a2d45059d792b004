package fsmount

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const listDoc = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>d%2F</Prefix><MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated><EncodingType>url</EncodingType>
  <NextContinuationToken>tok&amp;1</NextContinuationToken>
  <Contents><Key>d/a%20b</Key><LastModified>2026-11-25T23:34:59.601Z</LastModified>
    <ETag>&#34;0123&#34;</ETag><Size>42</Size><StorageClass>STANDARD</StorageClass>
    <Owner><ID>x</ID><DisplayName>Key</DisplayName></Owner>
    <UserMetadata><content-type>text/plain</content-type><X-Amz-Meta-Mode>33188</X-Amz-Meta-Mode>
      <X-Amz-Meta-Uid>7</X-Amz-Meta-Uid></UserMetadata></Contents>
  <Contents><Key>d/%3Cx%3E</Key><ETag>"e"</ETag><Size>0</Size><UserMetadata/></Contents>
  <s3:Contents><s3:Key><![CDATA[d/c&d]]></s3:Key><Size>1</Size></s3:Contents>
  <CommonPrefixes><Prefix>d/b%2B/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>d/0/</Prefix></CommonPrefixes>
</ListBucketResult>`

func TestParseListV2(t *testing.T) {
	page, err := parseListV2([]byte(listDoc))
	if err != nil {
		t.Fatal(err)
	}
	if !page.truncated || page.next != "tok&1" {
		t.Fatalf("truncated %v next %q", page.truncated, page.next)
	}
	if tok := peekNextToken([]byte(listDoc)); tok != "tok&1" {
		t.Fatalf("peek: %q", tok)
	}
	lm, _ := time.Parse(time.RFC3339Nano, "2026-11-25T23:34:59.601Z")
	want := []ListEntry{
		{ObjectInfo: ObjectInfo{Key: "d/0/"}, IsPrefix: true},
		{ObjectInfo: ObjectInfo{Key: "d/<x>", ETag: "e"}},
		{ObjectInfo: ObjectInfo{Key: "d/a b", Size: 42, ETag: "0123", LastModified: lm,
			Meta: Meta{"mode": "33188", "uid": "7"}, HasMeta: true}},
		{ObjectInfo: ObjectInfo{Key: "d/b+/"}, IsPrefix: true},
		{ObjectInfo: ObjectInfo{Key: "d/c&d", Size: 1}},
	}
	if !reflect.DeepEqual(page.entries, want) {
		t.Fatalf("entries\n got %+v\nwant %+v", page.entries, want)
	}
	for _, bad := range []string{"<A><B></A>", "<A>&bogus;</A>", "<A><![CDATA[x</A>", "<A", "<A>&#xFFFFFFFF;</A>"} {
		if _, err := parseListV2([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseListV2(f *testing.F) {
	f.Add([]byte(listDoc))
	f.Add([]byte("<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := parseListV2(body)
		if err != nil {
			return
		}
		if !sort.SliceIsSorted(page.entries, func(i, j int) bool { return page.entries[i].Key < page.entries[j].Key }) {
			t.Fatal("entries not in key order")
		}
		_ = peekNextToken(body)
	})
}

// fakeLister serves ListObjectsV2 of keys (encoding-type=url, tokens the
// base64 of the last key), failing the request numbered failAt with a 500.
type fakeLister struct {
	keys     []string
	pageSize int
	failAt   int64
	requests atomic.Int64
}

func (l *fakeLister) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := l.requests.Add(1)
	q := r.URL.Query()
	if q.Get("list-type") != "2" || q.Get("metadata") != "true" || r.URL.Path != "/b/" ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		http.Error(w, "bad request "+r.URL.String(), http.StatusBadRequest)
		return
	}
	if n == l.failAt {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, "<Error><Code>InternalError</Code><Message>try again</Message></Error>")
		return
	}
	after := q.Get("start-after")
	if tok := q.Get("continuation-token"); tok != "" {
		b, _ := base64.URLEncoding.DecodeString(tok)
		after = string(b)
	}
	var page []string
	for _, k := range l.keys {
		if k > after && strings.HasPrefix(k, q.Get("prefix")) && len(page) < l.pageSize {
			page = append(page, k)
		}
	}
	truncated := len(page) == l.pageSize && page[len(page)-1] != l.keys[len(l.keys)-1]
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><EncodingType>url</EncodingType>`)
	fmt.Fprintf(&sb, "<IsTruncated>%v</IsTruncated>", truncated)
	if truncated {
		fmt.Fprintf(&sb, "<NextContinuationToken>%s</NextContinuationToken>", base64.URLEncoding.EncodeToString([]byte(page[len(page)-1])))
	}
	for _, k := range page {
		fmt.Fprintf(&sb, "<Contents><Key>%s</Key><Size>%d</Size><ETag>&#34;%s&#34;</ETag>"+
			"<UserMetadata><X-Amz-Meta-Mode>33188</X-Amz-Meta-Mode></UserMetadata></Contents>", s3Escape(k), len(k), k)
	}
	sb.WriteString("</ListBucketResult>")
	fmt.Fprint(w, sb.String())
}

func s3Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func TestS3BucketListPages(t *testing.T) {
	var keys []string
	for i := range 95 {
		keys = append(keys, "d/f"+strconv.Itoa(i)+" +")
	}
	sort.Strings(keys)
	for _, failAt := range []int64{0, 1, 4} {
		t.Run(fmt.Sprintf("failAt=%d", failAt), func(t *testing.T) {
			l := &fakeLister{keys: keys, pageSize: 10, failAt: failAt}
			srv := httptest.NewServer(l)
			defer srv.Close()
			b, err := NewS3Bucket(S3Config{Endpoints: []string{srv.URL}, Bucket: "b", AccessKey: "k", SecretKey: "s"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			err = b.List(context.Background(), ListOptions{Prefix: "d/", WithMeta: true}, func(e ListEntry) bool {
				if !e.HasMeta || e.Meta["mode"] != "33188" || e.Size != int64(len(e.Key)) || e.ETag != e.Key {
					t.Errorf("entry %+v", e)
				}
				got = append(got, e.Key)
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, keys) {
				t.Fatalf("listed %d keys, want %d: %v", len(got), len(keys), got)
			}
			// Stopping early ends the listing (and its read-ahead request).
			n := 0
			err = b.List(context.Background(), ListOptions{Prefix: "d/", WithMeta: true}, func(e ListEntry) bool {
				n++
				return n < 15
			})
			if err != nil || n != 15 {
				t.Fatalf("stopped listing: %d entries, %v", n, err)
			}
		})
	}
}
