package s3

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// listQuery holds the parameters shared by the listing operations.
type listQuery struct {
	prefix, delimiter string
	maxKeys           int
	encode            bool // encoding-type=url
	metadata          bool // metadata=true (MinIO extension)
	// tags: tag=KEY=VALUE, repeatable (BucketDB extension): only objects
	// carrying every one of these tags.
	tags map[string]string
}

// parseListQuery reads prefix, delimiter, the max-keys-like parameter
// maxName (default and cap 1000) and encoding-type.
func parseListQuery(q url.Values, maxName string) (listQuery, error) {
	lq := listQuery{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: store.MaxListKeys}
	if v, ok := q[maxName]; ok {
		n, err := strconv.Atoi(strings.Join(v, ""))
		if err != nil || n < 0 {
			return lq, ErrInvalidArgument.WithMessage("Provided %s not an integer or within integer range.", maxName)
		}
		lq.maxKeys = min(n, store.MaxListKeys)
	}
	switch et := q.Get("encoding-type"); et {
	case "":
	case "url", "URL":
		lq.encode = true
	default:
		return lq, ErrInvalidArgument.WithMessage("Invalid Encoding Method specified in Request.")
	}
	lq.metadata = strings.EqualFold(q.Get("metadata"), "true")
	for _, t := range q["tag"] {
		k, v, ok := strings.Cut(t, "=")
		if old, dup := lq.tags[k]; !ok || k == "" || dup && old != v {
			return lq, ErrInvalidArgument.WithMessage("The tag filter %q must be KEY=VALUE, once per key.", t)
		}
		if lq.tags == nil {
			lq.tags = map[string]string{}
		}
		lq.tags[k] = v
	}
	return lq, nil
}

// enc renders a name as the listing asked (encoding-type=url or not).
func (lq listQuery) enc(s string) string {
	if !lq.encode {
		return s
	}
	return s3URLEncode(s)
}

func (lq listQuery) encodingType() string {
	if lq.encode {
		return "url"
	}
	return ""
}

// s3URLEncode percent-encodes everything but unreserved characters and "/",
// which both url.QueryUnescape and url.PathUnescape decode back.
func s3URLEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[ch>>4])
		b.WriteByte(hexDigits[ch&15])
	}
	return b.String()
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// objectXML is one <Contents> entry.
type objectXML struct {
	Key          string       `xml:"Key"`
	LastModified string       `xml:"LastModified"`
	ETag         string       `xml:"ETag"`
	Size         int64        `xml:"Size"`
	Owner        *owner       `xml:"Owner,omitempty"`
	StorageClass string       `xml:"StorageClass"`
	UserMetadata *userMetaXML `xml:"UserMetadata,omitempty"`
}

// userMetaXML renders the metadata=true extension as minio-go parses it
// (StringMap): one child element per entry, named "X-Amz-Meta-<Name>" for
// user metadata, plus "content-type". Names that are not XML names are
// left out (they cannot be carried as element names).
type userMetaXML struct {
	contentType string
	meta        map[string]string
}

