package integration

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Lifecycle tests run one server with a two-second lifecycle day and a pass
// every 300 ms; each rule type gets its own buckets (versioned and not),
// with objects inside and outside the rule's filter, and the test polls
// until the rule has fired, then checks that it did exactly that.

const (
	lcDay      = 2 * time.Second
	lcInterval = 300 * time.Millisecond
	lcDeadline = 30 * time.Second
)

func startLifecycleServer(t *testing.T) *Server {
	return startServer(t, WithArgs("--test-no-sync", "--lifecycle-day="+lcDay.String(), "--lifecycle-interval="+lcInterval.String()))
}

// lcBucket creates a bucket (versioned or not) with a lifecycle document.
func lcBucket(t *testing.T, s *Server, name string, versioned bool, rules string) {
	t.Helper()
	c := s.Client(t)
	if err := c.MakeBucket(ctxT(t), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if versioned {
		if err := c.EnableVersioning(ctxT(t), name); err != nil {
			t.Fatal(err)
		}
	}
	doc := []byte(`<LifecycleConfiguration>` + rules + `</LifecycleConfiguration>`)
	sum := md5.Sum(doc)
	doRaw(t, s, rawReq{method: "PUT", path: "/" + name, query: q("lifecycle", ""), body: doc,
		header: hdr("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))}).wantStatus(t, http.StatusOK)
}

func lcPut(t *testing.T, c *minio.Client, bucket, key string, size int, tags map[string]string) minio.UploadInfo {
	t.Helper()
	info, err := c.PutObject(ctxT(t), bucket, key, bytes.NewReader(bytes.Repeat([]byte("x"), size)), int64(size), minio.PutObjectOptions{UserTags: tags})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return info
}

// versionsOf lists the versions of bucket as "key:versionID" ("key:DM:id"
// for delete markers), keys ascending, newest first.
func versionsOf(t *testing.T, c *minio.Client, bucket string) []string {
	t.Helper()
	var out []string
	for o := range c.ListObjects(ctxT(t), bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("ListObjectVersions %s: %v", bucket, o.Err)
		}
		if o.IsDeleteMarker {
			out = append(out, o.Key+":DM:"+o.VersionID)
		} else {
			out = append(out, o.Key+":"+o.VersionID)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(lcDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, lcDeadline)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A rule that over-reached would do so in the pass that fired it or in
	// the next: let two more passes run before checking what must remain.
	time.Sleep(2 * lcInterval)
}

func keysOf(t *testing.T, c *minio.Client, bucket string) []string {
	t.Helper()
	var keys []string
	for _, o := range listAll(t, c, bucket, minio.ListObjectsOptions{Recursive: true}) {
		keys = append(keys, o.Key)
	}
	return keys
}

func modes() []struct {
	name      string
	versioned bool
} {
	return []struct {
		name      string
		versioned bool
	}{{"unversioned", false}, {"versioned", true}}
}

func TestLifecycleRules(t *testing.T) {
	s := startLifecycleServer(t)
	c := s.Client(t)

	t.Run("group", func(t *testing.T) {
		for _, m := range modes() {
			t.Run("expiration/"+m.name, func(t *testing.T) {
				t.Parallel()
				testExpiration(t, s, c, "exp-"+m.name, m.versioned)
			})
			t.Run("filters/"+m.name, func(t *testing.T) {
				t.Parallel()
				testExpirationFilters(t, s, c, "flt-"+m.name, m.versioned)
			})
			t.Run("noncurrent/"+m.name, func(t *testing.T) {
				t.Parallel()
				testNoncurrent(t, s, c, "nc-"+m.name, m.versioned)
			})
			t.Run("markers/"+m.name, func(t *testing.T) {
				t.Parallel()
				testDeleteMarkers(t, s, c, "dm-"+m.name, m.versioned)
			})
			t.Run("uploads/"+m.name, func(t *testing.T) {
				t.Parallel()
				testAbortUploads(t, s, c, "mpu-"+m.name, m.versioned)
			})
		}
	})
	// Every action is logged.
	log := s.Log()
	for _, action := range []string{"lifecycle: expire", "lifecycle: expire: delete marker", "lifecycle: remove noncurrent version",
		"lifecycle: remove expired delete marker", "lifecycle: abort upload"} {
		if !strings.Contains(log, action) {
			t.Errorf("server log has no %q line", action)
		}
	}
}

// Expiration Days on tmp/, Date (in the past) on date/, and a disabled rule
// on keep/.
func testExpiration(t *testing.T, s *Server, c *minio.Client, b string, versioned bool) {
	lcBucket(t, s, b, versioned,
		`<Rule><ID>tmp</ID><Status>Enabled</Status><Filter><Prefix>tmp/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule>`+
			`<Rule><ID>date</ID><Status>Enabled</Status><Filter><Prefix>date/</Prefix></Filter><Expiration><Date>2020-01-01T00:00:00Z</Date></Expiration></Rule>`+
			`<Rule><ID>off</ID><Status>Disabled</Status><Filter><Prefix>keep/</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule>`)
	for _, k := range []string{"tmp/a", "tmp/b", "date/c", "keep/d", "other/e"} {
		lcPut(t, c, b, k, 10, nil)
	}
	start := time.Now()
	waitFor(t, "tmp/ and date/ expire", func() bool {
		return slices.Equal(keysOf(t, c, b), []string{"keep/d", "other/e"})
	})
	if el := time.Since(start); el < lcDay-time.Second {
		// date/ goes at once; tmp/ must wait for its day.
		t.Errorf("tmp/ expired after %v, before its day of %v", el, lcDay)
	}
	vs := versionsOf(t, c, b)
	if versioned {
		// A delete marker over each expired object; its data stays as a
		// noncurrent version.
		want := map[string]int{"date/c": 2, "keep/d": 1, "other/e": 1, "tmp/a": 2, "tmp/b": 2}
		for k, n := range want {
			got := 0
			for _, v := range vs {
				if strings.HasPrefix(v, k+":") {
					got++
				}
			}
			if got != n {
				t.Errorf("%s has %d versions, want %d: %v", k, got, n, vs)
			}
		}
		for _, k := range []string{"tmp/a", "tmp/b", "date/c"} {
			if i := slices.IndexFunc(vs, func(v string) bool { return strings.HasPrefix(v, k+":") }); i < 0 || !strings.HasPrefix(vs[i], k+":DM:") {
				t.Errorf("%s: newest version is not a delete marker: %v", k, vs)
			}
		}
	} else if len(vs) != 2 {
		t.Errorf("unversioned bucket keeps %v, want only keep/d and other/e", vs)
	}
}

// Tag, And (prefix + tag + size) filters: only what they select expires.
func testExpirationFilters(t *testing.T, s *Server, c *minio.Client, b string, versioned bool) {
	lcBucket(t, s, b, versioned,
		`<Rule><ID>tag</ID><Status>Enabled</Status><Filter><Tag><Key>expire</Key><Value>yes</Value></Tag></Filter><Expiration><Days>1</Days></Expiration></Rule>`+
			`<Rule><ID>and</ID><Status>Enabled</Status><Filter><And><Prefix>logs/</Prefix><Tag><Key>env</Key><Value>dev</Value></Tag>`+
			`<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter><Expiration><Days>1</Days></Expiration></Rule>`+
			`<Rule><ID>big</ID><Status>Enabled</Status><Filter><ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan></Filter><Expiration><Days>1</Days></Expiration></Rule>`)
	dev := map[string]string{"env": "dev"}
	lcPut(t, c, b, "a", 5, map[string]string{"expire": "yes"})
	lcPut(t, c, b, "b", 5, map[string]string{"expire": "no"})
	lcPut(t, c, b, "c", 5, nil)
	lcPut(t, c, b, "logs/match", 50, dev)
	lcPut(t, c, b, "logs/small", 10, dev)
	lcPut(t, c, b, "logs/large", 100, dev)
	lcPut(t, c, b, "logs/prod", 50, map[string]string{"env": "prod"})
	lcPut(t, c, b, "other/dev", 50, dev)
	lcPut(t, c, b, "huge", 1001, nil)
	lcPut(t, c, b, "edge", 1000, nil)
	want := []string{"b", "c", "edge", "logs/large", "logs/prod", "logs/small", "other/dev"}
	waitFor(t, "filtered expiry", func() bool { return slices.Equal(keysOf(t, c, b), want) })
}

// NoncurrentVersionExpiration with NewerNoncurrentVersions=1 on nc/.
func testNoncurrent(t *testing.T, s *Server, c *minio.Client, b string, versioned bool) {
	lcBucket(t, s, b, versioned,
		`<Rule><ID>nc</ID><Status>Enabled</Status><Filter><Prefix>nc/</Prefix></Filter>`+
			`<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`)
	var ids []string
	for i := range 4 {
		ids = append(ids, lcPut(t, c, b, "nc/k", i+1, nil).VersionID)
	}
	var other []string
	for i := range 3 {
		other = append(other, lcPut(t, c, b, "keep/k", i+1, nil).VersionID)
	}
	if !versioned {
		// Nothing is ever noncurrent: the rule must leave the objects alone.
		time.Sleep(lcDay + 4*lcInterval)
		if vs := versionsOf(t, c, b); len(vs) != 2 {
			t.Fatalf("unversioned bucket: %v", vs)
		}
		return
	}
	want := []string{"keep/k:" + other[2], "keep/k:" + other[1], "keep/k:" + other[0], "nc/k:" + ids[3], "nc/k:" + ids[2]}
	waitFor(t, "old noncurrent versions removed", func() bool { return slices.Equal(versionsOf(t, c, b), want) })
	if o, err := c.GetObject(ctxT(t), b, "nc/k", minio.GetObjectOptions{}); err != nil {
		t.Fatal(err)
	} else if st, err := o.Stat(); err != nil || st.Size != 4 {
		t.Fatalf("current version: %+v %v", st, err)
	}
}

// ExpiredObjectDeleteMarker: a marker that is the only version goes; one
// with versions behind it, or outside the prefix, stays.
func testDeleteMarkers(t *testing.T, s *Server, c *minio.Client, b string, versioned bool) {
	lcBucket(t, s, b, versioned,
		`<Rule><ID>dm</ID><Status>Enabled</Status><Filter><Prefix>d/</Prefix></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`)
	ctx := ctxT(t)
	v := lcPut(t, c, b, "d/sole", 1, nil)
	lcPut(t, c, b, "d/behind", 1, nil)
	lcPut(t, c, b, "x/sole", 1, nil)
	lcPut(t, c, b, "d/alive", 1, nil)
	if !versioned {
		time.Sleep(lcDay + 4*lcInterval)
		if got := keysOf(t, c, b); len(got) != 4 {
			t.Fatalf("unversioned bucket: %v", got)
		}
		return
	}
	for _, k := range []string{"d/sole", "d/behind", "x/sole"} {
		if err := c.RemoveObject(ctx, b, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RemoveObject(ctx, b, "d/sole", minio.RemoveObjectOptions{VersionID: v.VersionID}); err != nil {
		t.Fatal(err)
	}
	xs := versionsOf(t, c, b)
	var xsole string
	for _, v := range xs {
		if strings.HasPrefix(v, "x/sole:") && strings.Contains(v, ":DM:") {
			xsole = v
		}
	}
	// Make x/sole's marker alone too: remove its data version.
	for _, v := range xs {
		if strings.HasPrefix(v, "x/sole:") && !strings.Contains(v, ":DM:") {
			if err := c.RemoveObject(ctx, b, "x/sole", minio.RemoveObjectOptions{VersionID: strings.TrimPrefix(v, "x/sole:")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "sole marker removed", func() bool {
		return !slices.ContainsFunc(versionsOf(t, c, b), func(v string) bool { return strings.HasPrefix(v, "d/sole:") })
	})
	vs := versionsOf(t, c, b)
	count := func(k string) int {
		n := 0
		for _, v := range vs {
			if strings.HasPrefix(v, k+":") {
				n++
			}
		}
		return n
	}
	if count("d/behind") != 2 || count("d/alive") != 1 || !slices.Contains(vs, xsole) || count("x/sole") != 1 {
		t.Fatalf("versions left: %v", vs)
	}
}

// AbortIncompleteMultipartUpload on up/: uploads there are aborted and
// their parts freed, others stay.
func testAbortUploads(t *testing.T, s *Server, c *minio.Client, b string, versioned bool) {
	lcBucket(t, s, b, versioned,
		`<Rule><ID>mpu</ID><Status>Enabled</Status><Filter><Prefix>up/</Prefix></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`)
	ctx := ctxT(t)
	core := &minio.Core{Client: c}
	ids := map[string]string{}
	for _, k := range []string{"up/a", "up/b", "keep/c"} {
		id, err := core.NewMultipartUpload(ctx, b, k, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := core.PutObjectPart(ctx, b, k, id, 1, strings.NewReader("part"), 4, minio.PutObjectPartOptions{}); err != nil {
			t.Fatal(err)
		}
		ids[k] = id
	}
	uploads := func() []string {
		res, err := core.ListMultipartUploads(ctx, b, "", "", "", "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range res.Uploads {
			out = append(out, u.Key)
		}
		return out
	}
	waitFor(t, "uploads aborted", func() bool { return slices.Equal(uploads(), []string{"keep/c"}) })
	if _, err := core.ListObjectParts(ctx, b, "up/a", ids["up/a"], 0, 100); err == nil {
		t.Fatal("parts of an aborted upload are still listed")
	}
	if _, err := core.ListObjectParts(ctx, b, "keep/c", ids["keep/c"], 0, 100); err != nil {
		t.Fatalf("upload outside the filter: %v", err)
	}
}
