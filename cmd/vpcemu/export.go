package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/importer"
	"github.com/vpcemu/vpcemu/vpc"
)

type exportOptions struct {
	global *globalOptions
	file   string
	format string
	output string
}

// newExportCmd writes a topology out: as the YAML up -f recreates it
// exactly, or as AWS describe JSON that import reads back.
func newExportCmd(g *globalOptions) *cobra.Command {
	o := &exportOptions{global: g}
	c := &cobra.Command{
		Use:   "export [-t NAME | -f FILE] [--format yaml|aws] [-o FILE|DIR]",
		Short: "write a topology as YAML (up -f recreates it) or as AWS describe JSON (import reads it back)",
		Long: `export writes the topology that runs (-t NAME, or the only one up; its
rules as applied last) or the one in FILE (-f):

  --format yaml   the topology file, every default spelled out, that up -f
                  recreates exactly (stdout, or -o FILE);
  --format aws    the JSON of aws ec2 describe-* for every object, in the
                  shapes the EC2 API answers with, as a Batfish-style
                  snapshot: DIR/aws_configs/REGION/describe-*.json. vpcemu
                  import DIR gives the same topology back, but for what
                  describe JSON has no place for (the topology's name and
                  quotas, internet hosts, services, OS profiles other than
                  Windows, MTU, NAT port policy).`,
		Example: `  sudo vpcemu export > running.yaml
  vpcemu export -f lab.yaml --format aws -o snapshot/ && vpcemu import snapshot/ -o again.yaml`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runExport(c.OutOrStdout(), o)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.file, "file", "f", "", "topology file (default: the running topology)")
	f.StringVar(&o.format, "format", "yaml", "yaml or aws")
	f.StringVarP(&o.output, "output", "o", "", "file (yaml; default stdout) or folder (aws, required)")
	return c
}

func runExport(w io.Writer, o *exportOptions) error {
	if o.format != "yaml" && o.format != "aws" {
		return fmt.Errorf("export: --format %q: want yaml or aws", o.format)
	}
	if o.format == "aws" && o.output == "" {
		return fmt.Errorf("export: --format aws writes a folder of files; valid: -o DIR")
	}
	var t *vpc.Topology
	switch {
	case o.file != "" && o.global.topology != "":
		return fmt.Errorf("export: -f and -t name two topologies; valid: one of them")
	case o.file != "":
		var err error
		if t, err = vpc.Load(o.file); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	default:
		r, err := openRunning(o.global)
		if err != nil {
			return fmt.Errorf("export: %w (or give a file with -f)", err)
		}
		t = r.topo
	}
	if o.format == "yaml" {
		if o.output == "" {
			_, err := w.Write(t.YAML())
			return err
		}
		if err := writeFileAtomic(o.output, t.YAML()); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(w, "wrote %s\n", o.output)
		return nil
	}
	files, err := importer.ExportAWS(t, nil)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(o.output, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := writeFileAtomic(p, files[n]); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	fmt.Fprintf(w, "wrote %d files to %s (import them with: vpcemu import %s)\n", len(names),
		filepath.Join(o.output, importer.SnapshotDir, t.Region), o.output)
	return nil
}
