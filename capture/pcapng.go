package capture

import (
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// PcapNG writes packets to a pcapng file: one interface (the capture
// point), each packet with its direction flag and, when dropped, its
// verdict as the packet comment (Wireshark's pkt_comment, tshark's
// frame.comment).
type PcapNG struct {
	w     *pcapgo.NgWriter
	start time.Time
}

// NewPcapNG starts a pcapng file on w for the capture point named name
// (its description says what it is) with snaplen bytes per packet at most.
func NewPcapNG(w io.Writer, name, description string, snaplen int) (*PcapNG, error) {
	ng, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{
		Name:        name,
		Description: description,
		LinkType:    layers.LinkTypeEthernet,
		SnapLength:  uint32(snaplen),
	}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "vpcemu capture"}})
	if err != nil {
		return nil, fmt.Errorf("pcapng: %w", err)
	}
	return &PcapNG{w: ng, start: time.Now()}, nil
}

// Write adds p.
func (f *PcapNG) Write(p *Packet) error {
	ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: max(p.Length, len(p.Data))}
	opts := pcapgo.NgPacketOptions{}
	switch p.Dir {
	case Inbound:
		opts.Flags = &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionInbound}
	case Outbound:
		opts.Flags = &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionOutbound}
	}
	if p.Verdict != "" {
		opts.Comments = []string{p.Verdict}
	}
	if err := f.w.WritePacketWithOptions(ci, p.Data, opts); err != nil {
		return fmt.Errorf("pcapng: %w", err)
	}
	return nil
}

// Flush writes what is buffered (a file being read while it grows shows
// every packet written so far).
func (f *PcapNG) Flush() error { return f.w.Flush() }

// Close ends the file with the interface statistics: packets captured and
// those the capture lost (ifdrop), and flushes it.
func (f *PcapNG) Close(st Stats) error {
	err := f.w.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{
		StartTime:       f.start,
		EndTime:         time.Now(),
		PacketsReceived: st.Packets + st.Lost,
		PacketsDropped:  st.Lost,
	})
	if ferr := f.w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("pcapng: %w", err)
	}
	return nil
}
