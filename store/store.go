package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Config configures a Store. Zero fields take the defaults of DefaultConfig,
// except GCInterval, where zero disables the background GC loop.
type Config struct {
	// Dir holds meta/ (Badger) and data/ (object data files).
	Dir string
	// InlineThreshold: objects up to this size live inside their version
	// record; larger ones go to data files. 0 = 128 KiB; negative = never.
	InlineThreshold int64
	// NoSync skips every fsync (tests only).
	NoSync bool
	// Logger receives warnings and errors (Badger's included). nil = discard.
	Logger *slog.Logger
	// GCInterval runs RunGC in the background this often; 0 disables.
	GCInterval time.Duration
	// OrphanGrace: RunGC removes an unreferenced data file only once it is
	// this old (files being written are excluded anyway). 0 = 1 h.
	OrphanGrace time.Duration
	// MemTableSize is Badger's memtable size (two are kept). 0 = 16 MiB.
	MemTableSize int64
	// BlockCacheSize is Badger's block cache. 0 = 8 MiB.
	BlockCacheSize int64
	// MinPartSize is the smallest size of all but the last part of a
	// multipart upload. 0 = MinPartSize (5 MiB); tests lower it.
	MinPartSize int64
	// Clock mints version IDs; nil = a new clock. The cluster layer shares one.
	Clock *Clock
	// MinFreeBytes and MinFreePercent set the free-space floor of the
	// store's filesystem (the larger applies): a write that would leave
	// less free space fails with ErrDiskFull. 0 = no floor.
	MinFreeBytes   int64
	MinFreePercent float64
	// GCDiscardRatio is the fraction of stale data a value-log file must
	// hold for RunGC to rewrite it (Badger's discardRatio). 0 = 0.5.
	GCDiscardRatio float64
	// OnGC, when set, is called with the result of every RunGC (loop or
	// on demand), for metrics. It must not block.
	OnGC func(GCResult)
}

// DefaultConfig returns the production configuration for a store in dir.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:             dir,
		InlineThreshold: 128 << 10,
		GCInterval:      10 * time.Minute,
		OrphanGrace:     time.Hour,
		MemTableSize:    16 << 20,
		BlockCacheSize:  8 << 20,
		MinPartSize:     MinPartSize,
		GCDiscardRatio:  0.5,
	}
}

func (c *Config) applyDefaults() error {
	if c.Dir == "" {
		return fmt.Errorf("%w: store: Config.Dir is empty", ErrInvalidArgument)
	}
	if c.GCInterval < 0 || c.OrphanGrace < 0 || c.MemTableSize < 0 || c.BlockCacheSize < 0 || c.MinPartSize < 0 {
		return fmt.Errorf("%w: store: negative Config value", ErrInvalidArgument)
	}
	d := DefaultConfig(c.Dir)
	if c.InlineThreshold == 0 {
		c.InlineThreshold = d.InlineThreshold
	}
	if c.OrphanGrace == 0 {
		c.OrphanGrace = d.OrphanGrace
	}
	if c.MemTableSize == 0 {
		c.MemTableSize = d.MemTableSize
	}
	if c.BlockCacheSize == 0 {
		c.BlockCacheSize = d.BlockCacheSize
	}
	if c.MinPartSize == 0 {
		c.MinPartSize = d.MinPartSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = NewClock()
	}
	if c.MinFreeBytes < 0 || c.MinFreePercent < 0 || c.MinFreePercent >= 100 {
		return fmt.Errorf("%w: store: free-space floor out of range", ErrInvalidArgument)
	}
	if c.GCDiscardRatio == 0 {
		c.GCDiscardRatio = d.GCDiscardRatio
	}
	if c.GCDiscardRatio <= 0 || c.GCDiscardRatio >= 1 {
		return fmt.Errorf("%w: store: GCDiscardRatio %v not in (0, 1)", ErrInvalidArgument, c.GCDiscardRatio)
	}
	return nil
}