func (u *userMetaXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	write := func(name, v string) error {
		if !isXMLName(name) {
			return nil
		}
		return e.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: name}})
	}
	if u.contentType != "" {
		if err := write("content-type", u.contentType); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(u.meta) {
		if err := write(textproto.CanonicalMIMEHeaderKey(metaPrefix+k), u.meta[k]); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// isXMLName reports whether s is safe as an XML element name (ASCII subset).
func isXMLName(s string) bool {
	if s == "" || strings.HasPrefix(strings.ToLower(s), "xml") {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		letter := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch == '_'
		if i == 0 && !letter {
			return false
		}
		if !letter && !(ch >= '0' && ch <= '9') && ch != '-' && ch != '.' {
			return false
		}
	}
	return true
}

// listTime renders an object's LastModified in a listing in whole seconds,
// as S3 does (".000Z") and as the Last-Modified header of HEAD and GET has
// it: "aws s3 sync --exact-timestamps" sets a downloaded file's mtime from
// the whole seconds and compares it with the listing, so sub-seconds here
// made every later sync download everything again.
func listTime(t time.Time) string {
	return iso8601(t.Truncate(time.Second))
}

func (lq listQuery) object(o store.ObjectInfo, own *owner) objectXML {
	x := objectXML{
		Key:          lq.enc(o.Key),
		LastModified: listTime(o.ModTime),
		ETag:         quoteETag(o.ETag),
		Size:         o.Size,
		Owner:        own,
		StorageClass: "STANDARD",
	}
	if lq.metadata {
		x.UserMetadata = &userMetaXML{contentType: o.ContentType, meta: o.UserMeta}
	}
	return x
}

func (lq listQuery) prefixes(ps []string) []commonPrefix {
	out := make([]commonPrefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, commonPrefix{Prefix: lq.enc(p)})
	}
	return out
}

type listBucketResult struct {
	XMLName        xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	MaxKeys        int            `xml:"MaxKeys"`
	Delimiter      string         `xml:"Delimiter,omitempty"`
	IsTruncated    bool           `xml:"IsTruncated"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	Contents       []objectXML    `xml:"Contents"`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

// list runs one page of a listing; max-keys 0 asks for nothing (but the
// bucket must still exist). The object layer's entries carry ContentType and
// UserMeta, so metadata=true costs no lookup per object.
func (s *Server) list(r *http.Request, c *call, lq listQuery, marker string) (store.ListResult, error) {
	if lq.maxKeys == 0 {
		_, err := s.backend.GetBucket(r.Context(), c.bucket)
		return store.ListResult{}, err
	}
	return s.backend.ListObjects(r.Context(), c.bucket, store.ListOptions{
		Prefix: lq.prefix, Delimiter: lq.delimiter, Marker: marker, MaxKeys: lq.maxKeys, Tags: lq.tags,
	})
}

func (s *Server) listObjectsV1(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, "max-keys")
	if err != nil {
		return err
	}
	marker := q.Get("marker")
	res, err := s.list(r, c, lq, marker)
	if err != nil {
		return err
	}
	own := c.owner()
	out := listBucketResult{
		Name: c.bucket, Prefix: lq.enc(lq.prefix), Marker: lq.enc(marker), MaxKeys: lq.maxKeys,
		Delimiter: lq.enc(lq.delimiter), IsTruncated: res.IsTruncated, EncodingType: lq.encodingType(),
		CommonPrefixes: lq.prefixes(res.CommonPrefixes),
	}
	for _, o := range res.Objects {
		out.Contents = append(out.Contents, lq.object(o, &own))
	}
	// S3 returns NextMarker only when a delimiter was given; without one
	// the client continues from the last key.
	if res.IsTruncated && lq.delimiter != "" {
		out.NextMarker = lq.enc(nextMarker(res))
	}
	return writeXML(w, http.StatusOK, out)
}

type listBucketV2Result struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	MaxKeys               int            `xml:"MaxKeys"`
	KeyCount              int            `xml:"KeyCount"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	Contents              []objectXML    `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

// Continuation tokens are opaque to clients: the base64 of the last key or
// common prefix returned.
func encodeToken(key string) string { return base64.URLEncoding.EncodeToString([]byte(key)) }

func decodeToken(tok string) (string, error) {
	b, err := base64.URLEncoding.DecodeString(tok)
	if err != nil {
		return "", ErrInvalidArgument.WithMessage("The continuation token provided is incorrect.")
	}
	return string(b), nil
}

func (s *Server) listObjectsV2(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, "max-keys")
	if err != nil {
		return err
	}
	startAfter := q.Get("start-after")
	marker := startAfter
	_, hasToken := q["continuation-token"]
	token := q.Get("continuation-token")
	if hasToken {
		if token == "" {
			return ErrInvalidArgument.WithMessage("The continuation token provided is incorrect.")
		}
		if marker, err = decodeToken(token); err != nil {
			return err
		}
	}
	res, err := s.list(r, c, lq, marker)
	if err != nil {
		return err
	}
	var own *owner
	if strings.EqualFold(q.Get("fetch-owner"), "true") {
		o := c.owner()
		own = &o
	}
	out := listBucketV2Result{
		Name: c.bucket, Prefix: lq.enc(lq.prefix), MaxKeys: lq.maxKeys,
		KeyCount:    len(res.Objects) + len(res.CommonPrefixes),
		Delimiter:   lq.enc(lq.delimiter),
		IsTruncated: res.IsTruncated, EncodingType: lq.encodingType(),
		ContinuationToken: token, StartAfter: lq.enc(startAfter),
		CommonPrefixes: lq.prefixes(res.CommonPrefixes),
	}
	for _, o := range res.Objects {
		out.Contents = append(out.Contents, lq.object(o, own))
	}
	if res.IsTruncated {
		out.NextContinuationToken = encodeToken(nextMarker(res))
	}
	return writeXML(w, http.StatusOK, out)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// nextMarker is the key or common prefix a truncated page ended on.
func nextMarker(res store.ListResult) string {
	if res.NextMarker != "" {
		return res.NextMarker
	}
	var last string
	if n := len(res.Objects); n > 0 {
		last = res.Objects[n-1].Key
	}
	if n := len(res.CommonPrefixes); n > 0 && res.CommonPrefixes[n-1] > last {
		last = res.CommonPrefixes[n-1]
	}
	return last
}
