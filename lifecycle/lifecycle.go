// Package lifecycle is the S3 bucket lifecycle configuration: the document
// types (as S3 serialises them), their validation, and the questions the
// lifecycle worker asks of a rule: does it apply to this object, and which
// objects are due at a given time.
//
// It imports nothing of BucketDB, so the S3 layer (which parses and
// validates documents from clients) and the object layer (whose worker
// applies the stored documents) share one definition.
//
// # Time
//
// S3 counts lifecycle ages in days. Every function that turns days into a
// duration takes the length of a day as a parameter, so that tests can run a
// whole lifecycle in seconds (a "day" of two seconds). A version is due
// once days*day have passed since the instant that starts its age (creation
// for current versions and uploads, the moment it became noncurrent for
// noncurrent versions); S3's rounding to the next midnight UTC is not
// applied.
//
// All functions are pure and safe for concurrent use.
package lifecycle

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Error kinds of Validate and Parse. An S3 front end maps them to
// MalformedXML, InvalidArgument, InvalidTag and NotImplemented.
var (
	ErrMalformed      = errors.New("malformed lifecycle configuration")
	ErrInvalid        = errors.New("invalid lifecycle configuration")
	ErrInvalidTag     = errors.New("invalid tag")
	ErrNotImplemented = errors.New("lifecycle feature not implemented")
)

// Error is a validation failure: Kind is one of the Err* kinds, Msg says why
// in words a client can act on.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Limits of S3 that Validate enforces.
const (
	MaxRules       = 1000
	MaxRuleIDLen   = 255
	MaxTags        = 10
	MaxTagKeyLen   = 128 // characters
	MaxTagValueLen = 256 // characters
	MaxNewer       = 100 // NewerNoncurrentVersions
)

// Namespace is the XML namespace of S3's documents.
const Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// Configuration is the S3 LifecycleConfiguration document. It is read with
// or without S3's namespace and always written in it (MarshalXML).
type Configuration struct {
	XMLName xml.Name `xml:"LifecycleConfiguration"`
	Rules   []Rule   `xml:"Rule"`
}

// MarshalXML writes the document in S3's namespace, as S3 answers
// GetBucketLifecycleConfiguration. (The XMLName tag names no namespace so
// that documents without one parse; a tag wins over the field's value.)
func (c Configuration) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	type plain Configuration // without this method
	return e.EncodeElement(plain(c), xml.StartElement{Name: xml.Name{Space: Namespace, Local: "LifecycleConfiguration"}})
}

// Rule is one lifecycle rule.
type Rule struct {
	ID     string  `xml:"ID,omitempty"`
	Status string  `xml:"Status"`
	Prefix *string `xml:"Prefix,omitempty"` // legacy form of Filter.Prefix
	Filter *Filter `xml:"Filter,omitempty"`

	Expiration                     *Expiration                  `xml:"Expiration,omitempty"`
	NoncurrentVersionExpiration    *NoncurrentVersionExpiration `xml:"NoncurrentVersionExpiration,omitempty"`
	AbortIncompleteMultipartUpload *AbortIncompleteUpload       `xml:"AbortIncompleteMultipartUpload,omitempty"`
	Transitions                    []struct{}                   `xml:"Transition,omitempty"`
	NoncurrentVersionTransitions   []struct{}                   `xml:"NoncurrentVersionTransition,omitempty"`
}

// Tag is one key/value pair of a filter.
type Tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// Filter selects the objects a rule applies to: at most one of Prefix, Tag,
// the size bounds, or And.
type Filter struct {
	Prefix                *string `xml:"Prefix,omitempty"`
	Tag                   *Tag    `xml:"Tag,omitempty"`
	ObjectSizeGreaterThan *int64  `xml:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64  `xml:"ObjectSizeLessThan,omitempty"`
	And                   *And    `xml:"And,omitempty"`
}

// And combines several filter conditions; all must hold.
type And struct {
	Prefix                *string `xml:"Prefix,omitempty"`
	Tags                  []Tag   `xml:"Tag,omitempty"`
	ObjectSizeGreaterThan *int64  `xml:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64  `xml:"ObjectSizeLessThan,omitempty"`
}

// Expiration expires current versions (Days after creation, or from Date),
// or removes delete markers that are the only version left of their key.
type Expiration struct {
	Days                      *int    `xml:"Days,omitempty"`
	Date                      *string `xml:"Date,omitempty"`
	ExpiredObjectDeleteMarker *bool   `xml:"ExpiredObjectDeleteMarker,omitempty"`
}

