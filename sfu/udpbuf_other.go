//go:build !linux

package sfu

import "net"

// setReadBuffer asks for size bytes of receive buffer; the system may grant
// less. It returns 0: what was granted is not known portably.
func setReadBuffer(c *net.UDPConn, size int) int {
	_ = c.SetReadBuffer(size)
	return 0
}
