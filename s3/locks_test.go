package s3

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// fakeLocker is a one-lock-per-key Locker beside a real store Backend.
type fakeLocker struct {
	Backend
	mu    sync.Mutex
	held  map[string]store.LockGrant
	next  uint64
	calls []store.LockOptions
}

var _ Locker = (*fakeLocker)(nil)

func (f *fakeLocker) AcquireLock(ctx context.Context, bucket, key string, o store.LockOptions) (store.LockGrant, error) {
	if _, err := f.GetBucket(ctx, bucket); err != nil {
		return store.LockGrant{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, o)
	if h, ok := f.held[bucket+"/"+key]; ok {
		return store.LockGrant{}, &store.LockConflictError{Holders: []store.LockHolder{{Owner: h.Owner, Mode: h.Mode, Expires: h.Expires}}}
	}
	f.next++
	g := store.LockGrant{Token: "tok" + key, Fencing: f.next, Mode: o.Mode, Owner: o.Owner, Expires: time.Now().Add(o.TTL)}
	f.held[bucket+"/"+key] = g
	return g, nil
}

func (f *fakeLocker) RenewLock(ctx context.Context, bucket, key, token string, ttl time.Duration) (store.LockGrant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.held[bucket+"/"+key]
	if !ok || g.Token != token {
		return store.LockGrant{}, store.ErrLockLost
	}
	g.Expires = time.Now().Add(ttl)
	return g, nil
}

func (f *fakeLocker) ReleaseLock(ctx context.Context, bucket, key, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.held[bucket+"/"+key]
	if !ok || g.Token != token {
		return store.ErrNoSuchLock
	}
	delete(f.held, bucket+"/"+key)
	return nil
}

func (f *fakeLocker) InspectLock(ctx context.Context, bucket, key string) (store.LockInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.held[bucket+"/"+key]
	if !ok {
		return store.LockInfo{}, store.ErrNoSuchLock
	}
	return store.LockInfo{Bucket: bucket, Key: key, Holders: []store.LockHolder{{Owner: g.Owner, Mode: g.Mode, Fencing: g.Fencing, Expires: g.Expires}}}, nil
}

func TestLockAPI(t *testing.T) {
	fl := &fakeLocker{held: map[string]store.LockGrant{}}
	e := newTestServer(t, withBackend(func(b Backend) Backend { fl.Backend = b; return fl }))
	e.bucket("lkb")

	rr := e.do(http.MethodPost, "/lkb/a/b?lock&ttl=10&wait=2&mode=shared&owner=alice", nil)
	if rr.status != http.StatusOK {
		t.Fatalf("acquire: %d %s", rr.status, rr.body)
	}
	var res lockResult
	if err := xml.Unmarshal(rr.body, &res); err != nil || res.LockToken != "toka/b" || res.FencingToken != 1 {
		t.Fatalf("acquire body %s: %+v %v", rr.body, res, err)
	}
	if _, err := time.Parse(time.RFC3339, res.Expires); err != nil {
		t.Fatalf("Expires %q: %v", res.Expires, err)
	}
	if got := fl.calls[0]; got.TTL != 10*time.Second || got.Wait != 2*time.Second || got.Mode != "shared" || got.Owner != "alice" {
		t.Fatalf("options passed: %+v", got)
	}
	rr = e.do(http.MethodPost, "/lkb/a/b?lock", nil)
	wantError(t, rr, http.StatusConflict, "LockConflict")
	if !strings.Contains(rr.err.Message, `"alice"`) || !strings.Contains(rr.err.Message, "until") {
		t.Fatalf("conflict message %q lacks the holder", rr.err.Message)
	}
	if fl.calls[1].TTL != defaultLockTTL || fl.calls[1].Wait != 0 {
		t.Fatalf("defaults: %+v", fl.calls[1])
	}
	rr = e.do(http.MethodGet, "/lkb/a/b?lock", nil)
	if rr.status != http.StatusOK || !strings.Contains(string(rr.body), "<Owner>alice</Owner>") {
		t.Fatalf("inspect: %d %s", rr.status, rr.body)
	}
	rr = e.do(http.MethodPut, "/lkb/a/b?lock&token=toka/b&ttl=20", nil)
	if rr.status != http.StatusOK {
		t.Fatalf("renew: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do(http.MethodPut, "/lkb/a/b?lock&token=nope", nil), http.StatusConflict, "LockLost")
	wantError(t, e.do(http.MethodDelete, "/lkb/a/b?lock&token=nope", nil), http.StatusNotFound, "NoSuchLock")
	if rr := e.do(http.MethodDelete, "/lkb/a/b?lock&token=toka/b", nil); rr.status != http.StatusNoContent {
		t.Fatalf("release: %d %s", rr.status, rr.body)
	}
	wantError(t, e.do(http.MethodGet, "/lkb/a/b?lock", nil), http.StatusNotFound, "NoSuchLock")
	wantError(t, e.do(http.MethodPost, "/nobucket/k?lock", nil), http.StatusNotFound, "NoSuchBucket")
	for _, bad := range []string{"ttl=-1", "ttl=0", "ttl=3601", "ttl=abc", "wait=-2", "wait=100000", "mode=weird"} {
		wantError(t, e.do(http.MethodPost, "/lkb/k?lock&"+bad, nil), http.StatusBadRequest, "InvalidArgument")
	}
	wantError(t, e.do(http.MethodPut, "/lkb/k?lock", nil), http.StatusBadRequest, "InvalidArgument")
	wantError(t, e.do(http.MethodDelete, "/lkb/k?lock", nil), http.StatusBadRequest, "InvalidArgument")
}

func TestLockAPIWithoutLocker(t *testing.T) {
	e := newTestServer(t)
	e.bucket("lkb")
	wantError(t, e.do(http.MethodPost, "/lkb/k?lock", nil), http.StatusNotImplemented, "NotImplemented")
}
