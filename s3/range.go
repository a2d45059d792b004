package s3

import (
	"strconv"
	"strings"

	"github.com/bucketdb/bucketdb/store"
)

// byteRange is a parsed single "bytes=" range before it meets an object
// size: First..Last inclusive, Last < 0 for "First-", or a suffix of
// Suffix bytes ("-N").
type byteRange struct {
	First, Last int64
	Suffix      int64
	IsSuffix    bool
}

// parseRange parses a Range header as S3 does. ok is false when the header
// is absent, syntactically invalid or asks for several ranges: S3 then
// ignores it and returns the whole object.
func parseRange(h string) (br byteRange, ok bool) {
	h = strings.TrimSpace(h)
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return byteRange{}, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return byteRange{}, false
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		n, err := parseDigits(last)
		if err != nil {
			return byteRange{}, false
		}
		return byteRange{Suffix: n, IsSuffix: true}, true
	}
	f, err := parseDigits(first)
	if err != nil {
		return byteRange{}, false
	}
	if last == "" {
		return byteRange{First: f, Last: -1}, true
	}
	l, err := parseDigits(last)
	if err != nil || l < f {
		return byteRange{}, false
	}
	return byteRange{First: f, Last: l}, true
}

// parseDigits accepts only decimal digits (no sign), as RFC 9110 does.
func parseDigits(s string) (int64, error) {
	if s == "" {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// resolve fits the range to an object of the given size. A range that
// selects no byte is ErrInvalidRange.
func (br byteRange) resolve(size int64) (store.Range, error) {
	if br.IsSuffix {
		if br.Suffix == 0 || size == 0 {
			return store.Range{}, ErrInvalidRange
		}
		n := min(br.Suffix, size)
		return store.Range{Start: size - n, Length: n}, nil
	}
	if br.First >= size {
		return store.Range{}, ErrInvalidRange
	}
	last := br.Last
	if last < 0 || last >= size {
		last = size - 1
	}
	return store.Range{Start: br.First, Length: last - br.First + 1}, nil
}

// contentRange renders the Content-Range of rg within size.
func contentRange(rg store.Range, size int64) string {
	return "bytes " + strconv.FormatInt(rg.Start, 10) + "-" +
		strconv.FormatInt(rg.Start+rg.Length-1, 10) + "/" + strconv.FormatInt(size, 10)
}
