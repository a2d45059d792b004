package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Node-to-node requests carry
//
//	X-Bucketdb-Auth: v1 <unix seconds> <hex HMAC-SHA256(secret, method\npath\nquery\nseconds)>
//
// and are refused outside a window of authWindow around the receiver's
// clock (wall clock, not the HLC).
const (
	authHeader = "X-Bucketdb-Auth"
	authWindow = 15 * time.Minute
)

func authMAC(secret []byte, method, path, query string, ts int64) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%s\n%s\n%s\n%d", method, path, query, ts)
	return hex.EncodeToString(m.Sum(nil))
}

// sign adds the authentication header to r.
func sign(r *http.Request, secret []byte, now time.Time) {
	ts := now.Unix()
	r.Header.Set(authHeader, fmt.Sprintf("v1 %d %s", ts, authMAC(secret, r.Method, r.URL.Path, r.URL.RawQuery, ts)))
}

// verify checks r's authentication header.
func verify(r *http.Request, secret []byte, now time.Time) error {
	f := strings.Fields(r.Header.Get(authHeader))
	if len(f) != 3 || f[0] != "v1" {
		return fmt.Errorf("missing or malformed %s", authHeader)
	}
	ts, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return fmt.Errorf("malformed timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > authWindow || d < -authWindow {
		return fmt.Errorf("timestamp outside the window")
	}
	want := authMAC(secret, r.Method, r.URL.Path, r.URL.RawQuery, ts)
	if !hmac.Equal([]byte(want), []byte(f[2])) {
		return fmt.Errorf("bad signature")
	}
	return nil
}
