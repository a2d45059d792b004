package s3

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// POST Object: browser-based uploads with a POST policy
// (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html).
//
// The HTTP request is a multipart/form-data POST to the bucket and is not
// signed itself: the form carries a base64 JSON policy and, for SigV4, the
// x-amz-algorithm, x-amz-credential, x-amz-date and x-amz-signature fields;
// the signature is the HMAC of the base64 policy with the credential's
// signing key (Verifier.VerifyPostPolicy). For SigV2 it carries
// AWSAccessKeyId and signature, the HMAC-SHA1 of the base64 policy with the
// secret (Verifier.VerifyPostPolicyV2). ServeHTTP therefore hands the
// request to postObject without header or presign authentication.
//
// The form fields come first (bounded by maxPostPreData), the "file" field
// last; fields after it are ignored. The file's size is not known in
// advance, so it is streamed to an unlinked temporary file (bounded by the
// policy's content-length-range and store.MaxPutSize) and then stored with
// Backend.PutObject.

const (
	// maxPostPreData bounds the form fields before the file (names and
	// values), as S3 does.
	maxPostPreData = 20 << 10
	// postPreDataSlack is the room left on top of maxPostPreData for part
	// headers, boundaries and the multipart reader's read-ahead before the
	// file part is reached.
	postPreDataSlack = 64 << 10
	// postFileField is the name of the form field that holds the object.
	postFileField = "file"
)

// errPostPreDataTooLarge is returned by the body reader when the bytes
// before the file part exceed their bound.
var errPostPreDataTooLarge = errors.New("POST form fields before the file are too large")

// postBodyReader caps the bytes read before the file part; uncap lifts the
// cap once the file part starts (the file is bounded while it is copied).
type postBodyReader struct {
	r      io.Reader
	left   int64
	capped bool
}

func (b *postBodyReader) Read(p []byte) (int, error) {
	if b.capped {
		if b.left <= 0 {
			return 0, errPostPreDataTooLarge
		}
		if int64(len(p)) > b.left {
			p = p[:b.left]
		}
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// postForm is the parsed part of a POST Object form before the file.
type postForm struct {
	fields   map[string]string // lower-case field name -> value
	file     *multipart.Part   // nil when the form has no file field
	filename string
	sigV2    bool // authenticated with a Signature Version 2 policy signature
}

func (f *postForm) has(name string) bool {
	_, ok := f.fields[name]
	return ok
}

func (s *Server) postObject(w http.ResponseWriter, r *http.Request, c *call) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, "multipart/form-data") || params["boundary"] == "" {
		return ErrMalformedPOSTRequest
	}
	body := &postBodyReader{r: c.body(), left: maxPostPreData + postPreDataSlack, capped: true}
	form, err := readPostForm(multipart.NewReader(body, params["boundary"]))
	if err != nil {
		return err
	}
	unsigned := false
	if c.accessKey, err = s.authorizePost(form); errors.Is(err, errUnsignedPost) {
		unsigned = true // allowed only if the bucket policy opens the key (below)
	} else if err != nil {
		return err
	}
	var pol *postPolicy
	if p, ok := form.fields["policy"]; ok {
		if pol, err = parsePostPolicy(p); err != nil {
			return err
		}
		if !s.cfg.Verifier.now().Before(pol.expiration) {
			return ErrAccessDenied.WithMessage("Invalid according to Policy: Policy expired.")
		}
	}
	if form.file == nil {
		return ErrIncorrectNumberOfFilesInPostRequest
	}
	if err := s.postTarget(c, form, pol); err != nil {
		return err
	}
	if unsigned && !s.policyAllowsAnonymous(r.Context(), "", c) {
		return ErrAccessDenied
	}
	opts, cs, err := postPutOptions(form)
	if err != nil {
		return err
	}
	// Refuse an unknown bucket before the file is spooled.
	if _, err := s.backend.GetBucket(r.Context(), c.bucket); err != nil {
		return err
	}
	body.capped = false
	info, err := s.storePostFile(r.Context(), c, form.file, pol, opts, cs)
	if err != nil {
		return err
	}
	return s.writePostResponse(w, r, c, form, info)
}

