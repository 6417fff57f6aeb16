package sfu

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestBatchReader: packets read in batches come out whole, in order, each
// with its own source address (IPv4 and IPv6), without allocating.
func TestBatchReader(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		ip := net.IPv4(127, 0, 0, 1)
		if network == "udp6" {
			ip = net.IPv6loopback
		}
		srv, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		setReadBuffer(srv, UDPReadBuffer) // all of them fit
		dst := srv.LocalAddr().(*net.UDPAddr).AddrPort()
		var senders []*net.UDPConn
		for range 2 {
			c, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			senders = append(senders, c)
		}
		// More than two batches, sizes from 1 byte to a full buffer.
		const count = 2*udpReadBatch + 5
		payload := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1+i*(udpReadSize-1)/(count-1)) }
		for i := range count {
			if _, err := senders[i%2].WriteToUDPAddrPort(payload(i), dst); err != nil {
				t.Fatal(err)
			}
		}
		r := newBatchReader(srv)
		buf := make([]byte, udpReadSize)
		_ = srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		for i := range count {
			n, from, err := r.read(buf)
			if err != nil {
				t.Fatalf("%s: packet %d: %v", network, i, err)
			}
			if want := senders[i%2].LocalAddr().(*net.UDPAddr).AddrPort(); from != want {
				t.Errorf("%s: packet %d from %v, want %v", network, i, from, want)
			}
			if !bytes.Equal(buf[:n], payload(i)) {
				t.Errorf("%s: packet %d: %d bytes, want %d", network, i, n, len(payload(i)))
			}
		}
		// A deadline ends a read that waits, as on a plain socket.
		_ = srv.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, _, err := r.read(buf); err == nil || !err.(net.Error).Timeout() {
			t.Errorf("%s: read past the deadline: %v", network, err)
		}
		_ = srv.SetReadDeadline(time.Time{})

		small := payload(0)
		allocs := testing.AllocsPerRun(100, func() {
			for range udpReadBatch + 1 {
				_, _ = senders[0].WriteToUDPAddrPort(small, dst)
			}
			for range udpReadBatch + 1 {
				if _, _, err := r.read(buf); err != nil {
					panic(fmt.Sprint(err))
				}
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations", network, allocs)
		}
	}
}
