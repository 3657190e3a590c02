package flowlog

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
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
	var out []map[string]string
	err := ScanFile(path, func(cols, vals []string) error {
		m := make(map[string]string, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// ScanFile streams one plain-text log file, gzipped (*.gz) or not, record
// by record: cols are the header's column names (as ReadDir names them),
// vals the record's values. Both slices are reused between calls. It reads
// files of any size in constant memory.
func ScanFile(path string, fn func(cols, vals []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var cols, vals []string
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cols == nil {
			for _, h := range strings.Split(line, " ") {
				cols = append(cols, strings.ReplaceAll(h, "-", "_"))
			}
			vals = make([]string, len(cols))
			continue
		}
		vals = vals[:0]
		for len(line) > 0 && len(vals) <= len(cols) {
			i := strings.IndexByte(line, ' ')
			if i < 0 {
				vals = append(vals, line)
				break
			}
			vals = append(vals, line[:i])
			line = line[i+1:]
		}
		if len(vals) != len(cols) {
			return fmt.Errorf("%s:%d: %d values for %d columns", path, n, len(vals), len(cols))
		}
		if err := fn(cols, vals); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if cols == nil {
		return fmt.Errorf("%s: no header line", path)
	}
	return nil
}
