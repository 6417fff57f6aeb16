package sfutest

// Clients spread over loopback addresses.
//
// The SFU paces its consent checks per client IP address (sfu/consent.go:
// a burst of 16, then 4 a second), so that one host cannot make it check a
// victim faster. A load test whose hundreds of clients all speak from
// 127.0.0.1 is one very busy host to it: past the sixteenth, joins queue at
// four a second, and 2,000 members take eight minutes to connect. Real
// members come from many addresses; so do these clients. Linux answers on
// every address of 127.0.0.0/8 without configuration, so each group of
// clients binds its sockets to its own address, by giving pion's ICE agent a
// network whose only interface is loopback with that one address.

import (
	"fmt"
	"net"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// ClientsPerAddress is how many clients share one loopback address: half the
// SFU's per-IP check burst, so a group's joins are never paced.
const ClientsPerAddress = 8

// loopbackNet is the host's network as pion sees it, with the loopback
// interface narrowed to one address.
type loopbackNet struct {
	*stdnet.Net
	lo *transport.Interface
}

// newLoopbackNet returns a network whose only interface is loopback with
// address ip (an IPv4 address in 127.0.0.0/8).
func newLoopbackNet(ip net.IP) (*loopbackNet, error) {
	if ip4 := ip.To4(); ip4 == nil || !ip4.IsLoopback() {
		return nil, fmt.Errorf("sfutest: %v is not an IPv4 loopback address", ip)
	}
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return nil, err
	}
	ifc := transport.NewInterface(*lo)
	ifc.AddAddress(&net.IPNet{IP: ip.To4(), Mask: net.CIDRMask(8, 32)})
	return &loopbackNet{Net: n, lo: ifc}, nil
}

func (n *loopbackNet) Interfaces() ([]*transport.Interface, error) {
	return []*transport.Interface{n.lo}, nil
}

func (n *loopbackNet) InterfaceByIndex(index int) (*transport.Interface, error) {
	if index != n.lo.Index {
		return nil, fmt.Errorf("sfutest: no interface %d", index)
	}
	return n.lo, nil
}

func (n *loopbackNet) InterfaceByName(name string) (*transport.Interface, error) {
	if name != n.lo.Name {
		return nil, fmt.Errorf("sfutest: no interface %q", name)
	}
	return n.lo, nil
}

// loopbackAddress returns the i-th client address: 127.0.1.0 and up, clear
// of 127.0.0.1 (the server) and of the addresses flood tests send from.
func loopbackAddress(i int) net.IP {
	i += 1 << 8
	return net.IPv4(127, byte(i>>16), byte(i>>8), byte(i))
}
