package fsmount

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// S3Config configures an S3Bucket.
type S3Config struct {
	// Endpoints are tried in order; on a transient failure the next one
	// takes over. "http://host:port", "https://host:port" or "host:port"
	// (plain HTTP).
	Endpoints []string
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	// Attempts bounds tries per request across endpoints (default 6), with
	// exponential backoff from 100 ms up to 2 s between them.
	Attempts int
	// DialTimeout and HeaderTimeout bound connection setup and the wait for
	// response headers, so that a dead node is never waited on forever.
	DialTimeout   time.Duration
	HeaderTimeout time.Duration
	// With several endpoints, a request still running after ProbeAfter
	// (default 5 s; negative: never) has its endpoint probed; one that does
	// not answer within ProbeTimeout (default 3 s) is failed over at once
	// (probe.go).
	ProbeAfter   time.Duration
	ProbeTimeout time.Duration
	Logger       *slog.Logger
}

// S3Bucket implements Bucket over S3 with minio-go, failing over between
// endpoints. Safe for concurrent use.
type S3Bucket struct {
	cfg     S3Config
	clients []*minio.Client
	cores   []minio.Core
	// bases and https serve the requests minio-go has no call for (the
	// lock API), one per endpoint, signed with SigV4.
	bases []url.URL
	https []*http.Client
	conns []*endpointConns
	probe *http.Client
	cur   atomic.Int32
	log   *slog.Logger
}

var _ Bucket = (*S3Bucket)(nil)

// NewS3Bucket builds the clients; it does not contact the server (Check
// does).
func NewS3Bucket(cfg S3Config) (*S3Bucket, error) {
	if len(cfg.Endpoints) == 0 || cfg.Bucket == "" {
		return nil, errors.New("fsmount: endpoints and bucket are required")
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 6
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = 60 * time.Second
	}
	if cfg.ProbeAfter == 0 {
		cfg.ProbeAfter = 5 * time.Second
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = 3 * time.Second
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	b := &S3Bucket{cfg: cfg, log: cfg.Logger, probe: &http.Client{
		Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext, DisableKeepAlives: true},
	}}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, ep := range cfg.Endpoints {
		host, secure, err := parseEndpoint(ep)
		if err != nil {
			return nil, err
		}
		conns := &endpointConns{}
		b.conns = append(b.conns, conns)
		tr := &http.Transport{
			Proxy:                 nil,
			DialContext:           conns.dial(dialer),
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: cfg.HeaderTimeout,
			DisableCompression:    true,
		}
		c, err := minio.New(host, &minio.Options{
			Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
			Secure:       secure,
			Region:       cfg.Region,
			BucketLookup: minio.BucketLookupPath,
			Transport:    fencingTransport{tr},
			MaxRetries:   1,
		})
		if err != nil {
			return nil, fmt.Errorf("endpoint %s: %w", ep, err)
		}
		b.clients = append(b.clients, c)
		scheme := "http"
		if secure {
			scheme = "https"
		}
		b.bases = append(b.bases, url.URL{Scheme: scheme, Host: host})
		b.https = append(b.https, &http.Client{Transport: tr})
		b.cores = append(b.cores, minio.Core{Client: c})
	}
	return b, nil
}

func parseEndpoint(ep string) (host string, secure bool, err error) {
	ep = strings.TrimSpace(ep)
	if !strings.Contains(ep, "://") {
		ep = "http://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return "", false, fmt.Errorf("bad endpoint %q", ep)
	}
	return u.Host, u.Scheme == "https", nil
}

// Check verifies that the bucket exists and the credentials work, with a
// clear error otherwise.
func (b *S3Bucket) Check(ctx context.Context) error {
	var exists bool
	err := b.do(ctx, "check", func(ctx context.Context, i int) error {
		var err error
		exists, err = b.clients[i].BucketExists(ctx, b.cfg.Bucket)
		return err
	})
	switch {
	case errors.Is(err, ErrAccessDenied):
		return fmt.Errorf("access denied to bucket %q: check the access key and secret key", b.cfg.Bucket)
	case errors.Is(err, ErrUnavailable):
		return fmt.Errorf("no endpoint reachable (%s): %w", strings.Join(b.cfg.Endpoints, ", "), err)
	case err != nil:
		return err
	case !exists:
		return fmt.Errorf("bucket %q does not exist", b.cfg.Bucket)
	}
	return nil
}

