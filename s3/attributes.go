package s3

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/bucketdb/bucketdb/store"
)

// GetObjectAttributes: an object's ETag, checksum, parts, storage class and
// size in one document, the attributes named by x-amz-object-attributes.

type objectAttributes struct {
	XMLName      xml.Name           `xml:"http://s3.amazonaws.com/doc/2006-03-01/ GetObjectAttributesResponse"`
	ETag         string             `xml:"ETag,omitempty"`
	Checksum     *attributeChecksum `xml:"Checksum,omitempty"`
	ObjectParts  *attributeParts    `xml:"ObjectParts,omitempty"`
	StorageClass string             `xml:"StorageClass,omitempty"`
	ObjectSize   *int64             `xml:"ObjectSize,omitempty"`
}

type attributeChecksum struct {
	CRC32     string `xml:"ChecksumCRC32,omitempty"`
	CRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	CRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	SHA1      string `xml:"ChecksumSHA1,omitempty"`
	SHA256    string `xml:"ChecksumSHA256,omitempty"`
	Type      string `xml:"ChecksumType,omitempty"`
}

type attributeParts struct {
	IsTruncated          bool            `xml:"IsTruncated"`
	MaxParts             int             `xml:"MaxParts"`
	NextPartNumberMarker int             `xml:"NextPartNumberMarker"`
	PartNumberMarker     int             `xml:"PartNumberMarker"`
	Parts                []attributePart `xml:"Part"`
	PartsCount           int             `xml:"PartsCount"`
}

type attributePart struct {
	CRC32      string `xml:"ChecksumCRC32,omitempty"`
	CRC32C     string `xml:"ChecksumCRC32C,omitempty"`
	CRC64NVME  string `xml:"ChecksumCRC64NVME,omitempty"`
	SHA1       string `xml:"ChecksumSHA1,omitempty"`
	SHA256     string `xml:"ChecksumSHA256,omitempty"`
	PartNumber int    `xml:"PartNumber"`
	Size       int64  `xml:"Size"`
}

func attributeSums(sums map[string]string) (crc32, crc32c, crc64, sha1, sha256 string) {
	return sums["crc32"], sums["crc32c"], sums["crc64nvme"], sums["sha1"], sums["sha256"]
}

func (s *Server) getObjectAttributes(w http.ResponseWriter, r *http.Request, c *call) error {
	want := map[string]bool{}
	for _, v := range r.Header.Values("x-amz-object-attributes") {
		for _, a := range strings.Split(v, ",") {
			switch a = strings.TrimSpace(a); a {
			case "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize":
				want[a] = true
			case "":
			default:
				return ErrInvalidArgument.WithMessage("Invalid attribute name specified: %q.", truncateString(a, 64))
			}
		}
	}
	if len(want) == 0 {
		return ErrInvalidRequest.WithMessage("The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty.")
	}
	maxParts, err := headerInt(r, "x-amz-max-parts", 1000)
	if err != nil {
		return err
	}
	marker, err := headerInt(r, "x-amz-part-number-marker", 0)
	if err != nil {
		return err
	}
	vid := r.URL.Query().Get("versionId")
	info, err := s.backend.HeadObject(r.Context(), c.bucket, c.key, store.GetOptions{VersionID: vid})
	if err != nil {
		return s.deleteMarkerError(r.Context(), w.Header(), c, vid, info, err)
	}
	h := w.Header()
	h.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	s.setVersionHeader(r.Context(), h, c.bucket, info.VersionID)

	var out objectAttributes
	if want["ETag"] {
		out.ETag = strings.Trim(info.ETag, `"`)
	}
	if want["StorageClass"] {
		out.StorageClass = "STANDARD"
	}
	if want["ObjectSize"] {
		size := info.Size
		out.ObjectSize = &size
	}
	if want["Checksum"] && len(info.Checksums) > 0 {
		var cs attributeChecksum
		cs.CRC32, cs.CRC32C, cs.CRC64NVME, cs.SHA1, cs.SHA256 = attributeSums(info.Checksums)
		cs.Type = objectChecksumType(info.Checksums)
		out.Checksum = &cs
	}
	if want["ObjectParts"] && len(info.Parts) > 0 {
		ps := &attributeParts{MaxParts: maxParts, PartNumberMarker: marker, PartsCount: len(info.Parts)}
		for _, p := range info.Parts {
			if p.Number <= marker {
				continue
			}
			if len(ps.Parts) == maxParts {
				ps.IsTruncated = true
				break
			}
			ap := attributePart{PartNumber: p.Number, Size: p.Size}
			ap.CRC32, ap.CRC32C, ap.CRC64NVME, ap.SHA1, ap.SHA256 = attributeSums(p.Checksums)
			ps.Parts = append(ps.Parts, ap)
			ps.NextPartNumberMarker = p.Number
		}
		out.ObjectParts = ps
	}
	return writeXML(w, http.StatusOK, out)
}

// headerInt reads a non-negative integer header (def when absent).
func headerInt(r *http.Request, name string, def int) (int, error) {
	v := r.Header.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, ErrInvalidArgument.WithMessage("%s must be a non-negative integer.", name)
	}
	return n, nil
}
