package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// The Badger key layout, declared here and nowhere else.
//
//	prefix  key                                         value
//	------  ------------------------------------------  ------------------------------------
//	'B'     bucket                                      bucketRecord (JSON)
//	'C'     bucket 0x00 kind                            opaque configuration document
//	'V'     bucket 0x00 objkey 0x00 ^order[16]          versionRecord (header + inline data)
//	'L'     bucket 0x00 objkey                          latestRecord: summary of newest version
//	'N'     bucket 0x00 objkey                          order[16] of the null version
//	'T'     bucket 0x00 objkey 0x00 ^order[16]          tags of that version (JSON)
//	'F'     bucket 0x00 objkey                          highest fencing token issued (uint64 BE)
//	'U'     bucket 0x00 objkey 0x00 uploadID            uploadRecord (JSON)
//	'P'     bucket 0x00 uploadID 0x00 partnum(uint32BE) partRecord (JSON)
//	'D'     fileID                                      empty: the data file is referenced
//
// order is the 16 raw bytes of a version ID (8 bytes hybrid-logical-clock
// time, big-endian, then 8 random bytes); version records store it bit-inverted
// so that within one object key the newest version sorts first. Object keys
// never contain 0x00 (refused at the API), so the byte order of encoded keys is
// the lexicographic order of (bucket, object key), which listings rely on.
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
