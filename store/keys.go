package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// The Badger key layout, declared here and nowhere else.
//
//	prefix  key                                         value
//	------  ------------------------------------------  ------------------------------------
//	'B'     bucket                                      bucketRecord (JSON)
//	'C'     bucket 0x00 kind                            opaque configuration document
//	'V'     bucket 0x00 objkey 0x00 ^order[16]          versionRecord (header + inline data)
//	'L'     bucket 0x00 objkey                          latestRecord: summary of newest version
//	'A'     bucket 0x00 objkey                          the same latestRecord, only if not a delete marker
//	'N'     bucket 0x00 objkey                          order[16] of the null version
//	'T'     bucket 0x00 objkey 0x00 ^order[16]          tags of that version (JSON)
//	'F'     bucket 0x00 objkey                          highest fencing token issued (uint64 BE)
//	'K'     bucket 0x00 objkey 0x00 space               lockRecord (JSON): lock votes (lock.go)
//	'U'     bucket 0x00 objkey 0x00 uploadID            uploadRecord (JSON)
//	'P'     bucket 0x00 uploadID 0x00 partnum(uint32BE) partRecord (JSON)
//	'D'     fileID                                      empty: the data file is referenced
//	'G'     bucket 0x00 tk 0x00 tv 0x00 objkey          empty: the latest version has tag tk=tv
//	'E'     bucket 0x00 time[8] objkey                  version ID of the latest version (not a marker)
//	'M'     bucket 0x00 time[8] objkey                  version ID of a delete marker that is the only version
//	'O'     bucket 0x00 time[8] objkey 0x00 order[16]   empty: that version is noncurrent since time
//	'I'     bucket 0x00 time[8] objkey 0x00 uploadID    empty: an upload initiated at time
//	'S'     name                                        store-wide record: "schema" = format version (uint32 BE)
//
// order is the 16 raw bytes of a version ID (8 bytes hybrid-logical-clock
// time, big-endian, then 8 random bytes); version records store it bit-inverted
// so that within one object key the newest version sorts first. Object keys
// never contain 0x00 (refused at the API), so the byte order of encoded keys is
// the lexicographic order of (bucket, object key), which listings rely on.
//
// 'A' is the live-key index that ListObjects walks: a copy of the 'L'
// record of every key whose latest version is not a delete marker, written
// in the same transaction as 'L' (setLatest), so that a listing never
// visits keys whose latest version is a delete marker. Stores written before
// it existed lack the "schema" record (or hold a version below
// schemaVersion): Open then rebuilds 'A' from 'L' once (schema.go). A key
// that leaves 'A' leaves a Badger tombstone there, which iterators step
// over (cheaply, without reading a value) until compaction drops it.
//
// 'G', 'E', 'M', 'O' and 'I' are indexes, written in the same transaction as
// the records they derive from (index.go): 'G' finds keys by tag without a
// scan (tk and tv escaped so they hold no 0x00: 0x01 -> 0x01 0x02,
// 0x00 -> 0x01 0x01); the others order what lifecycle rules expire by the
// time that starts its age, so that a lifecycle pass reads only what is due.
// time is unix nanoseconds, big-endian with the sign bit flipped. 'E' and
// 'M' use the latest version's modification time; 'O' the modification time
// of the next newer version (the moment this one stopped being current),
// including for delete markers; 'I' the upload's initiation time. 'G', 'E'
// and 'M' are functions of the 'L' record, which carries the latest
// version's tags and whether a delete marker is the only version.
//
// Every data file (data/ab/cd/<fileID>) that some version or part references
// has a 'D' record, written in the same transaction as the reference; the
// orphan sweep removes files without one.
const (
	pfxBucket  = 'B'
	pfxConfig  = 'C'
	pfxVersion = 'V'
	pfxLatest  = 'L'
	pfxNull    = 'N'
	pfxTags    = 'T'
	pfxFence   = 'F'
	pfxUpload  = 'U'
	pfxPart    = 'P'
	pfxDataRef = 'D'
	pfxTagIdx  = 'G'
	pfxCurIdx  = 'E'
	pfxDMIdx   = 'M'
	pfxNcIdx   = 'O'
	pfxUpIdx   = 'I'
	pfxLive    = 'A'
	pfxSchema  = 'S'
)

const orderLen = 16

// order is the sortable binary form of a version ID.
type order [orderLen]byte

func (o order) inverted() []byte {
	b := make([]byte, orderLen)
	for i := range o {
		b[i] = ^o[i]
	}
	return b
}

func orderFromInverted(b []byte) order {
	var o order
	for i := range o {
		o[i] = ^b[i]
	}
	return o
}

func (o order) cmp(p order) int { return bytes.Compare(o[:], p[:]) }