// storePostFile spools the file part to a temporary file within the
// policy's content-length-range (and store.MaxPutSize), verifies the form's
// checksums and stores the object.
func (s *Server) storePostFile(ctx context.Context, c *call, file io.Reader, pol *postPolicy, opts store.PutOptions, cs *checksumSet) (store.ObjectInfo, error) {
	minLen, maxLen := int64(0), int64(store.MaxPutSize)
	if pol != nil && pol.hasRange {
		minLen, maxLen = pol.minLength, min(pol.maxLength, maxLen)
	}
	f, size, err := spoolPostFile(ctx, s.cfg.SpoolDir, file, minLen, maxLen, cs)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	defer f.close()
	sums, err := cs.verify()
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if len(sums) > 0 {
		opts.Meta.Checksums = sums
	}
	return s.backend.PutObject(ctx, c.bucket, c.key, f, size, opts)
}

// readPostForm reads the form fields up to and including the header of the
// file part. Field names are case-insensitive; each may appear once.
func readPostForm(mr *multipart.Reader) (*postForm, error) {
	f := &postForm{fields: make(map[string]string)}
	total := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF { // the final boundary; a wrapped EOF is a truncated body
			return f, nil
		}
		if err != nil {
			return nil, postReadError(err)
		}
		name := strings.ToLower(p.FormName())
		switch {
		case name == "":
			return nil, ErrMalformedPOSTRequest.WithMessage("Every part of a POST form must be a form-data field with a name.")
		case name == postFileField:
			f.file, f.filename = p, p.FileName()
			return f, nil
		case f.has(name):
			return nil, ErrInvalidArgument.WithMessage("The form field %q appears more than once.", truncateString(name, 64))
		}
		v, err := io.ReadAll(io.LimitReader(p, int64(maxPostPreData-total)+1))
		if err != nil {
			return nil, postReadError(err)
		}
		total += len(name) + len(v)
		if total > maxPostPreData {
			return nil, ErrMaxPostPreDataLengthExceeded
		}
		f.fields[name] = string(v)
	}
}

// postReadError maps an error from reading the multipart body.
func postReadError(err error) error {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, errPostPreDataTooLarge):
		return ErrMaxPostPreDataLengthExceeded
	default:
		return ErrMalformedPOSTRequest.WithMessage("%s (%v)", ErrMalformedPOSTRequest.Message, err)
	}
}

// errUnsignedPost: the form carries no signature and anonymous requests
// are not allowed; only the bucket policy may still let it through.
var errUnsignedPost = errors.New("unsigned POST form")

// authorizePost authenticates the form: a SigV4 or SigV2 POST policy
// signature, or nothing (anonymous: errUnsignedPost unless Config.AllowAnonymous). It
// returns the access key ("" when anonymous).
func (s *Server) authorizePost(f *postForm) (string, error) {
	if !f.has("x-amz-signature") {
		if f.has("signature") || f.has("awsaccesskeyid") {
			return s.authorizePostV2(f)
		}
		if !s.cfg.AllowAnonymous {
			return "", errUnsignedPost
		}
		return "", nil
	}
	for _, name := range []string{"policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date"} {
		if !f.has(name) {
			return "", ErrInvalidArgument.WithMessage("Bucket POST must contain a field named '%s'. If it is specified, please check the order of the fields.", name)
		}
	}
	return s.cfg.Verifier.VerifyPostPolicy(PostPolicySignature{
		Policy:     f.fields["policy"],
		Algorithm:  f.fields["x-amz-algorithm"],
		Credential: f.fields["x-amz-credential"],
		Date:       f.fields["x-amz-date"],
		Signature:  f.fields["x-amz-signature"],
	})
}

