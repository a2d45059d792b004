package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/klauspost/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// bucketRecord is the value of a 'B' key.
type bucketRecord struct {
	Created    time.Time  `json:"c"`
	Versioning Versioning `json:"v,omitempty"`
}

// extent is one stored piece of an object: either inline bytes (kept after
// the record header) or a data file.
type extent struct {
	File   string `json:"f,omitempty"` // data file ID; "" = inline
	Size   int64  `json:"s"`
	CRC    uint32 `json:"c,omitempty"` // CRC32C of inline bytes
	inline []byte
}

// versionRecord is the value of a 'V' key: one object version or delete marker.
type versionRecord struct {
	ID           string     `json:"i"` // internal version ID (also for the null version)
	Null         bool       `json:"n,omitempty"`
	DeleteMarker bool       `json:"d,omitempty"`
	Size         int64      `json:"s,omitempty"`
	ETag         string     `json:"e,omitempty"`
	ModTime      int64      `json:"m"` // unix nanoseconds
	Meta         ObjectMeta `json:"h"` // Tags live in the 'T' record
	Extents      []extent   `json:"x,omitempty"`
	Parts        []PartInfo `json:"p,omitempty"`
	TagsStamp    uint64     `json:"ts,omitempty"` // ObjectInfo.TagsStamp
}

// latestRecord is the value of an 'L' key: what listings and GET-latest need.
type latestRecord struct {
	ID           string `json:"i"`
	Null         bool   `json:"n,omitempty"`
	DeleteMarker bool   `json:"d,omitempty"`
	Size         int64  `json:"s,omitempty"`
	ETag         string `json:"e,omitempty"`
	ModTime      int64  `json:"m"`
	// Tags of the latest version ('G' indexes them).
	Tags map[string]string `json:"t,omitempty"`
	// Sole: a delete marker that is the key's only version ('M').
	Sole bool `json:"o,omitempty"`
	// Only: this version is the key's only one, so replacing or removing
	// it needs no neighbour search. False also means unknown (records
	// written before the field existed).
	Only bool `json:"so,omitempty"`
	// ContentType and UserMeta of the latest version, for listings that
	// return metadata, when HasMeta. Records written before these fields
	// existed, and versions whose metadata exceeds maxLatestMeta, lack
	// them: listings then read the version record (latestInfo).
	ContentType string            `json:"ct,omitempty"`
	UserMeta    map[string]string `json:"u,omitempty"`
	HasMeta     bool              `json:"hm,omitempty"`
}

// maxLatestMeta bounds the metadata copied into an 'L' record (content
// type plus user metadata names and values), which is rewritten on every
// commit that changes the latest version. S3 allows 2 KB of user metadata.
const maxLatestMeta = 4 << 10

// uploadRecord is the value of a 'U' key.
type uploadRecord struct {
	Initiated time.Time  `json:"t"`
	Meta      ObjectMeta `json:"h"`
}

// partRecord is the value of a 'P' key.
type partRecord struct {
	File      string            `json:"f"`
	Size      int64             `json:"s"`
	ETag      string            `json:"e"`
	ModTime   time.Time         `json:"m"`
	Checksums map[string]string `json:"k,omitempty"`
}

const versionFormat = 1

// encodeVersion lays a record out as: format byte, uvarint header length,
// JSON header, then the inline bytes of its extents in order.
func encodeVersion(r *versionRecord) ([]byte, error) {
	hdr, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	n := len(hdr) + binary.MaxVarintLen64 + 1
	for _, e := range r.Extents {
		n += len(e.inline)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, versionFormat)
	buf = binary.AppendUvarint(buf, uint64(len(hdr)))
	buf = append(buf, hdr...)
	for _, e := range r.Extents {
		buf = append(buf, e.inline...)
	}
	return buf, nil
}

// decodeVersion is the inverse of encodeVersion. Inline bytes alias v's copy
// and are CRC-checked by the reader, not here.
func decodeVersion(v []byte) (*versionRecord, error) {
	if len(v) < 2 || v[0] != versionFormat {
		return nil, fmt.Errorf("version record: unknown format")
	}
	hl, n := binary.Uvarint(v[1:])
	if n <= 0 || uint64(len(v)-1-n) < hl {
		return nil, fmt.Errorf("version record: bad header length")
	}
	body := v[1+n:]
	var r versionRecord
	if err := json.Unmarshal(body[:hl], &r); err != nil {
		return nil, fmt.Errorf("version record: %w", err)
	}
	rest := body[hl:]
	for i := range r.Extents {
		e := &r.Extents[i]
		if e.File != "" {
			continue
		}
		if int64(len(rest)) < e.Size {
			return nil, fmt.Errorf("version record: inline data truncated")
		}
		e.inline, rest = rest[:e.Size], rest[e.Size:]
	}
	return &r, nil
}

func (r *versionRecord) order() order {
	o, _ := parseVersionID(r.ID)
	return o
}

func (r *versionRecord) latest() latestRecord {
	l := latestRecord{ID: r.ID, Null: r.Null, DeleteMarker: r.DeleteMarker,
		Size: r.Size, ETag: r.ETag, ModTime: r.ModTime}
	if !r.DeleteMarker && metaSize(r.Meta) <= maxLatestMeta {
		l.ContentType, l.UserMeta, l.HasMeta = r.Meta.ContentType, r.Meta.UserMeta, true
	}
	return l
}

// metaSize is the size of what latest copies from m.
func metaSize(m ObjectMeta) int {
	n := len(m.ContentType)
	for k, v := range m.UserMeta {
		n += len(k) + len(v)
	}
	return n
}

// files lists the data files the record references.
func (r *versionRecord) files() []string {
	var fs []string
	for _, e := range r.Extents {
		if e.File != "" {
			fs = append(fs, e.File)
		}
	}
	return fs
}

func shownID(id string, null bool) string {
	if null {
		return NullVersionID
	}
	return id
}

// info renders a record as ObjectInfo (IsLatest and Tags are set by callers).
func (r *versionRecord) info(bucket, key string) ObjectInfo {
	m := r.Meta
	return ObjectInfo{
		Bucket: bucket, Key: key,
		VersionID:          shownID(r.ID, r.Null),
		InternalVersionID:  r.ID,
		DeleteMarker:       r.DeleteMarker,
		Size:               r.Size,
		ETag:               r.ETag,
		ModTime:            time.Unix(0, r.ModTime).UTC(),
		ContentType:        m.ContentType,
		CacheControl:       m.CacheControl,
		ContentDisposition: m.ContentDisposition,
		ContentEncoding:    m.ContentEncoding,
		ContentLanguage:    m.ContentLanguage,
		Expires:            m.Expires,
		UserMeta:           m.UserMeta,
		Checksums:          m.Checksums,
		Parts:              r.Parts,
		TagsStamp:          r.TagsStamp,
	}
}

func (l *latestRecord) info(bucket, key string) ObjectInfo {
	return ObjectInfo{
		Bucket: bucket, Key: key,
		VersionID:         shownID(l.ID, l.Null),
		InternalVersionID: l.ID,
		IsLatest:          true,
		DeleteMarker:      l.DeleteMarker,
		Size:              l.Size,
		ETag:              l.ETag,
		ModTime:           time.Unix(0, l.ModTime).UTC(),
		ContentType:       l.ContentType,
		UserMeta:          l.UserMeta,
	}
}

func (l *latestRecord) order() order {
	o, _ := parseVersionID(l.ID)
	return o
}
