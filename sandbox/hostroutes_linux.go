package sandbox

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// With the network on, pasta relays the sandbox's connections from the
// host: a connection to any address of the host's is then a local one there,
// and would reach the host's services. pasta's options close the host's
// loopback, the address it copies into the sandbox and the gateway (see
// pastaArgs); the host's other addresses (a docker0 or libvirt bridge, a
// VPN, a second NIC) get an unreachable route in the sandbox's namespace, so
// that a connection to them fails at once, inside, and never reaches pasta.
// The list is the host's addresses when the sandbox starts: one added later
// is not covered.

// hostAddrs lists the host's own addresses, loopback ones excepted (they
// are the sandbox's own inside). It runs in pkgbox, in the host's network
// namespace.
func hostAddrs() ([]netip.Addr, error) {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list the host's addresses: %w", err)
	}
	var out []netip.Addr
	for _, ia := range ifaddrs {
		p, err := netip.ParsePrefix(ia.String())
		if err != nil || p.Addr().IsLoopback() {
			continue
		}
		a := p.Addr().WithZone("")
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// blockHostAddrs adds an unreachable host route for each of addrs to the
// main routing table of the calling process's network namespace, the
// sandbox's. Addresses the sandbox holds itself stay local: the local
// table is looked up first.
func blockHostAddrs(addrs []netip.Addr) error {
	if len(addrs) == 0 {
		return nil
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("block the host's addresses: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("block the host's addresses: %w", err)
	}
	for i, a := range addrs {
		if err := unix.Sendto(fd, unreachableRoute(a, uint32(i+1)), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return fmt.Errorf("block the host's address %s: %w", a, err)
		}
	}
	// One acknowledgement per request, in order.
	buf := make([]byte, 1<<16)
	for acked := 0; acked < len(addrs); {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("block the host's addresses: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("block the host's addresses: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			acked++
			// The kernel's nlmsgerr: a negative errno, 0 for success.
			if errno := int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
				a := addrs[min(int(m.Header.Seq), len(addrs))-1]
				return fmt.Errorf("block the host's address %s: %w", a, unix.Errno(-errno))
			}
		}
	}
	return nil
}

// unreachableRoute is an RTM_NEWROUTE request for "unreachable a", as
// `ip route add unreachable A` sends it.
func unreachableRoute(a netip.Addr, seq uint32) []byte {
	family, bits := unix.AF_INET, 32
	if a.Is6() && !a.Is4In6() {
		family, bits = unix.AF_INET6, 128
	}
	a = a.Unmap()
	dst := a.AsSlice()
	attrLen := unix.SizeofRtAttr + len(dst)
	total := unix.SizeofNlMsghdr + unix.SizeofRtMsg + rtaAlign(attrLen)
	b := make([]byte, total)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(total))
	ne.PutUint16(b[4:], unix.RTM_NEWROUTE)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	ne.PutUint32(b[8:], seq)
	rt := b[unix.SizeofNlMsghdr:]
	rt[0] = byte(family)
	rt[1] = byte(bits) // dst_len
	rt[4] = unix.RT_TABLE_MAIN
	rt[5] = unix.RTPROT_STATIC
	rt[6] = unix.RT_SCOPE_UNIVERSE
	rt[7] = unix.RTN_UNREACHABLE
	attr := rt[unix.SizeofRtMsg:]
	ne.PutUint16(attr[0:], uint16(attrLen))
	ne.PutUint16(attr[2:], unix.RTA_DST)
	copy(attr[unix.SizeofRtAttr:], dst)
	return b
}

func rtaAlign(n int) int { return (n + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1) }
