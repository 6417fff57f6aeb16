package server

// The flags of a node in a cluster behind HAProxy (docs/cluster.md): its
// nameplate prefix, its share of the guessing budgets, and HAProxy's runtime
// API, where it forgets the rooms it no longer holds.

import (
	"errors"
	"fmt"

	"sotto/internal/haproxy"
	"sotto/room"
)

// checkCluster turns a cluster flag that would misroute codes, leave a
// budget undivided or send forgets nowhere into an error at start.
func (c Config) checkCluster() error {
	if err := room.ValidNodePrefix(c.nodePrefix); err != nil {
		return fmt.Errorf("--node-prefix: %w", err)
	}
	if c.clusterSize < 1 {
		return errors.New("--cluster-size must be at least 1")
	}
	if err := haproxy.ValidTable(c.haproxyTable); err != nil {
		return fmt.Errorf("--haproxy-table: %w", err)
	}
	if c.haproxyRuntime == "" {
		return nil
	}
	if _, _, err := haproxy.ParseAddr(c.haproxyRuntime); err != nil {
		return fmt.Errorf("--haproxy-runtime: %w", err)
	}
	// A node that tells HAProxy to forget rooms is one of a cluster, and a
	// node of a cluster needs its prefix: without one its codes would not
	// route, and it would take WebSockets naming no room.
	if c.nodePrefix == "" {
		return errors.New("--haproxy-runtime: a node of a cluster needs --node-prefix too")
	}
	return nil
}

// clustered reports whether this node is one of a cluster: only then does
// it refuse WebSockets whose URL names no room and no code.
func (c Config) clustered() bool { return c.nodePrefix != "" }
