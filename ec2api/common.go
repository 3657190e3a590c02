package ec2api

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

// newID returns a fresh id: prefix, "-", 17 lower-case hex digits (API-18).
func newID(prefix string) string {
	var b [9]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])[:17]
}

// kind is one resource type's id prefix and error codes.
type kind struct {
	prefix    string
	malformed string
	nfCode    string
	noun      string // how NotFound messages name it
}

var (
	kVPC      = kind{"vpc", "InvalidVpcID.Malformed", "InvalidVpcID.NotFound", "vpc ID"}
	kSubnet   = kind{"subnet", "InvalidSubnetID.Malformed", "InvalidSubnetID.NotFound", "subnet ID"}
	kSG       = kind{"sg", "InvalidGroupId.Malformed", "InvalidGroup.NotFound", "security group"}
	kSGR      = kind{"sgr", "InvalidSecurityGroupRuleId.Malformed", "InvalidSecurityGroupRuleId.NotFound", "security group rule ID"}
	kNACL     = kind{"acl", "InvalidNetworkAclID.Malformed", "InvalidNetworkAclID.NotFound", "network ACL ID"}
	kRTB      = kind{"rtb", "InvalidRouteTableID.Malformed", "InvalidRouteTableID.NotFound", "route table ID"}
	kIGW      = kind{"igw", "InvalidInternetGatewayID.Malformed", "InvalidInternetGatewayID.NotFound", "internet gateway ID"}
	kNAT      = kind{"nat", "NatGatewayMalformed", "NatGatewayNotFound", "NAT gateway"}
	kEIP      = kind{"eipalloc", "InvalidAllocationID.Malformed", "InvalidAllocationID.NotFound", "allocation ID"}
	kENI      = kind{"eni", "InvalidNetworkInterfaceID.Malformed", "InvalidNetworkInterfaceID.NotFound", "network interface ID"}
	kInstance = kind{"i", "InvalidInstanceID.Malformed", "InvalidInstanceID.NotFound", "instance ID"}
	kFlowLog  = kind{"fl", "InvalidFlowLogId.Malformed", "InvalidFlowLogId.NotFound", "flow log ID"}
	kPL       = kind{"pl", "InvalidPrefixListID.Malformed", "InvalidPrefixListID.NotFound", "prefix list ID"}
	kPath     = kind{"nip", "InvalidNetworkInsightsPathId.Malformed", "InvalidNetworkInsightsPathId.NotFound", "network insights path"}
	kAnalysis = kind{"nia", "InvalidNetworkInsightsAnalysisId.Malformed", "InvalidNetworkInsightsAnalysisId.NotFound", "network insights analysis"}
)

// notFound answers an id that names nothing: Malformed when it does not
// even have the kind's prefix, else NotFound [INTERP API-18: ids from
// topology files are free-form, so only unknown ids are checked].
func (k kind) notFound(id string) *Error {
	if !strings.HasPrefix(id, k.prefix+"-") {
		return Errorf(k.malformed, "Invalid id: \"%s\" (expecting \"%s-...\")", id, k.prefix)
	}
	return Errorf(k.nfCode, "The %s '%s' does not exist", k.noun, id)
}

// Filter is one Filter.N of a Describe call (API-16).
type Filter struct {
	Name   string   `ec2:"Name"`
	Values []string `ec2:"Value"`
}

// TagSpecification is one TagSpecification.N (API-19).
type TagSpecification struct {
	ResourceType string         `ec2:"ResourceType"`
	Tags         []awsshape.Tag `ec2:"Tag"`
}

// filterFns are the filters of one resource type: name -> the values an
// item has for it.
type filterFns[T any] map[string]func(*T) []string

// applyFilters keeps the items every filter matches: names ANDed, values
// ORed, * and ? wildcards; tag:KEY, tag-key and tag-value where tags is
// given (API-16). An unknown filter name is InvalidParameterValue.
func applyFilters[T any](items []T, filters []Filter, fns filterFns[T], tags func(*T) awsshape.List[awsshape.Tag]) ([]T, *Error) {
	type check struct {
		get    func(*T) []string
		values []string
	}
	var checks []check
	for _, f := range filters {
		get := fns[f.Name]
		if get == nil && tags != nil {
			switch {
			case strings.HasPrefix(f.Name, "tag:"):
				key := strings.TrimPrefix(f.Name, "tag:")
				get = func(x *T) []string {
					var out []string
					for _, t := range tags(x) {
						if t.Key == key {
							out = append(out, t.Value)
						}
					}
					return out
				}
			case f.Name == "tag-key" || f.Name == "tag-value":
				value := f.Name == "tag-value"
				get = func(x *T) []string {
					var out []string
					for _, t := range tags(x) {
						if value {
							out = append(out, t.Value)
						} else {
							out = append(out, t.Key)
						}
					}
					return out
				}
			}
		}
		if get == nil {
			return nil, invalidValue("The filter '%s' is invalid", f.Name)
		}
		checks = append(checks, check{get, f.Values})
	}
	if len(checks) == 0 {
		return items, nil
	}
	out := items[:0:0]
	for i := range items {
		ok := true
		for _, c := range checks {
			if !anyMatch(c.get(&items[i]), c.values) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, items[i])
		}
	}
	return out, nil
}

