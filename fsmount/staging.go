package fsmount

import (
	"fmt"
	"os"
	"sort"

	"golang.org/x/sys/unix"
)

// extents is a sorted set of disjoint, non-adjacent half-open ranges.
type extents []extent

type extent struct{ start, end int64 }

// add inserts [start, end), merging neighbours.
func (e extents) add(start, end int64) extents {
	if start >= end {
		return e
	}
	var out extents
	i := 0
	for ; i < len(e) && e[i].end < start; i++ {
		out = append(out, e[i])
	}
	for ; i < len(e) && e[i].start <= end; i++ {
		start = min(start, e[i].start)
		end = max(end, e[i].end)
	}
	out = append(out, extent{start, end})
	return append(out, e[i:]...)
}

// remove deletes [start, end).
func (e extents) remove(start, end int64) extents {
	var out extents
	for _, x := range e {
		if x.end <= start || x.start >= end {
			out = append(out, x)
			continue
		}
		if x.start < start {
			out = append(out, extent{x.start, start})
		}
		if x.end > end {
			out = append(out, extent{end, x.end})
		}
	}
	return out
}

// covers reports whether [start, end) is entirely inside the set.
func (e extents) covers(start, end int64) bool {
	if start >= end {
		return true
	}
	i := sort.Search(len(e), func(i int) bool { return e[i].end > start })
	return i < len(e) && e[i].start <= start && e[i].end >= end
}

// segments splits [start, end) into pieces that are inside (in=true) or
// outside the set, in order.
func (e extents) segments(start, end int64, fn func(s, t int64, in bool) error) error {
	pos := start
	for _, x := range e {
		if x.end <= pos {
			continue
		}
		if x.start >= end {
			break
		}
		if x.start > pos {
			if err := fn(pos, x.start, false); err != nil {
				return err
			}
			pos = x.start
		}
		t := min(x.end, end)
		if err := fn(pos, t, true); err != nil {
			return err
		}
		pos = t
	}
	if pos < end {
		return fn(pos, end, false)
	}
	return nil
}

// staging is the local state of a file with changes: a sparse file in the
// cache directory holding the bytes written (valid), the object version
// the other bytes come from (base, only below baseLimit; beyond it they are
// zeros), and the logical size. The staging file is unlinked at creation,
// so a crash leaves nothing behind. Guarded by fileNode.io.
type staging struct {
	f         *os.File
	size      int64
	valid     extents
	baseKey   string
	baseETag  string
	baseLimit int64
	baseSize  int64
	dirty     bool // content differs from the base object
	metaDirty bool // attributes changed; stored with the next upload
	// stream is the multipart upload a sequential writer fills while it
	// writes (nil when none); streamEligible says one may start.
	stream         *streamUpload
	streamEligible bool
}

func newStaging(dir string, baseKey, baseETag string, baseSize int64) (*staging, error) {
	f, err := os.CreateTemp(dir, "bucketdb-stage-*")
	if err != nil {
		return nil, fmt.Errorf("create staging file: %w", err)
	}
	os.Remove(f.Name())
	if err := f.Truncate(baseSize); err != nil {
		f.Close()
		return nil, fmt.Errorf("size staging file: %w", err)
	}
	return &staging{f: f, size: baseSize, baseKey: baseKey, baseETag: baseETag, baseLimit: baseSize, baseSize: baseSize,
		streamEligible: baseSize == 0}, nil
}

func (s *staging) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// write stores data at off.
func (s *staging) write(data []byte, off int64) error {
	if _, err := s.f.WriteAt(data, off); err != nil {
		return fmt.Errorf("write staging file: %w", err)
	}
	end := off + int64(len(data))
	s.valid = s.valid.add(off, end)
	s.size = max(s.size, end)
	s.dirty = true
	return nil
}

// truncate sets the logical size; bytes past the old size read as zeros.
func (s *staging) truncate(size int64) error {
	if err := s.f.Truncate(size); err != nil {
		return fmt.Errorf("truncate staging file: %w", err)
	}
	if size < s.size {
		s.valid = s.valid.remove(size, s.size)
		s.baseLimit = min(s.baseLimit, size)
	}
	s.size = size
	s.dirty = true
	if size == 0 {
		s.valid = nil
		s.baseLimit = 0
		s.streamEligible = s.stream == nil
	}
	return nil
}

// punch releases the disk space of [off, off+n) once it was uploaded.
func (s *staging) punch(off, n int64) {
	_ = unix.Fallocate(int(s.f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}
