package flowlog

import (
	"fmt"
	"strings"
)

// ParquetType is the physical column type of a field in Parquet output (FL-14).
type ParquetType uint8

// Parquet column types used by flow-log fields.
const (
	ParquetString ParquetType = iota
	ParquetInt32
	ParquetInt64
)

// String names the type as AWS's field table does.
func (t ParquetType) String() string {
	switch t {
	case ParquetInt32:
		return "INT_32"
	case ParquetInt64:
		return "INT_64"
	default:
		return "STRING"
	}
}

// fieldID indexes the catalogue; rendering switches on it instead of on names.
type fieldID uint8

const (
	fVersion fieldID = iota
	fAccountID
	fInterfaceID
	fSrcAddr
	fDstAddr
	fSrcPort
	fDstPort
	fProtocol
	fPackets
	fBytes
	fStart
	fEnd
	fAction
	fLogStatus
	fVPCID
	fSubnetID
	fInstanceID
	fTCPFlags
	fType
	fPktSrcAddr
	fPktDstAddr
	fRegion
	fAZID
	fSublocationType
	fSublocationID
	fPktSrcAWSService
	fPktDstAWSService
	fFlowDirection
	fTrafficPath
	fECSClusterARN
	fECSClusterName
	fECSContainerInstanceARN
	fECSContainerInstanceID
	fECSContainerID
	fECSSecondContainerID
	fECSServiceName
	fECSTaskDefinitionARN
	fECSTaskARN
	fECSTaskID
	fRejectReason
	numFields
)

// Field is one entry of AWS's flow-log field catalogue (spec FL-14).
type Field struct {
	Name    string      // AWS field name, as written inside ${…}
	Version int         // flow-log version that introduced the field
	Parquet ParquetType // column type in Parquet output
	id      fieldID
}

// Column is the field's column name in Athena and Parquet: '-' becomes '_' (FL-36, FL-39).
func (f Field) Column() string { return strings.ReplaceAll(f.Name, "-", "_") }

// catalogue lists every ENI flow-log field AWS defines for versions 2..8, in
// AWS's documentation order; it is indexed by fieldID.
var catalogue = [numFields]Field{
	{"version", 2, ParquetInt32, fVersion},
	{"account-id", 2, ParquetString, fAccountID},
	{"interface-id", 2, ParquetString, fInterfaceID},
	{"srcaddr", 2, ParquetString, fSrcAddr},
	{"dstaddr", 2, ParquetString, fDstAddr},
	{"srcport", 2, ParquetInt32, fSrcPort},
	{"dstport", 2, ParquetInt32, fDstPort},
	{"protocol", 2, ParquetInt32, fProtocol},
	{"packets", 2, ParquetInt64, fPackets},
	{"bytes", 2, ParquetInt64, fBytes},
	{"start", 2, ParquetInt64, fStart},
	{"end", 2, ParquetInt64, fEnd},
	{"action", 2, ParquetString, fAction},
	{"log-status", 2, ParquetString, fLogStatus},
	{"vpc-id", 3, ParquetString, fVPCID},
	{"subnet-id", 3, ParquetString, fSubnetID},
	{"instance-id", 3, ParquetString, fInstanceID},
	{"tcp-flags", 3, ParquetInt32, fTCPFlags},
	{"type", 3, ParquetString, fType},
	{"pkt-srcaddr", 3, ParquetString, fPktSrcAddr},
	{"pkt-dstaddr", 3, ParquetString, fPktDstAddr},
	{"region", 4, ParquetString, fRegion},
	{"az-id", 4, ParquetString, fAZID},
	{"sublocation-type", 4, ParquetString, fSublocationType},
	{"sublocation-id", 4, ParquetString, fSublocationID},
	{"pkt-src-aws-service", 5, ParquetString, fPktSrcAWSService},
	{"pkt-dst-aws-service", 5, ParquetString, fPktDstAWSService},
	{"flow-direction", 5, ParquetString, fFlowDirection},
	{"traffic-path", 5, ParquetInt32, fTrafficPath},
	{"ecs-cluster-arn", 7, ParquetString, fECSClusterARN},
	{"ecs-cluster-name", 7, ParquetString, fECSClusterName},
	{"ecs-container-instance-arn", 7, ParquetString, fECSContainerInstanceARN},
	{"ecs-container-instance-id", 7, ParquetString, fECSContainerInstanceID},
	{"ecs-container-id", 7, ParquetString, fECSContainerID},
	{"ecs-second-container-id", 7, ParquetString, fECSSecondContainerID},
	{"ecs-service-name", 7, ParquetString, fECSServiceName},
	{"ecs-task-definition-arn", 7, ParquetString, fECSTaskDefinitionARN},
	{"ecs-task-arn", 7, ParquetString, fECSTaskARN},
	{"ecs-task-id", 7, ParquetString, fECSTaskID},
	{"reject-reason", 8, ParquetString, fRejectReason},
}

