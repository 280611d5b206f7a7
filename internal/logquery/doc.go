// Package logquery reads model invocation logs back from where they were
// delivered: the gzip NDJSON batch objects under
// <keyPrefix>/AWSLogs/<account>/BedrockModelInvocationLogs/<region>/ in an
// S3 bucket or the local directory that stands in for one.
//
// Source.Query lists the batch objects of a time range in key order (which
// is time order: hour folders, then names that start with the batch's first
// record time), decompresses them, and hands every record that matches a
// Filter to a callback together with its stored line, byte for byte.
// Source.Tail follows objects as they are delivered. Source.Resolve and
// Source.ResolveLine fetch bodies that were offloaded to the data/ folder.
//
// Problems with single objects or lines (a corrupt gzip stream, a line that
// is not a JSON record) do not stop a query: they are reported as
// *SkipError values, to Source.Warn when it is set, else joined into the
// error Query returns after it has read everything else.
package logquery
