package cluster

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/bucketdb/bucketdb/store"
)

// A streamed body travels between nodes as exactly Size data bytes followed
// by a fixed-size trailer frame holding the checksums that were only known
// once the client's body reached EOF (aws-chunked trailer checksums): a
// 4-byte big-endian length, that much JSON, zero padding.
const frameLen = 2048

func trailerFrame(m map[string]string) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > frameLen-4 {
		return nil, fmt.Errorf("%w: trailer checksums too large", store.ErrInvalidArgument)
	}
	f := make([]byte, frameLen)
	binary.BigEndian.PutUint32(f, uint32(len(b)))
	copy(f[4:], b)
	return f, nil
}

func readTrailer(r io.Reader) (map[string]string, error) {
	f := make([]byte, frameLen)
	if _, err := io.ReadFull(r, f); err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, err // the body's own verification failure, as it came
		}
		return nil, fmt.Errorf("%w: missing trailer frame: %v", store.ErrIncompleteBody, err)
	}
	n := binary.BigEndian.Uint32(f)
	if n > frameLen-4 {
		return nil, fmt.Errorf("%w: bad trailer frame", store.ErrInvalidArgument)
	}
	var m map[string]string
	if n > 0 {
		if err := json.Unmarshal(f[4:4+n], &m); err != nil {
			return nil, fmt.Errorf("%w: bad trailer frame: %v", store.ErrInvalidArgument, err)
		}
	}
	return m, nil
}

// framed appends a trailer frame to size bytes of r.
func framed(r io.Reader, m map[string]string) (io.Reader, error) {
	f, err := trailerFrame(m)
	if err != nil {
		return nil, err
	}
	return io.MultiReader(r, &onceReader{b: f}), nil
}

type onceReader struct{ b []byte }

func (o *onceReader) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, o.b)
	o.b = o.b[n:]
	return n, nil
}

// unframe splits a framed body into its data and a function returning the
// trailer checksums. The data reader reads the trailer frame as soon as the
// data is exhausted and reports a failure there (a client body that failed
// its own verification at its end) instead of EOF, so the store refuses the
// write rather than committing it without its checksums.
func unframe(body io.Reader, size int64) (io.Reader, func() map[string]string) {
	d := &framedData{r: body, left: size}
	return d, func() map[string]string { return d.trailer }
}

type framedData struct {
	r       io.Reader
	left    int64
	done    bool
	trailer map[string]string
	err     error
}

func (d *framedData) Read(p []byte) (int, error) {
	if d.left > 0 {
		if int64(len(p)) > d.left {
			p = p[:d.left]
		}
		n, err := d.r.Read(p)
		d.left -= int64(n)
		if err == io.EOF && d.left > 0 {
			err = io.ErrUnexpectedEOF
		}
		if d.left > 0 || err != nil && err != io.EOF {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
	if !d.done {
		d.done = true
		d.trailer, d.err = readTrailer(d.r)
	}
	if d.err != nil {
		return 0, d.err
	}
	return 0, io.EOF
}

// expectEOF reads r to its end and refuses a body longer than declared.
func expectEOF(r io.Reader) error {
	var b [1]byte
	for range 100 {
		n, err := r.Read(b[:])
		if n > 0 {
			return fmt.Errorf("%w: body longer than its declared size", store.ErrInvalidArgument)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return errors.New("body reader makes no progress")
}

func mergeChecksums(base, extra map[string]string) map[string]string {
	if len(extra) == 0 {
		return base
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, extra)
	return out
}

// wirePut is store.PutOptions without its function field.
type wirePut struct {
	VersionID  string           `json:",omitempty"`
	Null       bool             `json:",omitempty"`
	Meta       store.ObjectMeta `json:",omitzero"`
	ContentMD5 []byte           `json:",omitempty"`
	Cond       store.Conditions `json:",omitzero"`
	ModTime    time.Time        `json:",omitzero"`
	ETag       string           `json:",omitempty"`
	Parts      []store.PartInfo `json:",omitempty"`
	TagsStamp  uint64           `json:",omitempty"`
}

func toWirePut(o store.PutOptions) wirePut {
	return wirePut{VersionID: o.VersionID, Null: o.Null, Meta: o.Meta, ContentMD5: o.ContentMD5,
		Cond: o.Cond, ModTime: o.ModTime, ETag: o.ETag, Parts: o.Parts, TagsStamp: o.TagsStamp}
}

func (w wirePut) options() store.PutOptions {
	return store.PutOptions{VersionID: w.VersionID, Null: w.Null, Meta: w.Meta, ContentMD5: w.ContentMD5,
		Cond: w.Cond, ModTime: w.ModTime, ETag: w.ETag, Parts: w.Parts, TagsStamp: w.TagsStamp}
}

// wirePart is store.PartOptions without its function field.
type wirePart struct {
	ContentMD5 []byte            `json:",omitempty"`
	Checksums  map[string]string `json:",omitempty"`
}
