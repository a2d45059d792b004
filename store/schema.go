package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Format versions of the records in Badger, kept in the 'S' "schema"
// record. A store without the record was written before it existed
// (version 1) or is new.
//
//	1: before the live-key index 'A'
//	2: 'A' is maintained by every commit that changes a latest version
const schemaVersion = 2

func schemaKey() []byte { return mkKey(pfxSchema, "schema") }

// readSchema returns the stored format version (1 when there is none).
func readSchema(db *badger.DB) (uint32, error) {
	var ver uint32 = 1
	err := db.View(func(txn *badger.Txn) error {
		v, ok, err := getValue(txn, schemaKey())
		if err != nil || !ok {
			return err
		}
		if len(v) != 4 {
			return fmt.Errorf("schema record: bad length %d", len(v))
		}
		ver = binary.BigEndian.Uint32(v)
		return nil
	})
	return ver, err
}

// upgrade brings a store opened by Open to schemaVersion before it serves
// anything: it rebuilds the live-key index from the 'L' records when the
// store predates it, then records the version. A crash before the version
// is recorded makes the next Open rebuild again from scratch. A store of a
// newer version is refused.
func (s *Store) upgrade() error {
	ver, err := readSchema(s.db)
	if err != nil {
		return err
	}
	if ver > schemaVersion {
		return fmt.Errorf("metadata format %d is newer than this build's %d", ver, schemaVersion)
	}
	if ver == schemaVersion {
		return nil
	}
	n, err := s.rebuildLive()
	if err != nil {
		return fmt.Errorf("rebuild live-key index: %w", err)
	}
	if n > 0 {
		s.log.Info("rebuilt the live-key index", "keys", n, "from_schema", ver)
	}
	return s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(schemaKey(), binary.BigEndian.AppendUint32(nil, schemaVersion))
	})
}

// rebuildLive drops every 'A' record and writes one for each 'L' record
// that is not a delete marker. It runs alone (from Open), so it needs no
// transaction; it returns the number of live keys.
func (s *Store) rebuildLive() (int, error) {
	var stale bool
	if err := s.db.View(func(txn *badger.Txn) error {
		stale = hasPrefix(txn, []byte{pfxLive})
		return nil
	}); err != nil {
		return 0, err
	}
	if stale { // left by a rebuild that did not finish
		if err := s.db.DropPrefix([]byte{pfxLive}); err != nil {
			return 0, err
		}
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pfxLatest}, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			var l latestRecord
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("latest record %q: %w", it.Item().Key(), err)
			}
			if l.DeleteMarker {
				continue
			}
			k := it.Item().KeyCopy(nil)
			k[0] = pfxLive // same layout after the prefix byte
			if err := wb.Set(k, v); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, wb.Flush()
}
