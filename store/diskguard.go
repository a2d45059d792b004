package store

import (
	"fmt"
	"syscall"
	"time"
)

// DiskUsage is the space of the filesystem that holds a store.
type DiskUsage struct {
	Total int64 // filesystem size
	Free  int64 // bytes available to this process (statfs f_bavail)
}

// FreePercent is Free as a percentage of Total.
func (d DiskUsage) FreePercent() float64 {
	if d.Total <= 0 {
		return 0
	}
	return float64(d.Free) * 100 / float64(d.Total)
}

// DiskUsage reports the space of the filesystem that holds the store's
// directory.
func (s *Store) DiskUsage() (DiskUsage, error) {
	return statfs(s.cfg.Dir)
}

// statfs is diskUsage; tests replace it to play a filling disk.
var statfs = diskUsage

func diskUsage(dir string) (DiskUsage, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return DiskUsage{}, fmt.Errorf("store: statfs %s: %w", dir, err)
	}
	bs := int64(fs.Bsize)
	return DiskUsage{Total: int64(fs.Blocks) * bs, Free: int64(fs.Bavail) * bs}, nil
}

// DiskFloor returns the free-space floor in bytes for a filesystem of
// total bytes: the larger of Config.MinFreeBytes and Config.MinFreePercent
// of total.
func (s *Store) DiskFloor(total int64) int64 {
	floor := s.cfg.MinFreeBytes
	if p := int64(s.cfg.MinFreePercent / 100 * float64(total)); p > floor {
		floor = p
	}
	return floor
}

// CheckFree returns ErrDiskFull when writing size more bytes would leave
// less free space than the floor (Config.MinFreeBytes / MinFreePercent).
// Every write that brings data into the store (PutObject, UploadPart,
// CompleteMultipartUpload, replicated and healed copies alike) calls it
// before it writes; the cluster layer may call it before staging a body.
// Reads never do. A statfs failure lets the write through (it is reported
// by the write itself if the disk is really gone).
//
// A statfs per write was a measurable share of a small write's CPU, so a
// sample younger than diskSampleAge answers while it leaves more than
// diskSlack above the floor after this write; near the floor every write
// asks the filesystem again.
func (s *Store) CheckFree(size int64) error {
	if s.cfg.MinFreeBytes <= 0 && s.cfg.MinFreePercent <= 0 {
		return nil
	}
	size = max(size, 0)
	now := time.Now()
	if d := s.disk.Load(); d != nil && now.Sub(d.at) < diskSampleAge &&
		d.usage.Free-size-s.DiskFloor(d.usage.Total) > diskSlack {
		return nil
	}
	du, err := s.DiskUsage()
	if err != nil {
		return nil
	}
	s.disk.Store(&diskSample{at: now, usage: du})
	floor := s.DiskFloor(du.Total)
	if du.Free-size < floor {
		return fmt.Errorf("%w: %d bytes free, floor %d, write of %d bytes", ErrDiskFull, du.Free, floor, size)
	}
	return nil
}

// diskSample is a statfs result and when it was taken.
type diskSample struct {
	at    time.Time
	usage DiskUsage
}

// A statfs sample answers CheckFree for diskSampleAge while the write
// leaves diskSlack above the floor: writes between two samples cannot use
// up the slack at any disk speed this machine class has (256 MiB in
// 200 ms is 1.3 GB/s).
const (
	diskSampleAge = 200 * time.Millisecond
	diskSlack     = 256 << 20
)