// Store is one node's disk engine. All methods are safe for concurrent use.
type Store struct {
	cfg     Config
	db      *badger.DB
	dataDir string
	clock   *Clock
	log     *slog.Logger
	started time.Time

	// gate: version/upload commits hold it shared; DeleteBucket holds it
	// exclusively, so no write can slip into a bucket being deleted.
	gate sync.RWMutex

	committer *committer // group commit of versions (groupcommit.go)
	snaps     snapshots  // what reads see (snapshot.go)
	buckets   bucketCache
	records   recordCache                // decoded records of multipart objects, for reads
	disk      atomic.Pointer[diskSample] // last statfs, for CheckFree (diskguard.go)

	inflightMu sync.Mutex
	inflight   map[string]struct{} // data files written but not yet committed

	opMu   sync.RWMutex
	closed bool
	ops    sync.WaitGroup

	bgCancel  context.CancelFunc
	bg        sync.WaitGroup
	sweepDone chan struct{} // closed when the start-up orphan sweep ends

	gcMu   sync.Mutex
	lastGC GCResult

	// listSteps counts records visited by listings, so tests can check that
	// listings seek past what they skip instead of scanning it.
	listSteps atomic.Int64
}

// Open opens (creating if needed) the store in cfg.Dir and starts its
// background work: the start-up orphan sweep and, if configured, the GC loop.
func Open(cfg Config) (*Store, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, dataDir: filepath.Join(cfg.Dir, "data"), clock: cfg.Clock,
		log: cfg.Logger, started: time.Now(), inflight: map[string]struct{}{},
		sweepDone: make(chan struct{})}
	if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	db, err := badger.Open(badgerOptions(cfg))
	if err != nil {
		return nil, fmt.Errorf("store: open metadata: %w", err)
	}
	s.db = db
	if err := s.upgrade(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: upgrade metadata: %w", err)
	}
	s.publish()
	s.committer = newCommitter()
	go s.runCommitter()
	ctx, cancel := context.WithCancel(context.Background())
	s.bgCancel = cancel
	s.bg.Add(1)
	go s.startupSweep(ctx)
	if cfg.GCInterval > 0 {
		s.bg.Add(1)
		go s.gcLoop(ctx)
	}
	return s, nil
}

// badgerOptions tunes Badger for bounded memory: small memtables and caches,
// large values (inline object data) in the value log.
func badgerOptions(cfg Config) badger.Options {
	return badger.DefaultOptions(filepath.Join(cfg.Dir, "meta")).
		WithSyncWrites(!cfg.NoSync).
		WithLogger(badgerLogger{cfg.Logger}).
		WithLoggingLevel(badger.WARNING).
		WithMetricsEnabled(false).
		WithMemTableSize(cfg.MemTableSize).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithNumCompactors(2).
		WithBaseTableSize(2 << 20).
		WithBlockCacheSize(cfg.BlockCacheSize).
		WithIndexCacheSize(4 << 20).
		WithValueThreshold(4 << 10).
		WithValueLogFileSize(64 << 20).
		WithNumGoroutines(2)
}

// Close stops accepting work (later calls fail with ErrClosed), waits for
// running operations and background work, then closes Badger. Readers
// returned by GetObject stay usable. Closing twice is a no-op.
func (s *Store) Close() error {
	s.opMu.Lock()
	if s.closed {
		s.opMu.Unlock()
		return nil
	}
	s.closed = true
	s.opMu.Unlock()
	s.bgCancel()
	s.bg.Wait()
	s.ops.Wait()
	s.stopCommitter()
	s.closeSnapshots()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close metadata: %w", err)
	}
	return nil
}

// Clock returns the clock the store mints version IDs from.
func (s *Store) Clock() *Clock { return s.clock }

// begin registers a running operation; the returned func ends it.
func (s *Store) begin() (func(), error) {
	s.opMu.RLock()
	defer s.opMu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.ops.Add(1)
	return s.ops.Done, nil
}

const maxConflictRetries = 20

// update runs fn in a read-write transaction and commits it. On a Badger
// conflict it retries, unless conditional is set: then the caller's
// preconditions may no longer hold and ErrConditionalConflict is returned.
func (s *Store) update(ctx context.Context, conditional bool, fn func(txn *badger.Txn) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		txn := s.db.NewTransaction(true)
		err := fn(txn)
		if err == nil {
			if err = txn.Commit(); err == nil {
				s.publish()
			}
		}
		txn.Discard()
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
		if conditional {
			return fmt.Errorf("%w: %v", ErrConditionalConflict, err)
		}
		if attempt >= maxConflictRetries {
			return fmt.Errorf("store: commit: %w", err)
		}
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
}

// getValue returns a copy of the value at k, or nil, false if absent.
func getValue(txn *badger.Txn, k []byte) ([]byte, bool, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v, err := item.ValueCopy(nil)
	return v, err == nil, err
}

// badgerLogger forwards Badger's warnings and errors to slog.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}

func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
