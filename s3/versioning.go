package s3

import (
	"encoding/xml"
	"net/http"

	"github.com/bucketdb/bucketdb/store"
)

// versioningConfiguration is the PutBucketVersioning body and the
// GetBucketVersioning answer.
type versioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

// parseVersioning parses a PutBucketVersioning body: Status must be Enabled
// or Suspended, MfaDelete (optional) Enabled or Disabled (fuzzed). MFA
// Delete is not implemented, so MfaDelete Enabled is refused rather than
// ignored: a client must not believe that deletes need a second factor.
func parseVersioning(b []byte) (store.Versioning, error) {
	var vc versioningConfiguration
	if err := decodeXML(b, &vc); err != nil {
		return "", err
	}
	var v store.Versioning
	switch vc.Status {
	case string(store.VersioningEnabled):
		v = store.VersioningEnabled
	case string(store.VersioningSuspended):
		v = store.VersioningSuspended
	default:
		return "", ErrMalformedXML.WithMessage("Versioning Status must be Enabled or Suspended.")
	}
	switch vc.MfaDelete {
	case "", "Disabled":
		return v, nil
	case "Enabled":
		return "", ErrNotImplemented.WithMessage("MFA Delete is not supported.")
	}
	return "", ErrMalformedXML.WithMessage("MfaDelete must be Enabled or Disabled.")
}

func (s *Server) putBucketVersioning(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err // before the body, as S3 answers NoSuchBucket whatever the body
	}
	b, err := s.readConfigBody(r, c, ErrMalformedXML)
	if err != nil {
		return err
	}
	v, err := parseVersioning(b)
	if err != nil {
		return err
	}
	if err := s.backend.SetBucketVersioning(r.Context(), c.bucket, v); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type versioningResponse struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ VersioningConfiguration"`
	Status  string   `xml:"Status,omitempty"`
}

func (s *Server) getBucketVersioning(w http.ResponseWriter, r *http.Request, c *call) error {
	b, err := s.backend.GetBucket(r.Context(), c.bucket)
	if err != nil {
		return err
	}
	return writeXML(w, http.StatusOK, versioningResponse{Status: string(b.Versioning)})
}

// versionXML is one <Version> or <DeleteMarker> entry; Kind picks which, so
// both kinds interleave in one slice in listing order.
type versionXML struct {
	Kind         string       `xml:"-"`
	Key          string       `xml:"Key"`
	VersionID    string       `xml:"VersionId"`
	IsLatest     bool         `xml:"IsLatest"`
	LastModified string       `xml:"LastModified"`
	ETag         string       `xml:"ETag,omitempty"`
	Size         *int64       `xml:"Size,omitempty"`
	Owner        owner        `xml:"Owner"`
	StorageClass string       `xml:"StorageClass,omitempty"`
	UserMetadata *userMetaXML `xml:"UserMetadata,omitempty"`
}

// MarshalXML names the element after the entry's kind.
func (v versionXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain versionXML // without this method
	return e.EncodeElement(plain(v), xml.StartElement{Name: xml.Name{Local: v.Kind}})
}

type listVersionsResult struct {
	XMLName             xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListVersionsResult"`
	Name                string         `xml:"Name"`
	Prefix              string         `xml:"Prefix"`
	KeyMarker           string         `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           string         `xml:"Delimiter,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	Entries             []versionXML   `xml:""`
	CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
}

func (s *Server) listObjectVersions(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, "max-keys")
	if err != nil {
		return err
	}
	keyMarker, vidMarker := q.Get("key-marker"), q.Get("version-id-marker")
	if vidMarker != "" && keyMarker == "" {
		return ErrInvalidArgument.WithMessage("A version-id marker cannot be specified without a key marker.")
	}
	var res store.ListVersionsResult
	if lq.maxKeys == 0 {
		_, err = s.backend.GetBucket(r.Context(), c.bucket)
	} else {
		res, err = s.backend.ListObjectVersions(r.Context(), c.bucket, store.ListVersionsOptions{
			Prefix: lq.prefix, Delimiter: lq.delimiter, KeyMarker: keyMarker,
			VersionIDMarker: vidMarker, MaxKeys: lq.maxKeys,
		})
	}
	if err != nil {
		return err
	}
	out := listVersionsResult{
		Name: c.bucket, Prefix: lq.enc(lq.prefix), KeyMarker: lq.enc(keyMarker), VersionIDMarker: vidMarker,
		MaxKeys: lq.maxKeys, Delimiter: lq.enc(lq.delimiter), IsTruncated: res.IsTruncated,
		EncodingType: lq.encodingType(), CommonPrefixes: lq.prefixes(res.CommonPrefixes),
	}
	if res.IsTruncated {
		out.NextKeyMarker = lq.enc(res.NextKeyMarker)
		out.NextVersionIDMarker = res.NextVersionIDMarker
	}
	own := c.owner()
	for _, v := range res.Versions {
		e := versionXML{
			Key: lq.enc(v.Key), VersionID: v.VersionID, IsLatest: v.IsLatest,
			LastModified: iso8601(v.ModTime), Owner: own,
		}
		if v.DeleteMarker {
			e.Kind = "DeleteMarker"
		} else {
			size := v.Size
			e.Kind = "Version"
			e.ETag, e.Size, e.StorageClass = quoteETag(v.ETag), &size, "STANDARD"
			if lq.metadata {
				e.UserMetadata = &userMetaXML{contentType: v.ContentType, meta: v.UserMeta}
			}
		}
		out.Entries = append(out.Entries, e)
	}
	return writeXML(w, http.StatusOK, out)
}
