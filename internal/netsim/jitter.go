package netsim

import (
	"math/rand/v2"
	"time"
)

// latency draws one packet's one-way delay under imp: Delay moved by a
// deviation from JitterDist, never below zero nor above MaxLatency.
func latency(imp *Impairment, rng *rand.Rand) time.Duration {
	d := float64(imp.Delay)
	if imp.Jitter > 0 {
		switch imp.JitterDist {
		case Normal:
			d += rng.NormFloat64() * float64(imp.Jitter)
		default:
			d += (2*rng.Float64() - 1) * float64(imp.Jitter)
		}
	}
	return time.Duration(min(max(d, 0), float64(MaxLatency)))
}
