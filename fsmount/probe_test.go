package fsmount

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// headServer answers every HEAD as an object of 3 bytes after delay, and
// /health/live at once; it counts the requests it got.
func headServer(t *testing.T, delay time.Duration) (*httptest.Server, *atomic.Int32, *atomic.Int32) {
	var heads, probes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health/live" {
			probes.Add(1)
			w.Write([]byte("ok"))
			return
		}
		heads.Add(1)
		time.Sleep(delay)
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("Content-Length", "3")
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	}))
	t.Cleanup(srv.Close)
	return srv, &heads, &probes
}

// A request to an endpoint that stopped answering altogether (a hung node:
// its connections stay open, and new ones are still accepted) fails over
// once the endpoint misses its liveness probe, long before the response
// header timeout.
func TestHungEndpointFailsOver(t *testing.T) {
	release := make(chan struct{})
	var hanging atomic.Bool
	var hungProbes atomic.Int32
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hanging.Load() {
			w.Header().Set("ETag", `"abc"`)
			w.Header().Set("Content-Length", "3")
			w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
			return
		}
		if r.URL.Path == "/health/live" {
			hungProbes.Add(1)
		}
		<-release
	}))
	defer hung.Close()
	defer close(release)
	good, heads, _ := headServer(t, 0)
	b, err := NewS3Bucket(S3Config{Endpoints: []string{hung.URL, good.URL}, Bucket: "bkt", AccessKey: "k", SecretKey: "s",
		HeaderTimeout: time.Minute, ProbeAfter: 200 * time.Millisecond, ProbeTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// A first request leaves an idle connection to the first endpoint,
	// which net/http would retry an idempotent request on.
	if _, err := b.Stat(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	hanging.Store(true)
	done := make(chan error, 1)
	go func() {
		info, err := b.Stat(context.Background(), "k")
		if err == nil && info.Size != 3 {
			t.Errorf("size %d", info.Size)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the request waited on the hung endpoint")
	}
	if hungProbes.Load() == 0 || heads.Load() != 1 {
		t.Fatalf("probes of the hung endpoint %d, requests to the good one %d", hungProbes.Load(), heads.Load())
	}
	if got := b.cur.Load(); got != 1 {
		t.Fatalf("current endpoint %d, want the good one", got)
	}
}

// An endpoint that is slow but alive answers its probes and is left to
// finish: no failover, no second request.
func TestSlowEndpointIsNotAbandoned(t *testing.T) {
	slow, heads, probes := headServer(t, time.Second)
	other, otherHeads, _ := headServer(t, 0)
	b, err := NewS3Bucket(S3Config{Endpoints: []string{slow.URL, other.URL}, Bucket: "bkt", AccessKey: "k", SecretKey: "s",
		ProbeAfter: 200 * time.Millisecond, ProbeTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	if heads.Load() != 1 || otherHeads.Load() != 0 || probes.Load() < 2 || b.cur.Load() != 0 {
		t.Fatalf("slow endpoint: %d requests, %d probes; other: %d requests; current %d",
			heads.Load(), probes.Load(), otherHeads.Load(), b.cur.Load())
	}
}

// With a single endpoint there is nowhere to fail over to: a request
// waits for a node that stops answering for a while, without probing it.
func TestSingleEndpointIsWaitedFor(t *testing.T) {
	var probes atomic.Int32
	paused := time.Now().Add(time.Second)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health/live" {
			probes.Add(1)
		}
		time.Sleep(time.Until(paused))
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("Content-Length", "3")
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	}))
	defer srv.Close()
	b, err := NewS3Bucket(S3Config{Endpoints: []string{srv.URL}, Bucket: "bkt", AccessKey: "k", SecretKey: "s",
		ProbeAfter: 100 * time.Millisecond, ProbeTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := b.Stat(context.Background(), "k"); err != nil || info.Size != 3 {
		t.Fatalf("stat: %+v %v", info, err)
	}
	if probes.Load() != 0 {
		t.Fatalf("%d probes of the only endpoint", probes.Load())
	}
}
