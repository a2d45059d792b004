package s3

import (
	"encoding/xml"
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
	up, err := s.backend.CreateMultipartUpload(r.Context(), c.bucket, c.key, meta)
	if err != nil {
		return err
	}
	if a := r.Header.Get("x-amz-checksum-algorithm"); a != "" {
		w.Header().Set("x-amz-checksum-algorithm", a)
	}
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
	part, err := s.backend.UploadPart(r.Context(), c.bucket, c.key, uploadID, n, c.body(), size, store.PartOptions{
		ContentMD5: sum, Checksums: checksumsFromHeaders(r.Header), ChecksumsFunc: c.checksums,
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
	part, err := s.backend.UploadPart(ctx, c.bucket, c.key, uploadID, n, io.LimitReader(rc, length), length, store.PartOptions{})
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
		parts = append(parts, store.CompletePart{Number: p.PartNumber, ETag: trimETag(p.ETag)})
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
	info, err := s.backend.CompleteMultipartUpload(r.Context(), c.bucket, c.key, uploadID, parts, store.CompleteOptions{Cond: cond})
	if err != nil {
		return err
	}
	s.setVersionHeader(r.Context(), w.Header(), c.bucket, info.VersionID)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	loc := (&url.URL{Scheme: scheme, Host: r.Host, Path: "/" + c.bucket + "/" + c.key}).String()
	return writeXML(w, http.StatusOK, completeMultipartUploadResult{
		Location: loc, Bucket: c.bucket, Key: c.key, ETag: quoteETag(info.ETag),
		checksumXML: checksumFields(info.Checksums),
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
		out.Uploads = append(out.Uploads, uploadXML{
			Key: lq.enc(u.Key), UploadID: u.UploadID, Initiator: own, Owner: own,
			StorageClass: "STANDARD", Initiated: iso8601(u.Initiated),
		})
	}
	return writeXML(w, http.StatusOK, out)
}
