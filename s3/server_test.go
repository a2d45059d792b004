package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/bucketdb/bucketdb/store"
)

const (
	envAccessKey = "bucketdb-test"
	envSecretKey = "bucketdb-test-secret"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv is a Server on a real store behind httptest, with a minio-go
// client signed with the test credentials.
type testEnv struct {
	t     *testing.T
	st    *store.Store
	srv   *httptest.Server
	s     *Server
	mc    *minio.Client
	core  *minio.Core
	logs  *syncBuffer
	ctx   context.Context
	creds map[string]string
}

type testOption func(*Config, *Backend)

func withBackend(wrap func(Backend) Backend) testOption {
	return func(_ *Config, b *Backend) { *b = wrap(*b) }
}

func withConfig(f func(*Config)) testOption {
	return func(c *Config, _ *Backend) { f(c) }
}

func newTestServer(t *testing.T, opts ...testOption) *testEnv {
	t.Helper()
	scfg := store.DefaultConfig(t.TempDir())
	scfg.NoSync = true
	scfg.GCInterval = 0
	scfg.MinPartSize = 1 << 10
	st, err := store.Open(scfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })

	logs := &syncBuffer{}
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	creds := map[string]string{envAccessKey: envSecretKey}
	cfg.Verifier = NewVerifier(creds, cfg.Region)
	var b Backend = st
	for _, o := range opts {
		o(&cfg, &b)
	}
	s := New(cfg, b)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	endpoint := strings.TrimPrefix(srv.URL, "http://")
	mopts := &minio.Options{Creds: credentials.NewStaticV4(envAccessKey, envSecretKey, ""), Region: cfg.Region}
	mc, err := minio.New(endpoint, mopts)
	if err != nil {
		t.Fatal(err)
	}
	core, err := minio.NewCore(endpoint, mopts)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, st: st, srv: srv, s: s, mc: mc, core: core, logs: logs, ctx: context.Background(), creds: creds}
}

// client returns another minio-go client for the server, options adjusted.
func (e *testEnv) client(adjust func(*minio.Options)) *minio.Client {
	e.t.Helper()
	o := &minio.Options{Creds: credentials.NewStaticV4(envAccessKey, envSecretKey, ""), Region: "us-east-1"}
	adjust(o)
	c, err := minio.New(strings.TrimPrefix(e.srv.URL, "http://"), o)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// bucket creates a bucket and returns its name.
func (e *testEnv) bucket(name string) string {
	e.t.Helper()
	if err := e.mc.MakeBucket(e.ctx, name, minio.MakeBucketOptions{}); err != nil {
		e.t.Fatalf("make bucket %s: %v", name, err)
	}
	return name
}

// put writes an object with minio-go.
func (e *testEnv) put(bucket, key, body string, opts minio.PutObjectOptions) minio.UploadInfo {
	e.t.Helper()
	info, err := e.mc.PutObject(e.ctx, bucket, key, strings.NewReader(body), int64(len(body)), opts)
	if err != nil {
		e.t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return info
}

// get reads an object's body with minio-go.
func (e *testEnv) get(bucket, key string, opts minio.GetObjectOptions) string {
	e.t.Helper()
	o, err := e.mc.GetObject(e.ctx, bucket, key, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		e.t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	return string(b)
}

// rawResponse is a response read fully.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
	err    errorResponse // parsed when the body is an S3 error
}

// do sends a SigV4-signed (UNSIGNED-PAYLOAD) request; header pairs are
// set before signing.
func (e *testEnv) do(method, target string, body []byte, header ...string) rawResponse {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+target, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, envAccessKey, envSecretKey, "", "us-east-1")
	return e.send(req)
}

// doAnon sends an unsigned request.
func (e *testEnv) doAnon(method, target string, body []byte) rawResponse {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+target, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.send(req)
}

func (e *testEnv) send(req *http.Request) rawResponse {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	rr := rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
	if resp.StatusCode >= 300 && len(b) > 0 {
		_ = xml.Unmarshal(b, &rr.err)
	}
	return rr
}

// wantError asserts an S3 error response.
func wantError(t *testing.T, rr rawResponse, status int, code string) {
	t.Helper()
	if rr.status != status || rr.err.Code != code {
		t.Fatalf("got %d %q (%s), want %d %s", rr.status, rr.err.Code, rr.body, status, code)
	}
	if rr.err.RequestID == "" || rr.err.RequestID != rr.header.Get("x-amz-request-id") {
		t.Fatalf("error RequestId %q does not match header %q", rr.err.RequestID, rr.header.Get("x-amz-request-id"))
	}
}

// wantMinioError asserts the S3 error code minio-go reports.
func wantMinioError(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if got := minio.ToErrorResponse(err).Code; got != code {
		t.Fatalf("error %v (code %q), want %s", err, got, code)
	}
}

// accessLines returns the access-log records.
func (e *testEnv) accessLines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "s3 request" {
			out = append(out, m)
		}
	}
	return out
}

