package netsim

import "math/rand/v2"

// lossState is the loss model's memory between packets: whether the
// Gilbert-Elliott chain is in its Bad state. Independent loss keeps none.
type lossState struct {
	bad bool
}

// geTransitions returns the Gilbert-Elliott chain's transition
// probabilities for a mean loss rate p and mean burst length L (packets):
// q from Good to Bad and r from Bad to Good. Every packet in Bad is lost and
// none in Good, so a burst is a stay in Bad, geometric with mean 1/r, hence
// r = 1/L; the chain spends q/(q+r) of its packets in Bad, which must be p,
// hence q = p*r/(1-p) = p/(L*(1-p)). Validate keeps q at most 1.
func geTransitions(p, burstLen float64) (q, r float64) {
	r = 1 / burstLen
	q = p * r / (1 - p)
	return q, r
}

// lose draws one packet's fate under imp and reports whether it is lost.
func (s *lossState) lose(imp *Impairment, rng *rand.Rand) bool {
	if imp.Loss <= 0 {
		s.bad = false
		return false
	}
	if imp.BurstLen < 1 {
		return rng.Float64() < imp.Loss
	}
	// Move first, then the state decides this packet.
	q, r := geTransitions(imp.Loss, imp.BurstLen)
	if s.bad {
		s.bad = rng.Float64() >= r
	} else {
		s.bad = rng.Float64() < q
	}
	return s.bad
}
