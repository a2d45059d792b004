package s3

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

const (
	metaPrefix        = "X-Amz-Meta-"
	userMetaHeader    = "x-amz-meta-" // as S3 writes it in responses
	maxUserMetaBytes  = 2 << 10       // S3: user metadata ≤ 2 KB
	defaultObjectType = "binary/octet-stream"
	fencingHeader     = "x-bucketdb-fencing-token"
)

// checksumNames are the checksum algorithms S3 knows, as keyed in
// ObjectInfo.Checksums; the header is "x-amz-checksum-<name>".
var checksumNames = []string{"crc32", "crc32c", "sha1", "sha256", "crc64nvme"}

func (s *Server) putObject(w http.ResponseWriter, r *http.Request, c *call) error {
	size := c.size()
	if size < 0 {
		return ErrMissingContentLength
	}
	if size > store.MaxPutSize {
		return ErrEntityTooLarge
	}
	opts, err := putOptionsFromHeaders(r.Header, c)
	if err != nil {
		return err
	}
	info, err := s.backend.PutObject(r.Context(), c.bucket, c.key, c.body(), size, opts)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", quoteETag(info.ETag))
	s.setVersionHeader(r.Context(), h, c.bucket, info.VersionID)
	sums := info.Checksums
	if len(sums) == 0 {
		sums = c.checksums()
	}
	setChecksumHeaders(h, sums)
	s.setExpiration(r.Context(), h, info)
	w.WriteHeader(http.StatusOK)
	return nil
}

// putOptionsFromHeaders collects everything a PutObject request says besides
// its body: metadata, tags, Content-MD5, checksums and write conditions.
func putOptionsFromHeaders(h http.Header, c *call) (store.PutOptions, error) {
	md5sum, err := contentMD5(h)
	if err != nil {
		return store.PutOptions{}, err
	}
	meta, err := metaFromHeaders(h)
	if err != nil {
		return store.PutOptions{}, err
	}
	if meta.Tags, err = parseTagHeader(h.Get("x-amz-tagging")); err != nil {
		return store.PutOptions{}, err
	}
	cond, err := writeConditions(h)
	if err != nil {
		return store.PutOptions{}, err
	}
	return store.PutOptions{Meta: meta, ContentMD5: md5sum, Cond: cond, ChecksumsFunc: c.checksums}, nil
}

// contentMD5 decodes a Content-MD5 header; malformed is InvalidDigest.
func contentMD5(h http.Header) ([]byte, error) {
	v, ok := h["Content-Md5"]
	if !ok {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.Join(v, "")))
	if err != nil || len(b) != md5.Size {
		return nil, ErrInvalidDigest
	}
	return b, nil
}

// storageClasses are the storage classes a write may name. Every object is
// stored one way, which these names describe; another class (infrequent
// access, archive tiers) is refused rather than silently ignored.
var storageClasses = map[string]bool{"STANDARD": true, "REDUCED_REDUNDANCY": true}

// objectLockHeaders ask a write to lock the new version. No bucket has an
// Object Lock configuration, so S3 refuses them all.
var objectLockHeaders = []string{
	"x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold",
}

// checkWriteHeaders refuses what a write asks for and BucketDB does not do:
// server-side encryption (the object would not be encrypted, and with a
// customer key a read without the key would still succeed), storage
// classes other than standard, object locks (retention and legal holds,
// which would not hold) and ACLs that grant more than the owner's full
// control (the object would not be public).
func checkWriteHeaders(h http.Header) error {
	for name := range h {
		l := strings.ToLower(name)
		if strings.HasPrefix(l, "x-amz-server-side-encryption") || strings.HasPrefix(l, "x-amz-copy-source-server-side-encryption") {
			return ErrNotImplemented.WithMessage("Server-side encryption is not supported (%s).", truncateString(name, 80))
		}
	}
	if sc := h.Get("x-amz-storage-class"); sc != "" && !storageClasses[sc] {
		return ErrInvalidStorageClass.WithMessage("The storage class %q is not supported: every object is stored as STANDARD.", truncateString(sc, 64))
	}
	for _, name := range objectLockHeaders {
		if h.Get(name) != "" {
			return ErrInvalidRequest.WithMessage("Bucket is missing ObjectLockConfiguration")
		}
	}
	return checkACLHeaders(h)
}

