package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadCredentialsGeneratesOnceAndKeeps(t *testing.T) {
	t.Setenv("BUCKETDB_ACCESS_KEY", "")
	t.Setenv("BUCKETDB_SECRET_KEY", "")
	dir := t.TempDir()
	first, err := loadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Generated || len(first.SecretKey) < 32 || first.AccessKey == "" {
		t.Fatalf("first start: want a fresh strong key pair, got %+v", first)
	}
	st, err := os.Stat(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode = %v, want 0600", st.Mode().Perm())
	}
	second, err := loadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second.Generated || second.AccessKey != first.AccessKey || second.SecretKey != first.SecretKey {
		t.Fatalf("restart: want the kept pair %+v, got %+v", first, second)
	}
	other, err := loadCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if other.SecretKey == first.SecretKey {
		t.Fatal("two data directories got the same secret")
	}
}

func TestLoadCredentialsFromEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BUCKETDB_ACCESS_KEY", "AK")
	t.Setenv("BUCKETDB_SECRET_KEY", "")
	if _, err := loadCredentials(dir); err == nil {
		t.Fatal("half-set credentials accepted")
	}
	t.Setenv("BUCKETDB_SECRET_KEY", "SK")
	c, err := loadCredentials(dir)
	if err != nil || c.AccessKey != "AK" || c.SecretKey != "SK" {
		t.Fatalf("got %+v, %v", c, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "credentials")); !os.IsNotExist(err) {
		t.Fatal("env credentials must not be written to disk")
	}
}

func TestParseCredentialsRejectsIncomplete(t *testing.T) {
	if _, err := parseCredentials("BUCKETDB_ACCESS_KEY=x\n"); err == nil {
		t.Fatal("missing secret accepted")
	}
}
