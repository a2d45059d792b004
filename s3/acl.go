package s3

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/bucketdb/bucketdb/store"
)

// ACLs. BucketDB has one tenant and no per-object permissions, which is
// what S3 calls ACLs disabled (Object Ownership "BucketOwnerEnforced", the
// default for new buckets): every bucket and object grants its owner
// FULL_CONTROL and nothing else. Reading an ACL returns that. Setting one
// succeeds when it says the same (canned private or
// bucket-owner-full-control, or a policy granting only the owner full
// control) and fails with AccessControlListNotSupported otherwise, so that
// a client asking for public access learns that it did not get it.

const xsiNS = "http://www.w3.org/2001/XMLSchema-instance"

type accessControlPolicy struct {
	XMLName xml.Name   `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccessControlPolicy"`
	Owner   owner      `xml:"Owner"`
	Grants  []aclGrant `xml:"AccessControlList>Grant"`
}

type aclGrant struct {
	Grantee    aclGrantee `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

type aclGrantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
	Email       string `xml:"EmailAddress,omitempty"`
}

// aclRequest is an AccessControlPolicy as a client sends it (the grantee
// type is read whatever its namespace prefix).
type aclRequest struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   *owner   `xml:"Owner"`
	Grants  []struct {
		Grantee struct {
			Type  string `xml:"type,attr"`
			ID    string `xml:"ID"`
			URI   string `xml:"URI"`
			Email string `xml:"EmailAddress"`
		} `xml:"Grantee"`
		Permission string `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// ownerOnlyACL is the ACL of everything.
func ownerOnlyACL(c *call) accessControlPolicy {
	o := c.owner()
	return accessControlPolicy{Owner: o, Grants: []aclGrant{{
		Grantee:    aclGrantee{XMLNSXSI: xsiNS, Type: "CanonicalUser", ID: o.ID, DisplayName: o.DisplayName},
		Permission: "FULL_CONTROL",
	}}}
}

var errACLsDisabled = ErrAccessControlListNotSupported.WithMessage(
	"The bucket does not allow ACLs: every bucket and object is private to its owner.")

// checkACL accepts a PutBucketAcl/PutObjectAcl request that grants the
// owner full control and nobody anything.
func (s *Server) checkACL(r *http.Request, c *call) error {
	canned := strings.ToLower(strings.TrimSpace(r.Header.Get("x-amz-acl")))
	var grants []string
	for h := range r.Header {
		if strings.HasPrefix(strings.ToLower(h), "x-amz-grant-") {
			grants = append(grants, h)
		}
	}
	body, err := s.readConfigBody(r, c, ErrMalformedACLError)
	if err != nil {
		return err
	}
	hasBody := len(bytes.TrimSpace(body)) > 0
	switch {
	case canned != "" && len(grants) > 0:
		return ErrInvalidRequest.WithMessage("Specifying both Canned ACLs and Header Grants is not allowed.")
	case (canned != "" || len(grants) > 0) && hasBody:
		return ErrUnexpectedContent.WithMessage("This request does not support content when an ACL header is given.")
	case canned != "":
		if canned != "private" && canned != "bucket-owner-full-control" {
			if !knownCannedACL[canned] {
				return ErrInvalidArgument.WithMessage("Invalid canned ACL %q.", canned)
			}
			return errACLsDisabled
		}
		return nil
	case len(grants) > 0:
		return errACLsDisabled
	case !hasBody:
		return ErrMissingSecurityHeader.WithMessage("Your request was missing a required header: x-amz-acl, an x-amz-grant header or an AccessControlPolicy body.")
	}
	var req aclRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		return ErrMalformedACLError
	}
	own := c.owner()
	if req.Owner != nil && req.Owner.ID != "" && req.Owner.ID != own.ID {
		return ErrAccessDenied.WithMessage("The owner in the ACL is not the bucket owner.")
	}
	for _, g := range req.Grants {
		switch {
		case g.Grantee.Type != "CanonicalUser" && g.Grantee.Type != "Group" && g.Grantee.Type != "AmazonCustomerByEmail":
			return ErrMalformedACLError.WithMessage("Unknown grantee type %q.", g.Grantee.Type)
		case !knownPermission[g.Permission]:
			return ErrMalformedACLError.WithMessage("Unknown permission %q.", g.Permission)
		case g.Grantee.Type != "CanonicalUser" || g.Grantee.ID != own.ID || g.Permission != "FULL_CONTROL":
			return errACLsDisabled
		}
	}
	return nil
}

// checkACLHeaders refuses the ACL headers of a write (PutObject,
// CopyObject, CreateMultipartUpload) that ask for more than the owner's
// full control, as checkACL does for Put*Acl: a canned ACL other than
// private or bucket-owner-full-control, or any x-amz-grant-* header.
func checkACLHeaders(h http.Header) error {
	switch canned := strings.ToLower(strings.TrimSpace(h.Get("x-amz-acl"))); {
	case canned == "" || canned == "private" || canned == "bucket-owner-full-control":
	case !knownCannedACL[canned]:
		return ErrInvalidArgument.WithMessage("Invalid canned ACL %q.", truncateString(canned, 64))
	default:
		return errACLsDisabled
	}
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-grant-") {
			return errACLsDisabled
		}
	}
	return nil
}

var knownCannedACL = map[string]bool{
	"private": true, "public-read": true, "public-read-write": true, "aws-exec-read": true,
	"authenticated-read": true, "bucket-owner-read": true, "bucket-owner-full-control": true,
	"log-delivery-write": true,
}

var knownPermission = map[string]bool{
	"FULL_CONTROL": true, "READ": true, "WRITE": true, "READ_ACP": true, "WRITE_ACP": true,
}

func (s *Server) getBucketACL(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err
	}
	return writeXML(w, http.StatusOK, ownerOnlyACL(c))
}

func (s *Server) putBucketACL(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err
	}
	if err := s.checkACL(r, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getObjectACL(w http.ResponseWriter, r *http.Request, c *call) error {
	vid := r.URL.Query().Get("versionId")
	info, err := s.backend.HeadObject(r.Context(), c.bucket, c.key, store.GetOptions{VersionID: vid})
	if err != nil {
		return s.deleteMarkerError(r.Context(), w.Header(), c, vid, info, err)
	}
	s.setVersionHeader(r.Context(), w.Header(), c.bucket, info.VersionID)
	return writeXML(w, http.StatusOK, ownerOnlyACL(c))
}

func (s *Server) putObjectACL(w http.ResponseWriter, r *http.Request, c *call) error {
	vid := r.URL.Query().Get("versionId")
	info, err := s.backend.HeadObject(r.Context(), c.bucket, c.key, store.GetOptions{VersionID: vid})
	if err != nil {
		return s.deleteMarkerError(r.Context(), w.Header(), c, vid, info, err)
	}
	if err := s.checkACL(r, c); err != nil {
		return err
	}
	s.setVersionHeader(r.Context(), w.Header(), c.bucket, info.VersionID)
	w.WriteHeader(http.StatusOK)
	return nil
}