// metaFromHeaders reads the stored standard headers, x-amz-meta-* and the
// x-amz-checksum-* values of a write request (refusing what
// checkWriteHeaders refuses).
func metaFromHeaders(h http.Header) (store.ObjectMeta, error) {
	if err := checkWriteHeaders(h); err != nil {
		return store.ObjectMeta{}, err
	}
	m := store.ObjectMeta{
		ContentType:        h.Get("Content-Type"),
		CacheControl:       h.Get("Cache-Control"),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentEncoding:    StoredContentEncoding(h),
		ContentLanguage:    h.Get("Content-Language"),
		Expires:            h.Get("Expires"),
	}
	if m.ContentType == "" {
		m.ContentType = defaultObjectType
	}
	var err error
	if m.UserMeta, err = userMetaFromHeaders(h); err != nil {
		return m, err
	}
	m.Checksums = checksumsFromHeaders(h)
	return m, nil
}

// userMetaFromHeaders returns x-amz-meta-* keyed by lower-case suffix.
func userMetaFromHeaders(h http.Header) (map[string]string, error) {
	var um map[string]string
	total := 0
	for k, vs := range h {
		suffix, ok := strings.CutPrefix(textproto.CanonicalMIMEHeaderKey(k), metaPrefix)
		if !ok || suffix == "" {
			continue
		}
		if um == nil {
			um = make(map[string]string)
		}
		v := strings.Join(vs, ",")
		um[strings.ToLower(suffix)] = v
		total += len(suffix) + len(v)
	}
	if total > maxUserMetaBytes {
		return nil, ErrMetadataTooLarge
	}
	return um, nil
}

func checksumsFromHeaders(h http.Header) map[string]string {
	var sums map[string]string
	for _, name := range checksumNames {
		if v := h.Get("x-amz-checksum-" + name); v != "" {
			if sums == nil {
				sums = make(map[string]string)
			}
			sums[name] = v
		}
	}
	return sums
}

func setChecksumHeaders(h http.Header, sums map[string]string) {
	for _, name := range checksumNames {
		if v := sums[name]; v != "" {
			h.Set("x-amz-checksum-"+name, v)
		}
	}
}

// writeConditions reads If-Match / If-None-Match and the fencing token of a
// write. PutObject supports only If-None-Match: *, as S3 does.
func writeConditions(h http.Header) (store.Conditions, error) {
	var cond store.Conditions
	if v := h.Get("If-None-Match"); v != "" {
		if strings.TrimSpace(v) != "*" {
			return cond, ErrNotImplemented.WithMessage("If-None-Match on writes supports only '*'.")
		}
		cond.IfNoneMatch = "*"
	}
	if v := h.Get("If-Match"); v != "" {
		// Passed as sent: the object layer matches ETag lists and "*".
		cond.IfMatch = strings.TrimSpace(v)
		if trimETag(cond.IfMatch) == "" {
			return cond, ErrInvalidArgument.WithMessage("If-Match must name an ETag.")
		}
	}
	tok, err := fencingToken(h)
	cond.FencingToken = tok
	return cond, err
}

func fencingToken(h http.Header) (uint64, error) {
	v := h.Get(fencingHeader)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil || n == 0 {
		return 0, ErrInvalidArgument.WithMessage("The %s header must be a positive integer.", fencingHeader)
	}
	return n, nil
}