func mkKey(pfx byte, parts ...string) []byte {
	n := 1
	for _, p := range parts {
		n += len(p) + 1
	}
	k := make([]byte, 0, n+orderLen)
	k = append(k, pfx)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

func bucketKey(b string) []byte          { return mkKey(pfxBucket, b) }
func bucketsPrefix() []byte              { return []byte{pfxBucket} }
func configKey(b, kind string) []byte    { return mkKey(pfxConfig, b, kind) }
func configPrefix(b string) []byte       { return mkKey(pfxConfig, b, "") }
func latestKey(b, key string) []byte     { return mkKey(pfxLatest, b, key) }
func latestPrefix(b string) []byte       { return mkKey(pfxLatest, b, "") }
func liveKey(b, key string) []byte       { return mkKey(pfxLive, b, key) }
func livePrefix(b string) []byte         { return mkKey(pfxLive, b, "") }
func nullKey(b, key string) []byte       { return mkKey(pfxNull, b, key) }
func fenceKey(b, key string) []byte      { return mkKey(pfxFence, b, key) }
func fencePrefix(b string) []byte        { return mkKey(pfxFence, b, "") }
func versionPrefix(b, key string) []byte { return mkKey(pfxVersion, b, key, "") }
func versionBucketPrefix(b string) []byte {
	return mkKey(pfxVersion, b, "")
}

func versionKey(b, key string, o order) []byte {
	return append(versionPrefix(b, key), o.inverted()...)
}

func tagsKey(b, key string, o order) []byte {
	return append(mkKey(pfxTags, b, key, ""), o.inverted()...)
}

func uploadKey(b, key, uploadID string) []byte { return mkKey(pfxUpload, b, key, uploadID) }
func uploadBucketPrefix(b string) []byte       { return mkKey(pfxUpload, b, "") }

func partPrefix(b, uploadID string) []byte { return mkKey(pfxPart, b, uploadID, "") }

func partKey(b, uploadID string, n int) []byte {
	return binary.BigEndian.AppendUint32(partPrefix(b, uploadID), uint32(n))
}

func dataRefKey(fileID string) []byte { return mkKey(pfxDataRef, fileID) }
func dataRefPrefix() []byte           { return []byte{pfxDataRef} }

// escTag makes a tag key or value free of 0x00 (and unambiguous).
func escTag(s string) string {
	if !strings.ContainsAny(s, "\x00\x01") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 0:
			b.WriteString("\x01\x01")
		case 1:
			b.WriteString("\x01\x02")
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// tagIdxPrefix is the 'G' prefix of the keys carrying tag k=v in bucket.
func tagIdxPrefix(b, k, v string) []byte { return mkKey(pfxTagIdx, b, escTag(k), escTag(v), "") }

// timeBytes encodes t so that byte order is time order.
func timeBytes(t int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t)^(1<<63)) }

func timeFromBytes(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// dueKey is an 'E', 'M', 'O' or 'I' key: bucket, time, object key and an
// optional suffix (order or upload ID) after a 0x00.
func dueKey(pfx byte, b string, t int64, key string, suffix []byte) []byte {
	k := append(mkKey(pfx, b, ""), timeBytes(t)...)
	k = append(k, key...)
	if suffix != nil {
		k = append(append(k, 0), suffix...)
	}
	return k
}

func duePrefix(pfx byte, b string) []byte { return mkKey(pfx, b, "") }

// objectKeyAfter returns the object key encoded in k after the given
// bucket-level prefix (for 'L' keys the whole rest).
func objectKeyAfter(k, bucketPfx []byte) string { return string(k[len(bucketPfx):]) }

// parseVersionKey splits a 'V' key below bucketPfx into object key and order.
func parseVersionKey(k, bucketPfx []byte) (string, order, error) {
	rest := k[len(bucketPfx):]
	if len(rest) < orderLen+1 || rest[len(rest)-orderLen-1] != 0 {
		return "", order{}, fmt.Errorf("malformed version key %q", k)
	}
	key := string(rest[:len(rest)-orderLen-1])
	return key, orderFromInverted(rest[len(rest)-orderLen:]), nil
}

// parseUploadKey splits a 'U' key below bucketPfx into object key and upload ID.
func parseUploadKey(k, bucketPfx []byte) (string, string, error) {
	rest := k[len(bucketPfx):]
	i := bytes.LastIndexByte(rest, 0)
	if i < 0 {
		return "", "", fmt.Errorf("malformed upload key %q", k)
	}
	return string(rest[:i]), string(rest[i+1:]), nil
}

// prefixEnd returns the smallest key greater than every key starting with p,
// or nil if there is none (p is all 0xFF).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
