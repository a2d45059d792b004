package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// Clock is a hybrid logical clock. Now returns physical milliseconds << 16
// plus a logical counter, strictly increasing even if the wall clock steps
// back; Observe moves it past timestamps seen from other nodes. The zero
// value is ready to use. Safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	last   uint64
	offset time.Duration
	wall   func() time.Time // nil: time.Now
}

// NewClock returns a clock reading the system wall clock.
func NewClock() *Clock { return &Clock{} }

// SetOffset shifts the clock's wall time by d (tests simulate skew with it).
func (c *Clock) SetOffset(d time.Duration) {
	c.mu.Lock()
	c.offset = d
	c.mu.Unlock()
}

// Now returns a timestamp greater than every one returned or observed before.
func (c *Clock) Now() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := time.Now
	if c.wall != nil {
		wall = c.wall
	}
	phys := uint64(wall().Add(c.offset).UnixMilli()) << 16
	if phys > c.last {
		c.last = phys
	} else {
		c.last++
	}
	return c.last
}

// Observe advances the clock past a remote timestamp.
func (c *Clock) Observe(remote uint64) {
	c.mu.Lock()
	if remote > c.last {
		c.last = remote
	}
	c.mu.Unlock()
}

// HLCTime converts a hybrid-logical-clock timestamp to wall time (ms precision).
func HLCTime(hlc uint64) time.Time { return time.UnixMilli(int64(hlc >> 16)).UTC() }

// VersionIDLen is the length of every ID NewVersionID returns.
const VersionIDLen = 32 // hex of the 16-byte order

// NewVersionID returns a 32-character lower-case hex ID: 8 bytes of hlc
// (big-endian) then 8 random bytes. IDs sort lexicographically by hlc and are
// unique across nodes. Upload IDs use the same form.
func NewVersionID(hlc uint64) string {
	var o order
	binary.BigEndian.PutUint64(o[:8], hlc)
	if _, err := rand.Read(o[8:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(o[:])
}

// VersionIDTime returns the time encoded in a version ID minted by
// NewVersionID; false if id is not such an ID ("null" included).
func VersionIDTime(id string) (time.Time, bool) {
	o, ok := parseVersionID(id)
	if !ok {
		return time.Time{}, false
	}
	return HLCTime(o.hlc()), true
}

func (o order) hlc() uint64 { return binary.BigEndian.Uint64(o[:8]) }

func (o order) String() string { return hex.EncodeToString(o[:]) }

// parseVersionID decodes an ID minted by NewVersionID (lower-case hex only, so
// each order has exactly one spelling).
func parseVersionID(id string) (order, bool) {
	var o order
	if len(id) != VersionIDLen {
		return o, false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return o, false
		}
	}
	if _, err := hex.Decode(o[:], []byte(id)); err != nil {
		return o, false
	}
	return o, true
}

// newID mints a version or upload ID from the store's clock.
func (s *Store) newID() (string, order) {
	id := NewVersionID(s.clock.Now())
	o, _ := parseVersionID(id)
	return id, o
}

// pinID parses a caller-supplied version ID and advances the clock past it.
func (s *Store) pinID(id string) (order, error) {
	o, ok := parseVersionID(id)
	if !ok {
		return o, fmt.Errorf("%w: malformed version ID %q", ErrInvalidArgument, id)
	}
	s.clock.Observe(o.hlc())
	return o, nil
}
