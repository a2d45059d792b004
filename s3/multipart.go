package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bucketdb/bucketdb/store"
)

// checksumXML carries per-part or per-object checksums in XML bodies.
type checksumXML struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
}

func checksumFields(m map[string]string) checksumXML {
	return checksumXML{
		ChecksumCRC32: m["crc32"], ChecksumCRC32C: m["crc32c"], ChecksumSHA1: m["sha1"],
		ChecksumSHA256: m["sha256"], ChecksumCRC64NVME: m["crc64nvme"],
	}
}

// values is the inverse of checksumFields (nil when no value is set).
func (x checksumXML) values() map[string]string {
	var m map[string]string
	for name, v := range map[string]string{
		"crc32": x.ChecksumCRC32, "crc32c": x.ChecksumCRC32C, "sha1": x.ChecksumSHA1,
		"sha256": x.ChecksumSHA256, "crc64nvme": x.ChecksumCRC64NVME,
	} {
		if v = strings.TrimSpace(v); v != "" {
			if m == nil {
				m = make(map[string]string)
			}
			m[name] = v
		}
	}
	return m
}

// UploadReader is an optional capability of a Backend: reading an upload's
// record (metadata, checksum algorithm and type) without its parts, which
// UploadPart, UploadPartCopy and CompleteMultipartUpload do first. A
// Backend without it is asked through ListParts with MaxParts 0.
// UploadInfo is safe for concurrent use; it returns store.ErrNoSuchUpload
// for an upload that does not exist.
type UploadReader interface {
	UploadInfo(ctx context.Context, bucket, key, uploadID string) (store.UploadInfo, error)
}

// uploadInfo reads an upload's record without its parts.
func (s *Server) uploadInfo(ctx context.Context, c *call, uploadID string) (store.UploadInfo, error) {
	if ur, ok := s.backend.(UploadReader); ok {
		return ur.UploadInfo(ctx, c.bucket, c.key, uploadID)
	}
	res, err := s.backend.ListParts(ctx, c.bucket, c.key, uploadID, store.ListPartsOptions{MaxParts: 0})
	return res.Upload, err
}

// setUploadChecksumHeaders sets the x-amz-checksum-algorithm and
// x-amz-checksum-type of an upload created with an algorithm.
func setUploadChecksumHeaders(h http.Header, m store.ObjectMeta) {
	if m.ChecksumAlgorithm != "" {
		h.Set("x-amz-checksum-algorithm", checksumAlgorithmName(m.ChecksumAlgorithm))
		h.Set(checksumTypeHeader, m.ChecksumType)
	}
}

type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (s *Server) createMultipartUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	meta, err := metaFromHeaders(r.Header)
	if err != nil {
		return err
	}
	meta.Checksums = nil
	if meta.Tags, err = parseTagHeader(r.Header.Get("x-amz-tagging")); err != nil {
		return err
	}
	if meta.ChecksumAlgorithm, meta.ChecksumType, err = uploadChecksumFromHeaders(r.Header); err != nil {
		return err
	}
	up, err := s.backend.CreateMultipartUpload(r.Context(), c.bucket, c.key, meta)
	if err != nil {
		return err
	}
	setUploadChecksumHeaders(w.Header(), up.Meta)
	return writeXML(w, http.StatusOK, initiateMultipartUploadResult{Bucket: c.bucket, Key: c.key, UploadID: up.UploadID})
}

// partParams reads partNumber and uploadId of UploadPart(Copy).
func partParams(q url.Values) (int, string, error) {
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > store.MaxPartNumber {
		return 0, "", ErrInvalidArgument.WithMessage("Part number must be an integer between 1 and 10000, inclusive.")
	}
	id := q.Get("uploadId")
	if id == "" {
		return 0, "", ErrNoSuchUpload
	}
	return n, id, nil
}

func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := checkWriteHeaders(r.Header); err != nil {
		return err
	}
	n, uploadID, err := partParams(r.URL.Query())
	if err != nil {
		return err
	}
	size := c.size()
	if size < 0 {
		return ErrMissingContentLength
	}
	if size > store.MaxPutSize {
		return ErrEntityTooLarge
	}
	sum, err := contentMD5(r.Header)
	if err != nil {
		return err
	}
	up, err := s.uploadInfo(r.Context(), c, uploadID)
	if err != nil {
		return err
	}
	compute, err := partChecksumPlan(r.Header, up.Meta.ChecksumAlgorithm, up.Meta.ChecksumType)
	if err != nil {
		return err
	}
	body, late := c.body(), c.checksums
	if compute >= 0 {
		sr := newSummingReader(body, compute)
		body, late = sr, sr.checksums(c.checksums)
	}
	part, err := s.backend.UploadPart(r.Context(), c.bucket, c.key, uploadID, n, body, size, store.PartOptions{
		ContentMD5: sum, Checksums: checksumsFromHeaders(r.Header), ChecksumsFunc: late,
	})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", quoteETag(part.ETag))
	sums := part.Checksums
	if len(sums) == 0 {
		sums = c.checksums()
	}
	setChecksumHeaders(h, sums)
	w.WriteHeader(http.StatusOK)
	return nil
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumXML
}

