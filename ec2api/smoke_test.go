package ec2api

import "testing"

func TestSmoke(t *testing.T) {
	s := newTestServer(t, Config{})
	body := s.mustCall(t, "CreateVpc", map[string]string{"CidrBlock": "10.0.0.0/16"}, nil)
	t.Log(body)
}
