package parquetlog

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/vpcemu/vpcemu/flowlog"
)

var t0 = time.Unix(1714990500, 0).UTC()

func allFields(t *testing.T) flowlog.Format {
	var toks []string
	for _, f := range flowlog.Fields() {
		toks = append(toks, "${"+f.Name+"}")
	}
	f, err := flowlog.ParseFormat(strings.Join(toks, " "))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func records() []flowlog.Record {
	eni := flowlog.ENIInfo{ENI: "eni-a", InstanceID: "i-a", SubnetID: "subnet-1", VPCID: "vpc-t1", AZID: "use1-az1",
		Region: "us-east-1", Account: "123456789012", Primary: netip.MustParseAddr("10.0.1.10")}
	return []flowlog.Record{
		{ENI: eni, Src: netip.MustParseAddr("203.0.113.12"), Dst: netip.MustParseAddr("10.0.1.10"), SrcPort: 50000,
			DstPort: 22, Protocol: 6, Packets: 1 << 40, Bytes: 1 << 41, TCPFlags: 0x02, Start: t0, End: t0.Add(5 * time.Second)},
		{ENI: eni, Egress: true, Src: netip.MustParseAddr("10.0.1.10"), Dst: netip.MustParseAddr("203.0.113.12"),
			SrcPort: 22, DstPort: 50000, Protocol: 6, Packets: 1, Bytes: 60, TCPFlags: 0x12, Start: t0, End: t0,
			Action: flowlog.Reject, TrafficPath: flowlog.PathInternet},
		{Status: flowlog.StatusNoData, ENI: eni, Start: t0, End: t0.Add(time.Minute)},
	}
}

// FL-36: a Parquet object holds the same values as the text one, with AWS's
// column names and types, '-' as NULL, in an object named .log.parquet.
func TestParquetMatchesText(t *testing.T) {
	f := allFields(t)
	recs := records()
	textRoot, pqRoot := t.TempDir(), t.TempDir()
	opts := flowlog.S3Options{Account: "123456789012", Region: "us-east-1", FlowLogID: "fl-1", Format: f}
	name := regexp.MustCompile(`^123456789012_vpcflowlogs_us-east-1_fl-1_20240506T1015Z_[0-9a-f]{8}\.log\.parquet$`)
	for _, c := range []struct {
		root string
		enc  flowlog.FileEncoder
	}{{textRoot, nil}, {pqRoot, Encoder{}}} {
		o := opts
		o.Root, o.Encoder = c.root, c.enc
		w, err := flowlog.NewS3Writer(o)
		if err != nil {
			t.Fatal(err)
		}
		paths, err := w.Write(recs)
		if err != nil {
			t.Fatal(err)
		}
		if c.enc != nil {
			if len(paths) != 1 || !name.MatchString(filepath.Base(paths[0])) {
				t.Errorf("parquet paths %v", paths)
			}
		}
	}
	want, err := flowlog.ReadDir(textRoot)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadDir(pqRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) || len(want) != len(recs) {
		t.Fatalf("read %d parquet and %d text records, want %d", len(got), len(want), len(recs))
	}
	for i := range want {
		for k, v := range want[i] {
			if got[i][k] != v {
				t.Errorf("record %d column %s: parquet %q, text %q", i, k, got[i][k], v)
			}
		}
		if len(got[i]) != len(want[i]) {
			t.Errorf("record %d: %d parquet columns, %d text columns", i, len(got[i]), len(want[i]))
		}
	}

	// Column names, order and types.
	matches, _ := filepath.Glob(filepath.Join(pqRoot, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/06/*.log.parquet"))
	if len(matches) != 1 {
		t.Fatalf("parquet objects: %v", matches)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, fd := range pf.Schema().Fields() {
		typ := fd.Type().String()
		cols = append(cols, fd.Name()+":"+typ)
		if !fd.Optional() {
			t.Errorf("column %s is not optional", fd.Name())
		}
	}
	var wantCols []string
	for _, fd := range flowlog.Fields() {
		typ := map[flowlog.ParquetType]string{flowlog.ParquetString: "STRING", flowlog.ParquetInt32: "INT(32,true)", flowlog.ParquetInt64: "INT(64,true)"}[fd.Parquet]
		wantCols = append(wantCols, strings.ReplaceAll(fd.Name, "-", "_")+":"+typ)
	}
	if !slices.Equal(cols, wantCols) {
		t.Errorf("columns\n got  %v\n want %v", cols, wantCols)
	}
	if got := pf.Metadata().RowGroups[0].Columns[0].MetaData.Codec.String(); got != "GZIP" {
		t.Errorf("codec %s, want GZIP", got)
	}
}
