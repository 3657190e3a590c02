package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/importer"
)

type importOptions struct {
	output      string
	from        string
	name        string
	region      string
	account     string
	stackName   string
	vpcs        []string
	parameters  []string
	importValue []string
	strict      bool
	services    string
	internet    string
}

// newImportCmd turns a real configuration into a topology file; no root.
func newImportCmd(_ *globalOptions) *cobra.Command {
	o := &importOptions{}
	c := &cobra.Command{
		Use:   "import PATH... [-o topology.yaml]",
		Short: "make a topology file from AWS describe JSON, a Terraform plan or state, or a CloudFormation template",
		Long: `import reads a real configuration and writes a topology file that vpcemu
up -f runs:

  - AWS describe JSON: files saved from aws ec2 describe-vpcs, -subnets,
    -security-groups, -security-group-rules, -network-acls, -route-tables,
    -internet-gateways, -nat-gateways, -network-interfaces, -instances,
    -addresses, -managed-prefix-lists (with get-managed-prefix-list-entries),
    -prefix-lists, -flow-logs, -vpc-peering-connections, -vpc-endpoints; or a
    folder holding them Batfish-style (aws_configs/REGION/*.json or
    aws_configs/ACCOUNT/REGION/*.json);
  - Terraform: the JSON of terraform show -json, of a plan file or of the
    state (child modules included); ids known only after apply are made up
    and said so;
  - CloudFormation: a template in YAML or JSON, with its parameters'
    defaults or --parameter values.

Every object keeps its AWS id and name, and a comment above it names where
it came from. What vpcemu does not model is listed at the end of the file
and on stderr (WARN ...); --strict makes it an error. Nothing is written
when the input has a mistake.`,
		Example: `  vpcemu import aws_configs/ -o prod.yaml --vpc vpc-0abc1234
  terraform show -json plan.out > plan.json && vpcemu import plan.json -o plan.yaml
  vpcemu import stack.yaml --parameter Env=prod --services auto --internet auto -o stack-vpc.yaml`,
		Annotations: map[string]string{annotTopology: "unused"},
		Args:        cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runImport(c.OutOrStdout(), c.ErrOrStderr(), o, args)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.output, "output", "o", "", "topology file to write (default: stdout)")
	f.StringVar(&o.from, "from", "", "input format: aws, terraform or cloudformation (default: detected)")
	f.StringVar(&o.name, "name", "", "topology name (default: the output file's name, else "+importer.DefaultName+")")
	f.StringVar(&o.region, "region", "", "region to import when the input has several; CloudFormation's AWS::Region")
	f.StringVar(&o.account, "account", "", "CloudFormation's AWS::AccountId (default: 123456789012)")
	f.StringVar(&o.stackName, "stack-name", "", "CloudFormation's AWS::StackName (default: the template's file name)")
	f.StringArrayVar(&o.vpcs, "vpc", nil, "import only this VPC (repeatable)")
	f.StringArrayVar(&o.parameters, "parameter", nil, "CloudFormation parameter value K=V (repeatable)")
	f.StringArrayVar(&o.importValue, "import-value", nil, "value of a CloudFormation export read by Fn::ImportValue, K=V (repeatable)")
	f.BoolVar(&o.strict, "strict", false, "fail when anything is not modeled")
	f.StringVar(&o.services, "services", "none", "auto: a listener on every port some security group admits (TCP/UDP echo, ssh, http, https)")
	f.StringVar(&o.internet, "internet", "none", "auto: internet hosts for the rules' /32 peers and one for 0.0.0.0/0, in documentation ranges")
	return c
}

func keyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: want KEY=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

func autoFlag(flag, v string) (bool, error) {
	switch v {
	case "auto":
		return true, nil
	case "none", "":
		return false, nil
	}
	return false, fmt.Errorf("--%s %q: want auto or none", flag, v)
}

// importName is the topology name an import gets: --name, else the output
// file's name cut to what a topology name may be, else the default.
func importName(o *importOptions) string {
	if o.name != "" || o.output == "" {
		return o.name
	}
	base := strings.ToLower(strings.TrimSuffix(filepath.Base(o.output), filepath.Ext(o.output)))
	var b strings.Builder
	for _, r := range base {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		}
	}
	n := strings.Trim(b.String(), "-")
	if len(n) > 16 {
		n = strings.TrimRight(n[:16], "-")
	}
	return n
}

func runImport(stdout, stderr io.Writer, o *importOptions, paths []string) error {
	opts := importer.Options{From: importer.Kind(o.from), Name: importName(o), Region: o.region, Account: o.account,
		StackName: o.stackName, VPCs: o.vpcs, Strict: o.strict}
	if o.from != "" && !strings.Contains(" aws terraform cloudformation ", " "+o.from+" ") {
		return fmt.Errorf("import: --from %q: want aws, terraform or cloudformation", o.from)
	}
	var err error
	if opts.Parameters, err = keyValues("parameter", o.parameters); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if opts.Exports, err = keyValues("import-value", o.importValue); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if opts.Services, err = autoFlag("services", o.services); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if opts.Internet, err = autoFlag("internet", o.internet); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	files, skipped, err := importer.ReadPaths(paths)
	if err != nil {
		return err
	}
	res, err := importer.Import(files, opts)
	if err != nil {
		return fmt.Errorf("import failed, nothing written:\n%w", err)
	}
	sort.Strings(skipped)
	for _, s := range skipped {
		fmt.Fprintf(stderr, "NOTE skipped %s (not a describe JSON file of a region folder)\n", s)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stderr, "NOTE %s\n", n)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, w.String())
	}
	if o.output == "" {
		_, err := stdout.Write(res.YAML)
		return err
	}
	if err := writeFileAtomic(o.output, res.YAML); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	t := res.Topology
	fmt.Fprintf(stdout, "wrote %s: topology %s, %d VPCs, %d subnets, %d security groups, %d network ACLs, %d route tables, %d instances (%d warnings); run it with: sudo vpcemu up -f %s\n",
		o.output, t.Name, len(t.VPCs), len(t.Subnets), len(t.SecurityGroups), len(t.NetworkACLs), len(t.RouteTables), len(t.Instances), len(res.Warnings), o.output)
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder, so that a failed write leaves no partial file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
