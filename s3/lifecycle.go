package s3

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/bucketdb/bucketdb/lifecycle"
	"github.com/bucketdb/bucketdb/store"
)

// setExpiration sets x-amz-expiration on the answer about a current
// version that a lifecycle rule of its bucket expires, as S3 does on PUT,
// GET and HEAD: expiry-date="Sun, 19 Jan 2014 00:00:00 GMT",
// rule-id="logs" (lifecycle.Configuration.Expiry says when). It reads the
// bucket's lifecycle configuration; a bucket without one, a noncurrent
// version or a delete marker gets no header. Failing to read the
// configuration is logged and leaves the header out: the answer is about
// the object, not its lifecycle.
func (s *Server) setExpiration(ctx context.Context, h http.Header, info store.ObjectInfo) {
	if !info.IsLatest || info.DeleteMarker {
		return
	}
	doc, err := s.backend.GetBucketConfig(ctx, info.Bucket, lifecycleConfigKind)
	if err != nil {
		if !errors.Is(err, store.ErrNoSuchConfig) {
			s.log.Warn("reading lifecycle configuration", "bucket", info.Bucket, "err", err)
		}
		return
	}
	lc, err := s.lifecycles.parse(info.Bucket, doc)
	if err != nil {
		s.log.Warn("parsing lifecycle configuration", "bucket", info.Bucket, "err", err)
		return
	}
	at, rule, ok := lc.Expiry(lifecycle.Object{Key: info.Key, Size: info.Size, Tags: info.Tags}, info.ModTime)
	if !ok {
		return
	}
	h.Set("x-amz-expiration", `expiry-date="`+at.UTC().Format(http.TimeFormat)+`", rule-id="`+escapeQuoted(rule)+`"`)
}

// lifecycleCache keeps the last parsed lifecycle document of each bucket,
// so that x-amz-expiration on every object request parses a document only
// when it changed (the store caches the document itself).
type lifecycleCache struct {
	mu sync.Mutex
	m  map[string]parsedLifecycle
}

type parsedLifecycle struct {
	doc []byte
	lc  *lifecycle.Configuration
}

// lifecycleCacheMax bounds the cache; when full it starts over.
const lifecycleCacheMax = 1024

// parse returns doc, bucket's lifecycle document, parsed.
func (c *lifecycleCache) parse(bucket string, doc []byte) (*lifecycle.Configuration, error) {
	c.mu.Lock()
	p, ok := c.m[bucket]
	c.mu.Unlock()
	if ok && bytes.Equal(p.doc, doc) {
		return p.lc, nil
	}
	lc, err := lifecycle.Parse(doc)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= lifecycleCacheMax {
		c.m = map[string]parsedLifecycle{}
	}
	c.m[bucket] = parsedLifecycle{doc: doc, lc: lc}
	return lc, nil
}

// escapeQuoted escapes s for a quoted-string of an HTTP header value.
func escapeQuoted(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}
