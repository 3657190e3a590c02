package testenv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/netns"
)

// ErrUnreachable is returned by Ping when an ICMP destination-unreachable
// error came back instead of a reply.
var ErrUnreachable = errors.New("destination unreachable")

// Ping sends ICMP (or ICMPv6) echo requests from inside namespace ns to dst
// and returns nil on the first matching reply. It needs no ping binary: a raw
// socket opened inside the namespace sends real packets from there. Up to
// three requests are sent, one second apart.
func Ping(ns string, dst netip.Addr) error {
	return netns.Do(ns, func() error { return ping(dst, 3, time.Second) })
}

var pingSeq atomic.Uint32

func ping(dst netip.Addr, tries int, wait time.Duration) error {
	fam, proto, req, rep, unreach := unix.AF_INET, unix.IPPROTO_ICMP, byte(8), byte(0), byte(3)
	if dst.Is6() {
		fam, proto, req, rep, unreach = unix.AF_INET6, unix.IPPROTO_ICMPV6, 128, 129, 1
	}
	fd, err := unix.Socket(fam, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("set receive timeout: %w", err)
	}
	var sa unix.Sockaddr
	if dst.Is6() {
		sa = &unix.SockaddrInet6{Addr: dst.As16()}
	} else {
		sa = &unix.SockaddrInet4{Addr: dst.As4()}
	}
	id := uint16(os.Getpid())
	buf := make([]byte, 1500)
	var lastErr error = fmt.Errorf("no reply from %s", dst)
	for try := 0; try < tries; try++ {
		seq := uint16(pingSeq.Add(1))
		pkt := make([]byte, 16)
		pkt[0] = req
		binary.BigEndian.PutUint16(pkt[4:], id)
		binary.BigEndian.PutUint16(pkt[6:], seq)
		copy(pkt[8:], "vpcemu!!")
		if !dst.Is6() { // the kernel fills in ICMPv6 checksums itself
			binary.BigEndian.PutUint16(pkt[2:], checksum(pkt))
		}
		if err := unix.Sendto(fd, pkt, 0, sa); err != nil {
			if err == unix.ENETUNREACH || err == unix.EHOSTUNREACH {
				return fmt.Errorf("send to %s: %w: %w", dst, ErrUnreachable, err)
			}
			return fmt.Errorf("send to %s: %w", dst, err)
		}
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			n, from, err := unix.Recvfrom(fd, buf, 0)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("receive: %w", err)
			}
			msg := buf[:n]
			if !dst.Is6() { // IPv4 raw sockets see the IP header
				if n < 20 || int(msg[0]&0xf)*4 > n {
					continue
				}
				msg = msg[int(msg[0]&0xf)*4:]
			}
			if len(msg) < 8 {
				continue
			}
			switch msg[0] {
			case rep:
				if binary.BigEndian.Uint16(msg[4:]) == id && binary.BigEndian.Uint16(msg[6:]) == seq && fromAddr(from) == dst {
					return nil
				}
			case unreach:
				// The quoted request must be ours: another test's raw socket
				// in this namespace would see our traffic and we theirs.
				if quotesOurs(msg[8:], dst.Is6(), id, seq) {
					lastErr = fmt.Errorf("ping %s: %w (code %d from %s)", dst, ErrUnreachable, msg[1], fromAddr(from))
					return lastErr
				}
			}
		}
	}
	return lastErr
}

// quotesOurs reports whether an ICMP error's quoted packet is our echo request.
func quotesOurs(q []byte, v6 bool, id, seq uint16) bool {
	hl := 40
	if !v6 {
		if len(q) < 20 {
			return false
		}
		hl = int(q[0]&0xf) * 4
	}
	if len(q) < hl+8 {
		return false
	}
	icmp := q[hl:]
	return binary.BigEndian.Uint16(icmp[4:]) == id && binary.BigEndian.Uint16(icmp[6:]) == seq
}

func fromAddr(sa unix.Sockaddr) netip.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(a.Addr)
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(a.Addr)
	}
	return netip.Addr{}
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
