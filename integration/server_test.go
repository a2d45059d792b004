package integration

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestGeneratedCredentials: without credentials in the environment the
// server generates a key pair on first start, keeps it in the data directory,
// prints it, and reuses it after a restart.
func TestGeneratedCredentials(t *testing.T) {
	t.Parallel()
	s := startServer(t, WithoutCredentials())
	doc, err := os.ReadFile(filepath.Join(s.DataDir, "credentials"))
	if err != nil {
		t.Fatalf("no credentials file in the data directory: %v", err)
	}
	for _, line := range strings.Split(string(doc), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			switch k {
			case "BUCKETDB_ACCESS_KEY":
				s.AccessKey = v
			case "BUCKETDB_SECRET_KEY":
				s.SecretKey = v
			}
		}
	}
	if s.AccessKey == "" || len(s.SecretKey) < 20 {
		t.Fatalf("credentials file %q: want an access key and a secret of at least 20 characters", doc)
	}
	if st, err := os.Stat(filepath.Join(s.DataDir, "credentials")); err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Errorf("credentials file mode %v (%v): want no group/other access", st.Mode(), err)
	}
	if log := s.Log(); !strings.Contains(log, s.AccessKey) || !strings.Contains(log, s.SecretKey) {
		t.Errorf("the generated credentials are not printed:\n%s", log)
	}
	ctx := ctxT(t)
	b := newBucket(t, s.Client(t))
	// Well-known defaults do not work.
	for _, pair := range [][2]string{{"minioadmin", "minioadmin"}, {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}} {
		if _, err := s.ClientWith(t, pair[0], pair[1]).ListBuckets(ctx); err == nil {
			t.Errorf("well-known credentials %s work", pair[0])
		}
	}
	s.Stop()
	s.Start()
	if ok, err := s.Client(t).BucketExists(ctx, b); err != nil || !ok {
		t.Fatalf("after restart the generated credentials no longer work: %v, %v", ok, err)
	}
	doc2, _ := os.ReadFile(filepath.Join(s.DataDir, "credentials"))
	if !bytes.Equal(doc, doc2) {
		t.Errorf("credentials file changed on restart")
	}
}

// TestRestartKeepsData: everything written survives a graceful restart.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.Client(t)
	ctx := ctxT(t)
	b := newBucket(t, c)
	vb := newBucket(t, c)
	if err := c.EnableVersioning(ctx, vb); err != nil {
		t.Fatal(err)
	}
	small, large := randomBytes(100), randomBytes(3*mib)
	putBytes(t, c, b, "small", small, minio.PutObjectOptions{UserMetadata: map[string]string{"a": "b"}})
	putBytes(t, c, b, "large", large, minio.PutObjectOptions{})
	v1 := putBytes(t, c, vb, "k", []byte("one"), minio.PutObjectOptions{}).VersionID
	putBytes(t, c, vb, "k", []byte("two"), minio.PutObjectOptions{})
	id := createUpload(t, newTarget(t, s, nil), b, "pending", minio.PutObjectOptions{})
	uploadPart(t, newTarget(t, s, nil), b, "pending", id, 1, small)
	buckets, _ := c.ListBuckets(ctx)

	s.Stop()
	s.Start()
	c = s.Client(t)
	if got := mustGet(t, c, b, "small", minio.GetObjectOptions{}); !bytes.Equal(got, small) {
		t.Errorf("small object lost")
	}
	if got := mustGet(t, c, b, "large", minio.GetObjectOptions{}); !bytes.Equal(got, large) {
		t.Errorf("large object lost")
	}
	st, err := c.StatObject(ctx, b, "small", minio.StatObjectOptions{})
	if err != nil || st.UserMetadata["A"] != "b" {
		t.Errorf("metadata after restart: %v, %v", st.UserMetadata, err)
	}
	if got := mustGet(t, c, vb, "k", minio.GetObjectOptions{VersionID: v1}); string(got) != "one" {
		t.Errorf("old version after restart: %q", got)
	}
	if s := getVersioning(t, newTarget(t, s, nil), vb); s != "Enabled" {
		t.Errorf("versioning after restart: %q", s)
	}
	parts, err := s.Core(t).ListObjectParts(ctx, b, "pending", id, 0, 100)
	if err != nil || len(parts.ObjectParts) != 1 {
		t.Errorf("pending upload after restart: %v, %+v", err, parts)
	}
	after, _ := c.ListBuckets(ctx)
	if len(after) != len(buckets) {
		t.Fatalf("buckets before %v, after %v", buckets, after)
	}
	for i := range after {
		if after[i].Name != buckets[i].Name || !after[i].CreationDate.Equal(buckets[i].CreationDate) {
			t.Errorf("bucket %v became %v across a restart", buckets[i], after[i])
		}
	}
}

