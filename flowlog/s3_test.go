package flowlog

import (
	"bufio"
	"compress/gzip"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TV-34: key names for the default, hive-compatible and hourly layouts.
func TestS3Keys(t *testing.T) {
	period := time.Date(2024, 5, 6, 10, 15, 0, 0, time.UTC)
	base := S3Options{Account: "123456789012", Region: "us-east-1", FlowLogID: "fl-0abc1234"}
	tests := []struct {
		name         string
		hive, hourly bool
		want         string
	}{
		{"default", false, false, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/06/123456789012_vpcflowlogs_us-east-1_fl-0abc1234_20240506T1015Z_0123abcd.log.gz"},
		{"hourly", false, true, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/06/10/123456789012_vpcflowlogs_us-east-1_fl-0abc1234_20240506T1015Z_0123abcd.log.gz"},
		{"hive", true, false, "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=05/day=06/123456789012_vpcflowlogs_us-east-1_fl-0abc1234_20240506T1015Z_0123abcd.log.gz"},
		{"hive hourly", true, true, "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=05/day=06/hour=10/123456789012_vpcflowlogs_us-east-1_fl-0abc1234_20240506T1015Z_0123abcd.log.gz"},
	}
	for _, tt := range tests {
		o := base
		o.HiveCompatible, o.PerHourPartition = tt.hive, tt.hourly
		if got := o.Key(period, "0123abcd"); got != tt.want {
			t.Errorf("%s:\n got  %s\n want %s", tt.name, got, tt.want)
		}
	}
}

func gunzipLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", path, err)
	}
	var out []string
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	return out
}

// TV-34 on disk: records split into 5-minute periods by end, each file
// gzip with the header first, named by period start and a content hash.
func TestS3Writer(t *testing.T) {
	for _, hive := range []bool{false, true} {
		root := t.TempDir()
		f := mustFormat(t, "${version} ${interface-id} ${srcaddr} ${dstport} ${start} ${end} ${action} ${log-status}")
		w, err := NewS3Writer(S3Options{Root: root, Account: "123456789012", Region: "us-east-1", FlowLogID: "fl-0abc1234",
			Format: f, HiveCompatible: hive, PerHourPartition: true})
		if err != nil {
			t.Fatal(err)
		}
		recs := []Record{
			{ENI: eniA, Src: addrX, Dst: addrA, DstPort: 22, Protocol: 6, Start: at(0), End: at(10)},
			{ENI: eniA, Src: addrX, Dst: addrA, DstPort: 23, Protocol: 6, Start: at(290), End: at(299), Action: Reject},
			{ENI: eniA, Src: addrX, Dst: addrA, DstPort: 24, Protocol: 6, Start: at(295), End: at(300)},
			{Status: StatusNoData, ENI: eniB, Start: at(-60), End: at(0)},
		}
		paths, err := w.Write(recs)
		if err != nil {
			t.Fatal(err)
		}
		files := listFiles(t, root)
		prefix := "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/06/10/"
		if hive {
			prefix = "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=05/day=06/hour=10/"
		}
		name := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `123456789012_vpcflowlogs_us-east-1_fl-0abc1234_20240506T(1015|1020)Z_[0-9a-f]{8}\.log\.gz$`)
		if len(files) != 2 || len(paths) != 2 {
			t.Fatalf("hive=%v: files %v (returned %v), want one per period 10:15 and 10:20", hive, files, paths)
		}
		for _, p := range files {
			if !name.MatchString(p) {
				t.Errorf("hive=%v: key %s does not match %s", hive, p, name)
			}
		}
		got := map[string][]string{}
		for _, p := range paths {
			k := "T1020"
			if strings.Contains(filepath.Base(p), "T1015Z") {
				k = "T1015"
			}
			got[k] = gunzipLines(t, p)
		}
		header := "version interface-id srcaddr dstport start end action log-status"
		diffLines(t, got["T1015"], []string{header,
			"2 eni-a 203.0.113.12 22 1714990500 1714990510 ACCEPT OK",
			"2 eni-a 203.0.113.12 23 1714990790 1714990799 REJECT OK",
			"2 eni-b - - 1714990440 1714990500 - NODATA",
		})
		diffLines(t, got["T1020"], []string{header, "2 eni-a 203.0.113.12 24 1714990795 1714990800 ACCEPT OK"})

		// Same records, same bytes, same names; different records, a new name.
		again, err := w.Write(recs)
		if err != nil || !slices.Equal(again, paths) {
			t.Errorf("rewrite gave %v, %v; want %v", again, err, paths)
		}
		more, err := w.Write(recs[:1])
		if err != nil || len(more) != 1 || slices.Contains(paths, more[0]) {
			t.Errorf("different content gave %v, %v", more, err)
		}
		for _, p := range listFiles(t, root) {
			if strings.Contains(p, ".tmp") {
				t.Errorf("temporary file left behind: %s", p)
			}
		}
	}
	if _, err := NewS3Writer(S3Options{Root: t.TempDir(), Account: "1", Region: "r"}); err == nil {
		t.Error("writer without flow log id accepted")
	}
}

