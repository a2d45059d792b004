package fsmount

import (
	"reflect"
	"sort"
	"syscall"
	"testing"
	"time"
)

func TestParseEpoch(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1700000000", time.Unix(1700000000, 0), true},
		{"1700000000.5", time.Unix(1700000000, 500000000), true},
		{" 42 ", time.Unix(42, 0), true},
		{"", time.Time{}, false},
		{"abc", time.Time{}, false},
		{"NaN", time.Time{}, false},
		{"1e300", time.Time{}, false},
	} {
		got, ok := parseEpoch(tc.in)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseEpoch(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAttrsFromObject(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UID, cfg.GID = 7, 8
	lm := time.Unix(1000, 0)
	for _, tc := range []struct {
		name string
		meta Meta
		kind uint32
		want attrs
	}{
		{"defaults", nil, syscall.S_IFREG, attrs{mode: syscall.S_IFREG | 0o644, uid: 7, gid: 8, mtime: lm}},
		{"s3fs file", Meta{"mode": "33261", "uid": "1000", "gid": "100", "mtime": "1700000000"}, syscall.S_IFREG,
			attrs{mode: syscall.S_IFREG | 0o755, uid: 1000, gid: 100, mtime: time.Unix(1700000000, 0)}},
		{"perm only", Meta{"mode": "384"}, syscall.S_IFREG, attrs{mode: syscall.S_IFREG | 0o600, uid: 7, gid: 8, mtime: lm}},
		{"symlink", Meta{"mode": "41471"}, syscall.S_IFREG, attrs{mode: syscall.S_IFLNK | 0o777, uid: 7, gid: 8, mtime: lm}},
		{"dir marker", Meta{"mode": "16877"}, syscall.S_IFDIR, attrs{mode: syscall.S_IFDIR | 0o755, uid: 7, gid: 8, mtime: lm, size: 4096}},
		{"dir mode on file keeps file", Meta{"mode": "16832"}, syscall.S_IFREG, attrs{mode: syscall.S_IFREG | 0o700, uid: 7, gid: 8, mtime: lm}},
		{"garbage", Meta{"mode": "x", "uid": "-1", "mtime": "soon"}, syscall.S_IFREG, attrs{mode: syscall.S_IFREG | 0o644, uid: 7, gid: 8, mtime: lm}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cfg.attrsFromObject(ObjectInfo{Meta: tc.meta, LastModified: lm}, tc.kind)
			tc.want.ctime, tc.want.atime = tc.want.mtime, tc.want.mtime
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v want %+v", got, tc.want)
			}
		})
	}
}

func TestMetaRoundTrip(t *testing.T) {
	a := attrs{mode: syscall.S_IFREG | 0o640, uid: 12, gid: 34, mtime: time.Unix(1234567890, 0), ctime: time.Unix(1234567891, 0)}
	m := a.meta()
	want := Meta{"mode": "33184", "uid": "12", "gid": "34", "mtime": "1234567890", "ctime": "1234567891"}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("meta = %v, want %v", m, want)
	}
	cfg := DefaultConfig()
	b := cfg.attrsFromObject(ObjectInfo{Meta: m}, syscall.S_IFREG)
	if b.mode != a.mode || b.uid != a.uid || b.gid != a.gid || !b.mtime.Equal(a.mtime) || !b.atime.Equal(a.mtime) {
		t.Fatalf("round trip: %+v", b)
	}

	// An access time of its own is stored (s3fs's x-amz-meta-atime).
	a.atime = time.Unix(1000000000, 0)
	m = a.meta()
	if m["atime"] != "1000000000" {
		t.Fatalf("meta with atime = %v", m)
	}
	if b := cfg.attrsFromObject(ObjectInfo{Meta: m}, syscall.S_IFREG); !b.atime.Equal(a.atime) || !b.mtime.Equal(a.mtime) {
		t.Fatalf("atime round trip: %+v", b)
	}
}

