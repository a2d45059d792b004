package s3

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bucketdb/bucketdb/store"
)

// Bucket policies. BucketDB has one tenant: a request signed with a valid
// key is the owner and may do anything, so a policy matters only for
// anonymous (unsigned) requests, which it can open to the public — the
// common use, "anyone may read this bucket". A policy is checked when it is
// stored (statements, effects, actions, resources of this bucket) and, for
// an anonymous request, evaluated as S3 does: an explicit Deny wins, then
// an Allow, else the request is refused. Only statements whose principal
// is everyone ("*" or {"AWS": "*"}) concern anonymous requests. Conditions
// are not evaluated: an Allow with a condition never applies and a Deny
// with one always does, so a condition can only make access narrower.

type bucketPolicy struct {
	Version   *string    `json:"Version"` // nil: the default, 2008-10-17
	Statement statements `json:"Statement"`
}

// policyVersions are the policy language versions IAM knows.
var policyVersions = map[string]bool{"2012-10-17": true, "2008-10-17": true}

type policyStatement struct {
	Sid          string          `json:"Sid"`
	Effect       string          `json:"Effect"`
	Principal    json.RawMessage `json:"Principal"`
	NotPrincipal json.RawMessage `json:"NotPrincipal"`
	Action       stringList      `json:"Action"`
	NotAction    stringList      `json:"NotAction"`
	Resource     stringList      `json:"Resource"`
	NotResource  stringList      `json:"NotResource"`
	Condition    json.RawMessage `json:"Condition"`
}

// oneOrMany is a policy value given as one item or as a list of them.
type oneOrMany[T any] []T

func (l *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	var one T
	if err := json.Unmarshal(b, &one); err == nil {
		*l = oneOrMany[T]{one}
		return nil
	}
	var many []T
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("must be one value or a list: %w", err)
	}
	*l = many
	return nil
}

type (
	statements = oneOrMany[policyStatement]
	stringList = oneOrMany[string]
)

const arnPrefix = "arn:aws:s3:::"

// parseBucketPolicy parses and checks a policy for bucket.
func parseBucketPolicy(doc []byte, bucket string) (*bucketPolicy, error) {
	var p bucketPolicy
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, ErrMalformedPolicy.WithMessage("Policies must be valid JSON: %v.", err)
	}
	if p.Version != nil && !policyVersions[*p.Version] {
		return nil, ErrMalformedPolicy.WithMessage("Invalid policy version %q: it must be 2012-10-17 or 2008-10-17.", truncateString(*p.Version, 32))
	}
	if len(p.Statement) == 0 {
		return nil, ErrMalformedPolicy.WithMessage("Missing required field Statement.")
	}
	for _, st := range p.Statement {
		switch {
		case st.Effect != "Allow" && st.Effect != "Deny":
			return nil, ErrMalformedPolicy.WithMessage("Invalid effect: %q.", truncateString(st.Effect, 32))
		case len(st.Principal) == 0 && len(st.NotPrincipal) == 0:
			return nil, ErrMalformedPolicy.WithMessage("Missing required field Principal.")
		case len(st.Action) == 0 && len(st.NotAction) == 0:
			return nil, ErrMalformedPolicy.WithMessage("Missing required field Action.")
		case len(st.Resource) == 0 && len(st.NotResource) == 0:
			return nil, ErrMalformedPolicy.WithMessage("Missing required field Resource.")
		}
		for _, a := range append(append([]string{}, st.Action...), st.NotAction...) {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "s3:") {
				return nil, ErrMalformedPolicy.WithMessage("Policy has an invalid action: %q.", truncateString(a, 64))
			}
		}
		for _, r := range append(append([]string{}, st.Resource...), st.NotResource...) {
			rest, ok := strings.CutPrefix(r, arnPrefix)
			name, _, _ := strings.Cut(rest, "/")
			if !ok || !wildMatch(name, bucket) {
				return nil, ErrMalformedPolicy.WithMessage("Policy has invalid resource: %q.", truncateString(r, 128))
			}
		}
	}
	return &p, nil
}

// everyone reports whether a principal names every caller.
func everyone(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "*"
	}
	var m map[string]stringList
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for _, v := range m["AWS"] {
		if v == "*" {
			return true
		}
	}
	return false
}

