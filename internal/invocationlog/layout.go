package invocationlog

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// LogsPrefix returns the key prefix under which Bedrock writes an account's
// invocation logs for a region:
// <keyPrefix>/AWSLogs/<accountId>/BedrockModelInvocationLogs/<region>/.
// An empty keyPrefix starts the key at AWSLogs/; a non-empty one is joined
// with exactly one "/".
func LogsPrefix(keyPrefix, accountID, region string) string {
	p := "AWSLogs/" + accountID + "/BedrockModelInvocationLogs/" + region + "/"
	if keyPrefix = strings.Trim(keyPrefix, "/"); keyPrefix != "" {
		p = keyPrefix + "/" + p
	}
	return p
}

// HourPrefix returns the folder of the UTC hour t within logsPrefix:
// <logsPrefix>yyyy/mm/dd/hh/.
func HourPrefix(logsPrefix string, t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s%04d/%02d/%02d/%02d/", logsPrefix, t.Year(), t.Month(), t.Day(), t.Hour())
}

// BatchKey returns the key of a batch object: the hour folder of its
// records and a name that starts with the batch's first record time (so
// keys sort by time) followed by a deterministic ID of the batch, so that a
// retried upload overwrites rather than duplicates.
func BatchKey(logsPrefix string, first time.Time, id string) string {
	return HourPrefix(logsPrefix, first) + first.UTC().Format("20060102T150405Z") + "_" + id + ".json.gz"
}

// DataKey returns the key of an offloaded body: part is "input" or "output".
func DataKey(logsPrefix string, t time.Time, requestID, part string) string {
	return HourPrefix(logsPrefix, t) + "data/" + requestID + "_" + part + ".json.gz"
}

// MaxKeyBytes is S3's limit on the length of an object key, in bytes of
// UTF-8.
const MaxKeyBytes = 1024

// LongestKey returns the length in bytes of the longest object key delivery
// writes under keyPrefix for the account and region: the longest of the
// permission-check key, a batch key and an offloaded body's key (request
// IDs are UUIDs; "output" is the longer part name). It is computed with the
// functions that make the keys, for the latest hour they can name.
func LongestKey(keyPrefix, accountID, region string) int {
	logs := LogsPrefix(keyPrefix, accountID, region)
	last := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	return max(len(PermissionCheckKey(keyPrefix)),
		len(BatchKey(logs, last, strings.Repeat("f", 2*batchIDBytes))),
		len(DataKey(logs, last, uuid.Nil.String(), "input")),
		len(DataKey(logs, last, uuid.Nil.String(), "output")))
}

// longestKey is LongestKey for the batch names of the named replica: a
// replica's batch IDs are "<replica>-<hex>", so that replicas delivering
// to one bucket can never write the same key.
func longestKey(keyPrefix, accountID, region, replica string) int {
	n := LongestKey(keyPrefix, accountID, region)
	if replica == "" {
		return n
	}
	last := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	return max(n, len(BatchKey(LogsPrefix(keyPrefix, accountID, region), last, replica+"-"+strings.Repeat("f", 2*batchIDBytes))))
}

// PermissionCheckKey is the zero-byte object written when a configuration
// is put, to prove the bucket is writable (Bedrock writes the same name).
func PermissionCheckKey(keyPrefix string) string {
	const name = "amazon-bedrock-logs-permission-check"
	if keyPrefix = strings.Trim(keyPrefix, "/"); keyPrefix != "" {
		return keyPrefix + "/" + name
	}
	return name
}

// LogStream is the CloudWatch Logs stream Bedrock delivers to.
const LogStream = "aws/bedrock/modelinvocations"

// PermissionCheckMessage is the event written to the log group when a
// configuration is put.
const PermissionCheckMessage = "Permissions are correctly set for Amazon Bedrock logs."
