package loader

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

func encodeEvent(t *testing.T, e naclVpcEvent) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.NativeEndian, e); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Both decoders read the common fields the same way and check the kind.
func TestDecodeEvents(t *testing.T) {
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	e := naclVpcEvent{TsNs: 12345, Saddr: words(src), Daddr: words(dst), Sport: 40000, Dport: 22, Obj: 3, Packets: 2, Bytes: 120,
		Rule: 20, Kind: uint8(naclEvKindEV_NACL_DROP), Dir: uint8(naclEvDirEV_DIR_OUTBOUND), Family: 6, Proto: 6, TcpFlags: 2, Frag: 1}
	n, err := DecodeNACLEvent(encodeEvent(t, e))
	if err != nil {
		t.Fatal(err)
	}
	wantN := NACLEvent{TimeNs: 12345, ACL: 3, Egress: true, Rule: 20, Protocol: 6, Src: netip.AddrPortFrom(src, 40000),
		Dst: netip.AddrPortFrom(dst, 22), TCPFlags: 2, Fragment: 1, Packets: 2, Bytes: 120}
	if n != wantN {
		t.Errorf("DecodeNACLEvent = %+v, want %+v", n, wantN)
	}
	if _, err := DecodeSGEvent(encodeEvent(t, e)); err == nil {
		t.Error("DecodeSGEvent accepted a NACL event")
	}

	s4, d4 := netip.MustParseAddr("192.0.2.66"), netip.MustParseAddr("10.0.1.10")
	e = naclVpcEvent{TsNs: 99, Saddr: words(s4), Daddr: words(d4), Sport: 50000, Dport: 22, Obj: 7, Packets: 1, Bytes: 60,
		Kind: uint8(naclEvKindEV_SG_DROP), Reason: SGDropRulesMismatch, Dir: uint8(naclEvDirEV_DIR_INBOUND), Family: 4, Proto: 6, TcpFlags: 2}
	s, err := DecodeSGEvent(encodeEvent(t, e))
	if err != nil {
		t.Fatal(err)
	}
	wantS := SGEvent{TimeNs: 99, ENI: 7, Inbound: true, Code: SGDropRulesMismatch, Protocol: 6, Src: netip.AddrPortFrom(s4, 50000),
		Dst: netip.AddrPortFrom(d4, 22), TCPFlags: 2, Packets: 1, Bytes: 60}
	if s != wantS {
		t.Errorf("DecodeSGEvent = %+v, want %+v", s, wantS)
	}
	if _, err := DecodeNACLEvent(encodeEvent(t, e)); err == nil {
		t.Error("DecodeNACLEvent accepted an SG event")
	}
	if _, err := DecodeSGEvent(encodeEvent(t, e)[:binary.Size(e)-1]); err == nil {
		t.Error("DecodeSGEvent accepted a short record")
	}
}

// words and addrOf are inverses for both families.
func TestWordsAddrOf(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.0.1.10", "255.255.255.255", "::", "2001:db8::1", "fe80::1:2:3:4"} {
		a := netip.MustParseAddr(s)
		fam := uint8(6)
		if a.Is4() {
			fam = 4
		}
		if got := addrOf(fam, words(a)); got != a {
			t.Errorf("addrOf(words(%s)) = %s", a, got)
		}
	}
}