// allowsAnonymous evaluates the policy for an anonymous request of action
// on resource (an ARN).
func (p *bucketPolicy) allowsAnonymous(action, resource string) bool {
	allowed := false
	for _, st := range p.Statement {
		applies := false
		switch {
		case len(st.Principal) > 0:
			applies = everyone(st.Principal)
		default:
			applies = !everyone(st.NotPrincipal)
		}
		if !applies || !st.matches(action, resource) {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		if !st.conditional() {
			allowed = true
		}
	}
	return allowed
}

// conditional reports whether the statement has a condition.
func (st policyStatement) conditional() bool {
	c := string(st.Condition)
	return c != "" && c != "{}" && c != "null"
}

func (st policyStatement) matches(action, resource string) bool {
	if len(st.Action) > 0 && !anyWild(st.Action, action, true) ||
		len(st.NotAction) > 0 && anyWild(st.NotAction, action, true) {
		return false
	}
	if len(st.Resource) > 0 && !anyWild(st.Resource, resource, false) ||
		len(st.NotResource) > 0 && anyWild(st.NotResource, resource, false) {
		return false
	}
	return true
}

// anyWild reports whether v matches one of the patterns (fold: ignoring
// case).
func anyWild(patterns []string, v string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, v = strings.ToLower(p), strings.ToLower(v)
		}
		if wildMatch(p, v) {
			return true
		}
	}
	return false
}

// wildMatch matches v against a pattern with * (any run, '/' included)
// and ? (one byte), as IAM does; path.Match would stop * at '/'.
func wildMatch(pattern, v string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == v
	}
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			if pattern == "" {
				return true
			}
			for i := 0; i <= len(v); i++ {
				if wildMatch(pattern, v[i:]) {
					return true
				}
			}
			return false
		case '?':
			if v == "" {
				return false
			}
			pattern, v = pattern[1:], v[1:]
		default:
			if v == "" || pattern[0] != v[0] {
				return false
			}
			pattern, v = pattern[1:], v[1:]
		}
	}
	return v == ""
}

// anonymousActions maps the operations an anonymous request may be
// allowed by a policy to their IAM action; the resource is the bucket or
// the object. Other operations (bucket configuration, copies, batch
// deletes) are never allowed anonymously.
var anonymousActions = map[string]string{
	"GetObject":               "s3:GetObject",
	"HeadObject":              "s3:GetObject",
	"GetObjectTagging":        "s3:GetObjectTagging",
	"GetObjectAttributes":     "s3:GetObjectAttributes",
	"PutObject":               "s3:PutObject",
	"PostObject":              "s3:PutObject",
	"CreateMultipartUpload":   "s3:PutObject",
	"UploadPart":              "s3:PutObject",
	"CompleteMultipartUpload": "s3:PutObject",
	"AbortMultipartUpload":    "s3:AbortMultipartUpload",
	"ListParts":               "s3:ListMultipartUploadParts",
	"DeleteObject":            "s3:DeleteObject",
	"PutObjectTagging":        "s3:PutObjectTagging",
	"ListObjects":             "s3:ListBucket",
	"ListObjectsV2":           "s3:ListBucket",
	"HeadBucket":              "s3:ListBucket",
	"ListObjectVersions":      "s3:ListBucketVersions",
	"ListMultipartUploads":    "s3:ListBucketMultipartUploads",
	"GetBucketLocation":       "s3:GetBucketLocation",
}

// policyAllowsAnonymous decides an anonymous request by the bucket's
// policy (none: refused).
func (s *Server) policyAllowsAnonymous(ctx context.Context, versionID string, c *call) bool {
	action, ok := anonymousActions[c.op]
	if !ok || c.bucket == "" {
		return false
	}
	if versionID != "" {
		switch action {
		case "s3:GetObject", "s3:DeleteObject", "s3:GetObjectTagging", "s3:PutObjectTagging":
			action += "Version"
		}
	}
	doc, err := s.backend.GetBucketConfig(ctx, c.bucket, policyConfigKind)
	if err != nil {
		if !errors.Is(err, store.ErrNoSuchConfig) {
			s.log.Warn("reading bucket policy", "bucket", c.bucket, "err", err)
		}
		return false
	}
	p, err := parseBucketPolicy(doc, c.bucket)
	if err != nil {
		return false
	}
	resource := arnPrefix + c.bucket
	if c.key != "" {
		resource += "/" + c.key
	}
	return p.allowsAnonymous(action, resource)
}

// isPublic reports whether a policy opens anything to everyone.
func (p *bucketPolicy) isPublic() bool {
	for _, st := range p.Statement {
		if st.Effect == "Allow" && len(st.Principal) > 0 && everyone(st.Principal) &&
			!st.conditional() {
			return true
		}
	}
	return false
}

type policyStatus struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ PolicyStatus"`
	IsPublic bool     `xml:"IsPublic"`
}

// getBucketPolicyStatus says whether the bucket's policy opens anything to
// everyone; without a policy it is NoSuchBucketPolicy, as in S3.
func (s *Server) getBucketPolicyStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err
	}
	doc, err := s.backend.GetBucketConfig(r.Context(), c.bucket, policyConfigKind)
	if errors.Is(err, store.ErrNoSuchConfig) {
		return ErrNoSuchBucketPolicy
	}
	if err != nil {
		return err
	}
	var st policyStatus
	if p, err := parseBucketPolicy(doc, c.bucket); err == nil {
		st.IsPublic = p.isPublic()
	}
	return writeXML(w, http.StatusOK, st)
}
