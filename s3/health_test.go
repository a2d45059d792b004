package s3

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestReadyAsksConfigReady(t *testing.T) {
	var reason error
	e := newTestServer(t, withConfig(func(c *Config) {
		c.Ready = func(context.Context) error { return reason }
	}))
	if rr := e.doAnon("GET", "/health/ready", nil); rr.status != 200 {
		t.Fatalf("ready: %d %s", rr.status, rr.body)
	}
	reason = errors.New("write quorum lost: 2 of 3 members down")
	rr := e.doAnon("GET", "/health/ready", nil)
	if rr.status != 503 || !strings.Contains(string(rr.body), "write quorum lost") {
		t.Fatalf("not ready: %d %q, want 503 with the reason", rr.status, rr.body)
	}
	if rr := e.doAnon("GET", "/health/live", nil); rr.status != 200 {
		t.Fatalf("live while not ready: %d", rr.status)
	}
}

func TestHealthDocument(t *testing.T) {
	doc := map[string]any{"node_id": "n1", "store": "open"}
	for _, auth := range []bool{false, true} {
		e := newTestServer(t, withConfig(func(c *Config) {
			c.Health = func(context.Context) any { return doc }
			c.HealthAuth = auth
		}))
		anon := e.doAnon("GET", "/health", nil)
		signed := e.do("GET", "/health", nil)
		if auth {
			wantError(t, anon, 403, "AccessDenied")
		} else if anon.status != 200 {
			t.Fatalf("anonymous /health without HealthAuth: %d", anon.status)
		}
		if signed.status != 200 {
			t.Fatalf("signed /health (auth %v): %d %s", auth, signed.status, signed.body)
		}
		var got map[string]any
		if err := json.Unmarshal(signed.body, &got); err != nil || got["node_id"] != "n1" {
			t.Fatalf("document %q: %v", signed.body, err)
		}
	}
}

func TestHealthPathStillABucketWithoutDocument(t *testing.T) {
	e := newTestServer(t)
	if rr := e.do("PUT", "/health", nil); rr.status != 200 {
		t.Fatalf("create bucket health: %d %s", rr.status, rr.body)
	}
	if rr := e.do("GET", "/health?list-type=2", nil); rr.status != 200 || !strings.Contains(string(rr.body), "ListBucketResult") {
		t.Fatalf("list bucket health: %d %s", rr.status, rr.body)
	}
}