// copySourceRange parses x-amz-copy-source-range ("bytes=first-last") for
// a source of the given size; nil means the whole source.
func copySourceRange(h string, size int64) (*store.Range, error) {
	if h == "" {
		return nil, nil
	}
	br, ok := parseRange(h)
	if !ok || br.IsSuffix || br.Last < 0 {
		return nil, ErrInvalidArgument.WithMessage("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy.")
	}
	if br.Last >= size {
		return nil, ErrInvalidRange.WithMessage("Range specified is not valid for source object of size: %d", size)
	}
	return &store.Range{Start: br.First, Length: br.Last - br.First + 1}, nil
}

func (s *Server) uploadPartCopy(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := checkWriteHeaders(r.Header); err != nil {
		return err
	}
	n, uploadID, err := partParams(r.URL.Query())
	if err != nil {
		return err
	}
	src, err := parseCopySource(r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	up, err := s.uploadInfo(ctx, c, uploadID)
	if err != nil {
		return err
	}
	info, err := s.backend.HeadObject(ctx, src.bucket, src.key, store.GetOptions{VersionID: src.versionID})
	if err != nil {
		return copySourceError(err)
	}
	if err := checkCopyConditions(r.Header, info); err != nil {
		return err
	}
	rng, err := copySourceRange(r.Header.Get("x-amz-copy-source-range"), info.Size)
	if err != nil {
		return err
	}
	length := info.Size
	if rng != nil {
		length = rng.Length
	}
	if length > store.MaxPutSize {
		return ErrInvalidRequest.WithMessage("The specified copy source is larger than the maximum allowable size for a copy source: %d", int64(store.MaxPutSize))
	}
	got, rc, err := s.backend.GetObject(ctx, src.bucket, src.key, store.GetOptions{VersionID: info.VersionID, Range: rng})
	if err != nil {
		return copySourceError(err)
	}
	defer rc.Close()
	if got.ETag != info.ETag {
		return ErrConditionalRequestConflict
	}
	// An upload with a checksum algorithm gets each copied part's checksum.
	var body io.Reader = io.LimitReader(rc, length)
	var opts store.PartOptions
	if algo := up.Meta.ChecksumAlgorithm; algo != "" {
		sr := newSummingReader(body, checksumAlgoIndex(algo))
		body, opts.ChecksumsFunc = sr, sr.checksums(nil)
	}
	part, err := s.backend.UploadPart(ctx, c.bucket, c.key, uploadID, n, body, length, opts)
	if err != nil {
		return err
	}
	s.setCopySourceVersion(ctx, w.Header(), src.bucket, info.VersionID)
	return writeXML(w, http.StatusOK, copyPartResult{
		ETag: quoteETag(part.ETag), LastModified: iso8601(part.ModTime), checksumXML: checksumFields(part.Checksums),
	})
}

type completePartXML struct {
	PartNumber int    `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
	checksumXML
}

type completeMultipartUpload struct {
	XMLName xml.Name          `xml:"CompleteMultipartUpload"`
	Parts   []completePartXML `xml:"Part"`
}

// parseCompleteMultipart parses a CompleteMultipartUpload body (fuzzed).
// Order and existence of parts are the object layer's to check.
func parseCompleteMultipart(b []byte) ([]store.CompletePart, error) {
	var cm completeMultipartUpload
	if err := decodeXML(b, &cm); err != nil {
		return nil, err
	}
	if len(cm.Parts) == 0 || len(cm.Parts) > store.MaxPartNumber {
		return nil, ErrMalformedXML.WithMessage("A CompleteMultipartUpload request names between 1 and %d parts.", store.MaxPartNumber)
	}
	parts := make([]store.CompletePart, 0, len(cm.Parts))
	for _, p := range cm.Parts {
		if p.PartNumber < 1 || p.PartNumber > store.MaxPartNumber {
			return nil, ErrInvalidPart.WithMessage("Part number %d is out of range 1..10000.", p.PartNumber)
		}
		if trimETag(p.ETag) == "" {
			return nil, ErrInvalidPart.WithMessage("Part %d has no ETag.", p.PartNumber)
		}
		parts = append(parts, store.CompletePart{Number: p.PartNumber, ETag: trimETag(p.ETag), Checksums: p.values()})
	}
	return parts, nil
}

type completeMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

// completeChecksums checks a CompleteMultipartUpload of an upload created
// with a checksum algorithm against what S3 requires, and returns the
// object checksum the request asserts (x-amz-checksum-<algo>), for the
// object layer to compare with the one it computes. The part numbers
// start at 1 and have no gaps; each part of a COMPOSITE upload lists its
// checksum of the upload's algorithm (the object layer compares it with the
// stored one); the type and the object checksum, when sent, are of the
// upload's. An upload without an algorithm takes the request as before.
func completeChecksums(h http.Header, m store.ObjectMeta, parts []store.CompletePart) (map[string]string, error) {
	algo, typ := m.ChecksumAlgorithm, m.ChecksumType
	if algo == "" {
		return nil, nil
	}
	if t := strings.ToUpper(strings.TrimSpace(h.Get(checksumTypeHeader))); t != "" && t != typ {
		return nil, ErrBadDigest.WithMessage("The upload was created using the %s checksum mode. The complete request must use the same checksum mode.", typ)
	}
	var expect map[string]string
	for _, a := range checksumAlgos {
		v := strings.TrimSpace(h.Get(checksumHeaderPrefix + a.name))
		switch {
		case v == "":
		case a.name != algo:
			return nil, checksumTypeMismatch(algo, a.name)
		default:
			expect = map[string]string{algo: v}
		}
	}
	for i, p := range parts {
		if p.Number != i+1 {
			return nil, ErrInvalidPartOrder.WithMessage("The parts of an upload with a checksum algorithm are numbered from 1 without gaps; part %d is at position %d.", p.Number, i+1)
		}
		if p.Checksums[algo] != "" || typ != store.ChecksumComposite {
			continue
		}
		for _, name := range checksumNames {
			if p.Checksums[name] != "" {
				return nil, ErrBadDigest.WithMessage("The %s you specified for part %d did not match what we received.", name, p.Number)
			}
		}
		return nil, ErrInvalidRequest.WithMessage("The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.", algo, p.Number)
	}
	return expect, nil
}

func (s *Server) completeMultipartUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	uploadID := r.URL.Query().Get("uploadId")
	cond, err := writeConditions(r.Header)
	if err != nil {
		return err
	}
	b, err := c.readBody(s.cfg.MaxXMLBody, ErrMalformedXML)
	if err != nil {
		return err
	}
	parts, err := parseCompleteMultipart(b)
	if err != nil {
		return err
	}
	up, err := s.uploadInfo(r.Context(), c, uploadID)
	if err != nil {
		return err
	}
	expect, err := completeChecksums(r.Header, up.Meta, parts)
	if err != nil {
		return err
	}
	info, err := s.backend.CompleteMultipartUpload(r.Context(), c.bucket, c.key, uploadID, parts, store.CompleteOptions{Cond: cond, Checksums: expect})
	if errors.Is(err, store.ErrBadDigest) && len(expect) > 0 {
		// Only the asserted object checksum can differ here.
		return ErrBadDigest.WithMessage("The %s you specified did not match the calculated checksum.", checksumAlgorithmName(up.Meta.ChecksumAlgorithm))
	}
	if err != nil {
		return err
	}
	s.setVersionHeader(r.Context(), w.Header(), c.bucket, info.VersionID)
	s.setExpiration(r.Context(), w.Header(), info)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	loc := (&url.URL{Scheme: scheme, Host: r.Host, Path: "/" + c.bucket + "/" + c.key}).String()
	return writeXML(w, http.StatusOK, completeMultipartUploadResult{
		Location: loc, Bucket: c.bucket, Key: c.key, ETag: quoteETag(info.ETag),
		checksumXML: checksumFields(info.Checksums), ChecksumType: objectChecksumType(info.Checksums),
	})
}

func (s *Server) abortMultipartUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.backend.AbortMultipartUpload(r.Context(), c.bucket, c.key, r.URL.Query().Get("uploadId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type partXML struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumXML
}

type listPartsResult struct {
	XMLName              xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket               string    `xml:"Bucket"`
	Key                  string    `xml:"Key"`
	UploadID             string    `xml:"UploadId"`
	Initiator            owner     `xml:"Initiator"`
	Owner                owner     `xml:"Owner"`
	StorageClass         string    `xml:"StorageClass"`
	PartNumberMarker     int       `xml:"PartNumberMarker"`
	NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
	MaxParts             int       `xml:"MaxParts"`
	IsTruncated          bool      `xml:"IsTruncated"`
	Parts                []partXML `xml:"Part"`
	ChecksumAlgorithm    string    `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string    `xml:"ChecksumType,omitempty"`
}

// intParam reads a non-negative integer query parameter (def when absent).
func intParam(q url.Values, name string, def int) (int, error) {
	v, ok := q[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(strings.Join(v, ""))
	if err != nil || n < 0 {
		return 0, ErrInvalidArgument.WithMessage("Provided %s not an integer or within integer range.", name)
	}
	return n, nil
}

func (s *Server) listParts(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	marker, err := intParam(q, "part-number-marker", 0)
	if err != nil {
		return err
	}
	maxParts, err := intParam(q, "max-parts", store.MaxListKeys)
	if err != nil {
		return err
	}
	if maxParts == 0 || maxParts > store.MaxListKeys {
		maxParts = store.MaxListKeys
	}
	uploadID := q.Get("uploadId")
	res, err := s.backend.ListParts(r.Context(), c.bucket, c.key, uploadID, store.ListPartsOptions{
		PartNumberMarker: marker, MaxParts: maxParts,
	})
	if err != nil {
		return err
	}
	own := c.owner()
	out := listPartsResult{
		Bucket: c.bucket, Key: c.key, UploadID: uploadID, Initiator: own, Owner: own,
		StorageClass: "STANDARD", PartNumberMarker: marker, NextPartNumberMarker: res.NextPartNumberMarker,
		MaxParts: maxParts, IsTruncated: res.IsTruncated,
	}
	if a := res.Upload.Meta.ChecksumAlgorithm; a != "" {
		out.ChecksumAlgorithm, out.ChecksumType = checksumAlgorithmName(a), res.Upload.Meta.ChecksumType
	}
	for _, p := range res.Parts {
		out.Parts = append(out.Parts, partXML{
			PartNumber: p.Number, LastModified: iso8601(p.ModTime), ETag: quoteETag(p.ETag),
			Size: p.Size, checksumXML: checksumFields(p.Checksums),
		})
	}
	if out.NextPartNumberMarker == 0 && len(out.Parts) > 0 {
		out.NextPartNumberMarker = out.Parts[len(out.Parts)-1].PartNumber
	}
	return writeXML(w, http.StatusOK, out)
}

type uploadXML struct {
	Key          string `xml:"Key"`
	UploadID     string `xml:"UploadId"`
	Initiator    owner  `xml:"Initiator"`
	Owner        owner  `xml:"Owner"`
	StorageClass string `xml:"StorageClass"`
	Initiated    string `xml:"Initiated"`
	// ChecksumAlgorithm and ChecksumType of an upload created with one.
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

type listMultipartUploadsResult struct {
	XMLName            xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker"`
	Prefix             string         `xml:"Prefix"`
	Delimiter          string         `xml:"Delimiter,omitempty"`
	MaxUploads         int            `xml:"MaxUploads"`
	IsTruncated        bool           `xml:"IsTruncated"`
	EncodingType       string         `xml:"EncodingType,omitempty"`
	Uploads            []uploadXML    `xml:"Upload"`
	CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
}

func (s *Server) listMultipartUploads(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, "max-uploads")
	if err != nil {
		return err
	}
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
	if keyMarker == "" {
		idMarker = "" // S3 ignores upload-id-marker without key-marker
	}
	var res store.ListUploadsResult
	if lq.maxKeys == 0 {
		_, err = s.backend.GetBucket(r.Context(), c.bucket)
	} else {
		res, err = s.backend.ListMultipartUploads(r.Context(), c.bucket, store.ListUploadsOptions{
			Prefix: lq.prefix, Delimiter: lq.delimiter, KeyMarker: keyMarker, UploadIDMarker: idMarker,
			MaxUploads: lq.maxKeys,
		})
	}
	if err != nil {
		return err
	}
	own := c.owner()
	out := listMultipartUploadsResult{
		Bucket: c.bucket, KeyMarker: lq.enc(keyMarker), UploadIDMarker: idMarker,
		Prefix: lq.enc(lq.prefix), Delimiter: lq.enc(lq.delimiter), MaxUploads: lq.maxKeys,
		IsTruncated: res.IsTruncated, EncodingType: lq.encodingType(),
		CommonPrefixes: lq.prefixes(res.CommonPrefixes),
	}
	if res.IsTruncated {
		out.NextKeyMarker, out.NextUploadIDMarker = lq.enc(res.NextKeyMarker), res.NextUploadIDMarker
	}
	for _, u := range res.Uploads {
		ux := uploadXML{
			Key: lq.enc(u.Key), UploadID: u.UploadID, Initiator: own, Owner: own,
			StorageClass: "STANDARD", Initiated: iso8601(u.Initiated),
		}
		if a := u.Meta.ChecksumAlgorithm; a != "" {
			ux.ChecksumAlgorithm, ux.ChecksumType = checksumAlgorithmName(a), u.Meta.ChecksumType
		}
		out.Uploads = append(out.Uploads, ux)
	}
	return writeXML(w, http.StatusOK, out)
}
