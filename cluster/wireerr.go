package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/bucketdb/bucketdb/store"
)

// errUnreachable marks a transport failure: the peer could not be reached
// or did not answer in time. Quorum logic counts it as a missing answer,
// never as a definitive one.
var errUnreachable = errors.New("cluster: peer unreachable")

// errStaleStage: a commit or abort named a staged write the replica does
// not hold (expired, or the replica restarted).
var errStaleStage = errors.New("cluster: no such staged write")

// wireErrors names every sentinel that may cross the wire. The name travels
// with the message and the sentinel is rebuilt on arrival, so errors.Is
// holds whichever node answered.
var wireErrors = map[string]error{
	"NoSuchBucket":        store.ErrNoSuchBucket,
	"BucketExists":        store.ErrBucketExists,
	"BucketNotEmpty":      store.ErrBucketNotEmpty,
	"NoSuchKey":           store.ErrNoSuchKey,
	"NoSuchVersion":       store.ErrNoSuchVersion,
	"NoSuchUpload":        store.ErrNoSuchUpload,
	"InvalidPart":         store.ErrInvalidPart,
	"InvalidPartOrder":    store.ErrInvalidPartOrder,
	"EntityTooSmall":      store.ErrEntityTooSmall,
	"BadDigest":           store.ErrBadDigest,
	"IncompleteBody":      store.ErrIncompleteBody,
	"PreconditionFailed":  store.ErrPreconditionFailed,
	"ConditionalConflict": store.ErrConditionalConflict,
	"StaleFencingToken":   store.ErrStaleFencingToken,
	"ChecksumMismatch":    store.ErrChecksumMismatch,
	"NoSuchConfig":        store.ErrNoSuchConfig,
	"MethodNotAllowed":    store.ErrMethodNotAllowed,
	"InvalidRange":        store.ErrInvalidRange,
	"Closed":              store.ErrClosed,
	"DiskFull":            store.ErrDiskFull,
	"LockConflict":        store.ErrLockConflict,
	"LockLost":            store.ErrLockLost,
	"NoSuchLock":          store.ErrNoSuchLock,
	"Unavailable":         store.ErrUnavailable,
	"InvalidArgument":     store.ErrInvalidArgument,
	"StaleStage":          errStaleStage,
	"Unreachable":         errUnreachable,
	"Canceled":            context.Canceled,
	"DeadlineExceeded":    context.DeadlineExceeded,
}

// wireError is an error as it travels between nodes.
type wireError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// encodeError names err's sentinel, if it has one.
func encodeError(err error) wireError {
	for name, sentinel := range wireErrors {
		if errors.Is(err, sentinel) {
			return wireError{Code: name, Message: err.Error()}
		}
	}
	return wireError{Message: err.Error()}
}

// decodeError rebuilds an error sent by node: the sentinel, wrapped with the
// remote message.
func decodeError(node string, w wireError) error {
	if s, ok := wireErrors[w.Code]; ok {
		if w.Message == s.Error() {
			return s
		}
		return &remoteError{node: node, msg: w.Message, sentinel: s}
	}
	return &remoteError{node: node, msg: w.Message}
}

// remoteError is an error reported by another node.
type remoteError struct {
	node, msg string
	sentinel  error
}

func (e *remoteError) Error() string { return fmt.Sprintf("node %s: %s", e.node, e.msg) }
func (e *remoteError) Unwrap() error { return e.sentinel }

// definitive reports whether err is an answer from the replica (as opposed
// to a failure to get one): a definitive answer counts towards a quorum.
func definitive(err error) bool {
	if err == nil {
		return true
	}
	if errors.Is(err, errUnreachable) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrClosed) ||
		errors.Is(err, store.ErrUnavailable) {
		return false
	}
	_, isSentinel := sentinelOf(err)
	return isSentinel
}

// sentinelOf returns the named sentinel that err wraps.
func sentinelOf(err error) (string, bool) {
	for name, s := range wireErrors {
		if errors.Is(err, s) {
			return name, true
		}
	}
	return "", false
}
