package store

import (
	"fmt"
	"syscall"
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
	return diskUsage(s.cfg.Dir)
}

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
func (s *Store) CheckFree(size int64) error {
	if s.cfg.MinFreeBytes <= 0 && s.cfg.MinFreePercent <= 0 {
		return nil
	}
	du, err := s.DiskUsage()
	if err != nil {
		return nil
	}
	floor := s.DiskFloor(du.Total)
	if du.Free-max(size, 0) < floor {
		return fmt.Errorf("%w: %d bytes free, floor %d, write of %d bytes", ErrDiskFull, du.Free, floor, size)
	}
	return nil
}
