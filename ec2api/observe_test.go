package ec2api

import (
	"net/http"
	"slices"
	"sync"
	"testing"
)

// Observe hears of every request with the action and the code answered;
// names not served are "Unknown", so clients cannot grow the set.
func TestObserveCountsActionsAndCodes(t *testing.T) {
	var mu sync.Mutex
	var got [][2]string
	s := newTestServer(t, Config{Observe: func(action, code string) {
		mu.Lock()
		got = append(got, [2]string{action, code})
		mu.Unlock()
	}})
	s.mustCall(t, "DescribeVpcs", nil, nil)
	s.wantError(t, "DescribeSecurityGroups", map[string]string{"GroupId.1": "sg-0123456789abcdef0"}, http.StatusBadRequest, "InvalidGroup.NotFound")
	s.wantError(t, "NoSuchThing", nil, http.StatusBadRequest, "InvalidAction")
	s.wantError(t, "CreateVpc", map[string]string{"CidrBlock": "10.0.0.0/16", "DryRun": "true"}, http.StatusPreconditionFailed, "DryRunOperation")
	want := [][2]string{{"DescribeVpcs", ""}, {"DescribeSecurityGroups", "InvalidGroup.NotFound"}, {"Unknown", "InvalidAction"}, {"CreateVpc", "DryRunOperation"}}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}
