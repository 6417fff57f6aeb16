package sfu

import (
	"net"
	"syscall"
)

// setReadBuffer asks for size bytes of receive buffer, forcing it past
// net.core.rmem_max when the process may (root, CAP_NET_ADMIN), and returns
// what the kernel granted as getsockopt reports it (Linux doubles the
// request for its bookkeeping; 0 if it cannot tell).
func setReadBuffer(c *net.UDPConn, size int) int {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	got := 0
	_ = raw.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}
		got, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	return got
}