func TestRequestIDsAndErrorDocument(t *testing.T) {
	e := newTestServer(t)
	r1 := e.do("GET", "/nosuchbucket/key", nil)
	wantError(t, r1, 404, "NoSuchBucket")
	if r1.err.Resource != "/nosuchbucket/key" || r1.err.Message == "" || r1.err.BucketName != "nosuchbucket" ||
		r1.err.Key != "" || r1.err.HostID == "" || r1.err.HostID != r1.header.Get("x-amz-id-2") {
		t.Fatalf("error document %+v", r1.err)
	}
	e.bucket("errdoc")
	if rk := e.do("GET", "/errdoc/missing/key", nil); rk.err.Code != "NoSuchKey" || rk.err.Key != "missing/key" || rk.err.BucketName != "" {
		t.Fatalf("NoSuchKey document %+v", rk.err)
	}
	// A copy does not say whether the missing key is its source's.
	if rc := e.do("PUT", "/errdoc/dst", nil, "x-amz-copy-source", "/errdoc/nope"); rc.err.Code != "NoSuchKey" || rc.err.Key != "" {
		t.Fatalf("copy NoSuchKey document %+v", rc.err)
	}
	if r1.header.Get("Content-Type") != "application/xml" || r1.header.Get("x-amz-id-2") == "" {
		t.Fatalf("headers %v", r1.header)
	}
	r2 := e.do("GET", "/", nil)
	if r2.status != 200 {
		t.Fatalf("ListBuckets: %d %s", r2.status, r2.body)
	}
	if r1.header.Get("x-amz-request-id") == r2.header.Get("x-amz-request-id") {
		t.Fatal("request IDs repeat")
	}
	// HEAD errors carry no body.
	h := e.do("HEAD", "/nosuchbucket/key", nil)
	if h.status != 404 || len(h.body) != 0 || h.header.Get("x-amz-request-id") == "" {
		t.Fatalf("HEAD error: %d %q", h.status, h.body)
	}
}

func TestAnonymousDenied(t *testing.T) {
	e := newTestServer(t)
	wantError(t, e.doAnon("GET", "/", nil), 403, "AccessDenied")
	wantError(t, e.doAnon("PUT", "/anon-bucket", nil), 403, "AccessDenied")
	if _, err := e.st.GetBucket(e.ctx, "anon-bucket"); err == nil {
		t.Fatal("anonymous CreateBucket created the bucket")
	}
}