// authorizePostV2 authenticates a form signed with Signature Version 2
// (AWSAccessKeyId, signature and policy fields), which S3 accepts where it
// accepts SigV2 and which boto3's generate_presigned_post produces unless
// the client is configured for SigV4.
func (s *Server) authorizePostV2(f *postForm) (string, error) {
	for _, name := range []string{"AWSAccessKeyId", "policy", "signature"} {
		if !f.has(strings.ToLower(name)) {
			return "", ErrInvalidArgument.WithMessage("Bucket POST must contain a field named '%s'. If it is specified, please check the order of the fields.", name)
		}
	}
	f.sigV2 = true
	return s.cfg.Verifier.VerifyPostPolicyV2(f.fields["awsaccesskeyid"], f.fields["policy"], f.fields["signature"])
}

// postTarget sets c.key from the key field (with ${filename} replaced),
// validates it and checks the policy conditions.
func (s *Server) postTarget(c *call, f *postForm, pol *postPolicy) error {
	key, ok := f.fields["key"]
	if !ok {
		return ErrUserKeyMustBeSpecified
	}
	c.key = strings.ReplaceAll(key, "${filename}", f.filename)
	if c.key == "" {
		return ErrUserKeyMustBeSpecified
	}
	if err := checkKey(c); err != nil {
		return err
	}
	if b, ok := f.fields["bucket"]; ok && b != c.bucket {
		return ErrInvalidArgument.WithMessage("The bucket field %q is not the bucket the form was posted to.", truncateString(b, 64))
	}
	if pol == nil {
		return nil
	}
	fields := f.fields
	if f.sigV2 {
		// A V2 form's credential fields need no condition, as
		// x-amz-signature does not in a V4 one.
		fields = maps.Clone(fields)
		delete(fields, "awsaccesskeyid")
		delete(fields, "signature")
	}
	return pol.check(fields, c.bucket, c.key)
}

// postPutOptions turns the form fields into the object's metadata, tags and
// the checksums to verify while the file is copied.
func postPutOptions(f *postForm) (store.PutOptions, *checksumSet, error) {
	h := make(http.Header, len(f.fields))
	for name, v := range f.fields {
		h.Set(name, v)
	}
	if acl, ok := f.fields["acl"]; ok {
		h.Set("x-amz-acl", acl) // refused by metaFromHeaders unless owner-only, as on PUT
	}
	meta, err := metaFromHeaders(h)
	if err != nil {
		return store.PutOptions{}, nil, err
	}
	if t := f.fields["tagging"]; t != "" {
		if meta.Tags, err = parseTagging([]byte(t), maxObjectTags); err != nil {
			return store.PutOptions{}, nil, err
		}
	}
	cs, err := newHeaderChecksums(h)
	if err != nil {
		return store.PutOptions{}, nil, err
	}
	return store.PutOptions{Meta: meta}, cs, nil
}

// spoolFile is the temporary copy of an uploaded file, positioned at its
// start. It is unlinked as soon as it is created where the OS allows, so a
// crash leaves nothing behind.
type spoolFile struct {
	*os.File
	unlinked bool
}

func (f *spoolFile) close() {
	_ = f.File.Close()
	if !f.unlinked {
		_ = os.Remove(f.Name())
	}
}

