package store

import (
	"sort"
	"sync"
	"testing"
	"time"
)

func TestClockMonotonic(t *testing.T) {
	wall := time.Unix(1_700_000_000, 0)
	c := &Clock{wall: func() time.Time { return wall }}
	a := c.Now()
	b := c.Now()
	if b <= a {
		t.Fatalf("same ms: %d then %d", a, b)
	}
	wall = wall.Add(-time.Hour) // wall clock steps back
	if d := c.Now(); d <= b {
		t.Fatalf("after step back: %d <= %d", d, b)
	}
	c.SetOffset(2 * time.Hour) // skew forward
	e := c.Now()
	if got := HLCTime(e); !got.Equal(wall.Add(2 * time.Hour).UTC()) {
		t.Fatalf("offset time %v", got)
	}
	remote := e + 5<<16
	c.Observe(remote)
	if f := c.Now(); f <= remote {
		t.Fatalf("after observe: %d <= %d", f, remote)
	}
	c.Observe(1) // older remote: no effect
	if g := c.Now(); g <= remote {
		t.Fatal("observe moved the clock back")
	}
}

func TestVersionIDs(t *testing.T) {
	c := NewClock()
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 250 {
				id := NewVersionID(c.Now())
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if len(id) != VersionIDLen || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
		if _, ok := parseVersionID(id); !ok {
			t.Fatalf("id %q does not parse", id)
		}
	}
	// Lexicographic order is HLC order.
	a, b := NewVersionID(5<<16), NewVersionID(6<<16)
	if !(a < b) || !sort.StringsAreSorted([]string{NewVersionID(1), NewVersionID(1 << 40), NewVersionID(1 << 62)}) {
		t.Fatal("IDs do not sort by hlc")
	}
	now := time.Now()
	ts, ok := VersionIDTime(NewVersionID(uint64(now.UnixMilli()) << 16))
	if !ok || ts.UnixMilli() != now.UnixMilli() {
		t.Fatalf("VersionIDTime %v %v", ts, ok)
	}
	for _, bad := range []string{"", "null", "XYZ", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcdef0"} {
		if _, ok := VersionIDTime(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestKeyOrderHelpers(t *testing.T) {
	if string(prefixEnd([]byte("ab"))) != "ac" || string(prefixEnd([]byte{'a', 0xFF})) != "b" || prefixEnd([]byte{0xFF}) != nil {
		t.Fatal("prefixEnd")
	}
	o1, _ := parseVersionID(NewVersionID(1 << 20))
	o2, _ := parseVersionID(NewVersionID(2 << 20))
	k1, k2 := versionKey("b", "k", o1), versionKey("b", "k", o2)
	if string(k2) >= string(k1) {
		t.Fatal("newer version must sort first")
	}
	if k, o, err := parseVersionKey(k1, versionBucketPrefix("b")); err != nil || k != "k" || o != o1 {
		t.Fatalf("parseVersionKey: %q %v %v", k, o, err)
	}
	// "a" < "a!" must hold for encoded version keys too (NUL separator).
	if string(versionKey("b", "a", o1)) >= string(versionKey("b", "a!", o2)) {
		t.Fatal("object key order not preserved")
	}
}
