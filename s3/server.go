// Package s3 is BucketDB's S3 protocol layer: it turns HTTP requests into
// calls on a Backend (the object layer, declared in backend.go) and renders
// the answers as S3 does.
//
// A request goes through one pipeline (ServeHTTP):
//
//  1. a request ID is minted and set as x-amz-request-id / x-amz-id-2;
//  2. /health/live and /health/ready are answered without authentication,
//     /health (the JSON document) with or without (Config.HealthAuth);
//  3. virtual-host addressing ("bucket.<domain>") is folded into the path and
//     the one route table (route.go) names the operation ("PutObject");
//  4. the request is authenticated (Verifier); its decoded body (Payload)
//     is the only body handlers read (POST Object, an unsigned form that
//     carries its own signature, is authenticated by its handler);
//  5. the handler runs and returns an error or nil; errors are rendered as S3
//     XML by writeError, the one function that writes errors;
//  6. one access-log line is written per request.
//
// Handlers live in one file per operation family (buckets.go, objects.go,
// copy.go, delete.go, listing.go, versioning.go, multipart.go, tagging.go,
// acl.go, postobject.go, cors.go, policy.go, config.go, health.go). A handler panic is recovered and answered with
// InternalError.
//
// Concurrency: a Server is immutable after New and serves requests
// concurrently; all per-request state lives in a call value.
package s3

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/bucketdb/bucketdb/httpstat"
	"github.com/bucketdb/bucketdb/reqid"
)

// s3NS is the XML namespace of S3 responses.
const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// Config configures a Server. Start from DefaultConfig.
type Config struct {
	// Region is the region the server reports (GetBucketLocation) and
	// accepts as a CreateBucket LocationConstraint.
	Region string
	// Domains enables virtual-host-style addressing: a request whose Host is
	// "<bucket>.<domain>" (port ignored) addresses <bucket>. Path-style
	// addressing always works.
	Domains []string
	// Verifier authenticates every request (SigV4). Required.
	Verifier *Verifier
	// AllowAnonymous lets unsigned requests through as the anonymous
	// principal. Off by default: anonymous requests get AccessDenied.
	AllowAnonymous bool
	// Logger receives the access log (Info, one line per request) and
	// errors (Error). Nil: slog.Default().
	Logger *slog.Logger
	// MaxXMLBody bounds every XML (and JSON policy) request body; larger
	// bodies are refused. Default 4 MiB (a 1000-key DeleteObjects fits).
	MaxXMLBody int64
	// OnRequest, when set, is called once per finished request (after the
	// response was written, on the serving goroutine), for metrics. It must
	// not block.
	OnRequest func(RequestSummary)
	// Ready, when set, is asked by GET /health/ready before the backend
	// probe; an error makes the node not ready and its text is the reason
	// given in the 503 body.
	Ready func(ctx context.Context) error
	// Health, when set, returns the document GET /health renders as JSON
	// (nil: /health answers like /health/live).
	Health func(ctx context.Context) any
	// HealthAuth makes GET /health require a signed request (live and
	// ready never do).
	HealthAuth bool
	// SpoolDir holds the unlinked temporary file a POST Object form's file
	// streams to before it is stored (its size is not known before).
	// Empty: os.TempDir(), which may be a small tmpfs.
	SpoolDir string
}

// RequestSummary describes one finished request, as logged.
type RequestSummary struct {
	RequestID  string
	Operation  string // "PutObject", "HealthLive", "Unknown" when no route matched
	Method     string
	Bucket     string
	Key        string
	Status     int
	BytesIn    int64 // decoded request body bytes read
	BytesOut   int64 // response body bytes written
	Duration   time.Duration
	AccessKey  string
	RemoteAddr string
}

// RequestID returns the S3 request ID of the request ctx belongs to ("" if
// none): the object layer can log it or pass it on to peers. It is carried
// with package reqid, which the layers below read without importing s3.
func RequestID(ctx context.Context) string {
	return reqid.From(ctx)
}

