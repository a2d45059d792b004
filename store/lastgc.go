package store

// LastGC returns the result of the last RunGC (zero if none ran yet),
// without the scan that Stats makes.
func (s *Store) LastGC() GCResult {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	return s.lastGC
}
