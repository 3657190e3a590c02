package flowlog

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ReadDir reads every plain-text log file (*.log.gz) under root, in path
// order, and returns one map per record keyed by column name: the header's
// field names with '-' replaced by '_', as AWS's Athena DDL names them
// (FL-39). Values are the record's text, '-' included.
func ReadDir(root string) ([]map[string]string, error) {
	var out []map[string]string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".log.gz") || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		recs, err := ReadFile(path)
		out = append(out, recs...)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("read flow logs under %s: %w", root, err)
	}
	return out, nil
}

// ReadFile reads one plain-text log file (see ReadDir).
func ReadFile(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var cols []string
	var out []map[string]string
	for n := 1; sc.Scan(); n++ {
		fields := strings.Split(sc.Text(), " ")
		if cols == nil {
			cols = make([]string, len(fields))
			for i, h := range fields {
				cols[i] = strings.ReplaceAll(h, "-", "_")
			}
			continue
		}
		if len(fields) != len(cols) {
			return out, fmt.Errorf("%s:%d: %d values for %d columns", path, n, len(fields), len(cols))
		}
		m := make(map[string]string, len(cols))
		for i, c := range cols {
			m[c] = fields[i]
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s: %w", path, err)
	}
	if cols == nil {
		return nil, fmt.Errorf("%s: no header line", path)
	}
	return out, nil
}