// setVersionHeader sets x-amz-version-id when the bucket has versioning
// configured: a real version ID always, "null" only for a suspended bucket.
func (s *Server) setVersionHeader(ctx context.Context, h http.Header, bucket, vid string) {
	if vid == "" {
		return
	}
	if vid == store.NullVersionID {
		b, err := s.backend.GetBucket(ctx, bucket)
		if err != nil || b.Versioning == store.VersioningOff {
			return
		}
	}
	h.Set("x-amz-version-id", vid)
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.serveObject(w, r, c, false)
}

func (s *Server) headObject(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.serveObject(w, r, c, true)
}

// readRequest is a parsed GetObject/HeadObject request.
type readRequest struct {
	versionID  string
	partNumber int
	rng        byteRange
	hasRange   bool
}

func parseReadRequest(r *http.Request) (readRequest, error) {
	q := r.URL.Query()
	rr := readRequest{versionID: q.Get("versionId")}
	if v, ok := q["partNumber"]; ok {
		n, err := strconv.Atoi(strings.Join(v, ""))
		if err != nil || n < 1 || n > store.MaxPartNumber {
			return rr, ErrInvalidArgument.WithMessage("Part number must be an integer between 1 and 10000, inclusive.")
		}
		rr.partNumber = n
	}
	rr.rng, rr.hasRange = parseRange(r.Header.Get("Range"))
	if rr.hasRange && rr.partNumber > 0 {
		return rr, ErrInvalidRequest.WithMessage("Cannot specify both Range header and partNumber query parameter.")
	}
	return rr, nil
}

// serveObject is GetObject and HeadObject: it resolves the version,
// evaluates the conditional headers, resolves Range or partNumber, and
// streams the selected bytes.
func (s *Server) serveObject(w http.ResponseWriter, r *http.Request, c *call, head bool) error {
	req, err := parseReadRequest(r)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err := s.serveOnce(w, r, c, req, head)
		if !errors.Is(err, errVersionChanged) || attempt == 2 {
			return err
		}
	}
}

// errVersionChanged: the version resolved for a ranged read was replaced
// before its body was opened; serveObject starts over.
var errVersionChanged = errors.New("object version replaced during read")

func (s *Server) serveOnce(w http.ResponseWriter, r *http.Request, c *call, req readRequest, head bool) error {
	ctx := r.Context()
	var (
		info store.ObjectInfo
		rc   io.ReadCloser
		err  error
	)
	whole := !req.hasRange && req.partNumber == 0
	if head || !whole {
		info, err = s.backend.HeadObject(ctx, c.bucket, c.key, store.GetOptions{VersionID: req.versionID})
	} else {
		// Plain GET: one lookup gives the metadata and the body.
		info, rc, err = s.backend.GetObject(ctx, c.bucket, c.key, store.GetOptions{VersionID: req.versionID})
	}
	if rc != nil {
		defer rc.Close()
	}
	if err != nil {
		return s.deleteMarkerError(ctx, w.Header(), c, req.versionID, info, err)
	}
	if err := checkReadConditions(w.Header(), r.Header, info); err != nil {
		return err
	}
	status := http.StatusOK
	var rng *store.Range
	h := w.Header()
	switch {
	case req.partNumber > 0:
		pr, count, err := partRange(info, req.partNumber)
		if err != nil {
			return err
		}
		h.Set("x-amz-mp-parts-count", strconv.Itoa(count))
		if pr.Length > 0 {
			rng, status = &pr, http.StatusPartialContent
		}
	case req.hasRange:
		rg, err := req.rng.resolve(info.Size)
		if err != nil {
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
			return err
		}
		rng, status = &rg, http.StatusPartialContent
	}
	if !head && rc == nil {
		got, body, err := s.backend.GetObject(ctx, c.bucket, c.key, store.GetOptions{VersionID: info.VersionID, Range: rng})
		if err != nil {
			return err
		}
		defer body.Close()
		if got.ETag != info.ETag || got.Size != info.Size {
			return errVersionChanged
		}
		rc = body
	}
	length := info.Size
	if rng != nil {
		length = rng.Length
		h.Set("Content-Range", contentRange(*rng, info.Size))
	}
	sumMode := strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED")
	setObjectHeaders(h, info, sumMode && rng == nil && req.partNumber == 0)
	s.setExpiration(ctx, h, info)
	if sumMode && req.partNumber > 0 {
		// A partNumber read shows that part's own checksum, as S3 does.
		sums := info.Checksums
		if len(info.Parts) > 0 {
			sums = info.Parts[req.partNumber-1].Checksums
		}
		setChecksumHeaders(h, sums)
		setChecksumTypeHeader(h, info.Checksums)
	}
	applyResponseOverrides(h, r)
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	w.WriteHeader(status)
	if head {
		return nil
	}
	if _, err := io.CopyN(w, rc, length); err != nil {
		return fmt.Errorf("stream %s/%s: %w", c.bucket, c.key, err)
	}
	return nil
}

