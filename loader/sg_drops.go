package loader

import "fmt"

// SGDrops returns the wire packets eni's security groups dropped, by
// SGDrop* code (codes with no drops left out).
func (s *SG) SGDrops(eni string) (map[uint8]uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.lookup(eni)
	if err != nil {
		return nil, err
	}
	var st sgSgStats
	if err := s.objs.SgStats.Lookup(idx, &st); err != nil {
		return nil, fmt.Errorf("read sg_stats: %w", err)
	}
	out := map[uint8]uint64{}
	for code, n := range st.DropsBy {
		if n > 0 {
			out[uint8(code)] = n
		}
	}
	return out, nil
}
