package s3

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/bucketdb/bucketdb/store"
)

// APIError is an S3 error as it goes on the wire.
type APIError struct {
	Code       string
	Message    string
	HTTPStatus int
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// WithMessage returns a copy of e with a more specific message.
func (e *APIError) WithMessage(format string, args ...any) *APIError {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

func apiErr(status int, code, msg string) *APIError {
	return &APIError{Code: code, Message: msg, HTTPStatus: status}
}

// The S3 error codes BucketDB returns. One table, used by every handler.
var (
	ErrAccessControlListNotSupported     = apiErr(http.StatusBadRequest, "AccessControlListNotSupported", "The bucket does not allow ACLs.")
	ErrAccessDenied                      = apiErr(http.StatusForbidden, "AccessDenied", "Access Denied.")
	ErrAuthorizationHeaderMalformed      = apiErr(http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
	ErrAuthorizationQueryParametersError = apiErr(http.StatusBadRequest, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter.")
	ErrBadDigest                         = apiErr(http.StatusBadRequest, "BadDigest", "The Content-MD5 or checksum you specified did not match what we received.")
	ErrBucketAlreadyExists               = apiErr(http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available.")
	ErrBucketAlreadyOwnedByYou           = apiErr(http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	ErrBucketNotEmpty                    = apiErr(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty.")
	ErrConditionalRequestConflict        = apiErr(http.StatusConflict, "ConditionalRequestConflict", "A conflicting operation occurred. If using PutObject you can retry the request.")
	ErrEntityTooLarge                    = apiErr(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	ErrEntityTooSmall                    = apiErr(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
	ErrExpiredPresignRequest             = apiErr(http.StatusForbidden, "AccessDenied", "Request has expired.")
	ErrIncompleteBody                    = apiErr(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	ErrInternalError                     = apiErr(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	ErrInvalidAccessKeyID                = apiErr(http.StatusForbidden, "InvalidAccessKeyId", "The AWS access key ID you provided does not exist in our records.")
	ErrInvalidArgument                   = apiErr(http.StatusBadRequest, "InvalidArgument", "Invalid argument.")
	ErrInvalidBucketName                 = apiErr(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	ErrInvalidDigest                     = apiErr(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified is not valid.")
	ErrInvalidPart                       = apiErr(http.StatusBadRequest, "InvalidPart", "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.")
	ErrInvalidPartOrder                  = apiErr(http.StatusBadRequest, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
	ErrInvalidRange                      = apiErr(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable.")
	ErrInvalidRequest                    = apiErr(http.StatusBadRequest, "InvalidRequest", "Invalid Request.")
	ErrInvalidStorageClass               = apiErr(http.StatusBadRequest, "InvalidStorageClass", "The storage class you specified is not valid.")
	ErrInvalidTag                        = apiErr(http.StatusBadRequest, "InvalidTag", "The tag provided was not a valid tag.")
	ErrKeyTooLong                        = apiErr(http.StatusBadRequest, "KeyTooLongError", "Your key is too long.")
	ErrMalformedACLError                 = apiErr(http.StatusBadRequest, "MalformedACLError", "The XML you provided was not well-formed or did not validate against our published schema.")
	ErrMalformedXML                      = apiErr(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	ErrMethodNotAllowed                  = apiErr(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	ErrMissingContentLength              = apiErr(http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	ErrMissingSecurityHeader             = apiErr(http.StatusBadRequest, "MissingSecurityHeader", "Your request was missing a required header.")
	ErrNoSuchBucket                      = apiErr(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.")
	ErrNoSuchBucketPolicy                = apiErr(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist.")
	ErrNoSuchCORSConfiguration           = apiErr(http.StatusNotFound, "NoSuchCORSConfiguration", "The CORS configuration does not exist.")
	ErrNoSuchKey                         = apiErr(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	ErrNoSuchLifecycleConfiguration      = apiErr(http.StatusNotFound, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist.")
	ErrNoSuchTagSet                      = apiErr(http.StatusNotFound, "NoSuchTagSet", "The TagSet does not exist.")
	ErrNoSuchUpload                      = apiErr(http.StatusNotFound, "NoSuchUpload", "The specified multipart upload does not exist. The upload ID might not be valid, or the multipart upload might have been aborted or completed.")
	ErrNoSuchVersion                     = apiErr(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
	ErrNotImplemented                    = apiErr(http.StatusNotImplemented, "NotImplemented", "A header you provided implies functionality that is not implemented.")
	ErrPreconditionFailed                = apiErr(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
	ErrRequestTimeTooSkewed              = apiErr(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.")
	ErrServiceUnavailable                = apiErr(http.StatusServiceUnavailable, "ServiceUnavailable", "The service is unavailable: not enough replicas answered. Please retry.")
	ErrSignatureDoesNotMatch             = apiErr(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	ErrSlowDown                          = apiErr(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	ErrInsufficientStorage               = apiErr(http.StatusInsufficientStorage, "InsufficientStorage", "The node does not have enough free disk space to store the object.")
	ErrStaleFencingToken                 = apiErr(http.StatusConflict, "StaleFencingToken", "A newer fencing token has been issued for this key.")
	ErrLockConflict                      = apiErr(http.StatusConflict, "LockConflict", "The lock is held by another owner.")
	ErrLockLost                          = apiErr(http.StatusConflict, "LockLost", "The lock lease expired or was taken by another owner.")
	ErrNoSuchLock                        = apiErr(http.StatusNotFound, "NoSuchLock", "No lock is held on this key.")
	ErrUnexpectedContent                 = apiErr(http.StatusBadRequest, "UnexpectedContent", "This request does not support content.")
	ErrXAmzContentSHA256Mismatch         = apiErr(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	ErrInvalidChunkSize                  = apiErr(http.StatusForbidden, "InvalidChunkSizeError", "Only the last chunk is allowed to have a size less than 8192 bytes.")
	ErrMalformedTrailer                  = apiErr(http.StatusBadRequest, "MalformedTrailerError", "The request contained trailing data that was not well-formed.")
	ErrInvalidObjectState                = apiErr(http.StatusForbidden, "InvalidObjectState", "The operation is not valid for the current state of the object.")
	ErrNotModified                       = apiErr(http.StatusNotModified, "NotModified", "Not Modified.")
)

// storeErrors maps object-layer sentinels to S3 errors: the one place where
// storage errors get S3 names. Anything unmapped is InternalError.
var storeErrors = []struct {
	err *APIError
	is  error
}{
	{ErrNoSuchBucket, store.ErrNoSuchBucket},
	{ErrBucketAlreadyOwnedByYou, store.ErrBucketExists},
	{ErrBucketNotEmpty, store.ErrBucketNotEmpty},
	{ErrNoSuchKey, store.ErrNoSuchKey},
	{ErrNoSuchVersion, store.ErrNoSuchVersion},
	{ErrNoSuchUpload, store.ErrNoSuchUpload},
	{ErrInvalidPart, store.ErrInvalidPart},
	{ErrInvalidPartOrder, store.ErrInvalidPartOrder},
	{ErrEntityTooSmall, store.ErrEntityTooSmall},
	{ErrBadDigest, store.ErrBadDigest},
	{ErrIncompleteBody, store.ErrIncompleteBody},
	{ErrPreconditionFailed, store.ErrPreconditionFailed},
	{ErrConditionalRequestConflict, store.ErrConditionalConflict},
	{ErrStaleFencingToken, store.ErrStaleFencingToken},
	{ErrMethodNotAllowed, store.ErrMethodNotAllowed},
	{ErrInvalidRange, store.ErrInvalidRange},
	{ErrInsufficientStorage, store.ErrDiskFull},
	{ErrLockConflict, store.ErrLockConflict},
	{ErrLockLost, store.ErrLockLost},
	{ErrNoSuchLock, store.ErrNoSuchLock},
	{ErrServiceUnavailable, store.ErrUnavailable},
	{ErrInvalidArgument, store.ErrInvalidArgument},
}

// ToAPIError converts any error into the S3 error to send. The bool is false
// when err was not recognised (the caller logs it once).
func ToAPIError(err error) (*APIError, bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae, true
	}
	for _, m := range storeErrors {
		if errors.Is(err, m.is) {
			return m.err, true
		}
	}
	return ErrInternalError, false
}

// Errors added by the protocol layer (additive to the table above).
var (
	ErrInvalidLocationConstraint = apiErr(http.StatusBadRequest, "InvalidLocationConstraint", "The specified location-constraint is not valid.")
	ErrInvalidPartNumber         = apiErr(http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", "The requested partnumber is not satisfiable.")
	ErrMetadataTooLarge          = apiErr(http.StatusBadRequest, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")
	ErrMalformedPolicy           = apiErr(http.StatusBadRequest, "MalformedPolicy", "Policies must be valid JSON.")
	ErrMissingContentMD5         = apiErr(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: Content-MD5.")
	ErrUserKeyMustBeSpecified    = apiErr(http.StatusBadRequest, "UserKeyMustBeSpecified", "The bucket POST must contain the specified field name. If it is specified, check the order of the fields.")
	ErrInvalidBucketACL          = apiErr(http.StatusBadRequest, "InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting.")
	ErrInvalidCopySource         = apiErr(http.StatusBadRequest, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
)

// Errors of POST Object (browser-based uploads, postobject.go).
var (
	ErrMalformedPOSTRequest                = apiErr(http.StatusBadRequest, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
	ErrMaxPostPreDataLengthExceeded        = apiErr(http.StatusBadRequest, "MaxPostPreDataLengthExceeded", "Your POST request fields preceding the upload file were too large.")
	ErrInvalidPolicyDocument               = apiErr(http.StatusBadRequest, "InvalidPolicyDocument", "The content of the form does not meet the conditions specified in the policy document.")
	ErrIncorrectNumberOfFilesInPostRequest = apiErr(http.StatusBadRequest, "IncorrectNumberOfFilesInPostRequest", "POST requires exactly one file upload per request.")
)
