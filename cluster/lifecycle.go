package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bucketdb/bucketdb/lifecycle"
	"github.com/bucketdb/bucketdb/store"
)

// The lifecycle worker applies each bucket's lifecycle configuration (the
// stored document of bucket-config kind "lifecycle"). It runs on every node
// and acts only on the keys that node coordinates: the first alive member
// of the key's preference list (with one node, every key). It reads the
// store's due-time indexes (store.ListDue) from the oldest entry up to each
// rule's cutoff, so a pass costs what is old enough to expire, not the size
// of the bucket; and it acts through the Node's own operations, so what it
// does is replicated like a client's request:
//   - Expiration (Days, Date): a versioned (or suspended) bucket gets a
//     delete marker; in an unversioned bucket the object is removed.
//   - Expiration ExpiredObjectDeleteMarker: a delete marker that is its
//     key's only version is removed.
//   - NoncurrentVersionExpiration: noncurrent versions (beyond the
//     NewerNoncurrentVersions newest) are removed by version ID.
//   - AbortIncompleteMultipartUpload: the upload is aborted, its parts freed.
//
// Before acting the worker re-reads the key across the cluster, so a version
// replaced since the index was read is left alone.

// LifecycleConfig configures the lifecycle worker.
type LifecycleConfig struct {
	// Day is the length of a lifecycle day. Default 24h; tests shorten it.
	Day time.Duration
	// Interval is the period of the background pass. Default 1m; negative:
	// no background loop (RunOnce still works).
	Interval time.Duration
	// Logger receives one line per action (Info) and failures (Warn); nil:
	// the node's logger.
	Logger *slog.Logger
}

// DefaultLifecycleConfig returns the production settings.
func DefaultLifecycleConfig() LifecycleConfig {
	return LifecycleConfig{Day: 24 * time.Hour, Interval: time.Minute}
}

// LifecycleStats counts what the worker did since it started (or, as the
// result of RunOnce, in one pass).
type LifecycleStats struct {
	Runs              int64 // completed passes
	Expired           int64 // current versions expired (marker written or object removed)
	NoncurrentRemoved int64 // noncurrent versions removed
	MarkersRemoved    int64 // sole delete markers removed
	UploadsAborted    int64 // multipart uploads aborted
	Errors            int64 // actions or buckets that failed (logged)
	LastRun           time.Time
	LastDuration      time.Duration
}

// Lifecycle is a node's lifecycle worker. Safe for concurrent use; passes
// never overlap.
type Lifecycle struct {
	n   *Node
	cfg LifecycleConfig
	log *slog.Logger

	pass sync.Mutex // one pass at a time

	runs, expired, noncurrent, markers, uploads, errs atomic.Int64
	lastMu                                            sync.Mutex
	lastRun                                           time.Time
	lastDur                                           time.Duration
}

// StartLifecycle creates the node's lifecycle worker and, unless
// cfg.Interval is negative, starts its loop as a goroutine the Node owns
// (Close stops it and waits for it).
func (n *Node) StartLifecycle(cfg LifecycleConfig) (*Lifecycle, error) {
	d := DefaultLifecycleConfig()
	if cfg.Day == 0 {
		cfg.Day = d.Day
	}
	if cfg.Interval == 0 {
		cfg.Interval = d.Interval
	}
	if cfg.Day <= 0 {
		return nil, fmt.Errorf("cluster: lifecycle day %v must be positive", cfg.Day)
	}
	if cfg.Logger == nil {
		cfg.Logger = n.log
	}
	l := &Lifecycle{n: n, cfg: cfg, log: cfg.Logger}
	if cfg.Interval > 0 {
		n.goBackground(l.loop)
	}
	return l, nil
}

func (l *Lifecycle) loop(ctx context.Context) {
	t := time.NewTicker(l.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := l.RunOnce(ctx); err != nil && ctx.Err() == nil {
				l.log.Warn("lifecycle pass failed", "err", err)
			}
		}
	}
}

// Stats returns the counters since the worker started.
func (l *Lifecycle) Stats() LifecycleStats {
	l.lastMu.Lock()
	defer l.lastMu.Unlock()
	return LifecycleStats{Runs: l.runs.Load(), Expired: l.expired.Load(), NoncurrentRemoved: l.noncurrent.Load(),
		MarkersRemoved: l.markers.Load(), UploadsAborted: l.uploads.Load(), Errors: l.errs.Load(),
		LastRun: l.lastRun, LastDuration: l.lastDur}
}

