package s3

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"

	"github.com/bucketdb/bucketdb/lifecycle"
)

// Bucket configuration kinds, as stored with Backend.PutBucketConfig.
const (
	policyConfigKind    = "policy"
	corsConfigKind      = "cors"
	lifecycleConfigKind = "lifecycle"

	maxPolicySize = 20 << 10 // S3: bucket policies ≤ 20 KB
	maxCORSRules  = 100
)

// marshalDoc renders a configuration document as stored and served.
func marshalDoc(v any) ([]byte, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), b...), nil
}

// ---- policy ----

func (s *Server) putBucketPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err // before the body, as S3 answers NoSuchBucket whatever the body
	}
	b, err := c.readBody(maxPolicySize, ErrMalformedPolicy.WithMessage("Policies must be no larger than 20 KB."))
	if err != nil {
		return err
	}
	if err := checkBodyMD5(r.Header, b); err != nil {
		return err
	}
	if !json.Valid(b) || len(strings.TrimSpace(string(b))) == 0 || strings.TrimSpace(string(b))[0] != '{' {
		return ErrMalformedPolicy
	}
	if _, err := parseBucketPolicy(b, c.bucket); err != nil {
		return err
	}
	if err := s.backend.PutBucketConfig(r.Context(), c.bucket, policyConfigKind, b); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getBucketPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.getBucketConfigDoc(w, r, c, policyConfigKind, ErrNoSuchBucketPolicy, "application/json")
}

func (s *Server) deleteBucketPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.deleteBucketConfigDoc(w, r, c, policyConfigKind)
}

// ---- CORS ----

type corsRule struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader,omitempty"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	ExposeHeaders  []string `xml:"ExposeHeader,omitempty"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds,omitempty"`
}

type corsConfiguration struct {
	XMLName xml.Name   `xml:"CORSConfiguration"`
	Rules   []corsRule `xml:"CORSRule"`
}

type corsResponse struct {
	XMLName xml.Name   `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CORSConfiguration"`
	Rules   []corsRule `xml:"CORSRule"`
}

// parseCORS parses and validates a CORS configuration (fuzzed).
func parseCORS(b []byte) (corsConfiguration, error) {
	var cc corsConfiguration
	if err := decodeXML(b, &cc); err != nil {
		return cc, err
	}
	if len(cc.Rules) == 0 || len(cc.Rules) > maxCORSRules {
		return cc, ErrMalformedXML.WithMessage("A CORS configuration needs between 1 and %d CORSRule elements.", maxCORSRules)
	}
	for _, rule := range cc.Rules {
		if len(rule.AllowedMethods) == 0 || len(rule.AllowedOrigins) == 0 {
			return cc, ErrMalformedXML.WithMessage("Every CORSRule needs an AllowedMethod and an AllowedOrigin.")
		}
		for _, m := range rule.AllowedMethods {
			switch m {
			case "GET", "PUT", "HEAD", "POST", "DELETE":
			default:
				return cc, ErrInvalidRequest.WithMessage("Found unsupported HTTP method in CORS config. Unsupported method is %s", m)
			}
		}
		for _, o := range rule.AllowedOrigins {
			if strings.Count(o, "*") > 1 {
				return cc, ErrInvalidRequest.WithMessage("AllowedOrigin %q can not have more than one wildcard.", o)
			}
		}
		if rule.MaxAgeSeconds != nil && *rule.MaxAgeSeconds < 0 {
			return cc, ErrMalformedXML.WithMessage("MaxAgeSeconds must not be negative.")
		}
	}
	return cc, nil
}

func (s *Server) putBucketCors(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err // before the body, as S3 answers NoSuchBucket whatever the body
	}
	b, err := s.readConfigBody(r, c, ErrMalformedXML)
	if err != nil {
		return err
	}
	cc, err := parseCORS(b)
	if err != nil {
		return err
	}
	doc, err := marshalDoc(corsResponse{Rules: cc.Rules})
	if err != nil {
		return err
	}
	if err := s.backend.PutBucketConfig(r.Context(), c.bucket, corsConfigKind, doc); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getBucketCors(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.getBucketConfigDoc(w, r, c, corsConfigKind, ErrNoSuchCORSConfiguration, "application/xml")
}

func (s *Server) deleteBucketCors(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.deleteBucketConfigDoc(w, r, c, corsConfigKind)
}

// ---- lifecycle ----

// The lifecycle document types, their validation and rule matching live in
// package lifecycle, shared with the object layer's lifecycle worker, which
// reads the stored XML (kind "lifecycle"). The names below keep this
// package's API.
type (
	LifecycleConfiguration      = lifecycle.Configuration
	LifecycleRule               = lifecycle.Rule
	LifecycleFilter             = lifecycle.Filter
	LifecycleAnd                = lifecycle.And
	LifecycleExpiration         = lifecycle.Expiration
	NoncurrentVersionExpiration = lifecycle.NoncurrentVersionExpiration
	AbortIncompleteUpload       = lifecycle.AbortIncompleteUpload
)

// ParseLifecycle parses and validates a lifecycle configuration as S3
// does: malformed structure is MalformedXML, bad values InvalidArgument
// (InvalidTag, NotImplemented for transitions), each with a message that
// says why (fuzzed).
func ParseLifecycle(b []byte) (*LifecycleConfiguration, error) {
	var lc LifecycleConfiguration
	if err := decodeXML(b, &lc); err != nil {
		return nil, err
	}
	if err := lifecycle.Validate(&lc); err != nil {
		return nil, lifecycleError(err)
	}
	return &lc, nil
}

// lifecycleError maps a validation error of package lifecycle to S3's.
func lifecycleError(err error) error {
	var e *lifecycle.Error
	if !errors.As(err, &e) {
		return err
	}
	api := ErrInvalidArgument
	switch {
	case errors.Is(err, lifecycle.ErrMalformed):
		api = ErrMalformedXML
	case errors.Is(err, lifecycle.ErrInvalidTag):
		api = ErrInvalidTag
	case errors.Is(err, lifecycle.ErrNotImplemented):
		api = ErrNotImplemented
	}
	return api.WithMessage("%s", e.Msg)
}

func (s *Server) putBucketLifecycle(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err // before the body, as S3 answers NoSuchBucket whatever the body
	}
	b, err := s.readConfigBody(r, c, ErrMalformedXML)
	if err != nil {
		return err
	}
	lc, err := ParseLifecycle(b)
	if err != nil {
		return err
	}
	lc.XMLName = xml.Name{Space: s3NS, Local: "LifecycleConfiguration"}
	doc, err := marshalDoc(lc)
	if err != nil {
		return err
	}
	if err := s.backend.PutBucketConfig(r.Context(), c.bucket, lifecycleConfigKind, doc); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getBucketLifecycle(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.getBucketConfigDoc(w, r, c, lifecycleConfigKind, ErrNoSuchLifecycleConfiguration, "application/xml")
}

func (s *Server) deleteBucketLifecycle(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.deleteBucketConfigDoc(w, r, c, lifecycleConfigKind)
}
