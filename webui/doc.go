// Package webui serves the live web view of a running topology: the VPC
// drawn from its live state, accepted flows and drops as they happen, the
// explain walk of any of them, rule hit counters and flow-log records.
//
// It reads the topology only through Source (LabSource adapts a running
// lab.Lab, which needs root; tests use their own), so the HTTP side and the
// event aggregation are root-free. It answers GET alone and changes nothing.
package webui