// RunOnce runs one pass over every bucket of this node's store and returns
// what it did. Failures of single actions are logged and counted, and do
// not stop the pass; err is set only when the pass could not run at all.
func (l *Lifecycle) RunOnce(ctx context.Context) (LifecycleStats, error) {
	l.pass.Lock()
	defer l.pass.Unlock()
	start := time.Now()
	before := l.Stats()
	buckets, err := l.n.st.ListBuckets(ctx)
	if err != nil {
		return LifecycleStats{}, err
	}
	for _, b := range buckets {
		if ctx.Err() != nil {
			return LifecycleStats{}, ctx.Err()
		}
		if err := l.bucket(ctx, b, start); err != nil && ctx.Err() == nil {
			l.errs.Add(1)
			l.log.Warn("lifecycle: bucket skipped", "bucket", b.Name, "err", err)
		}
	}
	l.runs.Add(1)
	l.lastMu.Lock()
	l.lastRun, l.lastDur = start, time.Since(start)
	l.lastMu.Unlock()
	after := l.Stats()
	return LifecycleStats{Runs: 1, Expired: after.Expired - before.Expired,
		NoncurrentRemoved: after.NoncurrentRemoved - before.NoncurrentRemoved,
		MarkersRemoved:    after.MarkersRemoved - before.MarkersRemoved,
		UploadsAborted:    after.UploadsAborted - before.UploadsAborted,
		Errors:            after.Errors - before.Errors, LastRun: start, LastDuration: after.LastDuration}, nil
}

// lifecycleConfigKind is the bucket-config kind the S3 layer stores
// lifecycle documents under.
const lifecycleConfigKind = "lifecycle"

func (l *Lifecycle) bucket(ctx context.Context, b store.BucketInfo, now time.Time) error {
	doc, err := l.n.st.GetBucketConfig(ctx, b.Name, lifecycleConfigKind)
	if errors.Is(err, store.ErrNoSuchConfig) || errors.Is(err, store.ErrNoSuchBucket) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg, err := lifecycle.Parse(doc)
	if err != nil {
		return fmt.Errorf("stored lifecycle configuration: %w", err)
	}
	var rules []*lifecycle.Rule
	for i := range cfg.Rules {
		if cfg.Rules[i].Enabled() {
			rules = append(rules, &cfg.Rules[i])
		}
	}
	if len(rules) == 0 {
		return nil
	}
	bp := bucketPass{l: l, bucket: b.Name, versioned: b.Versioning != store.VersioningOff, rules: rules, now: now}
	for _, kind := range []store.DueKind{store.DueCurrent, store.DueNoncurrent, store.DueDeleteMarker, store.DueUpload} {
		if err := bp.walk(ctx, kind); err != nil {
			return err
		}
	}
	return nil
}

// bucketPass applies the enabled rules of one bucket.
type bucketPass struct {
	l         *Lifecycle
	bucket    string
	versioned bool
	rules     []*lifecycle.Rule
	now       time.Time
}

// cutoff returns the rule's cutoff for kind (and the versions to keep).
func (bp *bucketPass) cutoff(r *lifecycle.Rule, kind store.DueKind) (c time.Time, keep int, ok bool) {
	day := bp.l.cfg.Day
	switch kind {
	case store.DueCurrent:
		c, ok = r.CurrentCutoff(bp.now, day)
	case store.DueNoncurrent:
		c, keep, ok = r.NoncurrentCutoff(bp.now, day)
	case store.DueDeleteMarker:
		c, ok = bp.now, r.RemovesDeleteMarkers()
	case store.DueUpload:
		c, ok = r.UploadCutoff(bp.now, day)
	}
	return c, keep, ok
}

// walk pages through one due-time index up to the latest cutoff of any
// rule and applies the first rule that selects each entry.
func (bp *bucketPass) walk(ctx context.Context, kind store.DueKind) error {
	var through time.Time
	for _, r := range bp.rules {
		if c, _, ok := bp.cutoff(r, kind); ok && c.After(through) {
			through = c
		}
	}
	if through.IsZero() {
		return nil
	}
	opts := store.DueOptions{Kind: kind, Through: through}
	for {
		entries, more, err := bp.l.n.st.ListDue(ctx, bp.bucket, opts)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if r := bp.selecting(kind, e); r != nil && bp.l.n.coordinates(bp.bucket, e.Key) {
				bp.apply(ctx, kind, r, e)
			}
		}
		if !more || len(entries) == 0 {
			return nil
		}
		opts.After = entries[len(entries)-1].Cursor
	}
}

