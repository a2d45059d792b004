package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bucketdb/bucketdb/store"
)

// copySource is a parsed x-amz-copy-source header.
type copySource struct {
	bucket, key, versionID string
}

// parseCopySource parses "/bucket/key?versionId=V" (leading slash optional,
// path URL-encoded).
func parseCopySource(h string) (copySource, error) {
	path, query, hasQuery := strings.Cut(h, "?")
	p, err := url.PathUnescape(path)
	if err != nil {
		return copySource{}, ErrInvalidArgument.WithMessage("Invalid copy source encoding.")
	}
	p = strings.TrimPrefix(p, "/")
	bucket, key, ok := strings.Cut(p, "/")
	if !ok || bucket == "" || key == "" {
		return copySource{}, ErrInvalidCopySource
	}
	if len(key) > store.MaxKeyLength {
		return copySource{}, ErrKeyTooLong
	}
	if !utf8.ValidString(key) {
		return copySource{}, ErrInvalidArgument.WithMessage("Copy source key is not valid UTF-8.")
	}
	src := copySource{bucket: bucket, key: key}
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil {
			return copySource{}, ErrInvalidArgument.WithMessage("Invalid copy source version ID.")
		}
		if v, ok := q["versionId"]; ok {
			if v[0] == "" {
				return copySource{}, ErrInvalidArgument.WithMessage("Version id cannot be the empty string.")
			}
			src.versionID = v[0]
		}
	}
	return src, nil
}

// checkCopyConditions evaluates the x-amz-copy-source-if-* headers with
// S3's precedence; every failure is 412.
func checkCopyConditions(h http.Header, info store.ObjectInfo) error {
	mod := info.ModTime.UTC().Truncate(time.Second)
	if v := h.Get("x-amz-copy-source-if-match"); v != "" {
		if !etagMatches(v, info.ETag) {
			return ErrPreconditionFailed
		}
	} else if t, ok := parseHTTPTime(h.Get("x-amz-copy-source-if-unmodified-since")); ok && mod.After(t) {
		return ErrPreconditionFailed
	}
	if v := h.Get("x-amz-copy-source-if-none-match"); v != "" {
		if etagMatches(v, info.ETag) {
			return ErrPreconditionFailed
		}
	} else if t, ok := parseHTTPTime(h.Get("x-amz-copy-source-if-modified-since")); ok && !mod.After(t) {
		return ErrPreconditionFailed
	}
	return nil
}

// copySourceError translates the object layer's answer about a copy source.
func copySourceError(err error) error {
	if errors.Is(err, store.ErrMethodNotAllowed) {
		return ErrInvalidRequest.WithMessage("The source of a copy request may not specifically refer to a delete marker by version id.")
	}
	return err
}

// directive reads x-amz-metadata-directive / x-amz-tagging-directive.
func directive(h http.Header, name string) (replace bool, err error) {
	switch v := h.Get(name); v {
	case "", "COPY":
		return false, nil
	case "REPLACE":
		return true, nil
	default:
		return false, ErrInvalidArgument.WithMessage("Unknown %s value %q.", name, v)
	}
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

func (s *Server) copyObject(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := checkWriteHeaders(r.Header); err != nil {
		return err
	}
	src, err := parseCopySource(r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return err
	}
	replaceMeta, err := directive(r.Header, "x-amz-metadata-directive")
	if err != nil {
		return err
	}
	replaceTags, err := directive(r.Header, "x-amz-tagging-directive")
	if err != nil {
		return err
	}
	cond, err := writeConditions(r.Header)
	if err != nil {
		return err
	}
	ctx := r.Context()
	info, rc, err := s.backend.GetObject(ctx, src.bucket, src.key, store.GetOptions{VersionID: src.versionID})
	if err != nil {
		return copySourceError(err)
	}
	defer rc.Close()
	if err := checkCopyConditions(r.Header, info); err != nil {
		return err
	}
	if info.Size > store.MaxPutSize {
		return ErrInvalidRequest.WithMessage("The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(store.MaxPutSize))
	}
	if src.bucket == c.bucket && src.key == c.key && !replaceMeta && (src.versionID == "" || info.IsLatest) {
		return ErrInvalidRequest.WithMessage("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	opts, err := copyPutOptions(r.Header, info, replaceMeta, replaceTags)
	if err != nil {
		return err
	}
	opts.Cond = cond
	out, err := s.backend.PutObject(ctx, c.bucket, c.key, io.LimitReader(rc, info.Size), info.Size, opts)
	if err != nil {
		return err
	}
	s.setCopySourceVersion(ctx, w.Header(), src.bucket, info.VersionID)
	s.setVersionHeader(ctx, w.Header(), c.bucket, out.VersionID)
	s.setExpiration(ctx, w.Header(), out)
	return writeXML(w, http.StatusOK, copyObjectResult{ETag: quoteETag(out.ETag), LastModified: iso8601(out.ModTime)})
}

// copyPutOptions builds the destination's metadata and tags from the source
// (COPY) or from the request (REPLACE).
func copyPutOptions(h http.Header, src store.ObjectInfo, replaceMeta, replaceTags bool) (store.PutOptions, error) {
	var meta store.ObjectMeta
	if replaceMeta {
		m, err := metaFromHeaders(h)
		if err != nil {
			return store.PutOptions{}, err
		}
		meta = m
		meta.Checksums = nil
	} else {
		meta = store.ObjectMeta{
			ContentType: src.ContentType, CacheControl: src.CacheControl,
			ContentDisposition: src.ContentDisposition, ContentEncoding: src.ContentEncoding,
			ContentLanguage: src.ContentLanguage, Expires: src.Expires, UserMeta: src.UserMeta,
		}
	}
	// A whole-object checksum (a multipart source's FULL_OBJECT CRC too)
	// stays true for the same bytes; a composite one does not carry over.
	if objectChecksumType(src.Checksums) == store.ChecksumFullObject {
		meta.Checksums = src.Checksums
	}
	if replaceTags {
		tags, err := parseTagHeader(h.Get("x-amz-tagging"))
		if err != nil {
			return store.PutOptions{}, err
		}
		meta.Tags = tags
	} else {
		meta.Tags = src.Tags
	}
	return store.PutOptions{Meta: meta}, nil
}

// setCopySourceVersion sets x-amz-copy-source-version-id when the source
// bucket is versioned.
func (s *Server) setCopySourceVersion(ctx context.Context, h http.Header, bucket, vid string) {
	tmp := http.Header{}
	s.setVersionHeader(ctx, tmp, bucket, vid)
	if v := tmp.Get("x-amz-version-id"); v != "" {
		h.Set("x-amz-copy-source-version-id", v)
	}
}
