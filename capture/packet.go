package capture

import "time"

// Direction is a packet's direction at the capture point, as the target
// sees it.
type Direction uint8

// Directions.
const (
	Inbound  Direction = 1 // toward the instance, into the subnet, into the VPC
	Outbound Direction = 2 // from the instance, out of the subnet, out of the VPC
)

func (d Direction) String() string {
	switch d {
	case Inbound:
		return "In"
	case Outbound:
		return "Out"
	}
	return "?"
}

// Packet is one packet seen at a capture point.
type Packet struct {
	Time   time.Time
	Dir    Direction
	Length int    // on the wire (Data may be cut at the snap length)
	Data   []byte // the Ethernet frame
	// Verdict is empty for a packet that went on, else why it was
	// dropped: "dropped: acl-public inbound rule 20",
	// "dropped: sg-web, ENI_SG_RULES_MISMATCH".
	Verdict string
}

// Dropped tells whether the datapath dropped p.
func (p *Packet) Dropped() bool { return p.Verdict != "" }

// Stats are a capture's counts.
type Stats struct {
	Packets uint64 // handed to the writer (after --filter and --drops)
	Dropped uint64 // of those, dropped by the datapath
	// Lost are packets the datapath could not queue for the capture (its
	// buffer was full): they are missing from the capture, not from the
	// network.
	Lost uint64
}