// classify maps a minio-go error to the package sentinels and says
// whether it is worth retrying (and on another endpoint).
func classify(err error) (error, bool) {
	if err == nil {
		return nil, false
	}
	if errors.Is(err, context.Canceled) {
		return err, false
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey", "NoSuchUpload", "NoSuchVersion":
		return fmt.Errorf("%w: %v", ErrNotExist, err), false
	case "NoSuchBucket":
		return fmt.Errorf("%w: %v", ErrNoBucket, err), false
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return fmt.Errorf("%w: %v", ErrAccessDenied, err), false
	case "PreconditionFailed":
		return fmt.Errorf("%w: %v", ErrPrecondition, err), false
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "ServerBusy":
		return err, true
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %v", ErrNotExist, err), false
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %v", ErrAccessDenied, err), false
	case resp.StatusCode == http.StatusPreconditionFailed:
		return fmt.Errorf("%w: %v", ErrPrecondition, err), false
	case resp.StatusCode >= 500:
		return err, true
	case resp.StatusCode != 0:
		return err, false
	}
	// No HTTP status: a transport error (refused, reset, timeout).
	return fmt.Errorf("%w: %v", ErrUnavailable, err), true
}

// do runs op against the current endpoint, retrying transient failures
// with backoff and moving to the next endpoint.
func (b *S3Bucket) do(ctx context.Context, what string, op func(ctx context.Context, i int) error) error {
	backoff := 100 * time.Millisecond
	var last error
	for attempt := 0; attempt < b.cfg.Attempts; attempt++ {
		i := int(b.cur.Load()) % len(b.clients)
		err, retry := classify(b.watch(i, what, func() error { return op(ctx, i) }))
		if err == nil {
			return nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			return err
		}
		if len(b.clients) > 1 {
			next := (i + 1) % len(b.clients)
			if b.cur.CompareAndSwap(int32(i), int32(next)) {
				b.log.Warn("endpoint failed, switching", "op", what, "from", b.cfg.Endpoints[i], "to", b.cfg.Endpoints[next], "err", err)
			}
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return last
		}
		backoff = min(backoff*2, 2*time.Second)
	}
	return last
}

func userMeta(m Meta) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// metaFrom extracts x-amz-meta-* from a listing's UserMetadata (keys with
// the prefix, as MinIO sends them; bare attribute names are accepted too).
func metaFrom(um minio.StringMap) Meta {
	m := Meta{}
	for k, v := range um {
		lk := strings.ToLower(k)
		switch {
		case strings.HasPrefix(lk, "x-amz-meta-"):
			m[strings.TrimPrefix(lk, "x-amz-meta-")] = v
		case lk == metaMode || lk == metaUID || lk == metaGID || lk == metaMtime || lk == metaCtime || lk == metaAtime:
			if _, ok := m[lk]; !ok {
				m[lk] = v
			}
		}
	}
	return m
}

func infoFromMinio(o minio.ObjectInfo, fromStat bool) ObjectInfo {
	info := ObjectInfo{Key: o.Key, Size: o.Size, ETag: strings.Trim(o.ETag, `"`), LastModified: o.LastModified, VersionID: o.VersionID}
	if fromStat {
		info.Meta = Meta{}
		for k, v := range o.UserMetadata {
			info.Meta[strings.ToLower(k)] = v
		}
		info.HasMeta = true
	} else if len(o.UserMetadata) > 0 {
		// A server that supports metadata=true returns at least the
		// content type; an empty element means "unknown" (HEAD instead).
		info.Meta = metaFrom(o.UserMetadata)
		info.HasMeta = true
	}
	return info
}

// Stat implements Bucket.
func (b *S3Bucket) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	var info ObjectInfo
	err := b.do(ctx, "stat", func(ctx context.Context, i int) error {
		o, err := b.clients[i].StatObject(ctx, b.cfg.Bucket, key, minio.StatObjectOptions{})
		info = infoFromMinio(o, true)
		info.Key = key
		return err
	})
	return info, err
}

// Get implements Bucket.
func (b *S3Bucket) Get(ctx context.Context, key string, off, n int64, etag string) (io.ReadCloser, error) {
	opts := minio.GetObjectOptions{}
	if etag != "" {
		if err := opts.SetMatchETag(etag); err != nil {
			return nil, err
		}
	}
	return b.getRange(ctx, "get", key, opts, off, n)
}