// DefaultConfig returns a Config with defaults filled in; the caller sets
// Verifier.
func DefaultConfig() Config {
	return Config{
		Region:     "us-east-1",
		Logger:     slog.Default(),
		MaxXMLBody: 4 << 20,
	}
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	if c.Verifier == nil {
		return errors.New("s3: Config.Verifier is required")
	}
	if c.Region == "" {
		return errors.New("s3: Config.Region is empty")
	}
	if c.MaxXMLBody <= 0 {
		return errors.New("s3: Config.MaxXMLBody must be positive")
	}
	for _, d := range c.Domains {
		if d == "" || strings.HasPrefix(d, ".") {
			return fmt.Errorf("s3: invalid domain %q", d)
		}
	}
	return nil
}

// Server is the S3 HTTP handler.
type Server struct {
	cfg     Config
	backend Backend
	log     *slog.Logger
	router  *mux.Router
	ops     map[string]handler

	idPrefix string
	idSeq    atomic.Uint64

	lifecycles lifecycleCache // parsed lifecycle documents (lifecycle.go)
}

var _ http.Handler = (*Server)(nil)

// New returns a Server serving b. Zero fields of cfg take their defaults;
// New panics if cfg is invalid after that (a wiring error) or b is nil.
func New(cfg Config, b Backend) *Server {
	def := DefaultConfig()
	if cfg.Region == "" {
		cfg.Region = def.Region
	}
	if cfg.Logger == nil {
		cfg.Logger = def.Logger
	}
	if cfg.MaxXMLBody == 0 {
		cfg.MaxXMLBody = def.MaxXMLBody
	}
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if b == nil {
		panic("s3: nil Backend")
	}
	var p [4]byte
	_, _ = rand.Read(p[:])
	s := &Server{
		cfg:      cfg,
		backend:  b,
		log:      cfg.Logger,
		idPrefix: strings.ToUpper(hex.EncodeToString(p[:])),
	}
	s.router, s.ops = s.buildRouter()
	return s
}

// handler is what every operation implements. It writes the success
// response itself and returns an error for writeError to render.
type handler func(w http.ResponseWriter, r *http.Request, c *call) error

// call is the per-request state shared by the pipeline and the handler.
type call struct {
	id        string
	op        string
	bucket    string
	key       string
	accessKey string
	payload   *Payload
	in        countingReader
}

// body is the authenticated, decoded request body.
func (c *call) body() io.Reader { return &c.in }

// size is the decoded body length, or -1 when unknown.
func (c *call) size() int64 {
	if c.payload == nil {
		return -1
	}
	return c.payload.Size
}

// checksums returns the verified body checksums; call after EOF.
func (c *call) checksums() map[string]string {
	if c.payload == nil || c.payload.Checksums == nil {
		return nil
	}
	return c.payload.Checksums()
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.r == nil {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *Server) newRequestID() string {
	return fmt.Sprintf("%s%08X", s.idPrefix, s.idSeq.Add(1))
}

// ServeHTTP runs the request pipeline described in the package doc.
func (s *Server) ServeHTTP(hw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &httpstat.Writer{ResponseWriter: hw}
	c := &call{id: s.newRequestID(), op: "Unknown"}
	sum := sha256.Sum256([]byte(c.id + s.idPrefix))
	w.Header().Set("x-amz-request-id", c.id)
	w.Header().Set("x-amz-id-2", base64.StdEncoding.EncodeToString(sum[:]))
	w.Header().Set("Server", "BucketDB")

	r = r.WithContext(reqid.With(r.Context(), c.id))
	defer s.accessLog(w, r, c, start)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("s3 handler panic", "request_id", c.id, "operation", c.op,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if w.Status == 0 {
				s.writeError(w, r, c, ErrInternalError)
			}
		}
	}()

	if h := s.healthHandler(r); h != nil {
		c.op = healthOp(r)
		s.finish(w, r, c, h(w, r, c))
		return
	}

	c.op, c.bucket, c.key = s.route(s.addressed(r))
	if c.op == "" {
		s.finish(w, r, c, ErrMethodNotAllowed)
		return
	}
	switch c.op {
	case "CORSPreflight":
		// Browsers send preflights unsigned; the bucket's CORS rules
		// decide (cors.go).
		s.finish(w, r, c, s.ops[c.op](w, r, c))
		return
	case "PostObject":
		// A browser-based upload is an unsigned request whose form carries
		// the policy signature: the handler authenticates it (postobject.go).
		s.applyCORS(w, r, c)
		c.in.r = r.Body
		s.finish(w, r, c, s.ops[c.op](w, r, c))
		return
	}
	s.applyCORS(w, r, c)

	if b := s.hostBucket(r.Host); b != "" {
		r = r.WithContext(WithHostBucket(r.Context(), b)) // signed by SigV2
	}
	p, err := s.cfg.Verifier.Authenticate(r)
	if err != nil {
		s.finish(w, r, c, err)
		return
	}
	if p == nil || (p.Anonymous && !s.cfg.AllowAnonymous &&
		!s.policyAllowsAnonymous(r.Context(), r.URL.Query().Get("versionId"), c)) {
		s.finish(w, r, c, ErrAccessDenied)
		return
	}
	c.payload = p
	c.accessKey = p.AccessKey
	c.in.r = p.Body
	if err := checkKey(c); err != nil {
		s.finish(w, r, c, err)
		return
	}
	if err := checkVersionID(r, c); err != nil {
		s.finish(w, r, c, err)
		return
	}
	err = s.ops[c.op](w, r, c)
	if p.Anonymous && !s.cfg.AllowAnonymous && err != nil {
		err = s.hideMissingKey(r.Context(), c, err)
	}
	s.finish(w, r, c, err)
}