// §4.7: the files read back with Athena's column names answer the seed's
// question "accepted port-22 connections from addresses other than mine".
func TestReadDirAthenaQuery(t *testing.T) {
	root := t.TempDir()
	clk := &fakeClock{now: at(0)}
	a := newAgg(t, clk, 60*time.Second, TrafficAll, eniA)
	laptop, stranger := netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("203.0.113.99")
	for _, s := range []Sample{
		{ENI: "eni-a", Src: laptop, Dst: addrA, SrcPort: 50000, DstPort: 22, Protocol: 6, Packets: 10, TCPFlags: 0x02},
		{ENI: "eni-a", Src: stranger, Dst: addrA, SrcPort: 50001, DstPort: 22, Protocol: 6, Packets: 12, TCPFlags: 0x02},
		{ENI: "eni-a", Src: stranger, Dst: addrA, SrcPort: 50002, DstPort: 23, Protocol: 6, Packets: 1, Reject: true},
		{ENI: "eni-a", Egress: true, Src: addrA, Dst: stranger, SrcPort: 22, DstPort: 50001, Protocol: 6, Packets: 9, ToInternet: true},
	} {
		s.First, s.Last = at(5), at(6)
		a.Add(s)
	}
	w, err := NewS3Writer(S3Options{Root: root, Account: "123456789012", Region: "us-east-1", FlowLogID: "fl-1",
		Format: mustFormat(t, allField)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(a.Flush(at(120))); err != nil {
		t.Fatal(err)
	}
	// A stray temporary file must be ignored by readers.
	os.WriteFile(filepath.Join(root, ".tmp-flowlog-123"), []byte("partial"), 0o644)
	rows, err := ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("read %d rows, want 4 OK records and 1 NODATA", len(rows))
	}
	for _, col := range []string{"account_id", "interface_id", "log_status", "tcp_flags", "pkt_srcaddr", "flow_direction", "traffic_path", "reject_reason", "ecs_task_id"} {
		if _, ok := rows[0][col]; !ok {
			t.Errorf("column %s missing from %v", col, rows[0])
		}
	}
	mine := netip.MustParsePrefix("198.51.100.0/24")
	var found []string
	for _, r := range rows {
		if r["log_status"] != "OK" || r["action"] != "ACCEPT" || r["protocol"] != "6" || r["dstport"] != "22" {
			continue
		}
		if src := netip.MustParseAddr(r["srcaddr"]); !mine.Contains(src) {
			found = append(found, r["srcaddr"]+" flags="+r["tcp_flags"])
		}
	}
	diffLines(t, found, []string{"203.0.113.99 flags=2"})
}

func TestCloudWatchStream(t *testing.T) {
	root := t.TempDir()
	clk := &fakeClock{now: at(65)}
	w, err := NewCloudWatchWriter(root, "fl-1", DefaultFormat(), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	recs := []Record{
		{ENI: eniA, Src: addrX, Dst: addrA, DstPort: 22, Protocol: 6, Packets: 1, Start: at(1), End: at(2)},
		{Status: StatusNoData, ENI: eniB, Start: at(0), End: at(60)},
		{ENI: eniA, Src: addrX, Dst: addrA, DstPort: 80, Protocol: 6, Packets: 1, Start: at(3), End: at(100)},
	}
	if err := w.Write(recs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(recs[2:]); err != nil {
		t.Fatal(err)
	}
	evs, err := ReadStream(StreamPath(root, "fl-1", "eni-a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("eni-a stream has %d events, want 2", len(evs))
	}
	want := []Event{
		{Timestamp: 1714990501000, IngestionTime: 1714990565000, Message: "2 123456789012 eni-a 203.0.113.12 10.0.1.10 0 22 6 1 0 1714990501 1714990502 ACCEPT OK"},
		{Timestamp: 1714990503000, IngestionTime: 1714990600001, Message: "2 123456789012 eni-a 203.0.113.12 10.0.1.10 0 80 6 1 0 1714990503 1714990600 ACCEPT OK"},
	}
	if !slices.Equal(evs, want) {
		t.Errorf("events %+v\nwant %+v", evs, want)
	}
	evs, err = ReadStream(StreamPath(root, "fl-1", "eni-b"))
	if err != nil || len(evs) != 1 || !strings.HasSuffix(evs[0].Message, "NODATA") {
		t.Errorf("eni-b stream: %+v, %v", evs, err)
	}
	// A half-written last line is not an event yet.
	fh, _ := os.OpenFile(StreamPath(root, "fl-1", "eni-b"), os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(`{"timestamp":1`)
	fh.Close()
	if evs, err := ReadStream(StreamPath(root, "fl-1", "eni-b")); err != nil || len(evs) != 1 {
		t.Errorf("with a partial line: %d events, %v", len(evs), err)
	}
}

// FL-31: a period whose file would pass the size limit is split over
// several files, losing no record.
func TestS3WriterSplitsLargePeriods(t *testing.T) {
	root := t.TempDir()
	w, err := NewS3Writer(S3Options{Root: root, Account: "123456789012", Region: "us-east-1", FlowLogID: "fl-1", MaxObjectSize: 400})
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for i := range 100 {
		recs = append(recs, Record{ENI: eniA, Src: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), Dst: addrA,
			SrcPort: uint16(1000 + i*7919), DstPort: uint16(i * 31), Protocol: 6, Packets: uint64(i), Start: at(i), End: at(i)})
	}
	paths, err := w.Write(recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 2 {
		t.Fatalf("%d files, want the period split", len(paths))
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || fi.Size() > 400 {
			t.Errorf("%s: %v, size over the limit", p, err)
		}
	}
	rows, err := ReadDir(root)
	if err != nil || len(rows) != len(recs) {
		t.Fatalf("read back %d records, %v; want %d", len(rows), err, len(recs))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r["srcaddr"]] = true
	}
	if len(seen) != len(recs) {
		t.Errorf("%d distinct records read back, want %d", len(seen), len(recs))
	}
}
