package invocationlog

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestValidate_BucketNamesFollowS3Rules(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule string // "" when valid
	}{
		{"logs", ""},
		{"my.bedrock-logs.2026", ""},
		{"a1b", ""},
		{strings.Repeat("a", 63), ""},
		{"xn-a", ""},     // only the xn-- prefix is reserved
		{"a-s3alia", ""}, // only the whole suffix is
		{"1.2.3", ""},    // three numbers are no IP address
		{"ab", "between 3 and 63 characters"},
		{strings.Repeat("a", 64), "between 3 and 63 characters"},
		{"My-Bucket", "only lowercase letters, numbers, periods (.) and hyphens (-)"},
		{"a_b", "only lowercase letters, numbers, periods (.) and hyphens (-)"},
		{"a b", "only lowercase letters, numbers, periods (.) and hyphens (-)"},
		{"-ab", "begin and end with a letter or number"},
		{"ab.", "begin and end with a letter or number"},
		{"a..b", "two adjacent periods"},
		{"a.-b", "each period-separated label"},
		{"a-.b", "each period-separated label"},
		{"192.168.5.4", "formatted as an IP address"},
		{"10.0.0.1", "formatted as an IP address"},
		{"xn--bcher-kva", "reserved prefix xn--"},
		{"sthree-logs", "reserved prefix sthree-"},
		{"sthree-configurator", "reserved prefix sthree-"},
		{"amzn-s3-demo-logs", "reserved prefix amzn-s3-demo-"},
		{"logs-s3alias", "reserved suffix -s3alias"},
		{"logs--ol-s3", "reserved suffix --ol-s3"},
		{"logs.mrap", "reserved suffix .mrap"},
		{"logs--x-s3", "reserved suffix --x-s3"},
		{"logs--table-s3", "reserved suffix --table-s3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []*LoggingConfig{
				{S3Config: &S3Config{BucketName: tc.name}},
				{CloudWatchConfig: &CloudWatchConfig{LogGroupName: "g", RoleArn: "arn:aws:iam::123456789012:role/r",
					LargeDataDeliveryS3Config: &S3Config{BucketName: tc.name}}},
			} {
				err := c.Validate()
				field := "loggingConfig.s3Config.bucketName"
				if c.CloudWatchConfig != nil {
					field = "loggingConfig.cloudWatchConfig.largeDataDeliveryS3Config.bucketName"
				}
				if tc.rule == "" {
					if err != nil {
						t.Fatalf("valid name refused: %v", err)
					}
					continue
				}
				want := "1 validation error detected: Value '" + tc.name + "' at '" + field +
					"' failed to satisfy constraint: Member must have length between 3 and 63 and be a valid S3 bucket name: "
				var ve *ValidationError
				if !errors.As(err, &ve) || !strings.HasPrefix(ve.Message, want) || !strings.Contains(ve.Message, tc.rule) {
					t.Fatalf("got %v\nwant %q...%q", err, want, tc.rule)
				}
			}
		})
	}
}

func TestValidate_KeyPrefixRefusesControlAndBidiCharacters(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		want         string // the message after "Value '", "" when valid
	}{
		{"plain", "bedrock/invocation-logs", ""},
		{"unicode letters", "journaux/données/日本", ""},
		{"spaces and symbols", "a b/c+d=e!", ""},
		{"zero-width joiner is not a control", "a\u200db", ""},
		{"newline", "logs\nx", `logs\nx' at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must not contain control characters (U+000A at byte 4)`},
		{"NUL", "\x00", `\x00' at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must not contain control characters (U+0000 at byte 0)`},
		{"DEL", "a\x7f", `a\x7f' at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must not contain control characters (U+007F at byte 1)`},
		{"C1 control", "a\u0085", `a\u0085' at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must not contain control characters (U+0085 at byte 1)`},
		{"right-to-left override", "logs/\u202egpj.exe", `logs/\u202egpj.exe' at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must not contain Unicode bidirectional control characters (U+202E at byte 5)`},
		{"right-to-left isolate", "\u2067x", `\u2067x' at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must not contain Unicode bidirectional control characters (U+2067 at byte 0)`},
		{"left-to-right mark", "x\u200e", `x\u200e' at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must not contain Unicode bidirectional control characters (U+200E at byte 1)`},
		{"Arabic letter mark", "x\u061c", `x\u061c' at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must not contain Unicode bidirectional control characters (U+061C at byte 1)`},
		{"invalid UTF-8", "a\xffb", `a\xffb' at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must be valid UTF-8`},
		{"too long", strings.Repeat("a", 1025), strings.Repeat("a", 1025) + `' at 'loggingConfig.s3Config.keyPrefix' failed to satisfy constraint: Member must have length less than or equal to 1024`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&LoggingConfig{S3Config: &S3Config{BucketName: "logs", KeyPrefix: tc.prefix}}).Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid prefix refused: %v", err)
				}
				return
			}
			if want := "1 validation error detected: Value '" + tc.want; err == nil || err.Error() != want {
				t.Fatalf("got  %v\nwant %s", err, want)
			}
		})
	}
}