// hideMissingKey turns the NoSuchKey an anonymous caller got into
// AccessDenied unless the bucket's policy lets it list the bucket, as S3
// does: without s3:ListBucket, a caller must not learn which keys exist.
func (s *Server) hideMissingKey(ctx context.Context, c *call, err error) error {
	if ae, _ := ToAPIError(err); ae.Code != ErrNoSuchKey.Code {
		return err
	}
	list := &call{op: "ListObjects", bucket: c.bucket}
	if s.policyAllowsAnonymous(ctx, "", list) {
		return err
	}
	return ErrAccessDenied
}

// finish renders err, if any, unless the response has already started (then
// the connection is cut short by net/http because the declared length was
// not written, and the error is logged).
func (s *Server) finish(w *httpstat.Writer, r *http.Request, c *call, err error) {
	if err == nil {
		if w.Status == 0 {
			w.WriteHeader(http.StatusOK)
		}
		return
	}
	if w.Status != 0 {
		s.log.Error("s3 error after response started", "request_id", c.id,
			"operation", c.op, "bucket", c.bucket, "key", c.key, "err", err)
		return
	}
	s.writeError(w, r, c, err)
}

// errorResponse is the S3 error document. BucketName and Key name what was
// not found (or is in the way) for the codes S3 names them in; HostId
// repeats x-amz-id-2.
type errorResponse struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	Resource   string   `xml:"Resource"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
}

// bucketErrorCodes are the error codes whose document names the bucket.
var bucketErrorCodes = map[string]bool{
	ErrNoSuchBucket.Code: true, ErrBucketNotEmpty.Code: true, ErrBucketAlreadyOwnedByYou.Code: true,
	ErrBucketAlreadyExists.Code: true, ErrInvalidBucketName.Code: true,
}

// writeError is the one function that renders an S3 error response.
// Unrecognised errors become InternalError and are logged once here.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, c *call, err error) {
	ae, known := ToAPIError(err)
	if !known || ae.HTTPStatus >= 500 && ae.Code == ErrInternalError.Code {
		s.log.Error("s3 internal error", "request_id", c.id, "operation", c.op,
			"bucket", c.bucket, "key", c.key, "err", err)
	}
	h := w.Header()
	for _, k := range []string{"Content-Length", "Content-Encoding", "Content-Disposition",
		"Cache-Control", "Expires", "Content-Language", "Accept-Ranges"} {
		h.Del(k)
	}
	if ae.HTTPStatus != http.StatusRequestedRangeNotSatisfiable {
		h.Del("Content-Range")
	}
	if ae.HTTPStatus == http.StatusNotModified || r.Method == http.MethodHead {
		if ae.HTTPStatus != http.StatusNotModified {
			h.Del("ETag")
		}
		h.Del("Content-Type")
		w.WriteHeader(ae.HTTPStatus)
		return
	}
	h.Del("ETag")
	resource := r.URL.Path
	if resource == "" {
		resource = "/"
	}
	doc := errorResponse{
		Code: ae.Code, Message: ae.Message, Resource: resource, RequestID: c.id, HostID: h.Get("x-amz-id-2"),
	}
	// A copy's missing bucket or key may be its source's: not named.
	copying := c.op == "CopyObject" || c.op == "UploadPartCopy"
	switch {
	case copying:
	case bucketErrorCodes[ae.Code]:
		doc.BucketName = c.bucket
	case ae.Code == ErrNoSuchKey.Code:
		doc.Key = c.key
	}
	body, merr := xml.Marshal(doc)
	if merr != nil {
		body = nil
	}
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", fmt.Sprint(len(xml.Header)+len(body)))
	w.WriteHeader(ae.HTTPStatus)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(body)
}

// accessLog writes the one structured line per request and reports it to
// Config.OnRequest.
func (s *Server) accessLog(w *httpstat.Writer, r *http.Request, c *call, start time.Time) {
	sum := RequestSummary{
		RequestID: c.id, Operation: c.op, Method: r.Method, Bucket: c.bucket, Key: c.key,
		Status: w.Status, BytesIn: c.in.n, BytesOut: w.Bytes, Duration: time.Since(start),
		AccessKey: c.accessKey, RemoteAddr: r.RemoteAddr,
	}
	if sum.Status == 0 {
		sum.Status = http.StatusOK
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "s3 request",
		slog.String("request_id", sum.RequestID),
		slog.String("operation", sum.Operation),
		slog.String("method", sum.Method),
		slog.String("bucket", sum.Bucket),
		slog.String("key", sum.Key),
		slog.Int("status", sum.Status),
		slog.Int64("bytes_in", sum.BytesIn),
		slog.Int64("bytes_out", sum.BytesOut),
		slog.Duration("duration", sum.Duration),
		slog.String("access_key", sum.AccessKey),
		slog.String("remote_addr", sum.RemoteAddr),
	)
	if s.cfg.OnRequest != nil {
		s.cfg.OnRequest(sum)
	}
}

// writeXML renders v as an XML document with the given status.
func writeXML(w http.ResponseWriter, status int, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal %T: %w", v, err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", fmt.Sprint(len(xml.Header)+len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(body)
	return nil
}

// readBody reads the whole (small) request body, at most limit bytes; a
// larger body is tooBig. Errors from the body (signature failures) pass
// through unchanged.
func (c *call) readBody(limit int64, tooBig *APIError) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(c.body(), limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, tooBig
	}
	return b, nil
}

// readXML decodes the request body into v. A body over the size limit, a
// syntax error or an empty body is MalformedXML.
func (s *Server) readXML(c *call, v any) error {
	b, err := c.readBody(s.cfg.MaxXMLBody, ErrMalformedXML)
	if err != nil {
		return err
	}
	return decodeXML(b, v)
}

// decodeXML is the parser behind every XML body (fuzzed).
func decodeXML(b []byte, v any) error {
	if len(strings.TrimSpace(string(b))) == 0 {
		return ErrMalformedXML
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return ErrMalformedXML.WithMessage("%s (%v)", ErrMalformedXML.Message, err)
	}
	return nil
}

// iso8601 formats t as S3 does in XML bodies.
func iso8601(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// quoteETag returns the ETag in its quoted wire form.
func quoteETag(etag string) string {
	if strings.HasPrefix(etag, `"`) {
		return etag
	}
	return `"` + etag + `"`
}

// trimETag strips quotes (and a weak prefix) from a client-supplied ETag.
func trimETag(etag string) string {
	etag = strings.TrimSpace(etag)
	etag = strings.TrimPrefix(etag, "W/")
	return strings.Trim(etag, `"`)
}

func itoa(n int) string { return strconv.Itoa(n) }
