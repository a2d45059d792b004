package s3

import (
	"encoding/xml"
	"net/http"
)

// Bucket configurations BucketDB does not implement, read back as S3 reads
// them on a bucket that never had one: a "not found" error where S3 has
// one, else the empty or default document. Tools that read a bucket's whole
// state (mc stat, infrastructure-as-code providers, SDK helpers) then see
// "none" instead of an error. The answers are true of every bucket here:
// nothing is encrypted at rest by the server, there is no object lock,
// website, logging, notification, acceleration or replication, and ACLs
// are disabled (the owner owns every object, no ACL makes anything
// public; only a bucket policy can, see policy.go). Setting any
// of them stays NotImplemented.

type ownershipControls struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ OwnershipControls"`
	Rule    struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

type publicAccessBlock struct {
	XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ PublicAccessBlockConfiguration"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

type emptyDoc struct {
	XMLName xml.Name
}

type requestPayment struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ RequestPaymentConfiguration"`
	Payer   string   `xml:"Payer"`
}

// unconfiguredGets are the operations (routed in route.go by their
// sub-resource on a bucket GET) and their answer: a document or an error.
var unconfiguredGets = []struct {
	op  string
	doc func() any
	err *APIError
}{
	{op: "GetBucketEncryption", err: apiErr(http.StatusNotFound,
		"ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found.")},
	{op: "GetBucketOwnershipControls", doc: func() any {
		var d ownershipControls
		d.Rule.ObjectOwnership = "BucketOwnerEnforced"
		return d
	}},
	// Public ACLs are refused (acl.go); a bucket policy may open a bucket
	// to anonymous requests (policy.go).
	{op: "GetPublicAccessBlock", doc: func() any {
		return publicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true}
	}},
	{op: "GetObjectLockConfiguration", err: apiErr(http.StatusNotFound,
		"ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket.")},
	{op: "GetBucketWebsite", err: apiErr(http.StatusNotFound,
		"NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration.")},
	{op: "GetBucketReplication", err: apiErr(http.StatusNotFound,
		"ReplicationConfigurationNotFoundError", "The replication configuration was not found.")},
	{op: "GetBucketLogging", doc: func() any { return emptyDoc{XMLName: xml.Name{Space: s3NS, Local: "BucketLoggingStatus"}} }},
	{op: "GetBucketNotificationConfiguration", doc: func() any {
		return emptyDoc{XMLName: xml.Name{Space: s3NS, Local: "NotificationConfiguration"}}
	}},
	{op: "GetBucketAccelerateConfiguration", doc: func() any {
		return emptyDoc{XMLName: xml.Name{Space: s3NS, Local: "AccelerateConfiguration"}}
	}},
	{op: "GetBucketRequestPayment", doc: func() any { return requestPayment{Payer: "BucketOwner"} }},
}

// unconfiguredDeletes remove configurations that no bucket ever has: as
// S3 does for a bucket without one, they succeed (204) and change nothing.
var unconfiguredDeletes = []string{"DeleteBucketEncryption", "DeleteBucketWebsite", "DeleteBucketReplication"}

// addUnconfiguredHandlers registers the handlers of unconfiguredGets and
// unconfiguredDeletes.
func (s *Server) addUnconfiguredHandlers(h map[string]handler) {
	for _, op := range unconfiguredDeletes {
		h[op] = func(w http.ResponseWriter, r *http.Request, c *call) error {
			if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	}
	for _, u := range unconfiguredGets {
		h[u.op] = func(w http.ResponseWriter, r *http.Request, c *call) error {
			if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
				return err
			}
			if u.err != nil {
				return u.err
			}
			return writeXML(w, http.StatusOK, u.doc())
		}
	}
}