func TestChildrenFromListing(t *testing.T) {
	long := string(make([]byte, 256))
	for i := range []byte(long) {
		_ = i
	}
	longName := ""
	for range 256 {
		longName += "x"
	}
	_ = long
	entries := []ListEntry{
		{ObjectInfo: ObjectInfo{Key: "d/"}},                                                // own marker
		{ObjectInfo: ObjectInfo{Key: "d/a"}},                                               // file
		{ObjectInfo: ObjectInfo{Key: "d/x"}},                                               // file hidden by dir x/
		{ObjectInfo: ObjectInfo{Key: "d/x/"}, IsPrefix: true},                              // dir
		{ObjectInfo: ObjectInfo{Key: "d//"}, IsPrefix: true},                               // empty segment
		{ObjectInfo: ObjectInfo{Key: "d/./"}, IsPrefix: true},                              // dot
		{ObjectInfo: ObjectInfo{Key: "d/.."}},                                              // dotdot
		{ObjectInfo: ObjectInfo{Key: "d/" + longName}},                                     // too long
		{ObjectInfo: ObjectInfo{Key: "d/old", Meta: Meta{"mode": "16877"}, HasMeta: true}}, // s3fs dir object
		{ObjectInfo: ObjectInfo{Key: "d/y/"}, IsPrefix: true},
		{ObjectInfo: ObjectInfo{Key: "d/y/"}, IsPrefix: true}, // duplicate prefix
	}
	got := childrenFromListing("d/", entries)
	var names []string
	for n, e := range got {
		kind := "f"
		if e.isDir {
			kind = "d"
		}
		names = append(names, n+":"+kind)
	}
	sort.Strings(names)
	want := []string{"a:f", "old:d", "x:d", "y:d"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("children = %v, want %v", names, want)
	}
}

func TestExtents(t *testing.T) {
	var e extents
	e = e.add(10, 20)
	e = e.add(30, 40)
	e = e.add(20, 25) // adjacent merge
	if !reflect.DeepEqual(e, extents{{10, 25}, {30, 40}}) {
		t.Fatalf("add: %v", e)
	}
	e = e.add(5, 35)
	if !reflect.DeepEqual(e, extents{{5, 40}}) {
		t.Fatalf("add over: %v", e)
	}
	e = e.remove(10, 20)
	if !reflect.DeepEqual(e, extents{{5, 10}, {20, 40}}) {
		t.Fatalf("remove: %v", e)
	}
	if !e.covers(20, 40) || e.covers(9, 11) || !e.covers(5, 5) {
		t.Fatalf("covers wrong on %v", e)
	}
	var segs []extent
	var ins []bool
	_ = e.segments(0, 50, func(s, t int64, in bool) error {
		segs = append(segs, extent{s, t})
		ins = append(ins, in)
		return nil
	})
	if !reflect.DeepEqual(segs, []extent{{0, 5}, {5, 10}, {10, 20}, {20, 40}, {40, 50}}) ||
		!reflect.DeepEqual(ins, []bool{false, true, false, true, false}) {
		t.Fatalf("segments %v %v", segs, ins)
	}
}

// A setattr to the values already stored changes nothing worth an upload,
// even when it moves ctime into a later second; a changed mode does.
func TestMetaUnchangedIgnoresCtimeAlone(t *testing.T) {
	cfg := DefaultConfig()
	stored := Meta{"mode": "33184", "uid": "12", "gid": "34", "mtime": "1234567890", "ctime": "1234567891"}
	a := cfg.attrsFromObject(ObjectInfo{Meta: stored, HasMeta: true}, syscall.S_IFREG)
	if !a.metaUnchanged() {
		t.Fatalf("fresh attributes differ from what is stored: %v vs %v", a.meta(), stored)
	}
	a.ctime = a.ctime.Add(5 * time.Second) // chmod 0640 again, later
	if !a.metaUnchanged() {
		t.Fatal("a ctime that moved on alone counts as a change")
	}
	a.mode = syscall.S_IFREG | 0o600
	if a.metaUnchanged() {
		t.Fatal("a new mode counts as unchanged")
	}
}
