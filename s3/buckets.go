package s3

import (
	"encoding/xml"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/bucketdb/bucketdb/store"
)

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// ownerOf is the owner BucketDB reports: one tenant, named by the access key
// of the request.
func (c *call) owner() owner {
	id := c.accessKey
	if id == "" {
		id = "anonymous"
	}
	return owner{ID: id, DisplayName: id}
}

type listAllMyBucketsResult struct {
	XMLName           xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner             owner       `xml:"Owner"`
	Buckets           []bucketXML `xml:"Buckets>Bucket"`
	ContinuationToken string      `xml:"ContinuationToken,omitempty"`
	Prefix            string      `xml:"Prefix,omitempty"`
}

type bucketXML struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion"`
}

// maxListBuckets is S3's largest ListBuckets page (and the page size when
// prefix, bucket-region or continuation-token come without max-buckets).
const maxListBuckets = 10000

// listBuckets answers ListBuckets with S3's optional filters and paging:
// prefix, bucket-region, max-buckets and continuation-token (an opaque
// token naming the last bucket of the previous page).
func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	prefix, region := q.Get("prefix"), q.Get("bucket-region")
	limit := maxListBuckets
	if v, ok := q["max-buckets"]; ok {
		n, err := strconv.Atoi(strings.Join(v, ""))
		if err != nil || n < 1 || n > maxListBuckets {
			return ErrInvalidArgument.WithMessage("max-buckets must be an integer between 1 and %d.", maxListBuckets)
		}
		limit = n
	}
	var after string
	if _, ok := q["continuation-token"]; ok {
		tok, err := decodeToken(q.Get("continuation-token"))
		if err != nil || tok == "" {
			return ErrInvalidArgument.WithMessage("The continuation token provided is incorrect.")
		}
		after = tok
	}
	bs, err := s.backend.ListBuckets(r.Context())
	if err != nil {
		return err
	}
	slices.SortFunc(bs, func(a, b store.BucketInfo) int { return strings.Compare(a.Name, b.Name) })
	res := listAllMyBucketsResult{Owner: c.owner(), Buckets: []bucketXML{}, Prefix: prefix}
	if region != "" && region != s.cfg.Region {
		bs = nil // every bucket is in this server's region
	}
	for _, b := range bs {
		if !strings.HasPrefix(b.Name, prefix) || b.Name <= after {
			continue
		}
		if len(res.Buckets) == limit {
			res.ContinuationToken = encodeToken(res.Buckets[limit-1].Name)
			break
		}
		res.Buckets = append(res.Buckets, bucketXML{Name: b.Name, CreationDate: iso8601(b.Created), BucketRegion: s.cfg.Region})
	}
	return writeXML(w, http.StatusOK, res)
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

func (s *Server) createBucket(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := validBucketName(c.bucket); err != nil {
		return err
	}
	b, err := c.readBody(s.cfg.MaxXMLBody, ErrMalformedXML)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) > 0 {
		var cfg createBucketConfiguration
		if err := decodeXML(b, &cfg); err != nil {
			return err
		}
		if lc := cfg.LocationConstraint; lc != "" && lc != s.cfg.Region {
			return ErrInvalidLocationConstraint.WithMessage(
				"The specified location-constraint %q is not valid; this server is in %q.", lc, s.cfg.Region)
		}
	}
	// A bucket is made the one way BucketDB has: ACLs disabled (owner
	// enforced) and no Object Lock. Asking for either otherwise fails, as
	// S3 fails an ACL on an owner-enforced bucket, rather than leaving the
	// client believing its objects are public or locked.
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("x-amz-bucket-object-lock-enabled")), "true") {
		return ErrNotImplemented.WithMessage("Object Lock is not supported.")
	}
	if err := checkACLHeaders(r.Header); errors.Is(err, errACLsDisabled) {
		return ErrInvalidBucketACL
	} else if err != nil {
		return err
	}
	if err := s.backend.CreateBucket(r.Context(), c.bucket); err != nil {
		return err
	}
	w.Header().Set("Location", "/"+c.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) headBucket(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err
	}
	w.Header().Set("x-amz-bucket-region", s.cfg.Region)
	w.Header().Set("x-amz-access-point-alias", "false") // a bucket is addressed by its name
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBucket(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.backend.DeleteBucket(r.Context(), c.bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type locationConstraint struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
	Region  string   `xml:",chardata"`
}

func (s *Server) getBucketLocation(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err
	}
	region := s.cfg.Region
	if region == "us-east-1" {
		region = "" // as S3 answers for us-east-1
	}
	return writeXML(w, http.StatusOK, locationConstraint{Region: region})
}

// validBucketName enforces S3's bucket naming rules.
func validBucketName(name string) error {
	bad := func(why string) error {
		return ErrInvalidBucketName.WithMessage("The specified bucket is not valid: %s.", why)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("bucket names must be between 3 and 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-') {
			return bad("bucket names can consist only of lowercase letters, numbers, dots and hyphens")
		}
	}
	first, last := name[0], name[len(name)-1]
	if first == '.' || first == '-' || last == '.' || last == '-' {
		return bad("bucket names must begin and end with a letter or number")
	}
	if strings.Contains(name, "..") {
		return bad("bucket names must not contain two adjacent periods")
	}
	if strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return bad("bucket names must not contain a period next to a hyphen")
	}
	if ip := net.ParseIP(name); ip != nil && ip.To4() != nil {
		return bad("bucket names must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad("bucket names must not start with " + p)
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3"} {
		if strings.HasSuffix(name, sfx) {
			return bad("bucket names must not end with " + sfx)
		}
	}
	return nil
}
