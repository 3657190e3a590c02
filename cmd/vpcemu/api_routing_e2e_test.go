package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
)

// upT2 brings examples/routing/t2.yaml up under a fresh name, with the
// EC2 API, and opens its API.
func upT2(t *testing.T) *apiLab {
	t.Helper()
	testenv.RequireRoot(t)
	b, err := os.ReadFile("../../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	name := testenv.Name(t)
	file := filepath.Join(t.TempDir(), "t2.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), "name: t2", "name: "+name, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Down(name, true, lab.Options{}) })
	if out, code := vpcemu(t, "up", "-d", "-f", file, "--ui", "off", "--metrics", "off"); code != 0 {
		t.Fatalf("vpcemu up -d: exit %d\n%s", code, out)
	}
	return openAPILab(t, name, file)
}

// reaches tells whether a TCP connection from ns to addr is made in time.
func reaches(t *testing.T, ns, addr string) bool {
	t.Helper()
	var ok bool
	_ = netns.Do(ns, func() error {
		c, err := net.DialTimeout("tcp", addr, 1500*time.Millisecond)
		if err == nil {
			ok = true
			c.Close()
		}
		return nil
	})
	return ok
}

// Routes and NAT gateways change a running topology through the EC2 API
// (aws-sdk-go-v2): CreateRoute on both sides of a peering lets W reach B,
// DeleteRoute cuts it; DeleteNatGateway makes rtb-q's default route a
// blackhole (describe shows it, A no longer reaches S, TV-50 a);
// CreateNatGateway and ReplaceRoute to it restore A's internet.
func TestAPIRoutingLive(t *testing.T) {
	a := upT2(t)
	ctx := context.Background()
	c := a.sdk("test", "test")
	w, aNS := a.ns(t, "W"), a.ns(t, "A")

	if reaches(t, w, "10.1.1.30:22") {
		t.Fatal("W reaches B before any route to the peering")
	}
	for _, r := range []struct{ rtb, dst string }{{"rtb-p", "10.1.0.0/16"}, {"rtb-r", "10.0.0.0/16"}} {
		if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(r.rtb), DestinationCidrBlock: aws.String(r.dst),
			VpcPeeringConnectionId: aws.String("pcx-12")}); err != nil {
			t.Fatalf("CreateRoute %s %s: %v", r.rtb, r.dst, err)
		}
	}
	if !reaches(t, w, "10.1.1.30:22") {
		t.Error("after CreateRoute both ways, W does not reach B")
	}
	if _, err := c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String("rtb-r"), DestinationCidrBlock: aws.String("10.0.0.0/16")}); err != nil {
		t.Fatalf("DeleteRoute: %v", err)
	}
	if reaches(t, w, "10.1.1.30:22") {
		t.Error("after DeleteRoute of the way back, W still reaches B")
	}

	if !reaches(t, aNS, "203.0.113.80:443") {
		t.Fatal("A does not reach S through nat-1")
	}
	if _, err := c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String("nat-1")}); err != nil {
		t.Fatalf("DeleteNatGateway: %v", err)
	}
	out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{"rtb-q"}})
	if err != nil || len(out.RouteTables) != 1 {
		t.Fatalf("DescribeRouteTables: %v", err)
	}
	black := false
	for _, r := range out.RouteTables[0].Routes {
		if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" && r.State == "blackhole" {
			black = true
		}
	}
	if !black {
		t.Error("rtb-q's 0.0.0.0/0 is not a blackhole after DeleteNatGateway")
	}
	if reaches(t, aNS, "203.0.113.80:443") {
		t.Error("A still reaches S after DeleteNatGateway")
	}
	if ns, _ := netns.List(); strings.Contains(strings.Join(ns, " "), "vpcemu."+a.name+".ngw.nat-1") {
		t.Error("nat-1's namespace is still there")
	}

	ngw, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String("P"), AllocationId: aws.String("eipalloc-ngw")})
	if err != nil {
		t.Fatalf("CreateNatGateway: %v", err)
	}
	id := aws.ToString(ngw.NatGateway.NatGatewayId)
	if _, err := c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String("rtb-q"), DestinationCidrBlock: aws.String("0.0.0.0/0"),
		NatGatewayId: aws.String(id)}); err != nil {
		t.Fatalf("ReplaceRoute to %s: %v", id, err)
	}
	if !reaches(t, aNS, "203.0.113.80:443") {
		t.Errorf("A does not reach S through the new NAT gateway %s", id)
	}
}

// A VPC built from scratch through the EC2 API on a running topology, as
// Terraform does: CreateVpc, CreateSubnet, CreateInternetGateway and
// AttachInternetGateway, CreateRouteTable with a default route to it,
// AssociateRouteTable, a security group admitting TCP 8443, RunInstances,
// an Elastic IP: X on the internet then connects to the instance's public
// address. DeleteSubnet while the instance is in it is a
// DependencyViolation.
func TestAPIFrameLive(t *testing.T) {
	a := upT2(t)
	ctx := context.Background()
	c := a.sdk("test", "test")
	x := a.ns(t, "X")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	v, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.2.0.0/16")})
	must("CreateVpc", err)
	vpcID := v.Vpc.VpcId
	sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpcID, CidrBlock: aws.String("10.2.1.0/24")})
	must("CreateSubnet", err)
	igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	must("CreateInternetGateway", err)
	_, err = c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: vpcID})
	must("AttachInternetGateway", err)
	rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpcID})
	must("CreateRouteTable", err)
	_, err = c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rt.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"),
		GatewayId: igw.InternetGateway.InternetGatewayId})
	must("CreateRoute", err)
	_, err = c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rt.RouteTable.RouteTableId, SubnetId: sn.Subnet.SubnetId})
	must("AssociateRouteTable", err)
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: vpcID})
	must("CreateSecurityGroup", err)
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpProtocol: aws.String("tcp"),
		FromPort: aws.Int32(8443), ToPort: aws.Int32(8443), CidrIp: aws.String("0.0.0.0/0")})
	must("AuthorizeSecurityGroupIngress", err)
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: sn.Subnet.SubnetId, PrivateIpAddress: aws.String("10.2.1.50"), SecurityGroupIds: []string{aws.ToString(sg.GroupId)}})
	must("RunInstances", err)
	inst := aws.ToString(run.Instances[0].InstanceId)
	eip, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{})
	must("AllocateAddress", err)
	_, err = c.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: eip.AllocationId, InstanceId: aws.String(inst)})
	must("AssociateAddress", err)

	var ln net.Listener
	must("listen", netns.Do("vpcemu."+a.name+".i."+inst, func() (err error) {
		ln, err = net.Listen("tcp4", ":8443")
		return err
	}))
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if !reaches(t, x, net.JoinHostPort(aws.ToString(eip.PublicIp), "8443")) {
		t.Errorf("X does not reach %s (%s in the new VPC) at its Elastic IP %s", inst, "10.2.1.50", aws.ToString(eip.PublicIp))
	}
	_, err = c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sn.Subnet.SubnetId})
	if err == nil || !strings.Contains(err.Error(), "DependencyViolation") {
		t.Errorf("DeleteSubnet with an instance in it: %v, want DependencyViolation", err)
	}
}