// TestValidateKeys_BoundIsTheLongestKeyWritten checks the bound against the
// keys themselves: the longest a prefix may be is the one whose longest
// key is exactly MaxKeyBytes, the offloaded output body's key.
func TestValidateKeys_BoundIsTheLongestKeyWritten(t *testing.T) {
	const account = "123456789012"
	for _, region := range []string{"us-east-1", "ap-southeast-2", "us-gov-west-1"} {
		t.Run(region, func(t *testing.T) {
			logs := LogsPrefix("", account, region)
			suffix := len(DataKey(logs, time.Now(), "f3ae32b1-ae22-48f1-ba9c-d8075737f52a", "output"))
			if got := LongestKey("", account, region); got != suffix {
				t.Fatalf("LongestKey(\"\") = %d, the output body key is %d bytes", got, suffix)
			}
			room := MaxKeyBytes - suffix - 1
			fits := strings.Repeat("p", room)
			if n := len(DataKey(LogsPrefix(fits, account, region), time.Now(), "f3ae32b1-ae22-48f1-ba9c-d8075737f52a", "output")); n != MaxKeyBytes {
				t.Fatalf("a prefix of %d bytes makes a %d-byte key, want %d", room, n, MaxKeyBytes)
			}
			if err := (&LoggingConfig{S3Config: &S3Config{BucketName: "logs", KeyPrefix: fits}}).ValidateKeys(account, region); err != nil {
				t.Fatalf("prefix of %d bytes refused: %v", room, err)
			}
			for _, c := range []*LoggingConfig{
				{S3Config: &S3Config{BucketName: "logs", KeyPrefix: fits + "p"}},
				{CloudWatchConfig: &CloudWatchConfig{LogGroupName: "g", RoleArn: "arn:aws:iam::123456789012:role/r",
					LargeDataDeliveryS3Config: &S3Config{BucketName: "logs", KeyPrefix: fits + "p"}}},
			} {
				field := "loggingConfig.s3Config.keyPrefix"
				if c.CloudWatchConfig != nil {
					field = "loggingConfig.cloudWatchConfig.largeDataDeliveryS3Config.keyPrefix"
				}
				want := "1 validation error detected: Value '" + fits + "p' at '" + field + "' failed to satisfy constraint: Member must have length less than or equal to " +
					strconv.Itoa(room) + ": delivery adds up to " + strconv.Itoa(suffix+1) + " bytes after it (<keyPrefix>/AWSLogs/<accountId>/BedrockModelInvocationLogs/<region>/<yyyy>/<mm>/<dd>/<hh>/data/<requestId>_output.json.gz) and S3 object keys are limited to 1024 bytes"
				if err := c.ValidateKeys(account, region); err == nil || err.Error() != want {
					t.Fatalf("got  %v\nwant %s", err, want)
				}
			}
		})
	}
	// The 984-character prefix of the finding, in the default account and region.
	err := (&LoggingConfig{S3Config: &S3Config{BucketName: "logs", KeyPrefix: strings.Repeat("k", 984)}}).ValidateKeys("000000000000", "us-east-1")
	if err == nil || !strings.Contains(err.Error(), "Member must have length less than or equal to 895:") {
		t.Fatalf("984-byte prefix: %v", err)
	}
}

func TestOpenConfigStore_CorruptFileSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logging"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"generations":[{"generation":1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenConfigStore(dir)
	want := "invocation logging config " + filepath.Join(dir, ConfigFile) + " is corrupt (unexpected end of JSON input): restore it from a backup, " +
		"or move it aside to start with logging off and put the configuration again; records still in the spool whose configuration version is then unknown are kept in " +
		filepath.Join(dir, UndeliverableDir) + " for `modelwatch logs redeliver --bucket`"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// TestValidateKeysCountsTheReplicaInBatchNames: in a cluster a batch
// object's name carries its replica's name, so the longest key is the
// batch key and a Put's key prefix has that much less room; the error
// names the batch key's template.
func TestValidateKeysCountsTheReplicaInBatchNames(t *testing.T) {
	const account, region = "123456789012", "us-east-1"
	replica := strings.Repeat("r", 63) // the longest DNS label
	logs := LogsPrefix("", account, region)
	last := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	batch := len(BatchKey(logs, last, replica+"-"+strings.Repeat("f", 2*batchIDBytes)))
	if batch <= LongestKey("", account, region) {
		t.Fatalf("a replica's batch key (%d bytes) is not the longest (%d)", batch, LongestKey("", account, region))
	}
	room := MaxKeyBytes - batch - 1
	fits := &LoggingConfig{S3Config: &S3Config{BucketName: "logs", KeyPrefix: strings.Repeat("p", room)}}
	if err := fits.validateKeys(account, region, replica); err != nil {
		t.Fatalf("a prefix of %d bytes refused: %v", room, err)
	}
	over := &LoggingConfig{S3Config: &S3Config{BucketName: "logs", KeyPrefix: strings.Repeat("p", room+1)}}
	err := over.validateKeys(account, region, replica)
	if err == nil || !strings.Contains(err.Error(), "less than or equal to "+strconv.Itoa(room)+":") || !strings.Contains(err.Error(), "<time>_<replica>-<batchId>.json.gz") {
		t.Fatalf("a prefix of %d bytes: %v", room+1, err)
	}
	// A single node's limit is unchanged by the replica rule.
	if err := over.ValidateKeys(account, region); err != nil {
		t.Errorf("a single node refused a prefix of %d bytes: %v", room+1, err)
	}
}
