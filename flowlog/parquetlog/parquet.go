// Package parquetlog writes and reads VPC Flow Log files in Apache Parquet,
// AWS's `file_format: parquet` S3 option (spec FL-36). It is pure: no
// kernel, no root. It lives apart from package flowlog so that only callers
// that want Parquet link the Parquet library.
package parquetlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/vpcemu/vpcemu/flowlog"
)

// Extension is the file-name suffix of Parquet flow-log objects.
const Extension = ".log.parquet"

// Encoder is a flowlog.FileEncoder writing one gzip-compressed Parquet file
// per object, one optional column per format field, named as Athena names
// them ('-' becomes '_') and typed as AWS's field table says; '-' is NULL.
type Encoder struct{}

// Extension is ".log.parquet".
func (Encoder) Extension() string { return Extension }

// orderedGroup keeps the columns in format order; parquet.Group alone sorts
// them by name. Athena reads Parquet by column name either way, but format
// order makes the file read like the text one.
type orderedGroup struct {
	parquet.Group
	order []string
}

func (g orderedGroup) Fields() []parquet.Field {
	byName := make(map[string]parquet.Field, len(g.order))
	for _, f := range g.Group.Fields() {
		byName[f.Name()] = f
	}
	out := make([]parquet.Field, len(g.order))
	for i, n := range g.order {
		out[i] = byName[n]
	}
	return out
}

// Schema is the Parquet schema of files in format f.
func Schema(f flowlog.Format) *parquet.Schema {
	g := orderedGroup{Group: parquet.Group{}}
	for _, fd := range f.Fields() {
		var n parquet.Node
		switch fd.Parquet {
		case flowlog.ParquetInt32:
			n = parquet.Int(32)
		case flowlog.ParquetInt64:
			n = parquet.Int(64)
		default:
			n = parquet.String()
		}
		g.Group[fd.Column()] = parquet.Optional(n)
		g.order = append(g.order, fd.Column())
	}
	return parquet.NewSchema("vpc_flow_logs", g)
}

// Encode writes recs as one Parquet file.
func (Encoder) Encode(w io.Writer, f flowlog.Format, recs []flowlog.Record) error {
	schema := Schema(f)
	fields := f.Fields()
	pw := parquet.NewWriter(w, schema, parquet.Compression(&parquet.Gzip))
	rows := make([]parquet.Row, 0, len(recs))
	for i := range recs {
		row := make(parquet.Row, len(fields))
		for c, fd := range fields {
			v, err := value(f, fd, &recs[i])
			if err != nil {
				return err
			}
			if v.IsNull() {
				row[c] = v.Level(0, 0, c)
			} else {
				row[c] = v.Level(0, 1, c)
			}
		}
		rows = append(rows, row)
	}
	if _, err := pw.WriteRows(rows); err != nil {
		return fmt.Errorf("write parquet rows: %w", err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("close parquet file: %w", err)
	}
	return nil
}

func value(f flowlog.Format, fd flowlog.Field, r *flowlog.Record) (parquet.Value, error) {
	s := f.Value(fd, r)
	if s == "-" {
		return parquet.NullValue(), nil
	}
	switch fd.Parquet {
	case flowlog.ParquetInt32:
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("field %s: %w", fd.Name, err)
		}
		return parquet.Int32Value(int32(n)), nil
	case flowlog.ParquetInt64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("field %s: %w", fd.Name, err)
		}
		return parquet.Int64Value(n), nil
	}
	return parquet.ByteArrayValue([]byte(s)), nil
}

// ReadFile reads a Parquet flow-log file into one map per record keyed by
// column name, values as text with NULL as "-", like flowlog.ReadDir.
func ReadFile(path string) ([]map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var cols []string
	for _, c := range pf.Schema().Columns() {
		cols = append(cols, strings.Join(c, "."))
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	var out []map[string]string
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			m := make(map[string]string, len(cols))
			for _, v := range row {
				s := "-"
				if !v.IsNull() {
					s = v.String()
				}
				m[cols[v.Column()]] = s
			}
			out = append(out, m)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// ReadDir reads every Parquet flow-log file under root, in path order.
func ReadDir(root string) ([]map[string]string, error) {
	var out []map[string]string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), Extension) || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		recs, err := ReadFile(path)
		out = append(out, recs...)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("read parquet flow logs under %s: %w", root, err)
	}
	return out, nil
}
