package fsmount

import (
	"path"
	"strings"
	"time"
)

// Naming in the .versions tree (see doc.go). Pure functions, unit-tested.

// versionTimeLayout renders a version's time without colons, fixed width,
// so that names sort by time.
const versionTimeLayout = "2006-01-02T15-04-05.000Z"

// minShortID is the shortest version-ID part of an entry name (unless the
// whole ID is shorter, like "null").
const minShortID = 8

// maxVersionExt bounds the original extension kept in entry names.
const maxVersionExt = 32

// deletedSuffix ends the name of a delete marker's entry.
const deletedSuffix = ".deleted"

// versionNames returns the entry name of each of key's versions (in the
// order given): `<UTC time>~<ID tail><ext>`, or `<UTC time>~<ID tail>.deleted`
// for a delete marker. The ID tail is the shortest (at least minShortID)
// that keeps the names of this key unique. The tail rather than the head:
// time-ordered IDs (BucketDB's start with a clock) differ at the end, and
// the time is in the name already.
func versionNames(key string, vs []VersionEntry) []string {
	ext := path.Ext(key)
	base := path.Base(key)
	if ext == base || len(ext) > maxVersionExt || strings.Contains(ext, "/") {
		ext = "" // a dot file such as .bashrc, or no real extension
	}
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.VersionID
	}
	n := shortIDLen(ids)
	names := make([]string, len(vs))
	for i, v := range vs {
		name := v.LastModified.UTC().Format(versionTimeLayout) + "~" + idTail(v.VersionID, n)
		if v.DeleteMarker {
			name += deletedSuffix
		} else {
			name += ext
		}
		names[i] = name
	}
	return names
}

func idTail(id string, n int) string {
	if len(id) <= n {
		return id
	}
	return id[len(id)-n:]
}

// shortIDLen returns the smallest n >= minShortID for which the n-byte
// tails of ids are distinct.
func shortIDLen(ids []string) int {
	longest := 0
	for _, id := range ids {
		longest = max(longest, len(id))
	}
	seen := make(map[string]struct{}, len(ids))
	for n := minShortID; ; n++ {
		clear(seen)
		unique := true
		for _, id := range ids {
			t := idTail(id, n)
			if _, dup := seen[t]; dup {
				unique = false
				break
			}
			seen[t] = struct{}{}
		}
		if unique || n >= longest {
			return n
		}
	}
}

// parseAt parses the name of a time-travel directory: "@" and an RFC 3339
// time (2026-11-25T18:00:00Z), or the colon-free form of entry names
// (2026-11-25T18-04-05.123Z) so that a version's time can be pasted.
func parseAt(name string) (time.Time, bool) {
	s, ok := strings.CutPrefix(name, "@")
	if !ok || s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15-04-05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// versionAt returns the entry of one key's versions (newest first) that
// was current at t: the newest with LastModified <= t, nil if none.
func versionAt(vs []VersionEntry, t time.Time) *VersionEntry {
	for i := range vs {
		if !vs[i].LastModified.After(t) {
			return &vs[i]
		}
	}
	return nil
}