// spoolPostFile copies the file part to a temporary file, refusing more
// than maxLen bytes (EntityTooLarge) or fewer than minLen (EntityTooSmall),
// and feeds the bytes to cs.
func spoolPostFile(ctx context.Context, dir string, src io.Reader, minLen, maxLen int64, cs *checksumSet) (*spoolFile, int64, error) {
	tmp, err := os.CreateTemp(dir, "bucketdb-postobject-*")
	if err != nil {
		return nil, 0, fmt.Errorf("post object: temporary file: %w", err)
	}
	f := &spoolFile{File: tmp, unlinked: os.Remove(tmp.Name()) == nil}
	buf := make([]byte, 64<<10)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			f.close()
			return nil, 0, err
		}
		n, rerr := src.Read(buf)
		size += int64(n)
		if size > maxLen {
			f.close()
			return nil, 0, ErrEntityTooLarge.WithMessage("Your proposed upload exceeds the maximum allowed size (%d bytes).", maxLen)
		}
		cs.Write(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.close()
			return nil, 0, fmt.Errorf("post object: write temporary file: %w", err)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			f.close()
			return nil, 0, postReadError(rerr)
		}
	}
	if size < minLen {
		f.close()
		return nil, 0, ErrEntityTooSmall.WithMessage("Your proposed upload is smaller than the minimum allowed size (%d bytes).", minLen)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.close()
		return nil, 0, fmt.Errorf("post object: rewind temporary file: %w", err)
	}
	return f, size, nil
}