// partRange locates part n of an object: its byte range and the part count.
// An object not uploaded in parts is one part.
func partRange(info store.ObjectInfo, n int) (store.Range, int, error) {
	if len(info.Parts) == 0 {
		if n != 1 {
			return store.Range{}, 1, ErrInvalidPartNumber
		}
		return store.Range{Start: 0, Length: info.Size}, 1, nil
	}
	if n > len(info.Parts) {
		return store.Range{}, len(info.Parts), ErrInvalidPartNumber
	}
	var off int64
	for _, p := range info.Parts[:n-1] {
		off += p.Size
	}
	return store.Range{Start: off, Length: info.Parts[n-1].Size}, len(info.Parts), nil
}

// deleteMarkerError adds the headers S3 sends when a read hits a delete
// marker: 404 with x-amz-delete-marker for the latest, 405 with Allow when
// the marker is addressed by version ID.
func (s *Server) deleteMarkerError(ctx context.Context, h http.Header, c *call, versionID string, info store.ObjectInfo, err error) error {
	switch {
	case errors.Is(err, store.ErrMethodNotAllowed):
		h.Set("x-amz-delete-marker", "true")
		h.Set("Allow", "DELETE")
		vid := info.VersionID
		if vid == "" {
			vid = versionID
		}
		h.Set("x-amz-version-id", vid)
		if !info.ModTime.IsZero() {
			h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
		}
	case errors.Is(err, store.ErrNoSuchKey) && versionID == "":
		if !info.DeleteMarker {
			info = s.latestDeleteMarker(ctx, c.bucket, c.key)
		}
		if info.DeleteMarker {
			h.Set("x-amz-delete-marker", "true")
			h.Set("x-amz-version-id", info.VersionID)
		}
	}
	return err
}

// latestDeleteMarker returns the latest version of key when it is a delete
// marker (zero otherwise). Only asked on the 404 path.
func (s *Server) latestDeleteMarker(ctx context.Context, bucket, key string) store.ObjectInfo {
	res, err := s.backend.ListObjectVersions(ctx, bucket, store.ListVersionsOptions{Prefix: key, MaxKeys: 1})
	if err != nil || len(res.Versions) == 0 {
		return store.ObjectInfo{}
	}
	v := res.Versions[0]
	if v.Key != key || !v.DeleteMarker {
		return store.ObjectInfo{}
	}
	return v
}

