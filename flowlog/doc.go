// Package flowlog turns datapath flow counters into VPC Flow Log records in
// AWS's formats and S3 layout. It is pure: no kernel, no root.
//
// The pipeline of one flow log: the loader converts kernel counters into
// Samples and feeds them to an Aggregator (Config from ConfigFor), which
// closes windows on fixed boundaries of the aggregation interval (Flush,
// FlushAll at shutdown) and returns Records: one per flow key and window,
// plus NODATA and SKIPDATA markers. A Format (ParseFormat) renders records
// as AWS's text lines; S3Writer publishes them as gzip objects under AWS's
// key layout, CloudWatchWriter appends them to one JSON-lines stream per ENI,
// and ReadDir / ReadStream read both back. Package parquetlog adds the
// Parquet file format. Statement numbers (FL-n, TV-n) refer to
// ../shared/spec/aws-semantics.md §4 and §7.
package flowlog
