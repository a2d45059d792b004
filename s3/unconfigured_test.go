package s3

import (
	"bytes"
	"testing"
)

// TestUnconfiguredGets: configurations BucketDB does not implement read as
// never set, the way S3 answers for such a bucket; setting one stays
// NotImplemented.
func TestUnconfiguredGets(t *testing.T) {
	e := newTestServer(t)
	e.bucket("unc")
	for _, tc := range []struct {
		sub, code, want string
	}{
		{"encryption", "ServerSideEncryptionConfigurationNotFoundError", ""},
		{"object-lock", "ObjectLockConfigurationNotFoundError", ""},
		{"website", "NoSuchWebsiteConfiguration", ""},
		{"replication", "ReplicationConfigurationNotFoundError", ""},
		{"ownershipControls", "", "<ObjectOwnership>BucketOwnerEnforced</ObjectOwnership>"},
		{"publicAccessBlock", "", "<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>false</BlockPublicPolicy><RestrictPublicBuckets>false</RestrictPublicBuckets>"},
		{"logging", "", "<BucketLoggingStatus xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></BucketLoggingStatus>"},
		{"notification", "", "<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></NotificationConfiguration>"},
		{"accelerate", "", "<AccelerateConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></AccelerateConfiguration>"},
		{"requestPayment", "", "<Payer>BucketOwner</Payer>"},
	} {
		rr := e.do("GET", "/unc?"+tc.sub, nil)
		if tc.code != "" {
			wantError(t, rr, 404, tc.code)
		} else if rr.status != 200 || !bytes.Contains(rr.body, []byte(tc.want)) {
			t.Errorf("GET ?%s: %d %s", tc.sub, rr.status, rr.body)
		}
		wantError(t, e.do("GET", "/nobucket?"+tc.sub, nil), 404, "NoSuchBucket")
		wantError(t, e.do("PUT", "/unc?"+tc.sub, []byte("<x/>")), 501, "NotImplemented")
	}
	// Deleting one a bucket cannot have succeeds and changes nothing.
	for _, sub := range []string{"encryption", "website", "replication"} {
		if rr := e.do("DELETE", "/unc?"+sub, nil); rr.status != 204 {
			t.Errorf("DELETE ?%s: %d %s", sub, rr.status, rr.body)
		}
		wantError(t, e.do("DELETE", "/nobucket?"+sub, nil), 404, "NoSuchBucket")
	}
	if rr := e.do("HEAD", "/unc", nil); rr.status != 200 {
		t.Fatalf("bucket after the deletes: %d", rr.status)
	}
}
