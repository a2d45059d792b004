package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// GCResult reports one garbage collection run.
type GCResult struct {
	At            time.Time
	Duration      time.Duration
	VlogRewrites  int   // value-log files Badger rewrote
	VlogReclaimed int64 // value-log bytes freed
	OrphanFiles   int   // unreferenced data files removed
	OrphanBytes   int64
	Reclaimed     int64 // VlogReclaimed + OrphanBytes
}

// RunGC runs Badger value-log GC until nothing is left to reclaim, then
// removes data files that no version or part references and that are older
// than Config.OrphanGrace (files being written are never touched).
func (s *Store) RunGC(ctx context.Context) (GCResult, error) {
	done, err := s.begin()
	if err != nil {
		return GCResult{}, err
	}
	defer done()
	res := GCResult{At: time.Now()}
	_, vlogBefore := s.badgerSizes()
	for ctx.Err() == nil {
		err := s.db.RunValueLogGC(s.cfg.GCDiscardRatio)
		if err != nil {
			if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
				return res, fmt.Errorf("value log gc: %w", err)
			}
			break
		}
		res.VlogRewrites++
	}
	_, vlogAfter := s.badgerSizes()
	res.VlogReclaimed = max(0, vlogBefore-vlogAfter)
	res.OrphanFiles, res.OrphanBytes, err = s.sweepOrphans(ctx, time.Now().Add(-s.cfg.OrphanGrace))
	res.Reclaimed = res.VlogReclaimed + res.OrphanBytes
	res.Duration = time.Since(res.At)
	s.gcMu.Lock()
	s.lastGC = res
	s.gcMu.Unlock()
	if s.cfg.OnGC != nil {
		s.cfg.OnGC(res)
	}
	return res, err
}

// sweepOrphans removes data files modified before cutoff that have no 'D'
// record and are not being written.
func (s *Store) sweepOrphans(ctx context.Context, cutoff time.Time) (int, int64, error) {
	var n int
	var bytes int64
	err := filepath.WalkDir(s.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !validFileID(d.Name()) || s.isInflight(d.Name()) {
			return nil
		}
		fi, err := d.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			return nil
		}
		referenced, err := s.referenced(d.Name())
		if err != nil || referenced {
			return err
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n++
		bytes += fi.Size()
		return nil
	})
	return n, bytes, err
}

func (s *Store) referenced(id string) (bool, error) {
	var ok bool
	err := s.view(func(txn *badger.Txn) error {
		_, err := txn.Get(dataRefKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		ok = err == nil
		return err
	})
	return ok, err
}

// startupSweep removes crash leftovers: unreferenced files older than the
// process start (nothing this process writes can be that old).
func (s *Store) startupSweep(ctx context.Context) {
	defer s.bg.Done()
	defer close(s.sweepDone)
	n, b, err := s.sweepOrphans(ctx, s.started)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("store: start-up orphan sweep", "err", err)
	}
	if n > 0 {
		s.log.Info("store: removed orphaned data files", "files", n, "bytes", b)
	}
}

// gcLoop runs RunGC every Config.GCInterval until the store closes.
func (s *Store) gcLoop(ctx context.Context) {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := s.RunGC(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("store: gc", "err", err)
			continue
		}
		s.log.Debug("store: gc", "reclaimed", res.Reclaimed, "orphans", res.OrphanFiles)
	}
}

// badgerSizes sums Badger's LSM (.sst) and value-log (.vlog) files on disk.
func (s *Store) badgerSizes() (lsm, vlog int64) {
	entries, _ := os.ReadDir(filepath.Join(s.cfg.Dir, "meta"))
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(e.Name(), ".sst"):
			lsm += fi.Size()
		case strings.HasSuffix(e.Name(), ".vlog"):
			vlog += fi.Size()
		}
	}
	return lsm, vlog
}