// getRange GETs n bytes at off (n < 0: to the end) with the given options;
// a range past the end reads as empty.
func (b *S3Bucket) getRange(ctx context.Context, op, key string, base minio.GetObjectOptions, off, n int64) (io.ReadCloser, error) {
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	var body io.ReadCloser
	err := b.do(ctx, op, func(ctx context.Context, i int) error {
		opts := base
		switch {
		case n > 0:
			if err := opts.SetRange(off, off+n-1); err != nil {
				return err
			}
		case off > 0:
			if err := opts.SetRange(off, 0); err != nil {
				return err
			}
		}
		rc, _, _, err := b.cores[i].GetObject(ctx, b.cfg.Bucket, key, opts)
		if err != nil {
			if minio.ToErrorResponse(err).Code == "InvalidRange" {
				body = io.NopCloser(strings.NewReader(""))
				return nil
			}
			return err
		}
		body = rc
		return nil
	})
	return body, err
}

// Put implements Bucket (one PUT, UNSIGNED-PAYLOAD).
func (b *S3Bucket) Put(ctx context.Context, key string, r io.ReaderAt, size int64, meta Meta) (ObjectInfo, error) {
	var info ObjectInfo
	err := b.do(ctx, "put", func(ctx context.Context, i int) error {
		up, err := b.cores[i].PutObject(ctx, b.cfg.Bucket, key, io.NewSectionReader(r, 0, size), size, "", "",
			minio.PutObjectOptions{UserMetadata: userMeta(meta), DisableContentSha256: true})
		info = ObjectInfo{Key: key, Size: size, ETag: up.ETag, LastModified: time.Now(), Meta: meta, HasMeta: true, VersionID: up.VersionID}
		return err
	})
	return info, err
}

// Copy implements Bucket. Objects above 5 GiB are copied with a multipart
// copy (ComposeObject).
func (b *S3Bucket) Copy(ctx context.Context, src, dst string, meta Meta) (ObjectInfo, error) {
	var info ObjectInfo
	err := b.do(ctx, "copy", func(ctx context.Context, i int) error {
		dopts := minio.CopyDestOptions{Bucket: b.cfg.Bucket, Object: dst}
		sopts := minio.CopySrcOptions{Bucket: b.cfg.Bucket, Object: src}
		if meta != nil {
			// S3 replaces all metadata or none: read what the object
			// carries, change the attribute keys, and copy only the
			// version that was read.
			o, err := b.clients[i].StatObject(ctx, b.cfg.Bucket, src, minio.StatObjectOptions{})
			if err != nil {
				return err
			}
			dopts.ReplaceMetadata = true
			dopts.UserMetadata = userMeta(withAttrMeta(infoFromMinio(o, true).Meta, meta))
			for _, h := range []string{"Content-Type", "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"} {
				if v := o.Metadata.Get(h); v != "" {
					dopts.UserMetadata[h] = v
				}
			}
			sopts.MatchETag = o.ETag
		}
		up, err := b.clients[i].CopyObject(ctx, dopts, sopts)
		if err != nil && minio.ToErrorResponse(err).Code == "EntityTooLarge" {
			up, err = b.clients[i].ComposeObject(ctx, dopts, sopts)
		}
		info = ObjectInfo{Key: dst, Size: up.Size, ETag: up.ETag, LastModified: up.LastModified, Meta: meta, VersionID: up.VersionID}
		return err
	})
	return info, err
}

// Delete implements Bucket.
func (b *S3Bucket) Delete(ctx context.Context, key string) error {
	return b.do(ctx, "delete", func(ctx context.Context, i int) error {
		return b.clients[i].RemoveObject(ctx, b.cfg.Bucket, key, minio.RemoveObjectOptions{})
	})
}

// NewMultipart implements Bucket.
func (b *S3Bucket) NewMultipart(ctx context.Context, key string, meta Meta) (string, error) {
	var id string
	err := b.do(ctx, "new multipart", func(ctx context.Context, i int) error {
		var err error
		id, err = b.cores[i].NewMultipartUpload(ctx, b.cfg.Bucket, key, minio.PutObjectOptions{UserMetadata: userMeta(meta)})
		return err
	})
	return id, err
}

// PutPart implements Bucket.
func (b *S3Bucket) PutPart(ctx context.Context, key, uploadID string, num int, r io.ReaderAt, size int64) (Part, error) {
	var p Part
	err := b.do(ctx, "put part", func(ctx context.Context, i int) error {
		op, err := b.cores[i].PutObjectPart(ctx, b.cfg.Bucket, key, uploadID, num, io.NewSectionReader(r, 0, size), size,
			minio.PutObjectPartOptions{DisableContentSha256: true})
		p = Part{Num: num, ETag: op.ETag, Size: size}
		return err
	})
	return p, err
}

