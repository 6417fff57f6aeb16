package sfu

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
)

// floodSources is how many source addresses the flood comes from: 127.0.0.2
// to 127.0.0.21, as in the attack test (issue 12 #10).
const floodSources = 20

// The flood comes from a process of its own, this test binary run again
// with these variables set: an attacker's CPU is not the server's, and
// flood goroutines in the server's process would compete with its reader for
// the Go scheduler's threads, not just for the machine's cores.
const (
	floodTargetEnv   = "SOTTO_SFU_FLOOD_TARGET"   // address to flood
	floodDurationEnv = "SOTTO_SFU_FLOOD_DURATION" // for how long
)

// floodProcess is the flood process: it sends STUN binding requests with
// random ufrags (each with MESSAGE-INTEGRITY and FINGERPRINT, like a real
// check) from floodSources loopback addresses to the target, one sender per
// CPU, as fast as it can, then prints how many it sent.
func floodProcess(target, duration string) error {
	dst, err := netip.ParseAddrPort(target)
	if err != nil {
		return err
	}
	dur, err := time.ParseDuration(duration)
	if err != nil {
		return err
	}
	conns := make([]*net.UDPConn, floodSources)
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))})
		if err != nil {
			return err
		}
		defer c.Close()
		conns[i] = c
	}
	// 1,024 different requests: every one names a ufrag nobody issued.
	pkts := make([][]byte, 1024)
	for i := range pkts {
		var u [12]byte
		_, _ = rand.Read(u[:])
		m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(fmt.Sprintf("%x:%x", u[:6], u[6:])),
			stun.NewShortTermIntegrity("not-the-password-of-anyone"), stun.Fingerprint)
		if err != nil {
			return err
		}
		pkts[i] = m.Raw
	}
	fmt.Println("flooding")
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	var count atomic.Uint64
	for g := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := uint64(0)
			defer func() { count.Add(n) }()
			for i := g; ; i++ {
				if i%256 == 0 && ctx.Err() != nil {
					return
				}
				if _, err := conns[i%len(conns)].WriteToUDPAddrPort(pkts[i%len(pkts)], dst); err == nil {
					n++
				}
			}
		}()
	}
	wg.Wait()
	fmt.Println(count.Load())
	return nil
}