// setObjectHeaders writes the stored headers of an object version.
func setObjectHeaders(h http.Header, info store.ObjectInfo, checksums bool) {
	h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	h.Set("ETag", quoteETag(info.ETag))
	h.Set("Accept-Ranges", "bytes")
	ct := info.ContentType
	if ct == "" {
		ct = defaultObjectType
	}
	h.Set("Content-Type", ct)
	for k, v := range map[string]string{
		"Cache-Control":       info.CacheControl,
		"Content-Disposition": info.ContentDisposition,
		"Content-Encoding":    info.ContentEncoding,
		"Content-Language":    info.ContentLanguage,
		"Expires":             info.Expires,
	} {
		if v != "" {
			h.Set(k, v)
		}
	}
	// S3 sends user metadata names in lower case, as stored; set directly,
	// since net/http writes map keys as they are. Clients that keep the
	// name as received (boto3's Metadata) would otherwise see "Mode" for
	// a key written as "mode".
	for k, v := range info.UserMeta {
		h[userMetaHeader+strings.ToLower(k)] = []string{v}
	}
	if info.VersionID != "" && info.VersionID != store.NullVersionID {
		h.Set("x-amz-version-id", info.VersionID)
	}
	if len(info.Tags) > 0 {
		h.Set("x-amz-tagging-count", strconv.Itoa(len(info.Tags)))
	}
	if checksums {
		setChecksumHeaders(h, info.Checksums)
		setChecksumTypeHeader(h, info.Checksums)
	}
}

// responseOverrides maps the response-* query parameters to the headers
// they replace.
var responseOverrides = []struct{ param, header string }{
	{"response-content-type", "Content-Type"},
	{"response-content-language", "Content-Language"},
	{"response-expires", "Expires"},
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
}

func applyResponseOverrides(h http.Header, r *http.Request) {
	q := r.URL.Query()
	for _, o := range responseOverrides {
		if v := q.Get(o.param); v != "" {
			h.Set(o.header, v)
		}
	}
}

// checkReadConditions evaluates If-Match, If-Unmodified-Since, If-None-Match
// and If-Modified-Since with S3's precedence: If-Match decides over
// If-Unmodified-Since, If-None-Match over If-Modified-Since; a failed match
// is 412, a not-modified is 304 (with ETag and Last-Modified set).
func checkReadConditions(out, in http.Header, info store.ObjectInfo) error {
	etag := info.ETag
	mod := info.ModTime.UTC().Truncate(time.Second)
	if v := in.Get("If-Match"); v != "" {
		if !etagMatches(v, etag) {
			return ErrPreconditionFailed
		}
	} else if t, ok := parseHTTPTime(in.Get("If-Unmodified-Since")); ok && mod.After(t) {
		return ErrPreconditionFailed
	}
	notModified := false
	if v := in.Get("If-None-Match"); v != "" {
		notModified = etagMatches(v, etag)
	} else if t, ok := parseHTTPTime(in.Get("If-Modified-Since")); ok && !mod.After(t) {
		notModified = true
	}
	if notModified {
		out.Set("ETag", quoteETag(etag))
		out.Set("Last-Modified", mod.Format(http.TimeFormat))
		return ErrNotModified
	}
	return nil
}

// etagMatches reports whether a comma-separated If-Match / If-None-Match
// list names etag (or is "*").
func etagMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "*" || trimETag(e) == etag {
			return true
		}
	}
	return false
}

func parseHTTPTime(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, c *call) error {
	opts := store.DeleteOptions{VersionID: r.URL.Query().Get("versionId")}
	if v := r.Header.Get("If-Match"); v != "" {
		opts.Cond.IfMatch = strings.TrimSpace(v)
	}
	tok, err := fencingToken(r.Header)
	if err != nil {
		return err
	}
	opts.Cond.FencingToken = tok
	res, err := s.backend.DeleteObject(r.Context(), c.bucket, c.key, opts)
	switch {
	case err == nil:
	case opts.Cond.IfMatch == "" && (errors.Is(err, store.ErrNoSuchKey) || errors.Is(err, store.ErrNoSuchVersion)):
		// S3 answers 204 for a key or version that is not there.
		w.WriteHeader(http.StatusNoContent)
		return nil
	default:
		return err
	}
	h := w.Header()
	if res.DeleteMarker {
		h.Set("x-amz-delete-marker", "true")
	}
	if res.VersionID != "" && (res.VersionID != store.NullVersionID || res.DeleteMarker || opts.VersionID != "") {
		h.Set("x-amz-version-id", res.VersionID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
