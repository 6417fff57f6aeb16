package signal

// A node's share of the guessing budgets in a cluster (Config.ClusterSize).
// Each node counts only the guesses it answers, and an attacker can spread
// its guesses over every node (a room id or nameplate picks the node, and it
// may pick any), so N nodes with one node's budgets would give it N times
// the odds docs/security.md publishes. Each node therefore takes 1/N of
// every budget that bounds guessing: the failed-join budget (server-wide
// and per address), the knock pace per address and the server-wide budget
// of wrong codes. Other limits (connections, messages, blobs) bound what
// one node spends, not what a guesser learns: they stay whole.

import "time"

// knockLimits are a knock table's budgets (knock.go): KnockAddrBurst and
// KnockAddrEvery per address, KnockFailureRate and KnockFailureBurst over
// the node.
type knockLimits struct {
	addrBurst    int
	addrEvery    time.Duration
	failureRate  float64
	failureBurst int
}

// nodeShare divides a budget's burst over n nodes, rounding down, so that
// the n shares never add up to more than the whole, but never to zero: a
// node with no burst at all would refuse every honest request. (Only when n
// exceeds the burst do the shares add up to more: n, one each.)
func nodeShare(burst, n int) int { return max(1, burst/n) }

// divideBudgets takes this node's share of the guessing budgets, once their
// defaults are set, and returns the knock table's. Explicit values (a
// --knocks-per-ip) are the cluster's and are divided too.
func (c *Config) divideBudgets() knockLimits {
	n := max(1, c.ClusterSize)
	c.FailedJoinRate /= float64(n)
	c.FailedJoinBurst = nodeShare(c.FailedJoinBurst, n)
	c.FailedJoinAddrRate /= float64(n)
	c.FailedJoinAddrBurst = nodeShare(c.FailedJoinAddrBurst, n)
	return knockLimits{
		addrBurst:    nodeShare(c.KnockAddrBurst, n),
		addrEvery:    KnockAddrEvery * time.Duration(n),
		failureRate:  KnockFailureRate / float64(n),
		failureBurst: nodeShare(KnockFailureBurst, n),
	}
}