func anyMatch(have, patterns []string) bool {
	for _, h := range have {
		for _, p := range patterns {
			if glob(p, h) {
				return true
			}
		}
	}
	return false
}

// glob matches s against p, where * is any run of characters and ? one.
func glob(p, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(p) && (p[px] == '?' || p[px] == s[sx]):
			px++
			sx++
		case px < len(p) && p[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(p) && p[px] == '*' {
		px++
	}
	return px == len(p)
}

// page cuts one page out of items: MaxResults (5..1000, as EC2's Describe
// calls take it) and NextToken, an opaque offset.
func page[T any](items []T, maxResults *int32, nextToken string) ([]T, string, *Error) {
	start := 0
	if nextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(nextToken)
		n, cerr := strconv.Atoi(strings.TrimPrefix(string(raw), "o:"))
		if err != nil || cerr != nil || !strings.HasPrefix(string(raw), "o:") || n < 0 || n > len(items) {
			return nil, "", Errorf("InvalidPaginationToken", "The pagination token '%s' is invalid.", nextToken)
		}
		start = n
	}
	if maxResults == nil {
		return items[start:], "", nil
	}
	if *maxResults < 5 || *maxResults > 1000 {
		return nil, "", invalidValue("Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", *maxResults)
	}
	end := min(start+int(*maxResults), len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

// tagsFor merges the TagSpecifications of a create call, each of which
// must name the type created (API-19).
func tagsFor(specs []TagSpecification, resourceType string) (vpc.Tags, *Error) {
	var out vpc.Tags
	for i, s := range specs {
		if s.ResourceType != resourceType {
			return nil, invalidValue("'%s' is not a valid taggable resource type for this operation (TagSpecification.%d.ResourceType; valid: %s).", s.ResourceType, i+1, resourceType)
		}
		if out == nil {
			out = vpc.Tags{}
		}
		if err := addTags(out, s.Tags); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// addTags checks tags as EC2 does and adds them to t.
func addTags(t vpc.Tags, tags []awsshape.Tag) *Error {
	for _, tg := range tags {
		switch {
		case tg.Key == "":
			return invalidValue("Tag keys cannot be empty")
		case len(tg.Key) > 128:
			return invalidValue("Tag key exceeds the maximum length of 128 characters")
		case len(tg.Value) > 256:
			return invalidValue("Tag value exceeds the maximum length of 256 characters")
		case strings.HasPrefix(strings.ToLower(tg.Key), "aws:"):
			return invalidValue("Tag keys starting with 'aws:' are reserved for internal use")
		}
		t[tg.Key] = tg.Value
	}
	if len(t) > 50 {
		return Errorf("TagLimitExceeded", "The maximum number of tags for a resource is 50.")
	}
	return nil
}

// parseCIDR reads an API CIDR parameter of one family (4 or 6) and
// canonicalises it [INTERP API-29: host bits are dropped, as EC2 stores
// rules].
func parseCIDR(param, s string, family int) (netip.Prefix, *Error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil || (family == 4 && !p.Addr().Is4()) || (family == 6 && (!p.Addr().Is6() || p.Addr().Is4In6())) {
		return netip.Prefix{}, invalidValue("Value (%s) for parameter %s is invalid. This is not a valid CIDR block.", s, param)
	}
	return p.Masked(), nil
}

// idSet tells whether an id was asked for; empty means all.
type idSet map[string]bool

func newIDSet(ids []string) idSet {
	if len(ids) == 0 {
		return nil
	}
	s := idSet{}
	for _, id := range ids {
		s[id] = true
	}
	return s
}

// selectIDs keeps the items whose id was asked for; an id that names
// nothing is the kind's NotFound (API-17: no partial result).
func selectIDs[T any](items []T, ids []string, id func(*T) string, k kind) ([]T, *Error) {
	if len(ids) == 0 {
		return items, nil
	}
	want := newIDSet(ids)
	seen := map[string]bool{}
	var out []T
	for i := range items {
		if x := id(&items[i]); want[x] {
			out = append(out, items[i])
			seen[x] = true
		}
	}
	for _, x := range ids {
		if !seen[x] {
			return nil, k.notFound(x)
		}
	}
	return out, nil
}

func boolStr(b *bool) []string {
	if b == nil {
		return nil
	}
	return []string{strconv.FormatBool(*b)}
}

func intStr(i *int32) []string {
	if i == nil {
		return nil
	}
	return []string{strconv.Itoa(int(*i))}
}

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
