package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// The two-tier fixtures, imported and brought up with vpcemu up -f, with
// real traffic: curl and ssh from the internet hosts --internet auto adds
// (the office's admin desk 198.51.100.10, the monitoring peer 8.8.4.4
// remapped into a documentation range, "anywhere"), and between the tiers.

// importedUp imports fixture (one VPC of it when vpcID is not ""), lets
// edit change the topology, brings it up and registers its teardown.
func importedUp(t *testing.T, fixture, vpcID string, edit func(*vpc.Topology)) *vpc.Topology {
	t.Helper()
	testenv.RequireRoot(t)
	name := testenv.Name(t)
	file := filepath.Join(t.TempDir(), name+".yaml")
	args := []string{"import", fixture, "--name", name, "--services", "auto", "--internet", "auto", "--account", "111122223333", "-o", file}
	if vpcID != "" {
		args = append(args, "--vpc", vpcID)
	}
	if out, code := vpcemu(t, args...); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, out)
	}
	topo, err := vpc.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(topo)
		if err := os.WriteFile(file, topo.YAML(), 0o644); err != nil {
			t.Fatal(err)
		}
		if topo, err = vpc.Load(file); err != nil {
			t.Fatalf("the edited import: %v", err)
		}
	}
	t.Cleanup(func() {
		if out, code := vpcemu(t, "down", name); code != 0 {
			t.Errorf("down: exit %d\n%s", code, out)
		}
		assertGone(t, name)
	})
	if out, code := vpcemu(t, "up", "-d", "--ui", "off", "-f", file); code != 0 {
		t.Fatalf("up -f %s: exit %d\n%s", file, code, out)
	}
	return topo
}

// publicSubnetsAsSugar is the variant the datapath before routing runs:
// a subnet whose route table sends 0.0.0.0/0 to an internet gateway
// becomes public: true (the datapath's own notion of a public subnet);
// other route table entries (the NAT gateway, the peering) are not
// emulated by that datapath.
func publicSubnetsAsSugar(t *vpc.Topology) {
	for i := range t.Subnets {
		s := &t.Subnets[i]
		rt := t.RouteTableOfSubnet(s.ID)
		if rt == nil {
			continue
		}
		for _, r := range rt.Routes {
			if r.Dest.String() == "0.0.0.0/0" && r.Target.Kind == vpc.TargetIGW {
				s.Public, s.RouteTable = true, ""
			}
		}
	}
}

func byName(t *testing.T, topo *vpc.Topology, name string) *vpc.Instance {
	t.Helper()
	for i := range topo.Instances {
		if topo.Instances[i].Tags["Name"] == name {
			return &topo.Instances[i]
		}
	}
	t.Fatalf("no instance named %s", name)
	return nil
}

type trafficCheck struct {
	desc string
	args []string
	ok   bool
	want string // in the output when ok
}

func runChecks(t *testing.T, name string, checks []trafficCheck) {
	t.Helper()
	for _, c := range checks {
		out, code := vpcemu(t, append([]string{"-t", name}, c.args...)...)
		if (code == 0) != c.ok {
			t.Errorf("%s: vpcemu %s: exit %d, want success=%v\n%s", c.desc, strings.Join(c.args, " "), code, c.ok, out)
			continue
		}
		if c.ok && !strings.Contains(out, c.want) {
			t.Errorf("%s: output %q lacks %q", c.desc, out, c.want)
		}
	}
}

