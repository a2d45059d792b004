package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// credentials are the S3 access key pair of a node.
type credentials struct {
	AccessKey, SecretKey string
	Generated            bool // created on this start; print it
	FromFile             string
}

// loadCredentials takes the key pair from BUCKETDB_ACCESS_KEY /
// BUCKETDB_SECRET_KEY; without them it reads DIR/credentials, creating it with
// a fresh random pair on first start. There is never a well-known default.
func loadCredentials(dataDir string) (credentials, error) {
	ak, sk := os.Getenv("BUCKETDB_ACCESS_KEY"), os.Getenv("BUCKETDB_SECRET_KEY")
	switch {
	case ak != "" && sk != "":
		return credentials{AccessKey: ak, SecretKey: sk}, nil
	case ak != "" || sk != "":
		return credentials{}, errors.New("set both BUCKETDB_ACCESS_KEY and BUCKETDB_SECRET_KEY, or neither")
	}
	path := filepath.Join(dataDir, "credentials")
	b, err := os.ReadFile(path)
	if err == nil {
		c, perr := parseCredentials(string(b))
		if perr != nil {
			return credentials{}, fmt.Errorf("%s: %w", path, perr)
		}
		c.FromFile = path
		return c, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return credentials{}, err
	}
	c := credentials{AccessKey: "BDB" + strings.ToUpper(randomHex(8)), SecretKey: randomSecret(), Generated: true, FromFile: path}
	doc := fmt.Sprintf("BUCKETDB_ACCESS_KEY=%s\nBUCKETDB_SECRET_KEY=%s\n", c.AccessKey, c.SecretKey)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		return credentials{}, fmt.Errorf("write %s: %w", path, err)
	}
	return c, nil
}

func parseCredentials(doc string) (credentials, error) {
	var c credentials
	for _, line := range strings.Split(doc, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch k {
		case "BUCKETDB_ACCESS_KEY":
			c.AccessKey = v
		case "BUCKETDB_SECRET_KEY":
			c.SecretKey = v
		}
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return c, errors.New("missing BUCKETDB_ACCESS_KEY or BUCKETDB_SECRET_KEY line")
	}
	return c, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

func randomSecret() string {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