// selecting returns the first rule whose filter and age select e.
func (bp *bucketPass) selecting(kind store.DueKind, e store.DueEntry) *lifecycle.Rule {
	for _, r := range bp.rules {
		c, keep, ok := bp.cutoff(r, kind)
		if !ok || e.Time.After(c) {
			continue
		}
		switch kind {
		case store.DueUpload, store.DueDeleteMarker:
			// Uploads and markers have no tags or size: the prefix decides
			// (tag filters are refused with these actions).
			if !r.MatchesUpload(e.Key) {
				continue
			}
		default:
			if !r.Matches(lifecycle.Object{Key: e.Key, Size: e.Size, Tags: e.Tags}) {
				continue
			}
		}
		if kind == store.DueNoncurrent && e.NewerNoncurrent < keep {
			continue
		}
		return r
	}
	return nil
}

// apply performs one action, re-checking the key across the cluster first.
func (bp *bucketPass) apply(ctx context.Context, kind store.DueKind, r *lifecycle.Rule, e store.DueEntry) {
	l, n := bp.l, bp.l.n
	var err error
	var action string
	var counter *atomic.Int64
	switch kind {
	case store.DueCurrent:
		action, counter = "expire", &l.expired
		info, herr := n.HeadObject(ctx, bp.bucket, e.Key, store.GetOptions{})
		if herr != nil || internalOf(info) != e.VersionID {
			return // replaced or deleted since the index was read
		}
		if bp.versioned {
			action = "expire: delete marker"
			_, err = n.DeleteObject(ctx, bp.bucket, e.Key, store.DeleteOptions{})
		} else {
			_, err = n.DeleteObject(ctx, bp.bucket, e.Key, store.DeleteOptions{VersionID: e.VersionID})
		}
	case store.DueNoncurrent:
		action, counter = "remove noncurrent version", &l.noncurrent
		_, err = n.DeleteObject(ctx, bp.bucket, e.Key, store.DeleteOptions{VersionID: e.VersionID})
	case store.DueDeleteMarker:
		action, counter = "remove expired delete marker", &l.markers
		if !n.soleMarker(ctx, bp.bucket, e.Key, e.VersionID) {
			return
		}
		_, err = n.DeleteObject(ctx, bp.bucket, e.Key, store.DeleteOptions{VersionID: e.VersionID})
	case store.DueUpload:
		action, counter = "abort upload", &l.uploads
		err = n.AbortMultipartUpload(ctx, bp.bucket, e.Key, e.UploadID)
		if errors.Is(err, store.ErrNoSuchUpload) {
			return
		}
	}
	attrs := []any{"bucket", bp.bucket, "key", e.Key, "rule", r.ID, "since", e.Time}
	if e.UploadID != "" {
		attrs = append(attrs, "upload", e.UploadID)
	} else {
		attrs = append(attrs, "version", e.VersionID)
	}
	if err != nil {
		if errors.Is(err, store.ErrNoSuchVersion) || errors.Is(err, store.ErrNoSuchKey) {
			return // gone already
		}
		l.errs.Add(1)
		l.log.Warn("lifecycle: "+action+" failed", append(attrs, "err", err)...)
		return
	}
	counter.Add(1)
	l.log.Info("lifecycle: "+action, attrs...)
}

// coordinates reports whether this node is the first alive member of the
// key's preference list, the one node that applies lifecycle rules to it.
func (n *Node) coordinates(bucket, key string) bool {
	for _, m := range n.place(bucket, key).nodes {
		if n.state(m.ID) == Alive {
			return m.ID == n.id
		}
	}
	return false
}

// soleMarker reports whether the cluster's versions of key are exactly the
// delete marker id.
func (n *Node) soleMarker(ctx context.Context, bucket, key, id string) bool {
	res, err := n.ListObjectVersions(ctx, bucket, store.ListVersionsOptions{Prefix: key, MaxKeys: 2})
	if err != nil {
		return false
	}
	var vs []store.ObjectInfo
	for _, v := range res.Versions {
		if v.Key == key {
			vs = append(vs, v)
		}
	}
	return len(vs) == 1 && vs[0].DeleteMarker && internalOf(vs[0]) == id
}
