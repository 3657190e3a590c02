package vpc

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// FlowLogFields lists every flow-log field AWS defines for ENI flow logs
// (versions 2 to 8, spec §4.2 FL-14), in AWS's catalogue order, with the
// version that introduced it. The flowlog package owns formatting; this list
// is what `log_format` is validated against.
var FlowLogFields = []FlowLogField{
	{"version", 2}, {"account-id", 2}, {"interface-id", 2}, {"srcaddr", 2}, {"dstaddr", 2},
	{"srcport", 2}, {"dstport", 2}, {"protocol", 2}, {"packets", 2}, {"bytes", 2},
	{"start", 2}, {"end", 2}, {"action", 2}, {"log-status", 2},
	{"vpc-id", 3}, {"subnet-id", 3}, {"instance-id", 3}, {"tcp-flags", 3}, {"type", 3},
	{"pkt-srcaddr", 3}, {"pkt-dstaddr", 3},
	{"region", 4}, {"az-id", 4}, {"sublocation-type", 4}, {"sublocation-id", 4},
	{"pkt-src-aws-service", 5}, {"pkt-dst-aws-service", 5}, {"flow-direction", 5}, {"traffic-path", 5},
	{"ecs-cluster-arn", 7}, {"ecs-cluster-name", 7}, {"ecs-container-instance-arn", 7},
	{"ecs-container-instance-id", 7}, {"ecs-container-id", 7}, {"ecs-second-container-id", 7},
	{"ecs-service-name", 7}, {"ecs-task-definition-arn", 7}, {"ecs-task-arn", 7}, {"ecs-task-id", 7},
	{"reject-reason", 8},
}

// FlowLogField is one field of a flow-log record.
type FlowLogField struct {
	Name    string
	Version int // the record version that introduced it
}

// DefaultLogFormat is AWS's default record format (the 14 version-2 fields, FL-10).
const DefaultLogFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"

// FlowLogFieldVersion returns the version that introduced field, or 0 when
// AWS defines no such field.
func FlowLogFieldVersion(field string) int {
	for _, f := range FlowLogFields {
		if f.Name == field {
			return f.Version
		}
	}
	return 0
}

// Fields returns the field names of fl's record format, in order.
func (fl FlowLog) Fields() []string {
	f, err := ParseLogFormat(fl.LogFormat)
	if err != nil {
		return nil
	}
	return f
}

// ParseLogFormat splits a log_format ("" or "default" meaning AWS's default)
// into field names, rejecting unknown and repeated fields (FL-11).
func ParseLogFormat(format string) ([]string, error) {
	if format == "" || format == "default" {
		format = DefaultLogFormat
	}
	var fields []string
	seen := map[string]bool{}
	for _, tok := range strings.Fields(format) {
		name, ok := strings.CutPrefix(tok, "${")
		if ok {
			name, ok = strings.CutSuffix(name, "}")
		}
		if !ok || name == "" || strings.ContainsAny(name, "${}") {
			return nil, fmt.Errorf("%q is not a ${field} token; valid: ${field} tokens separated by spaces, e.g. ${version} ${srcaddr}", tok)
		}
		if FlowLogFieldVersion(name) == 0 {
			return nil, fmt.Errorf("unknown field ${%s}; valid: %s", name, validLogFields())
		}
		if seen[name] {
			return nil, fmt.Errorf("${%s} is given twice; valid: each field once", name)
		}
		seen[name] = true
		fields = append(fields, name)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("the format has no fields; valid: \"default\" or ${field} tokens separated by spaces")
	}
	return fields, nil
}

func validLogFields() string {
	names := make([]string, len(FlowLogFields))
	for i, f := range FlowLogFields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// checkLogFormat returns why format is invalid, or "".
func checkLogFormat(format string) string {
	if _, ok := goodLogFormats.Load(format); ok {
		return ""
	}
	if _, err := ParseLogFormat(format); err != nil {
		return err.Error()
	}
	if goodLogFormats.n.Add(1) <= 64 { // a topology has few formats; any caller may send more
		goodLogFormats.Store(format, true)
	}
	return ""
}

// goodLogFormats are formats checkLogFormat found valid: every validation
// of a topology checks its flow logs' formats again.
var goodLogFormats struct {
	sync.Map
	n atomic.Int32
}
