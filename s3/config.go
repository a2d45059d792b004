package s3

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// Bucket configuration kinds, as stored with Backend.PutBucketConfig.
const (
	policyConfigKind    = "policy"
	corsConfigKind      = "cors"
	lifecycleConfigKind = "lifecycle"

	maxPolicySize      = 20 << 10 // S3: bucket policies ≤ 20 KB
	maxCORSRules       = 100
	maxLifecycleRules  = 1000
	maxLifecycleRuleID = 255
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
	b, err := c.readBody(maxPolicySize, ErrMalformedPolicy.WithMessage("Policies must be no larger than 20 KB."))
	if err != nil {
		return err
	}
	if !json.Valid(b) || len(strings.TrimSpace(string(b))) == 0 || strings.TrimSpace(string(b))[0] != '{' {
		return ErrMalformedPolicy
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
	b, err := c.readBody(s.cfg.MaxXMLBody, ErrMalformedXML)
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

// LifecycleConfiguration is the S3 lifecycle document, stored (re-rendered
// from the parsed form) under the bucket-config kind "lifecycle"; the
// lifecycle worker reads that stored XML.
type LifecycleConfiguration struct {
	XMLName xml.Name        `xml:"LifecycleConfiguration"`
	Rules   []LifecycleRule `xml:"Rule"`
}

// LifecycleRule is one lifecycle rule.
type LifecycleRule struct {
	ID     string           `xml:"ID,omitempty"`
	Status string           `xml:"Status"`
	Prefix *string          `xml:"Prefix,omitempty"` // legacy form of Filter.Prefix
	Filter *LifecycleFilter `xml:"Filter,omitempty"`

	Expiration                     *LifecycleExpiration         `xml:"Expiration,omitempty"`
	NoncurrentVersionExpiration    *NoncurrentVersionExpiration `xml:"NoncurrentVersionExpiration,omitempty"`
	AbortIncompleteMultipartUpload *AbortIncompleteUpload       `xml:"AbortIncompleteMultipartUpload,omitempty"`
	Transitions                    []struct{}                   `xml:"Transition,omitempty"`
	NoncurrentVersionTransitions   []struct{}                   `xml:"NoncurrentVersionTransition,omitempty"`
}

// LifecycleFilter selects the objects a rule applies to: at most one of
// Prefix, Tag, the size bounds, or And.
type LifecycleFilter struct {
	Prefix                *string       `xml:"Prefix,omitempty"`
	Tag                   *tagXML       `xml:"Tag,omitempty"`
	ObjectSizeGreaterThan *int64        `xml:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64        `xml:"ObjectSizeLessThan,omitempty"`
	And                   *LifecycleAnd `xml:"And,omitempty"`
}

// LifecycleAnd combines several filter conditions.
type LifecycleAnd struct {
	Prefix                *string  `xml:"Prefix,omitempty"`
	Tags                  []tagXML `xml:"Tag,omitempty"`
	ObjectSizeGreaterThan *int64   `xml:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64   `xml:"ObjectSizeLessThan,omitempty"`
}

// LifecycleExpiration expires current versions.
type LifecycleExpiration struct {
	Days                      *int    `xml:"Days,omitempty"`
	Date                      *string `xml:"Date,omitempty"`
	ExpiredObjectDeleteMarker *bool   `xml:"ExpiredObjectDeleteMarker,omitempty"`
}

// NoncurrentVersionExpiration removes noncurrent versions.
type NoncurrentVersionExpiration struct {
	NoncurrentDays          *int `xml:"NoncurrentDays,omitempty"`
	NewerNoncurrentVersions *int `xml:"NewerNoncurrentVersions,omitempty"`
}

// AbortIncompleteUpload aborts multipart uploads older than the given days.
type AbortIncompleteUpload struct {
	DaysAfterInitiation *int `xml:"DaysAfterInitiation,omitempty"`
}

// ParseLifecycle parses and validates a lifecycle configuration as S3
// does: malformed structure is MalformedXML, bad values InvalidArgument,
// each with a message that says why (fuzzed).
func ParseLifecycle(b []byte) (*LifecycleConfiguration, error) {
	var lc LifecycleConfiguration
	if err := decodeXML(b, &lc); err != nil {
		return nil, err
	}
	if len(lc.Rules) == 0 || len(lc.Rules) > maxLifecycleRules {
		return nil, ErrMalformedXML.WithMessage("A lifecycle configuration needs between 1 and %d rules.", maxLifecycleRules)
	}
	ids := make(map[string]bool)
	for i := range lc.Rules {
		rule := &lc.Rules[i]
		if rule.ID != "" {
			if ids[rule.ID] {
				return nil, ErrInvalidArgument.WithMessage("Rule ID must be unique. Found same ID for more than one rule: %s", rule.ID)
			}
			ids[rule.ID] = true
		}
		if err := validateLifecycleRule(rule); err != nil {
			return nil, err
		}
	}
	return &lc, nil
}

func validateLifecycleRule(rule *LifecycleRule) error {
	malformed := func(why string) error { return ErrMalformedXML.WithMessage("Rule %q: %s", rule.ID, why) }
	invalid := func(why string) error { return ErrInvalidArgument.WithMessage("Rule %q: %s", rule.ID, why) }
	if len(rule.ID) > maxLifecycleRuleID {
		return invalid("ID length should not exceed allowed limit of 255")
	}
	if rule.Status != "Enabled" && rule.Status != "Disabled" {
		return malformed("Status must be Enabled or Disabled")
	}
	if rule.Prefix != nil && rule.Filter != nil {
		return malformed("Prefix and Filter cannot both be specified")
	}
	if len(rule.Transitions) > 0 || len(rule.NoncurrentVersionTransitions) > 0 {
		return ErrNotImplemented.WithMessage("Rule %q: transitions are not supported (there is one storage class)", rule.ID)
	}
	if rule.Expiration == nil && rule.NoncurrentVersionExpiration == nil && rule.AbortIncompleteMultipartUpload == nil {
		return malformed("at least one action needs to be specified in a rule")
	}
	hasTag, err := validateLifecycleFilter(rule.Filter, malformed, invalid)
	if err != nil {
		return err
	}
	if e := rule.Expiration; e != nil {
		n := 0
		for _, set := range []bool{e.Days != nil, e.Date != nil, e.ExpiredObjectDeleteMarker != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return malformed("Expiration must have exactly one of Days, Date or ExpiredObjectDeleteMarker")
		}
		if e.Days != nil && *e.Days <= 0 {
			return invalid("'Days' for Expiration action must be a positive integer")
		}
		if e.Date != nil {
			t, err := time.Parse(time.RFC3339, *e.Date)
			if err != nil {
				return invalid("'Date' must be in ISO 8601 format")
			}
			if !t.UTC().Equal(t.UTC().Truncate(24 * time.Hour)) {
				return invalid("'Date' must be at midnight GMT")
			}
		}
		if e.ExpiredObjectDeleteMarker != nil && hasTag {
			return invalid("ExpiredObjectDeleteMarker cannot be specified with tag-based filters")
		}
	}
	if nv := rule.NoncurrentVersionExpiration; nv != nil {
		if nv.NoncurrentDays == nil || *nv.NoncurrentDays <= 0 {
			return invalid("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
		}
		if nv.NewerNoncurrentVersions != nil && (*nv.NewerNoncurrentVersions <= 0 || *nv.NewerNoncurrentVersions > 100) {
			return invalid("'NewerNoncurrentVersions' must be between 1 and 100")
		}
	}
	if a := rule.AbortIncompleteMultipartUpload; a != nil {
		if a.DaysAfterInitiation == nil || *a.DaysAfterInitiation <= 0 {
			return invalid("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
		}
		if hasTag {
			return invalid("AbortIncompleteMultipartUpload cannot be specified with tag-based filters")
		}
	}
	return nil
}

// validateLifecycleFilter checks a rule's Filter; hasTag reports a tag
// condition (which some actions do not allow).
func validateLifecycleFilter(f *LifecycleFilter, malformed, invalid func(string) error) (hasTag bool, err error) {
	if f == nil {
		return false, nil
	}
	n := 0
	for _, set := range []bool{f.Prefix != nil, f.Tag != nil, f.ObjectSizeGreaterThan != nil, f.ObjectSizeLessThan != nil, f.And != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return false, malformed("Filter must have exactly one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan or And")
	}
	if f.Tag != nil {
		hasTag = true
		if err := validateTags(map[string]string{f.Tag.Key: f.Tag.Value}, 1); err != nil {
			return false, err
		}
	}
	if err := validateSizes(f.ObjectSizeGreaterThan, f.ObjectSizeLessThan, invalid); err != nil {
		return false, err
	}
	if a := f.And; a != nil {
		tags := make(map[string]string)
		for _, t := range a.Tags {
			if _, dup := tags[t.Key]; dup {
				return false, ErrInvalidTag.WithMessage("Duplicate tag key %q in a lifecycle filter.", t.Key)
			}
			tags[t.Key] = t.Value
		}
		if err := validateTags(tags, maxObjectTags); err != nil {
			return false, err
		}
		hasTag = len(tags) > 0
		if err := validateSizes(a.ObjectSizeGreaterThan, a.ObjectSizeLessThan, invalid); err != nil {
			return false, err
		}
	}
	return hasTag, nil
}

func validateSizes(gt, lt *int64, invalid func(string) error) error {
	if gt != nil && *gt < 0 || lt != nil && *lt <= 0 {
		return invalid("object size bounds must be positive")
	}
	if gt != nil && lt != nil && *gt >= *lt {
		return invalid("ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
	}
	return nil
}

func (s *Server) putBucketLifecycle(w http.ResponseWriter, r *http.Request, c *call) error {
	b, err := c.readBody(s.cfg.MaxXMLBody, ErrMalformedXML)
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