func TestBadSignatureRejected(t *testing.T) {
	e := newTestServer(t)
	bad, err := minio.New(strings.TrimPrefix(e.srv.URL, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(envAccessKey, "wrong-secret", ""), Region: "us-east-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.ListBuckets(e.ctx)
	wantMinioError(t, err, "SignatureDoesNotMatch")
	unknown, _ := minio.New(strings.TrimPrefix(e.srv.URL, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4("nobody", "x", ""), Region: "us-east-1",
	})
	_, err = unknown.ListBuckets(e.ctx)
	wantMinioError(t, err, "InvalidAccessKeyId")
}

type panicBackend struct{ Backend }

func (panicBackend) ListBuckets(context.Context) ([]store.BucketInfo, error) { panic("boom") }

type failBackend struct{ Backend }

func (failBackend) ListBuckets(context.Context) ([]store.BucketInfo, error) {
	return nil, io.ErrUnexpectedEOF
}

func TestPanicBecomesInternalError(t *testing.T) {
	e := newTestServer(t, withBackend(func(b Backend) Backend { return panicBackend{b} }))
	rr := e.do("GET", "/", nil)
	wantError(t, rr, 500, "InternalError")
	if !strings.Contains(e.logs.String(), "s3 handler panic") || !strings.Contains(e.logs.String(), rr.err.RequestID) {
		t.Fatalf("panic not logged with request ID: %s", e.logs.String())
	}
	// The server is still serving.
	if rr := e.do("PUT", "/still-alive", nil); rr.status != 200 {
		t.Fatalf("after panic: %d %s", rr.status, rr.body)
	}
}

func TestUnknownErrorLoggedOnce(t *testing.T) {
	e := newTestServer(t, withBackend(func(b Backend) Backend { return failBackend{b} }))
	rr := e.do("GET", "/", nil)
	wantError(t, rr, 500, "InternalError")
	if n := strings.Count(e.logs.String(), `"msg":"s3 internal error"`); n != 1 {
		t.Fatalf("internal error logged %d times: %s", n, e.logs.String())
	}
	if strings.Contains(string(rr.body), "unexpected EOF") {
		t.Fatal("internal error detail leaked to the client")
	}
	// Readiness reflects the failing backend.
	if rr := e.doAnon("GET", "/health/ready", nil); rr.status != 503 {
		t.Fatalf("ready with failing backend: %d", rr.status)
	}
}

func TestAccessLog(t *testing.T) {
	e := newTestServer(t)
	b := e.bucket("logbucket")
	e.put(b, "dir/obj", "hello", minio.PutObjectOptions{})
	_ = e.get(b, "dir/obj", minio.GetObjectOptions{})
	var put, get map[string]any
	for _, l := range e.accessLines() {
		switch l["operation"] {
		case "PutObject":
			put = l
		case "GetObject":
			get = l
		}
	}
	if put == nil || get == nil {
		t.Fatalf("missing access lines: %s", e.logs.String())
	}
	for _, f := range []string{"request_id", "bucket", "key", "status", "bytes_in", "bytes_out", "duration", "access_key", "remote_addr"} {
		if _, ok := put[f]; !ok {
			t.Errorf("access line lacks %s: %v", f, put)
		}
	}
	if put["bucket"] != b || put["key"] != "dir/obj" || put["bytes_in"] != float64(5) || put["access_key"] != envAccessKey || put["level"] != "INFO" {
		t.Errorf("PutObject line %v", put)
	}
	if get["bytes_out"] != float64(5) || get["status"] != float64(200) {
		t.Errorf("GetObject line %v", get)
	}
}

func TestHealth(t *testing.T) {
	e := newTestServer(t)
	for _, p := range []string{"/health/live", "/health/ready"} {
		rr := e.doAnon("GET", p, nil)
		if rr.status != 200 || strings.TrimSpace(string(rr.body)) != "ok" {
			t.Fatalf("%s: %d %q", p, rr.status, rr.body)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newTestServer(t)
	e.bucket("mna")
	wantError(t, e.do("POST", "/mna/key", nil), 405, "MethodNotAllowed")
	wantError(t, e.do("PUT", "/mna?website", nil), 501, "NotImplemented")
}

func TestVirtualHostStyle(t *testing.T) {
	e := newTestServer(t, withConfig(func(c *Config) { c.Domains = []string{"localhost"} }))
	e.bucket("vhost")
	e.put("vhost", "a/b.txt", "virtual", minio.PutObjectOptions{})
	port := e.srv.URL[strings.LastIndex(e.srv.URL, ":")+1:]
	// The client resolves vhost.localhost; dial the test server instead.
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, strings.TrimPrefix(e.srv.URL, "http://"))
	}}
	vc, err := minio.New("localhost:"+port, &minio.Options{
		Creds: credentials.NewStaticV4(envAccessKey, envSecretKey, ""), Region: "us-east-1",
		BucketLookup: minio.BucketLookupDNS, Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	o, err := vc.GetObject(e.ctx, "vhost", "a/b.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(o)
	if err != nil || string(b) != "virtual" {
		t.Fatalf("vhost GET: %q %v", b, err)
	}
	var n int
	for obj := range vc.ListObjects(e.ctx, "vhost", minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("vhost list: %d objects", n)
	}
	var sawVhost bool
	for _, l := range e.accessLines() {
		if l["operation"] == "GetObject" && l["bucket"] == "vhost" && l["key"] == "a/b.txt" {
			sawVhost = true
		}
	}
	if !sawVhost {
		t.Fatal("vhost request not attributed to bucket/key")
	}
	// Signature Version 2 covers the bucket of a virtual-host request.
	v2, err := minio.New("localhost:"+port, &minio.Options{
		Creds: credentials.NewStaticV2(envAccessKey, envSecretKey, ""), Region: "us-east-1",
		BucketLookup: minio.BucketLookupDNS, Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.StatObject(e.ctx, "vhost", "a/b.txt", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("vhost V2 HEAD: %v", err)
	}
}

type ctxCaptureBackend struct {
	Backend
	mu  sync.Mutex
	ids []string
}

func (b *ctxCaptureBackend) ListBuckets(ctx context.Context) ([]store.BucketInfo, error) {
	b.mu.Lock()
	b.ids = append(b.ids, RequestID(ctx))
	b.mu.Unlock()
	return b.Backend.ListBuckets(ctx)
}

func TestOnRequestAndContextRequestID(t *testing.T) {
	var (
		mu   sync.Mutex
		sums []RequestSummary
	)
	capture := &ctxCaptureBackend{}
	e := newTestServer(t,
		withConfig(func(c *Config) {
			c.OnRequest = func(s RequestSummary) { mu.Lock(); sums = append(sums, s); mu.Unlock() }
		}),
		withBackend(func(b Backend) Backend { capture.Backend = b; return capture }))
	rr := e.do("GET", "/", nil)
	wantError(t, e.do("GET", "/nob/k", nil), 404, "NoSuchBucket")
	mu.Lock()
	defer mu.Unlock()
	if len(sums) != 2 || sums[0].Operation != "ListBuckets" || sums[0].Status != 200 || sums[0].BytesOut != int64(len(rr.body)) ||
		sums[1].Operation != "GetObject" || sums[1].Status != 404 || sums[1].Bucket != "nob" || sums[1].Key != "k" {
		t.Fatalf("summaries %+v", sums)
	}
	if len(capture.ids) != 1 || capture.ids[0] != rr.header.Get("x-amz-request-id") {
		t.Fatalf("backend saw request IDs %v, response had %q", capture.ids, rr.header.Get("x-amz-request-id"))
	}
}
