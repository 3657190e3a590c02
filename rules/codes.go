package rules

// Explanation codes of routing drops (aws-routing.md RA-8), in Reachability
// Analyzer's vocabulary; the NGW_* and EIGW_* drop codes and
// NO_ENI_AT_ADDRESS are vpcemu's own.
const (
	CodeBadStateRoute = "BAD_STATE_ROUTE" // winning route is a blackhole (RT-15, RT-16 [INTERP])
	// CodeBadState is RA-8's code for a component that is not functional.
	// The evaluator does not produce it: a peering that is not active makes
	// its routes blackholes (RT-15, BAD_STATE_ROUTE) and NAT gateways have
	// no states in the model.
	CodeBadState               = "BAD_STATE"
	CodeIGWPublicIPEgress      = "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS"
	CodeIGWPrivateIPIngress    = "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"
	CodeIGWDstRFC1918Egress    = "IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS"
	CodeIGWDstRFC6598Egress    = "IGW_DESTINATION_ADDRESS_NOT_IN_RFC6598_EGRESS"
	CodeIGWSrcRFC1918Ingress   = "IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS"
	CodeIGWSrcRFC6598Ingress   = "IGW_SOURCE_ADDRESS_NOT_IN_RFC6598_INGRESS"
	CodeSpoofed                = "GATEWAY_REJECTS_SPOOFED_TRAFFIC"
	CodePCXAddressInVPC        = "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR"
	CodeNGWRequiresSourceInVPC = "NGW_REQUIRES_SOURCE_IN_VPC"
	CodeProtocolRestriction    = "PROTOCOL_RESTRICTION"
	CodeVPCEProtocol           = "VPCE_GATEWAY_PROTOCOL_RESTRICTION"
	CodeVPCEEgressSource       = "VPCE_GATEWAY_EGRESS_SOURCE_ADDRESS_RESTRICTION"
	CodeSourceDestCheck        = "ENI_SOURCE_DEST_CHECK_RESTRICTION"
	CodeNGWNoMapping           = "NGW_NO_MAPPING"             // vpcemu: unsolicited or timed-out (NGW-9, NGW-11)
	CodeNGWPortAllocation      = "NGW_PORT_ALLOCATION_ERROR"  // vpcemu: NGW-7
	CodeEIGWInbound            = "EIGW_INBOUND_NOT_PERMITTED" // vpcemu: EIP-14
	CodeNoENIAtAddress         = "NO_ENI_AT_ADDRESS"          // vpcemu: an address of the VPC no ENI holds
)

// RA-9 qualifiers of a drop that a translation or a forwarder upstream
// caused [INTERP].
const (
	QualNGWSourceReassign        = "NGW_SOURCE_ADDRESS_REASSIGN"
	QualNGWDestPreservation      = "NGW_DEST_ADDRESS_PRESERVATION"
	QualRemapEphemeralPort       = "REMAP_EPHEMERAL_PORT"
	QualSGReferencesNotPreserved = "SG_REFERENCES_NOT_PRESERVED"
)

// Analysis-only codes (RA-9): `vpcemu explain` notes, never datapath drops.
const (
	NoteCannotRoute       = "CANNOT_ROUTE"
	NoteMoreSpecificRoute = "MORE_SPECIFIC_ROUTE"
	NoteHigherPriority    = "HIGHER_PRIORITY_ROUTE"
	NoteIGWNATReflection  = "IGW_NAT_REFLECTION"
	NoteDisconnectedVPCs  = "DISCONNECTED_VPCS"
)
