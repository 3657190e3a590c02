package lessons

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vpcemu/vpcemu/flowlog"
)

// flowRecord is one flow-log record as read back from its file, keyed by
// Athena column name (srcaddr, dstport, action, ...).
type flowRecord map[string]string

func (r flowRecord) int(col string) int {
	n, err := strconv.Atoi(r[col])
	if err != nil {
		return -1
	}
	return n
}

// defaultColumns are the fields of the default (v2) format, in AWS's order.
var defaultColumns = []string{"version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport",
	"protocol", "packets", "bytes", "start", "end", "action", "log_status"}

// readFlowLogs flushes every open flow-log window and reads the files
// written since the last call (the S3 layout under the run's data dir).
func (e *env) readFlowLogs() error {
	e.recs = nil
	if err := e.lab.FlushFlowLogs(); err != nil {
		return fmt.Errorf("flush flow logs: %w", err)
	}
	root := e.lab.Paths().FlowLogs()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // no flow logs yet: the directory may not exist
		}
		if !d.IsDir() && strings.HasSuffix(path, ".log.gz") && !strings.HasPrefix(d.Name(), ".") && !e.seen[path] {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		recs, err := flowlog.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read flow logs: %w", err)
		}
		e.seen[f] = true
		for _, r := range recs {
			e.recs = append(e.recs, flowRecord(r))
		}
	}
	e.all = append(e.all, e.recs...)
	return nil
}

// portPair is one connection's client and server port.
type portPair struct{ client, server int }

// flowLines renders this step's records that belong to its traffic, both
// directions, as the lines of the log file.
func (e *env) flowLines(ports []portPair, lang string) ([]string, string) {
	var shown []flowRecord
	for _, r := range e.recs {
		sp, dp := r.int("srcport"), r.int("dstport")
		for _, p := range ports {
			if (sp == p.client && dp == p.server) || (sp == p.server && dp == p.client) {
				shown = append(shown, r)
				break
			}
		}
	}
	switch {
	case len(shown) > 0:
		cols := recordColumns(shown)
		out := []string{strings.Join(dashCols(cols), " ")}
		for _, r := range shown {
			out = append(out, recordLine(r, cols))
		}
		return out, ""
	case len(e.recs) == 0 && lang == "ko":
		return nil, "이 단계에서 기록된 흐름 로그가 없습니다"
	case len(e.recs) == 0:
		return nil, "no flow-log records were written for this step"
	case lang == "ko":
		return nil, fmt.Sprintf("흐름 로그 기록 %d건 중 이 트래픽의 기록은 없습니다", len(e.recs))
	default:
		return nil, fmt.Sprintf("%d flow-log records were written, none for this traffic", len(e.recs))
	}
}

// recordColumns are the columns to print records in: the default format's
// when they have its fields, else every field they have (a custom format's,
// such as pkt-srcaddr), in AWS's order of the fields.
func recordColumns(recs []flowRecord) []string {
	has := map[string]bool{}
	for _, r := range recs {
		for c := range r {
			has[c] = true
		}
	}
	custom := len(has) != len(defaultColumns)
	for _, c := range defaultColumns {
		custom = custom || !has[c]
	}
	if !custom {
		return defaultColumns
	}
	var cols []string
	for _, f := range flowlog.Fields() {
		if has[f.Column()] {
			cols = append(cols, f.Column())
		}
	}
	return cols
}

func dashCols(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = strings.ReplaceAll(c, "_", "-")
	}
	return out
}

// recordLine prints a record with the fields cols, in that order.
func recordLine(r flowRecord, cols []string) string {
	f := make([]string, len(cols))
	for i, c := range cols {
		v, ok := r[c]
		if !ok {
			v = "-"
		}
		f[i] = v
	}
	return strings.Join(f, " ")
}
