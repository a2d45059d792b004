package s3

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AWS Signature Version 2, the legacy scheme some tools still use (the AWS
// CLI v1's "s3 presign", older SDKs and s3cmd configurations):
//
//	Authorization: AWS <access key>:<signature>
//	?AWSAccessKeyId=<access key>&Expires=<unix seconds>&Signature=<signature>
//
// The signature is the base64 HMAC-SHA1 of the method, Content-MD5,
// Content-Type, the date (Expires when presigned; empty when x-amz-date is
// sent), the x-amz-* headers and the resource (/bucket/key and the
// sub-resources). The body is not signed; Content-MD5, when sent, is
// checked by the write itself.

const v2Prefix = "AWS "

// v2SubResources are the query parameters that are part of the signed
// resource, as clients sign them.
var v2SubResources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "cors": true, "delete": true,
	"intelligent-tiering": true, "inventory": true, "lifecycle": true, "location": true,
	"logging": true, "metrics": true, "notification": true, "object-lock": true,
	"partNumber": true, "policy": true, "replication": true, "requestPayment": true,
	"response-cache-control": true, "response-content-disposition": true,
	"response-content-encoding": true, "response-content-language": true,
	"response-content-type": true, "response-expires": true, "restore": true,
	"select": true, "select-type": true, "storageClass": true, "tagging": true,
	"torrent": true, "uploadId": true, "uploads": true, "versionId": true,
	"versioning": true, "versions": true, "website": true,
}

// hostBucketKey carries the bucket a virtual-host request names: it is
// part of the resource a V2 signature covers though not of the path.
type hostBucketKey struct{}

// WithHostBucket records the bucket named by r's Host header.
func WithHostBucket(ctx context.Context, bucket string) context.Context {
	return context.WithValue(ctx, hostBucketKey{}, bucket)
}

func isV2(r *http.Request, q url.Values) (header, presigned bool) {
	return strings.HasPrefix(r.Header.Get("Authorization"), v2Prefix), q.Has("AWSAccessKeyId") || q.Has("Signature")
}

func (v *Verifier) authenticateV2Header(r *http.Request) (*Payload, error) {
	cred := strings.TrimPrefix(r.Header.Get("Authorization"), v2Prefix)
	key, sig, ok := strings.Cut(strings.TrimSpace(cred), ":")
	if !ok || key == "" || sig == "" {
		return nil, ErrAuthorizationHeaderMalformed.WithMessage("The authorization header must be \"AWS AccessKeyId:Signature\".")
	}
	secret, ok := v.creds[key]
	if !ok {
		return nil, ErrInvalidAccessKeyID
	}
	var t time.Time
	var err error
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		if t, err = http.ParseTime(d); err != nil {
			t, err = time.Parse(iso8601Basic, d)
		}
	} else {
		t, err = http.ParseTime(r.Header.Get("Date"))
	}
	if err != nil {
		return nil, ErrAccessDenied.WithMessage("AWS authentication requires a valid Date or x-amz-date header")
	}
	if d := v.now().Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return nil, ErrRequestTimeTooSkewed
	}
	date := r.Header.Get("Date")
	if r.Header.Get("X-Amz-Date") != "" {
		date = ""
	}
	if !v2Matches(r, secret, date, sig) {
		return nil, ErrSignatureDoesNotMatch
	}
	return newPayload(r, key, nil, "")
}

func (v *Verifier) authenticateV2Presigned(r *http.Request, q url.Values) (*Payload, error) {
	key, sig, exp := q.Get("AWSAccessKeyId"), q.Get("Signature"), q.Get("Expires")
	if key == "" || sig == "" || exp == "" {
		return nil, ErrAccessDenied.WithMessage("Query-string authentication requires the AWSAccessKeyId, Expires and Signature parameters.")
	}
	secret, ok := v.creds[key]
	if !ok {
		return nil, ErrInvalidAccessKeyID
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return nil, ErrAccessDenied.WithMessage("Expires must be a number of seconds since the epoch.")
	}
	if !v.now().Before(time.Unix(e, 0)) {
		return nil, ErrExpiredPresignRequest
	}
	if !v2Matches(r, secret, exp, sig) {
		return nil, ErrSignatureDoesNotMatch
	}
	return newPayload(r, key, nil, "")
}

// v2Matches checks sig against the string to sign of each form of the
// resource a client may have signed (the path as sent or as encoded).
func v2Matches(r *http.Request, secret, date, sig string) bool {
	bucket, _ := r.Context().Value(hostBucketKey{}).(string)
	for _, uri := range canonicalURIs(r) {
		if bucket != "" {
			uri = "/" + bucket + uri
		}
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(v2StringToSign(r, date, uri)))
		want := base64.StdEncoding.EncodeToString(m.Sum(nil))
		if hmac.Equal([]byte(want), []byte(sig)) {
			return true
		}
	}
	return false
}

func v2StringToSign(r *http.Request, date, uri string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(r.Header.Get("Content-Md5") + "\n")
	b.WriteString(r.Header.Get("Content-Type") + "\n")
	b.WriteString(date + "\n")
	var amz []string
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-amz-") {
			amz = append(amz, l)
		}
	}
	sort.Strings(amz)
	for _, l := range amz {
		var vals []string
		for _, v := range r.Header.Values(l) {
			vals = append(vals, strings.TrimSpace(v))
		}
		b.WriteString(l + ":" + strings.Join(vals, ",") + "\n")
	}
	b.WriteString(uri)
	q := r.URL.Query()
	var subs []string
	for k := range q {
		if v2SubResources[k] {
			subs = append(subs, k)
		}
	}
	sort.Strings(subs)
	for i, k := range subs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if v := q.Get(k); v != "" {
			b.WriteString("=" + v)
		}
	}
	return b.String()
}

// VerifyPostPolicyV2 checks the Signature Version 2 signature of a POST
// Object form: the base64 HMAC-SHA1 of the base64 policy with the access
// key's secret. It returns the access key. The error is
// ErrInvalidAccessKeyID or ErrSignatureDoesNotMatch; the policy's own
// expiration and conditions are the caller's to check.
func (v *Verifier) VerifyPostPolicyV2(accessKey, policy, signature string) (string, error) {
	secret, ok := v.creds[accessKey]
	if !ok {
		return "", ErrInvalidAccessKeyID
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(policy))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return "", ErrSignatureDoesNotMatch
	}
	return accessKey, nil
}
