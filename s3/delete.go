package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/xml"
	"errors"
	"net/http"
	"sync"
	"unicode/utf8"

	"github.com/bucketdb/bucketdb/store"
)

// maxDeleteObjects is S3's limit of keys per DeleteObjects request;
// deleteParallel is how many of them are deleted at once.
const (
	maxDeleteObjects = 1000
	deleteParallel   = 16
)

type deleteObjectID struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId"`
}

// deleteRequest is the DeleteObjects body.
type deleteRequest struct {
	XMLName xml.Name         `xml:"Delete"`
	Quiet   bool             `xml:"Quiet"`
	Objects []deleteObjectID `xml:"Object"`
}

type deletedXML struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

type deleteErrorXML struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

type deleteResult struct {
	XMLName xml.Name         `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []deletedXML     `xml:"Deleted"`
	Errors  []deleteErrorXML `xml:"Error"`
}

// parseDelete parses and validates a DeleteObjects body (fuzzed).
func parseDelete(b []byte) (deleteRequest, error) {
	var d deleteRequest
	if err := decodeXML(b, &d); err != nil {
		return d, err
	}
	if len(d.Objects) == 0 || len(d.Objects) > maxDeleteObjects {
		return d, ErrMalformedXML.WithMessage("A DeleteObjects request names between 1 and %d objects.", maxDeleteObjects)
	}
	return d, nil
}

// hasBodyIntegrity reports whether the request carries what S3 requires on
// DeleteObjects: Content-MD5 or a checksum (header or announced trailer).
func hasBodyIntegrity(h http.Header) bool {
	if h.Get("Content-Md5") != "" || h.Get("x-amz-sdk-checksum-algorithm") != "" || h.Get("x-amz-trailer") != "" {
		return true
	}
	for _, name := range checksumNames {
		if h.Get("x-amz-checksum-"+name) != "" {
			return true
		}
	}
	return false
}

func (s *Server) deleteObjects(w http.ResponseWriter, r *http.Request, c *call) error {
	if !hasBodyIntegrity(r.Header) {
		return ErrMissingContentMD5
	}
	sum, err := contentMD5(r.Header)
	if err != nil {
		return err
	}
	b, err := c.readBody(s.cfg.MaxXMLBody, ErrMalformedXML)
	if err != nil {
		return err
	}
	if sum != nil {
		if got := md5.Sum(b); !bytes.Equal(got[:], sum) {
			return ErrBadDigest
		}
	}
	req, err := parseDelete(b)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := s.backend.GetBucket(ctx, c.bucket); err != nil {
		return err
	}
	// The entries are independent: several are deleted at once, so that
	// their commits share syncs; the answer keeps the request's order.
	type outcome struct {
		d   deletedXML
		err error
	}
	done := make([]outcome, len(req.Objects))
	var wg sync.WaitGroup
	slots := make(chan struct{}, deleteParallel)
	for i, o := range req.Objects {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			done[i].d, done[i].err = s.deleteOne(r, c, o)
		})
	}
	wg.Wait()
	out := deleteResult{}
	for i, o := range req.Objects {
		d, derr := done[i].d, done[i].err
		if derr != nil {
			ae, known := ToAPIError(derr)
			if !known {
				s.log.Error("s3 internal error", "request_id", c.id, "operation", c.op,
					"bucket", c.bucket, "key", o.Key, "err", derr)
			}
			out.Errors = append(out.Errors, deleteErrorXML{Key: o.Key, VersionID: o.VersionID, Code: ae.Code, Message: ae.Message})
			continue
		}
		if !req.Quiet {
			out.Deleted = append(out.Deleted, d)
		}
	}
	return writeXML(w, http.StatusOK, out)
}

// deleteOne deletes one entry of a batch, as DeleteObject would.
func (s *Server) deleteOne(r *http.Request, c *call, o deleteObjectID) (deletedXML, error) {
	switch {
	case o.Key == "":
		return deletedXML{}, ErrUserKeyMustBeSpecified.WithMessage("Every Object needs a Key.")
	case len(o.Key) > store.MaxKeyLength:
		return deletedXML{}, ErrKeyTooLong
	case !utf8.ValidString(o.Key):
		return deletedXML{}, ErrInvalidArgument.WithMessage("Object key is not valid UTF-8.")
	}
	res, err := s.backend.DeleteObject(r.Context(), c.bucket, o.Key, store.DeleteOptions{VersionID: o.VersionID})
	if errors.Is(err, store.ErrNoSuchKey) || errors.Is(err, store.ErrNoSuchVersion) {
		return deletedXML{Key: o.Key, VersionID: o.VersionID}, nil
	}
	if err != nil {
		return deletedXML{}, err
	}
	d := deletedXML{Key: o.Key, VersionID: o.VersionID}
	if res.DeleteMarker {
		d.DeleteMarker = true
		d.DeleteMarkerVersionID = res.VersionID
	}
	if o.VersionID == "" && !res.DeleteMarker && res.VersionID != "" && res.VersionID != store.NullVersionID {
		d.VersionID = res.VersionID
	}
	return d, nil
}
