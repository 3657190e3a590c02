package flowlog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Event is one CloudWatch Logs log event: a record line with its times in
// milliseconds since the epoch (FL-30).
type Event struct {
	Timestamp     int64  `json:"timestamp"`     // the record's start
	IngestionTime int64  `json:"ingestionTime"` // when vpcemu wrote it; after the record's end
	Message       string `json:"message"`
}

// StreamPath is the file holding the CloudWatch-Logs-like stream of one ENI
// of one flow log: <root>/cloudwatch/<flowlogid>/<eni>.jsonl.
func StreamPath(root, flowLogID, eni string) string {
	return filepath.Join(root, "cloudwatch", flowLogID, eni+".jsonl")
}

// CloudWatchWriter appends records to one newline-delimited JSON stream per
// ENI, as CloudWatch Logs keeps one log stream per ENI.
type CloudWatchWriter struct {
	root, flowLogID string
	format          Format
	clock           Clock
}

// NewCloudWatchWriter returns a writer for the streams of one flow log.
func NewCloudWatchWriter(root, flowLogID string, f Format, clock Clock) (*CloudWatchWriter, error) {
	if root == "" || flowLogID == "" || strings.ContainsAny(flowLogID, "/\\") {
		return nil, fmt.Errorf("cloudwatch destination: need a root directory and a flow log id without '/', got %q and %q", root, flowLogID)
	}
	if clock == nil {
		clock = time.Now
	}
	return &CloudWatchWriter{root: root, flowLogID: flowLogID, format: f, clock: clock}, nil
}

// Write appends recs to their ENIs' streams. Each stream gets one write of
// whole lines, so a tailing reader sees complete events.
func (w *CloudWatchWriter) Write(recs []Record) error {
	now := w.clock().UnixMilli()
	var enis []string
	byENI := make(map[string][]byte)
	for _, r := range recs {
		eni := r.ENI.ENI
		if eni == "" || strings.ContainsAny(eni, "/\\") || eni[0] == '.' {
			return fmt.Errorf("cloudwatch stream for flow log %s: bad ENI id %q", w.flowLogID, eni)
		}
		if _, ok := byENI[eni]; !ok {
			enis = append(enis, eni)
		}
		ev := Event{
			Timestamp:     r.Start.UnixMilli(),
			IngestionTime: max(now, r.End.UnixMilli()+1),
			Message:       w.format.Line(r),
		}
		line, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		byENI[eni] = append(append(byENI[eni], line...), '\n')
	}
	slices.Sort(enis)
	for _, eni := range enis {
		path := StreamPath(w.root, w.flowLogID, eni)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create stream directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("open stream %s: %w", path, err)
		}
		_, err = f.Write(byENI[eni])
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("append to stream %s: %w", path, err)
		}
	}
	return nil
}

// ReadStream reads every complete event of a stream file; a trailing
// partial line (a write in progress) is left for the next read.
func ReadStream(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read stream: %w", err)
	}
	defer f.Close()
	var evs []Event
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// Whatever is left has no newline yet.
			return evs, nil
		}
		if err != nil {
			return evs, fmt.Errorf("read stream %s: %w", path, err)
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return evs, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		evs = append(evs, ev)
	}
}
