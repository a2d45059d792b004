package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bucketdb/bucketdb/store"
)

// S3's tag limits.
const (
	maxObjectTags  = 10
	maxBucketTags  = 50
	maxTagKeyLen   = 128 // characters
	maxTagValueLen = 256 // characters
	// taggingConfigKind is the bucket-config kind bucket tags are stored as.
	taggingConfigKind = "tagging"
)

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// tagging is the Put/GetObjectTagging and Put/GetBucketTagging document.
type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	TagSet  []tagXML `xml:"TagSet>Tag"`
}

type taggingResponse struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Tagging"`
	TagSet  []tagXML `xml:"TagSet>Tag"`
}

// parseTagging parses and validates a Tagging body with at most max tags
// (maxObjectTags or maxBucketTags; fuzzed).
func parseTagging(b []byte, max int) (map[string]string, error) {
	var t tagging
	if err := decodeXML(b, &t); err != nil {
		return nil, err
	}
	tags := make(map[string]string, len(t.TagSet))
	for _, tg := range t.TagSet {
		if _, dup := tags[tg.Key]; dup {
			return nil, ErrInvalidTag.WithMessage("Cannot provide multiple Tags with the same key.")
		}
		tags[tg.Key] = tg.Value
	}
	return tags, validateTags(tags, max)
}

// validateTags enforces S3's limits on a tag set of at most max tags
// (maxObjectTags or maxBucketTags).
func validateTags(tags map[string]string, max int) error {
	if len(tags) > max {
		if max == maxBucketTags {
			return ErrInvalidTag.WithMessage("Bucket tag count cannot be greater than %d.", max)
		}
		return ErrInvalidTag.WithMessage("Object tags cannot be greater than %d.", max)
	}
	for k, v := range tags {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return ErrInvalidTag.WithMessage("Tags must be valid UTF-8.")
		}
		if k == "" || utf8.RuneCountInString(k) > maxTagKeyLen || !validTagChars(k) {
			return ErrInvalidTag.WithMessage("The TagKey you have provided is invalid.")
		}
		if utf8.RuneCountInString(v) > maxTagValueLen || !validTagChars(v) {
			return ErrInvalidTag.WithMessage("The TagValue you have provided is invalid.")
		}
	}
	return nil
}

// validTagChars reports whether s holds only the characters S3 allows in a
// tag key or value: letters, digits and spaces (in any script) and
// + - = . _ : / @ (the pattern ^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$).
func validTagChars(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Z, r) &&
			!strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}

// errBadTagHeader is S3's answer to an x-amz-tagging header that does not
// parse, repeats a key or has an empty one.
var errBadTagHeader = ErrInvalidArgument.WithMessage("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")

// parseTagHeader parses x-amz-tagging ("k1=v1&k2=v2", URL-encoded).
func parseTagHeader(h string) (map[string]string, error) {
	if h == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(h)
	if err != nil {
		return nil, errBadTagHeader
	}
	tags := make(map[string]string, len(q))
	for k, vs := range q {
		if len(vs) > 1 || k == "" {
			return nil, errBadTagHeader
		}
		tags[k] = vs[0]
	}
	return tags, validateTags(tags, maxObjectTags)
}

func renderTags(tags map[string]string) taggingResponse {
	out := taggingResponse{TagSet: []tagXML{}}
	for _, k := range sortedKeys(tags) {
		out.TagSet = append(out.TagSet, tagXML{Key: k, Value: tags[k]})
	}
	return out
}

// readConfigBody reads the body of a configuration PUT (at most
// MaxXMLBody bytes, else tooBig) and checks it against the request's
// Content-MD5, as S3 checks every body: a mismatch is BadDigest, a value
// that is not a base64 MD5 InvalidDigest. (x-amz-checksum-* headers are
// verified as the body is read.)
func (s *Server) readConfigBody(r *http.Request, c *call, tooBig *APIError) ([]byte, error) {
	if _, err := contentMD5(r.Header); err != nil {
		return nil, err // a malformed Content-MD5 is refused before the body is read
	}
	b, err := c.readBody(s.cfg.MaxXMLBody, tooBig)
	if err != nil {
		return nil, err
	}
	return b, checkBodyMD5(r.Header, b)
}