var fieldByName = func() map[string]Field {
	m := make(map[string]Field, len(catalogue))
	for _, f := range catalogue {
		m[f.Name] = f
	}
	return m
}()

// Fields returns the whole catalogue in AWS's documentation order.
func Fields() []Field { return append([]Field(nil), catalogue[:]...) }

// DefaultFormatString is AWS's default record format: the 14 version-2 fields (FL-10).
const DefaultFormatString = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"

// Format is a validated record format: the fields a record holds, in order.
// The zero Format is the default format.
type Format struct {
	fields []Field
	custom bool
}

// DefaultFormat returns AWS's default format (FL-10).
func DefaultFormat() Format { return Format{} }

// ParseFormat validates a log_format as AWS does at flow-log creation.
// "" and "default" mean the default format; anything else must be one or more
// ${field} tokens separated by single spaces, with no unknown or repeated
// field (FL-11).
func ParseFormat(s string) (Format, error) {
	if s == "" || s == "default" {
		return DefaultFormat(), nil
	}
	var fields []Field
	seen := make(map[string]bool)
	for i, tok := range strings.Split(s, " ") {
		if tok == "" {
			return Format{}, fmt.Errorf("log format %q: fields must be separated by single spaces (empty token %d)", s, i+1)
		}
		if !strings.HasPrefix(tok, "${") || !strings.HasSuffix(tok, "}") || len(tok) < 4 {
			return Format{}, fmt.Errorf("log format %q: token %q is not of the form ${field}", s, tok)
		}
		name := tok[2 : len(tok)-1]
		f, ok := fieldByName[name]
		if !ok {
			return Format{}, fmt.Errorf("log format %q: unknown field %q; valid fields: %s", s, name, validFieldList())
		}
		if seen[name] {
			return Format{}, fmt.Errorf("log format %q: field %q appears more than once", s, name)
		}
		seen[name] = true
		fields = append(fields, f)
	}
	return Format{fields: fields, custom: true}, nil
}

func validFieldList() string {
	names := make([]string, len(catalogue))
	for i, f := range catalogue {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// Fields returns the format's fields in record order.
func (f Format) Fields() []Field {
	if !f.custom {
		return append([]Field(nil), catalogue[:fLogStatus+1]...)
	}
	return append([]Field(nil), f.fields...)
}

func (f Format) list() []Field {
	if !f.custom {
		return catalogue[:fLogStatus+1]
	}
	return f.fields
}

// IsDefault reports whether f is AWS's default format (given as "" or "default").
func (f Format) IsDefault() bool { return !f.custom }

// Version is the value of the version field of f's records (FL-12): 2 for the
// default format, else the highest version among the chosen fields.
func (f Format) Version() int {
	v := 2
	for _, fd := range f.list() {
		v = max(v, fd.Version)
	}
	return v
}

// Header is the first line of a text log file: the field names in format order (FL-35).
func (f Format) Header() string {
	names := make([]string, 0, len(f.list()))
	for _, fd := range f.list() {
		names = append(names, fd.Name)
	}
	return strings.Join(names, " ")
}

// Columns are the Athena/Parquet column names of f's fields, in format order.
func (f Format) Columns() []string {
	cols := make([]string, 0, len(f.list()))
	for _, fd := range f.list() {
		cols = append(cols, fd.Column())
	}
	return cols
}

// String is the format as a ${field} format string.
func (f Format) String() string {
	if !f.custom {
		return DefaultFormatString
	}
	toks := make([]string, len(f.fields))
	for i, fd := range f.fields {
		toks[i] = "${" + fd.Name + "}"
	}
	return strings.Join(toks, " ")
}
