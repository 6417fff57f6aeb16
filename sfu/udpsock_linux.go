package sfu

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setReadBuffer asks for size bytes of receive buffer, forcing it past
// net.core.rmem_max when the process may (root, CAP_NET_ADMIN), and returns
// what the kernel granted as getsockopt reports it (Linux doubles the
// request for its bookkeeping and reports the doubled value; 0 if it cannot
// tell).
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

// udpReadBatch is how many packets one recvmmsg(2) call may take off the
// socket. Under a flood the reader's cost is the system call per packet
// (~3 µs each on the 2-core test machine, 95% of its CPU once junk is
// dropped without decoding); 16 a call divides that by up to 16, and the
// buffers cost 16 × udpReadSize = 128 KiB per socket.
const udpReadBatch = 16

// udpReadSize is each batch buffer: pion's own read buffer (its receiveMTU),
// so no packet is cut shorter than pion would have read it.
const udpReadSize = 8192

// batchReader reads a UDP socket with recvmmsg and hands the packets out one
// at a time. Only one goroutine may read (pion's mux has one reader per
// socket). Reading allocates nothing.
type batchReader struct {
	raw    syscall.RawConn
	recvFn func(fd uintptr) bool // r.recv, bound once so each read does not allocate

	hdrs  [udpReadBatch]unix.Mmsghdr
	iovs  [udpReadBatch]unix.Iovec
	names [udpReadBatch]unix.RawSockaddrInet6 // room for either family
	bufs  [udpReadBatch][udpReadSize]byte

	n, next int   // packets in the batch, and the next to hand out
	errno   error // recvmmsg's error, if it failed
}

func newBatchReader(c *net.UDPConn) *batchReader {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &batchReader{raw: raw}
	r.recvFn = r.recv
	for i := range r.hdrs {
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(udpReadSize)
		r.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		r.hdrs[i].Hdr.Iov = &r.iovs[i]
		r.hdrs[i].Hdr.SetIovlen(1)
	}
	return r
}

// read returns the next packet, reading a new batch when the last is spent.
func (r *batchReader) read(b []byte) (int, netip.AddrPort, error) {
	for r.next >= r.n {
		r.n, r.next = 0, 0
		for i := range r.hdrs {
			r.hdrs[i].Hdr.Namelen = uint32(unsafe.Sizeof(r.names[i]))
		}
		if err := r.raw.Read(r.recvFn); err != nil {
			return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: err}
		}
		if r.errno != nil {
			return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: os.NewSyscallError("recvmmsg", r.errno)}
		}
	}
	i := r.next
	r.next++
	n := copy(b, r.bufs[i][:r.hdrs[i].Len])
	return n, sockaddrAddrPort(&r.names[i]), nil
}

// recv is one recvmmsg call; false tells the runtime to wait until the
// socket is readable and call again.
func (r *batchReader) recv(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), udpReadBatch,
			unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			r.n, r.errno = int(n), nil
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			r.n, r.errno = 0, e
			return true
		}
	}
}

// sockaddrAddrPort reads the source address recvmmsg wrote.
func sockaddrAddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		ip := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			// A link-local peer; the zone by index, which Go's writes accept.
			ip = ip.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
		}
		return netip.AddrPortFrom(ip, uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}