// checkBodyMD5 checks a small request body read whole against its
// Content-MD5, when the request has one.
func checkBodyMD5(h http.Header, b []byte) error {
	sum, err := contentMD5(h)
	if err != nil {
		return err
	}
	if got := md5.Sum(b); sum != nil && !bytes.Equal(got[:], sum) {
		return ErrBadDigest.WithMessage("The Content-MD5 you specified did not match what we received.")
	}
	return nil
}

func (s *Server) putObjectTagging(w http.ResponseWriter, r *http.Request, c *call) error {
	b, err := s.readConfigBody(r, c, ErrMalformedXML)
	if err != nil {
		return err
	}
	tags, err := parseTagging(b, maxObjectTags)
	if err != nil {
		return err
	}
	info, err := s.backend.SetObjectTags(r.Context(), c.bucket, c.key, r.URL.Query().Get("versionId"), tags)
	if err != nil {
		return s.deleteMarkerError(r.Context(), w.Header(), c, r.URL.Query().Get("versionId"), info, err)
	}
	s.setVersionHeader(r.Context(), w.Header(), c.bucket, info.VersionID)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getObjectTagging(w http.ResponseWriter, r *http.Request, c *call) error {
	vid := r.URL.Query().Get("versionId")
	info, err := s.backend.HeadObject(r.Context(), c.bucket, c.key, store.GetOptions{VersionID: vid})
	if err != nil {
		return s.deleteMarkerError(r.Context(), w.Header(), c, vid, info, err)
	}
	s.setVersionHeader(r.Context(), w.Header(), c.bucket, info.VersionID)
	return writeXML(w, http.StatusOK, renderTags(info.Tags))
}

func (s *Server) deleteObjectTagging(w http.ResponseWriter, r *http.Request, c *call) error {
	vid := r.URL.Query().Get("versionId")
	info, err := s.backend.SetObjectTags(r.Context(), c.bucket, c.key, vid, nil)
	if err != nil {
		return s.deleteMarkerError(r.Context(), w.Header(), c, vid, info, err)
	}
	s.setVersionHeader(r.Context(), w.Header(), c.bucket, info.VersionID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) putBucketTagging(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err // before the body, as S3 answers NoSuchBucket whatever the body
	}
	b, err := s.readConfigBody(r, c, ErrMalformedXML)
	if err != nil {
		return err
	}
	tags, err := parseTagging(b, maxBucketTags)
	if err != nil {
		return err
	}
	doc, err := xml.Marshal(renderTags(tags))
	if err != nil {
		return err
	}
	if err := s.backend.PutBucketConfig(r.Context(), c.bucket, taggingConfigKind, doc); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getBucketTagging(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.getBucketConfigDoc(w, r, c, taggingConfigKind, ErrNoSuchTagSet, "application/xml")
}

func (s *Server) deleteBucketTagging(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.deleteBucketConfigDoc(w, r, c, taggingConfigKind)
}

// getBucketConfigDoc answers a stored bucket configuration document as is;
// missing is the operation's own error.
func (s *Server) getBucketConfigDoc(w http.ResponseWriter, r *http.Request, c *call, kind string, missing *APIError, contentType string) error {
	doc, err := s.backend.GetBucketConfig(r.Context(), c.bucket, kind)
	if errors.Is(err, store.ErrNoSuchConfig) {
		return missing
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", itoa(len(doc)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
	return nil
}

// deleteBucketConfigDoc removes a configuration; removing a missing one
// succeeds, as in S3.
func (s *Server) deleteBucketConfigDoc(w http.ResponseWriter, r *http.Request, c *call, kind string) error {
	err := s.backend.DeleteBucketConfig(r.Context(), c.bucket, kind)
	if err != nil && !errors.Is(err, store.ErrNoSuchConfig) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