// CompleteMultipart implements Bucket.
func (b *S3Bucket) CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) (ObjectInfo, error) {
	cps := make([]minio.CompletePart, len(parts))
	var size int64
	for i, p := range parts {
		cps[i] = minio.CompletePart{PartNumber: p.Num, ETag: p.ETag}
		size += p.Size
	}
	var info ObjectInfo
	err := b.do(ctx, "complete multipart", func(ctx context.Context, i int) error {
		up, err := b.cores[i].CompleteMultipartUpload(ctx, b.cfg.Bucket, key, uploadID, cps, minio.PutObjectOptions{})
		info = ObjectInfo{Key: key, Size: size, ETag: up.ETag, LastModified: time.Now(), VersionID: up.VersionID}
		return err
	})
	return info, err
}

// AbortMultipart implements Bucket.
func (b *S3Bucket) AbortMultipart(ctx context.Context, key, uploadID string) error {
	return b.do(ctx, "abort multipart", func(ctx context.Context, i int) error {
		return b.cores[i].AbortMultipartUpload(ctx, b.cfg.Bucket, key, uploadID)
	})
}

var _ VersionedBucket = (*S3Bucket)(nil)

// ListVersions implements VersionedBucket with ListObjectVersions (all
// pages). A failure mid-listing restarts it and skips what was already
// delivered.
func (b *S3Bucket) ListVersions(ctx context.Context, opts ListOptions, fn func(VersionEntry) bool) error {
	delivered, stopped := 0, false
	return b.do(ctx, "list versions", func(ctx context.Context, i int) error {
		if stopped {
			return nil
		}
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		seen := 0
		for o := range b.clients[i].ListObjectsIter(lctx, b.cfg.Bucket, minio.ListObjectsOptions{
			Prefix:       opts.Prefix,
			Recursive:    opts.Delimiter == "",
			StartAfter:   opts.StartAfter,
			WithVersions: true,
			WithMetadata: opts.WithMeta,
			MaxKeys:      opts.PageSize,
		}) {
			if o.Err != nil {
				return o.Err
			}
			if seen++; seen <= delivered {
				continue // replayed after a retry
			}
			delivered++
			e := VersionEntry{ObjectInfo: infoFromMinio(o, false), IsLatest: o.IsLatest, DeleteMarker: o.IsDeleteMarker}
			e.IsPrefix = opts.Delimiter != "" && o.VersionID == "" && o.LastModified.IsZero() && strings.HasSuffix(o.Key, opts.Delimiter)
			if !fn(e) {
				stopped = true
				return nil
			}
		}
		return nil
	})
}

// GetVersion implements VersionedBucket (a ranged GET with versionId).
func (b *S3Bucket) GetVersion(ctx context.Context, key, versionID string, off, n int64) (io.ReadCloser, error) {
	return b.getRange(ctx, "get version", key, minio.GetObjectOptions{VersionID: versionID}, off, n)
}

var _ LockingBucket = (*S3Bucket)(nil)

// lockWire is the XML of LockResult and of one LockInfo holder.
type lockWire struct {
	LockToken    string
	FencingToken uint64
	Expires      string
	Owner        string
	Mode         string
}

func (w lockWire) grant() LockGrant {
	g := LockGrant{Token: w.LockToken, FencingToken: w.FencingToken, Owner: w.Owner, Shared: w.Mode == "shared"}
	g.Expires, _ = time.Parse(time.RFC3339Nano, w.Expires)
	return g
}

// lockRequest sends one SigV4-signed request of the ?lock API to endpoint
// i and decodes a 2xx body into out (if not nil). A failure is a
// minio.ErrorResponse, so that do retries and fails over as for any other
// S3 request; its code is also stored in *code.
func (b *S3Bucket) lockRequest(ctx context.Context, i int, method, key string, q url.Values, out any, code *string) error {
	*code = ""
	u := b.bases[i]
	u.Path = "/" + b.cfg.Bucket + "/" + key
	u.RawQuery = "lock"
	if len(q) > 0 {
		u.RawQuery += "&" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, b.cfg.AccessKey, b.cfg.SecretKey, "", b.cfg.Region)
	resp, err := b.https[i].Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		er := minio.ErrorResponse{StatusCode: resp.StatusCode}
		_ = xml.Unmarshal(body, &er)
		*code = er.Code
		if er.Code == "" {
			er.Code = resp.Status
		}
		return er
	}
	if out != nil {
		if err := xml.Unmarshal(body, out); err != nil {
			*code = "NotALockAnswer"
			return minio.ErrorResponse{StatusCode: http.StatusNotImplemented, Code: "NotImplemented", Message: "no lock API: " + err.Error()}
		}
	}
	return nil
}

