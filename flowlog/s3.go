package flowlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Period is the span of records one S3 log file covers: records whose end
// falls in the same 5 minutes (FL-31, FL-34).
const Period = 5 * time.Minute

// FileEncoder encodes the records of one S3 log object.
type FileEncoder interface {
	// Extension is the file-name suffix, e.g. ".log.gz".
	Extension() string
	// Encode writes a complete object holding recs in format f.
	Encode(w io.Writer, f Format, recs []Record) error
}

// TextEncoder writes AWS's plain-text files: gzip, a header line, one record per line.
type TextEncoder struct{}

// Extension is ".log.gz".
func (TextEncoder) Extension() string { return ".log.gz" }

// Encode writes the gzip stream. The gzip header carries no time or name, so
// equal records give equal bytes (FL-44).
func (TextEncoder) Encode(w io.Writer, f Format, recs []Record) error {
	zw := gzip.NewWriter(w)
	bw := bufio.NewWriter(zw)
	bw.WriteString(f.Header())
	bw.WriteByte('\n')
	var line []byte
	for _, r := range recs {
		line = f.AppendLine(line[:0], r)
		line = append(line, '\n')
		bw.Write(line)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("close gzip stream: %w", err)
	}
	return nil
}

// S3Options place one flow log's objects in a directory standing for the
// bucket (and prefix).
type S3Options struct {
	Root             string // bucket[/prefix] directory
	Account, Region  string
	FlowLogID        string
	Format           Format
	HiveCompatible   bool        // FL-33 key layout
	PerHourPartition bool        // adds an HH/ (hour=HH/) level
	Encoder          FileEncoder // nil = TextEncoder
	MaxObjectSize    int         // bytes; 0 = MaxObjectSize (75 MB, FL-31)
}

// MaxObjectSize is the largest log file AWS writes; more records of a
// period go to further files (FL-31).
const MaxObjectSize = 75 << 20

// Prefix is the key prefix of the objects of the period starting at t,
// with a trailing '/' (FL-32, FL-33).
func (o S3Options) Prefix(t time.Time) string {
	t = t.UTC()
	var b strings.Builder
	if o.HiveCompatible {
		fmt.Fprintf(&b, "AWSLogs/aws-account-id=%s/aws-service=vpcflowlogs/aws-region=%s/year=%04d/month=%02d/day=%02d/",
			o.Account, o.Region, t.Year(), t.Month(), t.Day())
		if o.PerHourPartition {
			fmt.Fprintf(&b, "hour=%02d/", t.Hour())
		}
	} else {
		fmt.Fprintf(&b, "AWSLogs/%s/vpcflowlogs/%s/%04d/%02d/%02d/", o.Account, o.Region, t.Year(), t.Month(), t.Day())
		if o.PerHourPartition {
			fmt.Fprintf(&b, "%02d/", t.Hour())
		}
	}
	return b.String()
}

// Key is the object key of the file for the period starting at t whose
// content hash is hash (FL-34).
func (o S3Options) Key(t time.Time, hash string) string {
	t = t.UTC()
	return fmt.Sprintf("%s%s_vpcflowlogs_%s_%s_%sZ_%s%s", o.Prefix(t), o.Account, o.Region, o.FlowLogID,
		t.Format("20060102T1504"), hash, o.encoder().Extension())
}

func (o S3Options) encoder() FileEncoder {
	if o.Encoder == nil {
		return TextEncoder{}
	}
	return o.Encoder
}

// S3Writer writes a flow log's records as S3 objects under a directory.
type S3Writer struct {
	opts S3Options
}

// NewS3Writer checks o and returns a writer for it.
func NewS3Writer(o S3Options) (*S3Writer, error) {
	for name, v := range map[string]string{"root": o.Root, "account": o.Account, "region": o.Region, "flow log id": o.FlowLogID} {
		if v == "" {
			return nil, fmt.Errorf("s3 destination: %s is empty", name)
		}
		if strings.ContainsAny(v, "/\\") && name != "root" {
			return nil, fmt.Errorf("s3 destination: %s %q contains a path separator", name, v)
		}
	}
	return &S3Writer{opts: o}, nil
}

// Write publishes recs as one object per 5-minute period of their end
// times, and returns the paths written. Each object appears atomically
// (written under a hidden temporary name in its directory, then renamed),
// so a reader never sees a partial file. Its name's hash is taken from its
// content, so writing the same records again rewrites the same object.
func (w *S3Writer) Write(recs []Record) ([]string, error) {
	var periods []time.Time
	byPeriod := make(map[time.Time][]Record)
	for _, r := range recs {
		p := r.End.UTC().Truncate(Period)
		if _, ok := byPeriod[p]; !ok {
			periods = append(periods, p)
		}
		byPeriod[p] = append(byPeriod[p], r)
	}
	var paths []string
	for _, p := range periods {
		var err error
		if paths, err = w.writePeriod(paths, p, byPeriod[p]); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// writePeriod writes recs as one object, or as several when one would be
// larger than the maximum object size.
func (w *S3Writer) writePeriod(paths []string, p time.Time, recs []Record) ([]string, error) {
	var buf bytes.Buffer
	if err := w.opts.encoder().Encode(&buf, w.opts.Format, recs); err != nil {
		return paths, fmt.Errorf("encode flow log %s period %s: %w", w.opts.FlowLogID, p.Format(time.RFC3339), err)
	}
	limit := w.opts.MaxObjectSize
	if limit <= 0 {
		limit = MaxObjectSize
	}
	if buf.Len() > limit && len(recs) > 1 {
		paths, err := w.writePeriod(paths, p, recs[:len(recs)/2])
		if err != nil {
			return paths, err
		}
		return w.writePeriod(paths, p, recs[len(recs)/2:])
	}
	sum := sha256.Sum256(buf.Bytes())
	path := filepath.Join(w.opts.Root, filepath.FromSlash(w.opts.Key(p, hex.EncodeToString(sum[:4]))))
	if err := writeAtomic(path, buf.Bytes()); err != nil {
		return paths, err
	}
	return append(paths, path), nil
}

// writeAtomic makes path appear with data in one step.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	// A leading dot and no .log.gz suffix keep readers (ReadDir, Athena-like
	// tools globbing *.log.gz) away from the file while it is incomplete.
	f, err := os.CreateTemp(dir, ".tmp-flowlog-*")
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("publish %s: %w", path, err)
	}
	return nil
}
