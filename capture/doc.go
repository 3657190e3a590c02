// Package capture turns the packets a running topology shows at one point
// (an ENI, a subnet's edge, the internet gateway) into what people read:
// pcapng files whose dropped packets carry their verdict as the packet
// comment, and tcpdump-like lines. It also compiles tcpdump filter
// expressions (through tcpdump itself, so the language is libpcap's). It
// needs no root and touches no kernel object (gopacket's pcapgo links
// x/sys/unix, so deps_test does not count it pure): the datapath side of a
// capture lives in lab and loader.
package capture
