package lifecycle

import (
	"math"
	"time"
)

// Object is what a filter looks at: one version (or upload) of a key.
type Object struct {
	Key  string
	Size int64
	Tags map[string]string
}

// Enabled reports whether the rule is in force (Status Enabled).
func (r *Rule) Enabled() bool { return r.Status == "Enabled" }

// KeyPrefix is the key prefix the rule is limited to ("" = every key):
// the legacy Prefix, Filter.Prefix or Filter.And.Prefix.
func (r *Rule) KeyPrefix() string {
	switch {
	case r.Prefix != nil:
		return *r.Prefix
	case r.Filter == nil:
		return ""
	case r.Filter.Prefix != nil:
		return *r.Filter.Prefix
	case r.Filter.And != nil && r.Filter.And.Prefix != nil:
		return *r.Filter.And.Prefix
	}
	return ""
}

// FilterTags returns the tags an object must carry (nil = none).
func (r *Rule) FilterTags() map[string]string {
	if r.Filter == nil {
		return nil
	}
	var tags map[string]string
	add := func(t Tag) {
		if tags == nil {
			tags = map[string]string{}
		}
		tags[t.Key] = t.Value
	}
	if r.Filter.Tag != nil {
		add(*r.Filter.Tag)
	}
	if r.Filter.And != nil {
		for _, t := range r.Filter.And.Tags {
			add(t)
		}
	}
	return tags
}

// sizeBounds returns the exclusive size bounds (nil = none).
func (r *Rule) sizeBounds() (gt, lt *int64) {
	if r.Filter == nil {
		return nil, nil
	}
	if r.Filter.And != nil {
		return r.Filter.And.ObjectSizeGreaterThan, r.Filter.And.ObjectSizeLessThan
	}
	return r.Filter.ObjectSizeGreaterThan, r.Filter.ObjectSizeLessThan
}

// Matches reports whether the rule's filter selects o: its key has the
// prefix, it carries every filter tag, and its size is strictly within the
// bounds. It does not look at Status.
func (r *Rule) Matches(o Object) bool {
	if p := r.KeyPrefix(); len(o.Key) < len(p) || o.Key[:len(p)] != p {
		return false
	}
	for k, v := range r.FilterTags() {
		if got, ok := o.Tags[k]; !ok || got != v {
			return false
		}
	}
	gt, lt := r.sizeBounds()
	if gt != nil && o.Size <= *gt || lt != nil && o.Size >= *lt {
		return false
	}
	return true
}

// MatchesUpload reports whether the rule's filter selects an upload of key:
// only the prefix counts (uploads have no tags or size yet; tag filters are
// refused with AbortIncompleteMultipartUpload).
func (r *Rule) MatchesUpload(key string) bool {
	p := r.KeyPrefix()
	return len(key) >= len(p) && key[:len(p)] == p
}

// Cutoff returns the instant before which an age of days (of length day)
// has passed at now: something that started at or before the cutoff is due.
// Ages too long to represent yield the zero time (nothing is due).
func Cutoff(now time.Time, days int, day time.Duration) time.Time {
	if days <= 0 || day <= 0 {
		return now
	}
	if int64(days) > math.MaxInt64/int64(day) {
		return time.Time{}
	}
	return now.Add(-time.Duration(days) * day)
}

// Due reports whether something that started at since is days old at now.
func Due(since, now time.Time, days int, day time.Duration) bool {
	c := Cutoff(now, days, day)
	return !c.IsZero() && !since.After(c)
}

// farFuture is the cutoff of an Expiration Date that has passed: every
// current version is due, whatever its age.
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// CurrentCutoff is the cutoff for expiring current versions at now: current
// versions created at or before it are due. ok is false when the rule has no
// such action, is disabled, or its Date has not come yet.
func (r *Rule) CurrentCutoff(now time.Time, day time.Duration) (time.Time, bool) {
	e := r.Expiration
	if !r.Enabled() || e == nil {
		return time.Time{}, false
	}
	switch {
	case e.Days != nil:
		c := Cutoff(now, *e.Days, day)
		return c, !c.IsZero()
	case e.Date != nil:
		d, err := time.Parse(time.RFC3339, *e.Date)
		if err != nil || now.Before(d) {
			return time.Time{}, false
		}
		return farFuture, true
	}
	return time.Time{}, false
}

// RemovesDeleteMarkers reports whether the rule removes delete markers that
// are the only remaining version of their key (ExpiredObjectDeleteMarker).
func (r *Rule) RemovesDeleteMarkers() bool {
	e := r.Expiration
	return r.Enabled() && e != nil && e.ExpiredObjectDeleteMarker != nil && *e.ExpiredObjectDeleteMarker
}

// NoncurrentCutoff is the cutoff for removing noncurrent versions: those
// that became noncurrent at or before it are due, except the keep newest
// noncurrent versions of each key (NewerNoncurrentVersions, 0 = none kept).
func (r *Rule) NoncurrentCutoff(now time.Time, day time.Duration) (cutoff time.Time, keep int, ok bool) {
	nv := r.NoncurrentVersionExpiration
	if !r.Enabled() || nv == nil || nv.NoncurrentDays == nil {
		return time.Time{}, 0, false
	}
	c := Cutoff(now, *nv.NoncurrentDays, day)
	if nv.NewerNoncurrentVersions != nil {
		keep = *nv.NewerNoncurrentVersions
	}
	return c, keep, !c.IsZero()
}

// UploadCutoff is the cutoff for aborting multipart uploads: those
// initiated at or before it are due.
func (r *Rule) UploadCutoff(now time.Time, day time.Duration) (time.Time, bool) {
	a := r.AbortIncompleteMultipartUpload
	if !r.Enabled() || a == nil || a.DaysAfterInitiation == nil {
		return time.Time{}, false
	}
	c := Cutoff(now, *a.DaysAfterInitiation, day)
	return c, !c.IsZero()
}

// Expiry is when S3 says the current version o, created at created,
// expires under c, and the ID of the rule that expires it first: what S3
// reports in x-amz-expiration on PUT, GET and HEAD. A rule with Days
// expires it at the first midnight UTC after created plus Days (S3 rounds
// up to the next midnight); a rule with Date, at that Date. ok is false
// when no enabled rule expires o. (The worker's timing, with its
// configurable day, is CurrentCutoff.)
func (c *Configuration) Expiry(o Object, created time.Time) (at time.Time, ruleID string, ok bool) {
	for i := range c.Rules {
		r := &c.Rules[i]
		e := r.Expiration
		if !r.Enabled() || e == nil || !r.Matches(o) {
			continue
		}
		var t time.Time
		switch {
		case e.Days != nil && *e.Days > 0:
			d := created.UTC().AddDate(0, 0, *e.Days+1)
			t = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		case e.Date != nil:
			var err error
			if t, err = time.Parse(time.RFC3339, *e.Date); err != nil {
				continue
			}
			t = t.UTC()
		default:
			continue
		}
		if !ok || t.Before(at) {
			at, ruleID, ok = t, r.ID, true
		}
	}
	return at, ruleID, ok
}
