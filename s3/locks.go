package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// Locker is the optional lock capability of a Backend (the lock extension
// of the API, see README "S3 extensions"). The Server detects it by type
// assertion; without it the ?lock routes answer NotImplemented.
//
// Contract:
//   - Every method is safe for concurrent use.
//   - AcquireLock grants (bucket, key) in opts.Mode for opts.TTL, waiting at
//     most opts.Wait while it is held; then it fails with an error wrapping
//     store.ErrLockConflict (a *store.LockConflictError names the holders).
//     The key need not exist; a missing bucket is store.ErrNoSuchBucket.
//     Fencing tokens of a key only ever increase across grants.
//   - RenewLock extends a live lease (store.ErrLockLost once it is gone);
//     ReleaseLock drops it (store.ErrNoSuchLock for a token nobody holds);
//     InspectLock lists the live holders (store.ErrNoSuchLock if none).
type Locker interface {
	AcquireLock(ctx context.Context, bucket, key string, opts store.LockOptions) (store.LockGrant, error)
	RenewLock(ctx context.Context, bucket, key, token string, ttl time.Duration) (store.LockGrant, error)
	ReleaseLock(ctx context.Context, bucket, key, token string) error
	InspectLock(ctx context.Context, bucket, key string) (store.LockInfo, error)
}

// Lock API defaults and bounds (seconds in the query).
const (
	defaultLockTTL = 30 * time.Second
	maxLockWait    = 300 * time.Second
)

// lockResult is the body of a successful acquire or renew.
type lockResult struct {
	XMLName      xml.Name `xml:"LockResult"`
	LockToken    string   `xml:"LockToken"`
	FencingToken uint64   `xml:"FencingToken"`
	Expires      string   `xml:"Expires"`
	Mode         string   `xml:"Mode,omitempty"`
	Owner        string   `xml:"Owner,omitempty"`
}

// lockInfoResult is the body of an inspect.
type lockInfoResult struct {
	XMLName xml.Name     `xml:"LockInfo"`
	Bucket  string       `xml:"Bucket"`
	Key     string       `xml:"Key"`
	Holders []lockHolder `xml:"Holder"`
}

type lockHolder struct {
	Owner        string `xml:"Owner"`
	Mode         string `xml:"Mode"`
	FencingToken uint64 `xml:"FencingToken"`
	Expires      string `xml:"Expires"`
}

func lockTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func (s *Server) locker() (Locker, error) {
	l, ok := s.backend.(Locker)
	if !ok {
		return nil, ErrNotImplemented.WithMessage("This server's backend offers no locks.")
	}
	return l, nil
}

// seconds parses query parameter name as whole seconds in [lo, hi].
func seconds(r *http.Request, name string, def, lo, hi time.Duration) (time.Duration, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(q.Get(name)), 10, 64)
	if err != nil || n < int64(lo/time.Second) || n > int64(hi/time.Second) {
		return 0, ErrInvalidArgument.WithMessage("%s must be a whole number of seconds from %d to %d.",
			name, int64(lo/time.Second), int64(hi/time.Second))
	}
	return time.Duration(n) * time.Second, nil
}

func lockToken(r *http.Request) (string, error) {
	t := r.URL.Query().Get("token")
	if t == "" {
		return "", ErrInvalidArgument.WithMessage("The lock token (query parameter token) is missing.")
	}
	return t, nil
}

// lockError gives a lock conflict its holders in the message.
func lockError(err error) error {
	var ce *store.LockConflictError
	if errors.As(err, &ce) && len(ce.Holders) > 0 {
		var parts []string
		for _, h := range ce.Holders {
			parts = append(parts, fmt.Sprintf("%s lock held by owner %q until %s", h.Mode, h.Owner, lockTime(h.Expires)))
		}
		return ErrLockConflict.WithMessage("The lock is held: %s.", strings.Join(parts, "; "))
	}
	return err
}

func renderGrant(w http.ResponseWriter, g store.LockGrant) error {
	return writeXML(w, http.StatusOK, lockResult{LockToken: g.Token, FencingToken: g.Fencing,
		Expires: lockTime(g.Expires), Mode: g.Mode, Owner: g.Owner})
}

// acquireLock: POST /{bucket}/{key}?lock[&ttl=S][&wait=S][&mode=M][&owner=O]
func (s *Server) acquireLock(w http.ResponseWriter, r *http.Request, c *call) error {
	l, err := s.locker()
	if err != nil {
		return err
	}
	opts := store.LockOptions{Owner: r.URL.Query().Get("owner")}
	if opts.TTL, err = seconds(r, "ttl", defaultLockTTL, store.MinLockTTL, store.MaxLockTTL); err != nil {
		return err
	}
	if opts.Wait, err = seconds(r, "wait", 0, 0, maxLockWait); err != nil {
		return err
	}
	switch m := r.URL.Query().Get("mode"); m {
	case "", store.LockExclusive, store.LockShared:
		opts.Mode = m
	default:
		return ErrInvalidArgument.WithMessage("mode must be exclusive or shared.")
	}
	if len(opts.Owner) > store.MaxLockOwnerLength {
		return ErrInvalidArgument.WithMessage("owner is longer than %d bytes.", store.MaxLockOwnerLength)
	}
	g, err := l.AcquireLock(r.Context(), c.bucket, c.key, opts)
	if err != nil {
		return lockError(err)
	}
	return renderGrant(w, g)
}

// renewLock: PUT /{bucket}/{key}?lock&token=T[&ttl=S]
func (s *Server) renewLock(w http.ResponseWriter, r *http.Request, c *call) error {
	l, err := s.locker()
	if err != nil {
		return err
	}
	tok, err := lockToken(r)
	if err != nil {
		return err
	}
	ttl, err := seconds(r, "ttl", defaultLockTTL, store.MinLockTTL, store.MaxLockTTL)
	if err != nil {
		return err
	}
	g, err := l.RenewLock(r.Context(), c.bucket, c.key, tok, ttl)
	if err != nil {
		return err
	}
	return renderGrant(w, g)
}

// releaseLock: DELETE /{bucket}/{key}?lock&token=T
func (s *Server) releaseLock(w http.ResponseWriter, r *http.Request, c *call) error {
	l, err := s.locker()
	if err != nil {
		return err
	}
	tok, err := lockToken(r)
	if err != nil {
		return err
	}
	if err := l.ReleaseLock(r.Context(), c.bucket, c.key, tok); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getLock: GET /{bucket}/{key}?lock
func (s *Server) getLock(w http.ResponseWriter, r *http.Request, c *call) error {
	l, err := s.locker()
	if err != nil {
		return err
	}
	info, err := l.InspectLock(r.Context(), c.bucket, c.key)
	if err != nil {
		return err
	}
	out := lockInfoResult{Bucket: c.bucket, Key: c.key}
	for _, h := range info.Holders {
		out.Holders = append(out.Holders, lockHolder{Owner: h.Owner, Mode: h.Mode, FencingToken: h.Fencing,
			Expires: lockTime(h.Expires)})
	}
	return writeXML(w, http.StatusOK, out)
}