// NoncurrentVersionExpiration removes versions NoncurrentDays after they
// became noncurrent, keeping the NewerNoncurrentVersions newest of them.
type NoncurrentVersionExpiration struct {
	NoncurrentDays          *int `xml:"NoncurrentDays,omitempty"`
	NewerNoncurrentVersions *int `xml:"NewerNoncurrentVersions,omitempty"`
}

// AbortIncompleteUpload aborts multipart uploads DaysAfterInitiation after
// they were started.
type AbortIncompleteUpload struct {
	DaysAfterInitiation *int `xml:"DaysAfterInitiation,omitempty"`
}

// Parse decodes and validates a lifecycle configuration document.
func Parse(b []byte) (*Configuration, error) {
	if strings.TrimSpace(string(b)) == "" {
		return nil, errorf(ErrMalformed, "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	var c Configuration
	if err := xml.Unmarshal(b, &c); err != nil {
		return nil, errorf(ErrMalformed, "The XML you provided was not well-formed or did not validate against our published schema. (%v)", err)
	}
	if err := Validate(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks a configuration as S3 does.
func Validate(c *Configuration) error {
	if len(c.Rules) == 0 || len(c.Rules) > MaxRules {
		return errorf(ErrMalformed, "A lifecycle configuration needs between 1 and %d rules.", MaxRules)
	}
	ids := make(map[string]bool)
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.ID != "" {
			if ids[r.ID] {
				return errorf(ErrInvalid, "Rule ID must be unique. Found same ID for more than one rule: %s", r.ID)
			}
			ids[r.ID] = true
		}
		if err := r.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (r *Rule) validate() error {
	malformed := func(why string) error { return errorf(ErrMalformed, "Rule %q: %s", r.ID, why) }
	invalid := func(why string) error { return errorf(ErrInvalid, "Rule %q: %s", r.ID, why) }
	if len(r.ID) > MaxRuleIDLen {
		return invalid("ID length should not exceed allowed limit of 255")
	}
	if r.Status != "Enabled" && r.Status != "Disabled" {
		return malformed("Status must be Enabled or Disabled")
	}
	if r.Prefix != nil && r.Filter != nil {
		return malformed("Prefix and Filter cannot both be specified")
	}
	if len(r.Transitions) > 0 || len(r.NoncurrentVersionTransitions) > 0 {
		return errorf(ErrNotImplemented, "Rule %q: transitions are not supported (there is one storage class)", r.ID)
	}
	if r.Expiration == nil && r.NoncurrentVersionExpiration == nil && r.AbortIncompleteMultipartUpload == nil {
		return malformed("at least one action needs to be specified in a rule")
	}
	hasTag, err := r.Filter.validate(malformed, invalid)
	if err != nil {
		return err
	}
	if e := r.Expiration; e != nil {
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
	if nv := r.NoncurrentVersionExpiration; nv != nil {
		if nv.NoncurrentDays == nil || *nv.NoncurrentDays <= 0 {
			return invalid("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
		}
		if nv.NewerNoncurrentVersions != nil && (*nv.NewerNoncurrentVersions <= 0 || *nv.NewerNoncurrentVersions > MaxNewer) {
			return invalid("'NewerNoncurrentVersions' must be between 1 and 100")
		}
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		if a.DaysAfterInitiation == nil || *a.DaysAfterInitiation <= 0 {
			return invalid("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
		}
		if hasTag {
			return invalid("AbortIncompleteMultipartUpload cannot be specified with tag-based filters")
		}
	}
	return nil
}

// validate checks a rule's Filter; hasTag reports a tag condition (which
// some actions do not allow).
func (f *Filter) validate(malformed, invalid func(string) error) (hasTag bool, err error) {
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
		if err := ValidateTags(map[string]string{f.Tag.Key: f.Tag.Value}, 1); err != nil {
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
				return false, errorf(ErrInvalidTag, "Duplicate tag key %q in a lifecycle filter.", t.Key)
			}
			tags[t.Key] = t.Value
		}
		if err := ValidateTags(tags, MaxTags); err != nil {
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

// ValidateTags enforces S3's limits on a tag set of at most max tags; the
// error wraps ErrInvalidTag.
func ValidateTags(tags map[string]string, max int) error {
	if len(tags) > max {
		return errorf(ErrInvalidTag, "Object tags cannot be greater than %d.", max)
	}
	for k, v := range tags {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return errorf(ErrInvalidTag, "Tags must be valid UTF-8.")
		}
		if k == "" || utf8.RuneCountInString(k) > MaxTagKeyLen {
			return errorf(ErrInvalidTag, "The TagKey you have provided is invalid.")
		}
		if utf8.RuneCountInString(v) > MaxTagValueLen {
			return errorf(ErrInvalidTag, "The TagValue you have provided is invalid.")
		}
	}
	return nil
}