// The app VPC of each format's fixture comes up and its SGs and NACLs
// decide real traffic as the fixtures say.
func TestImportedTwoTierComesUpAndObeysItsRules(t *testing.T) {
	for _, c := range []struct{ format, fixture, appVPC string }{
		{"aws", twoTier, "vpc-0a1b2c3d4e5f60001"},
		{"terraform", twoTier + "/terraform-state.json", "vpc-0a1b2c3d4e5f60001"},
		{"cloudformation", twoTier + "/cloudformation.yaml", "vpc-AppVPC"},
	} {
		t.Run(c.format, func(t *testing.T) {
			topo := importedUp(t, c.fixture, c.appVPC, publicSubnetsAsSugar)
			web, db := byName(t, topo, "web"), byName(t, topo, "db")
			pub := web.PublicIP.String()
			mon := topo.Host("peer-8-8-4-4")
			if mon == nil {
				t.Fatal("--internet auto added no host for the monitoring peer 8.8.4.4")
			}
			runChecks(t, topo.Name, []trafficCheck{
				{"anyone gets web's page (SG 80 from 0.0.0.0/0, NACL rule 100)", []string{"exec", "anywhere", "--", "curl", "-s", "--max-time", "5", "http://" + pub + "/"}, true, web.ID},
				{"the office's admin desk logs in to web (prefix list office, NACL rule 120)", []string{"ssh", "peer-198-51-100-10", web.ID, "hostname"}, true, web.ID},
				{"monitoring logs in to web at its remapped address (rules rewritten with it)", []string{"ssh", "peer-8-8-4-4", web.ID, "hostname"}, true, web.ID},
				{"anywhere else cannot ssh to web (not in the office list)", []string{"exec", "anywhere", "--", "curl", "-s", "--max-time", "2", "telnet://" + pub + ":22"}, false, ""},
				{"web reaches db's echo server on 5432 (db admits web's group; NACL private 100)", []string{"exec", web.ID, "--", "curl", "-s", "--max-time", "3", "http://" + db.PrivateIP.String() + ":5432"}, true, db.ID},
				{"db cannot ssh to web (db's group lets out 443 only)", []string{"exec", db.ID, "--", "curl", "-s", "--max-time", "2", "telnet://" + web.PrivateIP.String() + ":22"}, false, ""},
			})
			// export of the running topology is what up -f recreates: the import.
			out, code := vpcemu(t, "-t", topo.Name, "export")
			if code != 0 {
				t.Fatalf("export: exit %d\n%s", code, out)
			}
			running, err := vpc.Parse("export.yaml", []byte(out))
			if err != nil {
				t.Fatalf("the running topology's export does not parse: %v", err)
			}
			vpc.ClearIncidentals(running)
			vpc.ClearIncidentals(topo)
			if d := vpc.Diff(topo, running); d != "" {
				t.Errorf("export of the running topology differs from what was brought up: %s", d)
			}
		})
	}
}

// The whole two-tier network (both VPCs, the NAT gateway, the peering)
// on the routing datapath.
func TestImportedTwoTierRoutingDatapath(t *testing.T) {
	testenv.RequireRoot(t)
	topo := importedUp(t, twoTier, "", nil)
	web, db, report := byName(t, topo, "web"), byName(t, topo, "db"), byName(t, topo, "report")
	anywhere := topo.Host("anywhere").IP.String()
	runChecks(t, topo.Name, []trafficCheck{
		{"anyone gets web's page through the internet gateway", []string{"exec", "anywhere", "--", "curl", "-s", "--max-time", "5", "http://" + web.PublicIP.String() + "/"}, true, web.ID},
		{"report reaches db across the peering (db admits report's group)", []string{"exec", report.ID, "--", "curl", "-s", "--max-time", "3", "http://" + db.PrivateIP.String() + ":5432"}, true, db.ID},
		{"db fetches updates through the NAT gateway", []string{"exec", db.ID, "--", "curl", "-sk", "--max-time", "5", "https://" + anywhere + "/"}, true, "anywhere"},
		{"db cannot reach the corporate network (transit gateway route: a blackhole)", []string{"exec", db.ID, "--", "curl", "-s", "--max-time", "3", "https://172.16.1.1/"}, false, ""},
		{"report cannot reach web's port 80 (web's group admits the internet, and report's lets out 5432 and 443 only)", []string{"exec", report.ID, "--", "curl", "-s", "--max-time", "3", "http://" + web.PrivateIP.String() + "/"}, false, ""},
	})
}