// postResponse is the body of a 201 answer to POST Object.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// writePostResponse answers a stored upload: a 303 redirect when the form
// asked for one, else success_action_status (200, 201 with a PostResponse
// document, or 204, the default).
func (s *Server) writePostResponse(w http.ResponseWriter, r *http.Request, c *call, f *postForm, info store.ObjectInfo) error {
	h := w.Header()
	etag := quoteETag(info.ETag)
	h.Set("ETag", etag)
	s.setVersionHeader(r.Context(), h, c.bucket, info.VersionID)
	s.setExpiration(r.Context(), h, info)
	setChecksumHeaders(h, info.Checksums)
	redirect := f.fields["success_action_redirect"]
	if redirect == "" {
		redirect = f.fields["redirect"]
	}
	if u, err := url.Parse(redirect); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		q := u.Query()
		q.Set("bucket", c.bucket)
		q.Set("key", c.key)
		q.Set("etag", etag)
		u.RawQuery = q.Encode()
		h.Set("Location", u.String())
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	loc := s.objectLocation(r, c.bucket, c.key)
	h.Set("Location", loc)
	switch f.fields["success_action_status"] {
	case "200":
		w.WriteHeader(http.StatusOK)
		return nil
	case "201":
		return writeXML(w, http.StatusCreated, postResponse{Location: loc, Bucket: c.bucket, Key: c.key, ETag: etag})
	default:
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// objectLocation is the URL of an object as addressed by r (path style, or
// virtual-host style when r was).
func (s *Server) objectLocation(r *http.Request, bucket, key string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := "/" + awsURIEncode(bucket, true) + "/" + awsURIEncode(key, false)
	if s.hostBucket(r.Host) != "" {
		path = "/" + awsURIEncode(key, false)
	}
	return scheme + "://" + r.Host + path
}

// postPolicy is a parsed POST policy document.
type postPolicy struct {
	expiration           time.Time
	conditions           []postCondition
	hasRange             bool
	minLength, maxLength int64 // content-length-range, when hasRange
}

// postCondition is an "eq" or "starts-with" condition on a form field:
// field is the lower-case name without "$", name the name as written.
type postCondition struct {
	op, field, name, value string
}

func (pc postCondition) String() string {
	b, _ := json.Marshal([]string{pc.op, "$" + pc.name, pc.value})
	return string(b)
}

func (pc postCondition) matches(v string) bool {
	if pc.op == "eq" {
		return v == pc.value
	}
	if pc.field == "content-type" {
		// Each of a comma-separated list of types must match.
		for _, t := range strings.Split(v, ",") {
			if !strings.HasPrefix(strings.TrimSpace(t), pc.value) {
				return false
			}
		}
		return true
	}
	return strings.HasPrefix(v, pc.value)
}

// check evaluates every condition against the form (bucket and key as
// resolved) and requires every form field but the exempt ones to be named
// by a condition. A violation is AccessDenied naming it.
func (p *postPolicy) check(fields map[string]string, bucket, key string) error {
	covered := make(map[string]bool, len(p.conditions))
	for _, pc := range p.conditions {
		covered[pc.field] = true
		v := fields[pc.field]
		switch pc.field {
		case "bucket":
			v = bucket
		case "key":
			v = key
		}
		if !pc.matches(v) {
			return ErrAccessDenied.WithMessage("Invalid according to Policy: Policy Condition failed: %s", truncateString(pc.String(), 256))
		}
	}
	for _, name := range sortedKeys(fields) {
		switch {
		case covered[name], name == "x-amz-signature", name == "policy", name == postFileField,
			strings.HasPrefix(name, "x-ignore-"):
			continue
		}
		return ErrAccessDenied.WithMessage("Invalid according to Policy: Extra input fields: %s", truncateString(name, 128))
	}
	return nil
}

// parsePostPolicy decodes the base64 policy field and parses its JSON
// (fuzzed). Errors are InvalidPolicyDocument.
func parsePostPolicy(b64 string) (*postPolicy, error) {
	b64 = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, b64)
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(b64); err != nil {
			return nil, ErrInvalidPolicyDocument.WithMessage("Invalid Policy: The policy is not valid base64.")
		}
	}
	var doc struct {
		Expiration *string           `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, ErrInvalidPolicyDocument.WithMessage("Invalid Policy: Invalid JSON.")
	}
	if doc.Expiration == nil {
		return nil, ErrInvalidPolicyDocument.WithMessage("Invalid Policy: Policy missing expiration.")
	}
	p := &postPolicy{}
	if p.expiration, err = time.Parse(time.RFC3339, *doc.Expiration); err != nil {
		return nil, ErrInvalidPolicyDocument.WithMessage("Invalid Policy: Invalid 'expiration' value: %q.", truncateString(*doc.Expiration, 64))
	}
	if doc.Conditions == nil {
		return nil, ErrInvalidPolicyDocument.WithMessage("Invalid Policy: Policy missing conditions.")
	}
	for _, rc := range doc.Conditions {
		if err := p.addCondition(rc); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addCondition parses one condition: {"field": "value"} (one or more exact
// matches), ["eq"|"starts-with", "$field", "value"] or
// ["content-length-range", min, max].
func (p *postPolicy) addCondition(rc json.RawMessage) error {
	invalid := ErrInvalidPolicyDocument.WithMessage("Invalid Policy: Invalid condition %s.", truncateString(string(rc), 128))
	d := json.NewDecoder(bytes.NewReader(rc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return invalid
	}
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val, ok := policyString(v[k])
			if !ok || k == "" {
				return invalid
			}
			name := strings.TrimPrefix(k, "$")
			p.conditions = append(p.conditions, postCondition{op: "eq", field: strings.ToLower(name), name: name, value: val})
		}
		return nil
	case []any:
		if len(v) != 3 {
			return invalid
		}
		op, _ := v[0].(string)
		switch op = strings.ToLower(op); op {
		case "eq", "starts-with":
			field, ok1 := v[1].(string)
			val, ok2 := policyString(v[2])
			if !ok1 || !ok2 || !strings.HasPrefix(field, "$") || len(field) < 2 {
				return invalid
			}
			p.conditions = append(p.conditions, postCondition{op: op, field: strings.ToLower(field[1:]), name: field[1:], value: val})
			return nil
		case "content-length-range":
			lo, ok1 := policyInt(v[1])
			hi, ok2 := policyInt(v[2])
			if !ok1 || !ok2 || lo > hi {
				return invalid
			}
			if !p.hasRange {
				p.hasRange, p.minLength, p.maxLength = true, lo, hi
			} else {
				p.minLength, p.maxLength = max(p.minLength, lo), min(p.maxLength, hi)
			}
			return nil
		}
	}
	return invalid
}

// policyString accepts a JSON string or number as a condition value.
func policyString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// policyInt accepts a non-negative integer, as a JSON number or string.
func policyInt(v any) (int64, bool) {
	s, ok := policyString(v)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}
