package s3

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/bucketdb/bucketdb/store"
)

// CORS. A bucket's CORS configuration (stored by PutBucketCors, config.go)
// answers browsers' preflight requests (OPTIONS, unauthenticated, as S3
// answers them) and adds the Access-Control-* headers to the response of
// any request whose Origin and method a rule allows. The first matching
// rule applies.

var (
	errCORSDisabled = apiErr(http.StatusForbidden, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
	errCORSDenied   = apiErr(http.StatusForbidden, "AccessForbidden",
		"CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
)

// corsRules returns the bucket's CORS rules (none without a configuration).
func (s *Server) corsRules(ctx context.Context, bucket string) ([]corsRule, error) {
	doc, err := s.backend.GetBucketConfig(ctx, bucket, corsConfigKind)
	if errors.Is(err, store.ErrNoSuchConfig) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cc, err := parseCORS(doc)
	if err != nil {
		return nil, err
	}
	return cc.Rules, nil
}

// corsMatch returns the first rule allowing origin, method and every one of
// headers.
func corsMatch(rules []corsRule, origin, method string, headers []string) *corsRule {
	for i := range rules {
		rule := &rules[i]
		if !anyWild(rule.AllowedOrigins, origin, false) || !anyWild(rule.AllowedMethods, method, false) {
			continue
		}
		ok := true
		for _, h := range headers {
			if !anyWild(rule.AllowedHeaders, h, true) {
				ok = false
				break
			}
		}
		if ok {
			return rule
		}
	}
	return nil
}

// setCORS writes the headers of a matched rule.
func setCORS(h http.Header, rule *corsRule, origin string) {
	if len(rule.AllowedOrigins) == 1 && rule.AllowedOrigins[0] == "*" {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(rule.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
	if rule.MaxAgeSeconds != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*rule.MaxAgeSeconds))
	}
	h.Add("Vary", "Origin")
}

// corsPreflight answers OPTIONS on a bucket or object.
func (s *Server) corsPreflight(w http.ResponseWriter, r *http.Request, c *call) error {
	origin, method := r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		return ErrInvalidRequest.WithMessage("Insufficient information. Origin request header needed.")
	}
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err
	}
	rules, err := s.corsRules(r.Context(), c.bucket)
	if err != nil {
		return err
	}
	if len(rules) == 0 {
		return errCORSDisabled
	}
	var headers []string
	for _, v := range r.Header.Values("Access-Control-Request-Headers") {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				headers = append(headers, h)
			}
		}
	}
	rule := corsMatch(rules, origin, method, headers)
	if rule == nil {
		return errCORSDenied
	}
	h := w.Header()
	setCORS(h, rule, origin)
	if len(headers) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
	}
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Add("Vary", "Access-Control-Request-Method")
	w.WriteHeader(http.StatusOK)
	return nil
}

// applyCORS adds the CORS headers to the response of a request with an
// Origin, when a rule of the bucket allows it. It never fails the request.
func (s *Server) applyCORS(w http.ResponseWriter, r *http.Request, c *call) {
	origin := r.Header.Get("Origin")
	if origin == "" || c.bucket == "" {
		return
	}
	rules, err := s.corsRules(r.Context(), c.bucket)
	if err != nil || len(rules) == 0 {
		return
	}
	if rule := corsMatch(rules, origin, r.Method, nil); rule != nil {
		setCORS(w.Header(), rule, origin)
	}
}