// slowBody delivers a body in pieces, signalling after the first piece.
type slowBody struct {
	data    []byte
	step    int
	delay   time.Duration
	started chan struct{}
	once    bool
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	if b.once {
		time.Sleep(b.delay)
	}
	n := copy(p, b.data[:min(b.step, len(b.data))])
	b.data = b.data[n:]
	if !b.once {
		b.once = true
		close(b.started)
	}
	return n, nil
}

// TestGracefulShutdown: SIGTERM lets an in-flight upload finish, the process
// exits 0, and the object is there after a restart.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.Client(t)
	b := newBucket(t, c)
	body := randomBytes(1 * mib)
	sb := &slowBody{data: body, step: 64 << 10, delay: 60 * time.Millisecond, started: make(chan struct{})}
	req := buildRaw(t, s, rawReq{method: http.MethodPut, path: "/" + b + "/inflight", unsignedPayload: true})
	req.Body = io.NopCloser(sb)
	req.ContentLength = int64(len(body))
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := rawHTTP.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	<-sb.started
	time.Sleep(150 * time.Millisecond) // the request is being served
	cmd, exited := s.current()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil || res.status != http.StatusOK {
		t.Fatalf("in-flight PUT during SIGTERM: status %d, err %v", res.status, res.err)
	}
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		t.Fatalf("server did not exit within %v of SIGTERM", stopTimeout)
	}
	if err := s.exitErr(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	s.mu.Lock()
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	s.Start()
	if got := mustGet(t, s.Client(t), b, "inflight", minio.GetObjectOptions{}); !bytes.Equal(got, body) {
		t.Errorf("object uploaded during shutdown: %d bytes after restart, want %d", len(got), len(body))
	}
}

// TestVirtualHostStyle: with --domain, "<bucket>.<domain>" in the Host
// header addresses the bucket; path-style keeps working beside it.
func TestVirtualHostStyle(t *testing.T) {
	t.Parallel()
	s := startServer(t, WithArgs("--domain", "s3.bucketdb.test"))
	b := newBucket(t, s.Client(t))
	_, port, _ := strings.Cut(s.Endpoint, ":")
	vhost := b + ".s3.bucketdb.test:" + port
	body := randomBytes(5000)
	r := doRaw(t, s, rawReq{method: http.MethodPut, path: "/dir/vhost.bin", host: vhost, body: body,
		header: hdr("Content-Type", "application/x-vhost")})
	r.wantStatus(t, http.StatusOK)
	if got := mustGet(t, s.Client(t), b, "dir/vhost.bin", minio.GetObjectOptions{}); !bytes.Equal(got, body) {
		t.Errorf("object written virtual-host style, read path style: %d bytes", len(got))
	}
	r = doRaw(t, s, rawReq{method: http.MethodGet, path: "/dir/vhost.bin", host: vhost})
	r.wantStatus(t, http.StatusOK)
	if !bytes.Equal(r.Body, body) || r.Header.Get("Content-Type") != "application/x-vhost" {
		t.Errorf("virtual-host GET: %d bytes, Content-Type %q", len(r.Body), r.Header.Get("Content-Type"))
	}
	r = doRaw(t, s, rawReq{method: http.MethodGet, path: "/", host: vhost, query: q("list-type", "2", "prefix", "dir/")})
	r.wantStatus(t, http.StatusOK)
	if l := parseList(t, r.Body); l.Name != b || len(l.Contents) != 1 || l.Contents[0].Key != "dir/vhost.bin" {
		t.Errorf("virtual-host listing: %s", r.Body)
	}
	r = doRaw(t, s, rawReq{method: http.MethodGet, path: "/dir/vhost.bin", host: bucketName("missing") + ".s3.bucketdb.test:" + port})
	r.wantError(t, http.StatusNotFound, "NoSuchBucket")
	// A host outside the configured domain is path-style.
	r = doRaw(t, s, rawReq{method: http.MethodGet, path: "/" + b + "/dir/vhost.bin", host: "127.0.0.1:" + port})
	r.wantStatus(t, http.StatusOK)
}
