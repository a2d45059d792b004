package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// target is the deployment a test drives and the node it talks to: one
// single node, or one node of a cluster. Object tests take a *target so that
// the same test runs against a single node and through every cluster node.
type target struct {
	srv *Server   // the node requests go to
	all []*Server // every node of the deployment
	c   *minio.Client
}

func newTarget(t testing.TB, srv *Server, all []*Server) *target {
	if all == nil {
		all = []*Server{srv}
	}
	return &target{srv: srv, all: all, c: srv.Client(t)}
}

func (tg *target) core() *minio.Core { return &minio.Core{Client: tg.c} }

// trailingClient is a minio-go client that sends aws-chunked uploads with
// trailing checksums (CRC32C by default).
func (tg *target) trailingClient(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(tg.srv.Endpoint, &minio.Options{
		Creds:           credentials.NewStaticV4(tg.srv.AccessKey, tg.srv.SecretKey, ""),
		Region:          testRegion,
		BucketLookup:    minio.BucketLookupPath,
		TrailingHeaders: true,
	})
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	return c
}

// rawHTTP is the HTTP client of raw requests: it never asks for or decodes
// compressed responses, so bodies arrive exactly as stored.
var rawHTTP = &http.Client{Transport: &http.Transport{
	DisableCompression:  true,
	MaxIdleConnsPerHost: 32,
}}

// rawResp is a response read whole.
type rawResp struct {
	Status int
	Header http.Header
	Body   []byte
}

// s3Error is the S3 XML error document.
type s3Error struct {
	Code      string
	Message   string
	Resource  string
	RequestID string `xml:"RequestId"`
}

func (r *rawResp) err(t testing.TB) s3Error {
	t.Helper()
	var e s3Error
	if err := xml.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("status %d: body is not an S3 error document: %v\n%s", r.Status, err, r.Body)
	}
	return e
}

// wantError checks status, S3 error code and that the RequestId of the
// document is the x-amz-request-id header.
func (r *rawResp) wantError(t testing.TB, status int, code string) s3Error {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d (%s); body:\n%s", r.Status, status, code, r.Body)
	}
	e := r.err(t)
	if e.Code != code {
		t.Fatalf("error code %q, want %q; body:\n%s", e.Code, code, r.Body)
	}
	if e.RequestID == "" || e.RequestID != r.Header.Get("X-Amz-Request-Id") {
		t.Fatalf("RequestId %q in body, x-amz-request-id header %q: want equal and non-empty", e.RequestID, r.Header.Get("X-Amz-Request-Id"))
	}
	return e
}

func (r *rawResp) wantStatus(t testing.TB, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.Status, status, r.Body)
	}
}

// rawReq describes a hand-made S3 request signed with SigV4.
type rawReq struct {
	method string
	path   string // "/bucket/key", unescaped; escaped the S3 way
	query  url.Values
	header http.Header
	body   []byte

	accessKey, secretKey string    // default: the server's
	signTime             time.Time // default: now
	anonymous            bool      // no signature at all
	unsignedPayload      bool      // x-amz-content-sha256: UNSIGNED-PAYLOAD
	payloadHash          string    // overrides the signed body hash
	host                 string    // Host header (virtual-host style); default the endpoint
}

// s3Escape escapes a path the way S3 clients do: every byte but the
// unreserved characters and '/'.
func s3Escape(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// do sends a raw request to the target node.
func (tg *target) do(t testing.TB, r rawReq) *rawResp {
	t.Helper()
	return doRaw(t, tg.srv, r)
}

func doRaw(t testing.TB, s *Server, r rawReq) *rawResp {
	t.Helper()
	req := buildRaw(t, s, r)
	resp, err := rawHTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", r.method, r.path, err)
	}
	return &rawResp{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

func buildRaw(t testing.TB, s *Server, r rawReq) *http.Request {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: s.Endpoint, Path: r.path, RawPath: s3Escape(r.path)}
	if r.query != nil {
		// S3 wants %20, not '+', for spaces in query values.
		u.RawQuery = strings.ReplaceAll(r.query.Encode(), "+", "%20")
	}
	req, err := http.NewRequest(r.method, u.String(), bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.ContentLength = int64(len(r.body))
	if r.host != "" {
		req.Host = r.host
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.anonymous {
		return req
	}
	ak, sk := r.accessKey, r.secretKey
	if ak == "" {
		ak, sk = s.AccessKey, s.SecretKey
	}
	when := r.signTime
	if when.IsZero() {
		when = time.Now()
	}
	payload := "UNSIGNED-PAYLOAD"
	if !r.unsignedPayload {
		sum := sha256.Sum256(r.body)
		payload = hex.EncodeToString(sum[:])
	}
	if r.payloadHash != "" {
		payload = r.payloadHash
	}
	req.Header.Set("X-Amz-Content-Sha256", payload)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	err = signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk},
		req, payload, "s3", testRegion, when.UTC())
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return req
}

// q builds url.Values from key, value pairs.
func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// hdr builds an http.Header from key, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// genReader yields a deterministic pseudo-random stream of n bytes from a
// seed, so large bodies are produced (and re-produced for checking) without
// holding them in memory.
type genReader struct {
	rng *rand.ChaCha8
	n   int64
}

func newGen(seed uint64, n int64) *genReader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return &genReader{rng: rand.NewChaCha8(s), n: n}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	n, _ := g.rng.Read(p)
	g.n -= int64(n)
	return n, nil
}

// genMD5 is the hex MD5 of newGen(seed, n)'s stream.
func genMD5(seed uint64, n int64) string {
	h := md5.New()
	if _, err := io.Copy(h, newGen(seed, n)); err != nil {
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashingReader hashes what passes through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// streamMD5 reads r to the end and returns its hex MD5 and length.
func streamMD5(r io.Reader) (string, int64, error) {
	h := md5.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// multipartETag is the S3 multipart ETag of the given parts.
func multipartETag(parts ...[]byte) string {
	all := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		all.Write(s[:])
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(all.Sum(nil)), len(parts))
}

// trimETag removes the quotes around an ETag.
func trimETag(e string) string { return strings.Trim(e, `"`) }

// ctxT is a context bounded by a generous per-operation timeout.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// listAll lists every object of bucket under prefix (all pages), failing the
// test on error.
func listAll(t testing.TB, c *minio.Client, bucket string, opts minio.ListObjectsOptions) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	for o := range c.ListObjects(ctxT(t), bucket, opts) {
		if o.Err != nil {
			t.Fatalf("ListObjects %s: %v", bucket, o.Err)
		}
		out = append(out, o)
	}
	return out
}

// parallel runs f(i) for i in [0, n) on workers goroutines and returns the
// first error.
func parallel(n, workers int, f func(i int) error) error {
	idx := make(chan int)
	errc := make(chan error, workers)
	for range workers {
		go func() {
			var first error
			for i := range idx {
				if err := f(i); err != nil && first == nil {
					first = err
				}
			}
			errc <- first
		}()
	}
	for i := range n {
		idx <- i
	}
	close(idx)
	var first error
	for range workers {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}