func lockErr(err error, code string) error {
	switch code {
	case "LockConflict":
		return fmt.Errorf("%w: %v", ErrLockConflict, err)
	case "LockLost", "NoSuchLock":
		return fmt.Errorf("%w: %v", ErrLockLost, err)
	}
	return err
}

func secs(d time.Duration) string {
	return strconv.Itoa(int(max(0, (d+time.Second-1)/time.Second)))
}

// AcquireLock implements LockingBucket (POST ?lock).
func (b *S3Bucket) AcquireLock(ctx context.Context, key string, opts LockOptions) (LockGrant, error) {
	q := url.Values{}
	q.Set("ttl", secs(max(opts.TTL, time.Second)))
	q.Set("wait", secs(opts.Wait))
	q.Set("mode", "exclusive")
	if opts.Shared {
		q.Set("mode", "shared")
	}
	if opts.Owner != "" {
		q.Set("owner", opts.Owner)
	}
	var w lockWire
	var code string
	err := b.do(ctx, "lock", func(ctx context.Context, i int) error {
		return b.lockRequest(ctx, i, http.MethodPost, key, q, &w, &code)
	})
	if err != nil {
		return LockGrant{}, lockErr(err, code)
	}
	g := w.grant()
	g.Shared, g.Owner = opts.Shared, opts.Owner
	return g, nil
}

// RenewLock implements LockingBucket (PUT ?lock&token=).
func (b *S3Bucket) RenewLock(ctx context.Context, key, token string, ttl time.Duration) (LockGrant, error) {
	q := url.Values{}
	q.Set("token", token)
	q.Set("ttl", secs(max(ttl, time.Second)))
	var w lockWire
	var code string
	err := b.do(ctx, "renew lock", func(ctx context.Context, i int) error {
		return b.lockRequest(ctx, i, http.MethodPut, key, q, &w, &code)
	})
	if err != nil {
		return LockGrant{}, lockErr(err, code)
	}
	return w.grant(), nil
}

// ReleaseLock implements LockingBucket (DELETE ?lock&token=); releasing a
// lease that already ended is not an error.
func (b *S3Bucket) ReleaseLock(ctx context.Context, key, token string) error {
	q := url.Values{}
	q.Set("token", token)
	var code string
	err := b.do(ctx, "unlock", func(ctx context.Context, i int) error {
		return b.lockRequest(ctx, i, http.MethodDelete, key, q, nil, &code)
	})
	if err != nil && code != "NoSuchLock" {
		return lockErr(err, code)
	}
	return nil
}

// InspectLock implements LockingBucket (GET ?lock).
func (b *S3Bucket) InspectLock(ctx context.Context, key string) ([]LockGrant, error) {
	var info struct {
		Holder []lockWire
	}
	var code string
	err := b.do(ctx, "inspect lock", func(ctx context.Context, i int) error {
		info.Holder = nil
		return b.lockRequest(ctx, i, http.MethodGet, key, url.Values{}, &info, &code)
	})
	if err != nil {
		if code == "NoSuchLock" {
			return []LockGrant{}, nil
		}
		return nil, err
	}
	out := make([]LockGrant, 0, len(info.Holder))
	for _, h := range info.Holder {
		out = append(out, h.grant())
	}
	return out, nil
}

// LocksSupported implements LockProber: it inspects the lock of a key
// nobody uses. A BucketDB server answers with a LockInfo or NoSuchLock; a
// plain S3 server serves (or misses) an object instead.
func (b *S3Bucket) LocksSupported(ctx context.Context) bool {
	var info struct {
		XMLName xml.Name
	}
	var code string
	err := b.do(ctx, "probe locks", func(ctx context.Context, i int) error {
		return b.lockRequest(ctx, i, http.MethodGet, ".bucketdb-lock-probe", url.Values{}, &info, &code)
	})
	if err == nil {
		return info.XMLName.Local == "LockInfo"
	}
	return code == "NoSuchLock"
}
