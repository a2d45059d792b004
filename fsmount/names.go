package fsmount

import (
	"strings"
	"syscall"
)

// maxNameLen is the longest file name the mount shows or accepts (bytes).
const maxNameLen = 255

// versionsDir is the name of the hidden version tree in the mount root.
const versionsDir = ".versions"

// validName reports whether a key segment can be shown as a file name:
// non-empty, not "." or "..", at most 255 bytes, no NUL. Keys with other
// segments are hidden (see doc.go).
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && len(name) <= maxNameLen &&
		!strings.ContainsAny(name, "/\x00")
}

// checkNewName validates a name given by the kernel for a new entry.
func checkNewName(name string) syscall.Errno {
	if len(name) > maxNameLen {
		return syscall.ENAMETOOLONG
	}
	if !validName(name) {
		return syscall.EINVAL
	}
	return 0
}

// listedEntry is one child of a directory as a listing shows it.
type listedEntry struct {
	name  string
	isDir bool
	// info is the object (for files) or the directory marker (dirs; zero
	// when the directory is implicit).
	info    ObjectInfo
	hasInfo bool
}

// childrenFromListing turns a delimited listing of prefix into directory
// entries, applying the naming rules:
//   - the directory's own marker (key == prefix) is not an entry;
//   - names that are not valid file names are hidden;
//   - when a key "x" and a prefix "x/" both exist, the directory wins and
//     the object is hidden;
//   - an object whose mode metadata says S_IFDIR (s3fs's old marker form
//     without slash) is shown as a directory.
func childrenFromListing(prefix string, entries []ListEntry) map[string]*listedEntry {
	out := make(map[string]*listedEntry, len(entries))
	for _, e := range entries {
		rest := strings.TrimPrefix(e.Key, prefix)
		if rest == "" {
			continue
		}
		if e.IsPrefix {
			name := strings.TrimSuffix(rest, "/")
			if !validName(name) {
				continue
			}
			prev := out[name]
			if prev != nil && prev.isDir {
				continue
			}
			out[name] = &listedEntry{name: name, isDir: true}
			continue
		}
		if !validName(rest) {
			continue
		}
		if prev := out[rest]; prev != nil && prev.isDir {
			continue
		}
		isDir := false
		if e.HasMeta {
			if m, ok := parseModeType(e.Meta); ok && m == syscall.S_IFDIR {
				isDir = true
			}
		}
		out[rest] = &listedEntry{name: rest, isDir: isDir, info: e.ObjectInfo, hasInfo: !isDir}
	}
	return out
}

func parseModeType(m Meta) (uint32, bool) {
	v := strings.TrimSpace(m[metaMode])
	if v == "" {
		return 0, false
	}
	var mode uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		mode = mode*10 + uint64(c-'0')
		if mode > 1<<32 {
			return 0, false
		}
	}
	return uint32(mode) & syscall.S_IFMT, true
}
