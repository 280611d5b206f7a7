package invocationlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// LoggingConfig is Bedrock's LoggingConfig, as PutModelInvocationLoggingConfiguration
// takes it and GetModelInvocationLoggingConfiguration returns it. Field names
// and nesting are the service model's.
type LoggingConfig struct {
	CloudWatchConfig             *CloudWatchConfig `json:"cloudWatchConfig,omitempty"`
	S3Config                     *S3Config         `json:"s3Config,omitempty"`
	TextDataDeliveryEnabled      *bool             `json:"textDataDeliveryEnabled,omitempty"`
	ImageDataDeliveryEnabled     *bool             `json:"imageDataDeliveryEnabled,omitempty"`
	EmbeddingDataDeliveryEnabled *bool             `json:"embeddingDataDeliveryEnabled,omitempty"`
	VideoDataDeliveryEnabled     *bool             `json:"videoDataDeliveryEnabled,omitempty"`
	AudioDataDeliveryEnabled     *bool             `json:"audioDataDeliveryEnabled,omitempty"`
}

// CloudWatchConfig is the CloudWatch Logs destination.
type CloudWatchConfig struct {
	LogGroupName              string    `json:"logGroupName"`
	RoleArn                   string    `json:"roleArn"`
	LargeDataDeliveryS3Config *S3Config `json:"largeDataDeliveryS3Config,omitempty"`
}

// S3Config is an S3 destination: a bucket and an optional key prefix.
type S3Config struct {
	BucketName string `json:"bucketName"`
	KeyPrefix  string `json:"keyPrefix,omitempty"`
}

// DataKind is a kind of body the data-delivery toggles govern.
type DataKind int

// Data kinds.
const (
	Text DataKind = iota
	Image
	Embedding
	Video
	Audio
)

// Delivers reports whether bodies of kind k are delivered. An omitted toggle
// counts as enabled: that is the default Terraform documents for the same
// API and what the Bedrock console pre-selects.
func (c *LoggingConfig) Delivers(k DataKind) bool {
	var p *bool
	switch k {
	case Text:
		p = c.TextDataDeliveryEnabled
	case Image:
		p = c.ImageDataDeliveryEnabled
	case Embedding:
		p = c.EmbeddingDataDeliveryEnabled
	case Video:
		p = c.VideoDataDeliveryEnabled
	case Audio:
		p = c.AudioDataDeliveryEnabled
	}
	return p == nil || *p
}

// ValidationError is a LoggingConfig that Bedrock would refuse with a
// ValidationException; its message is the one to send.
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return e.Message }

var (
	logGroupName = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)
	roleARN      = regexp.MustCompile(`^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$`)
	// ipShaped is a bucket name formatted as an IPv4 address, which S3
	// refuses (the same test as MinIO's).
	ipShaped = regexp.MustCompile(`^[0-9]+(\.[0-9]+){3}$`)
)

// Reserved bucket name prefixes and suffixes, from S3's general purpose
// bucket naming rules.
var (
	reservedBucketPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	reservedBucketSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

// Validate checks c as Bedrock's service model does: at least one
// destination, names within their bounds and patterns. Bucket names follow
// S3's naming rules (a name S3 would refuse cannot be written, which Bedrock
// reports the same way); key prefixes must be UTF-8 without control or
// bidirectional-control characters. ValidateKeys adds the check of the
// object keys' length.
func (c *LoggingConfig) Validate() error {
	if c.S3Config == nil && c.CloudWatchConfig == nil {
		return &ValidationError{"Logging configuration must specify at least one destination: s3Config or cloudWatchConfig."}
	}
	if err := c.S3Config.validate("loggingConfig.s3Config"); err != nil {
		return err
	}
	if cw := c.CloudWatchConfig; cw != nil {
		if !logGroupName.MatchString(cw.LogGroupName) {
			return constraint(cw.LogGroupName, "loggingConfig.cloudWatchConfig.logGroupName", `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+ and have length between 1 and 512`)
		}
		if len(cw.RoleArn) == 0 || len(cw.RoleArn) > 2048 || !roleARN.MatchString(cw.RoleArn) {
			return constraint(cw.RoleArn, "loggingConfig.cloudWatchConfig.roleArn", "Member must satisfy regular expression pattern: ^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$")
		}
		if err := cw.LargeDataDeliveryS3Config.validate("loggingConfig.cloudWatchConfig.largeDataDeliveryS3Config"); err != nil {
			return err
		}
	}
	return nil
}

// ValidateKeys checks that every object key delivery would write for c, in
// the account and region given, fits S3's MaxKeyBytes: the key prefix plus
// the longest suffix the layout produces (LongestKey). Without it a
// destination passes the permission check (whose key is short) and then
// fails every batch with KeyTooLongError.
func (c *LoggingConfig) ValidateKeys(accountID, region string) error {
	return c.validateKeys(accountID, region, "")
}

// validateKeys is ValidateKeys for the batch keys of the named replica
// (longer: a replica's batch names carry its name).
func (c *LoggingConfig) validateKeys(accountID, region, replica string) error {
	for _, s := range []struct {
		c     *S3Config
		field string
	}{
		{c.S3Config, "loggingConfig.s3Config"},
		{largeData(c), "loggingConfig.cloudWatchConfig.largeDataDeliveryS3Config"},
	} {
		if s.c == nil || longestKey(s.c.KeyPrefix, accountID, region, replica) <= MaxKeyBytes {
			continue
		}
		// A non-empty prefix adds itself and one "/" to the keys of an
		// empty one.
		suffix := longestKey("", accountID, region, replica)
		template := "<keyPrefix>/AWSLogs/<accountId>/BedrockModelInvocationLogs/<region>/<yyyy>/<mm>/<dd>/<hh>/data/<requestId>_output.json.gz"
		if suffix > LongestKey("", accountID, region) {
			template = "<keyPrefix>/AWSLogs/<accountId>/BedrockModelInvocationLogs/<region>/<yyyy>/<mm>/<dd>/<hh>/<time>_<replica>-<batchId>.json.gz"
		}
		return constraint(s.c.KeyPrefix, s.field+".keyPrefix", fmt.Sprintf(
			"Member must have length less than or equal to %d: delivery adds up to %d bytes after it "+
				"(%s) "+
				"and S3 object keys are limited to %d bytes",
			MaxKeyBytes-suffix-1, suffix+1, template, MaxKeyBytes))
	}
	return nil
}

func (s *S3Config) validate(field string) error {
	if s == nil {
		return nil
	}
	if rule := bucketNameRule(s.BucketName); rule != "" {
		return constraint(s.BucketName, field+".bucketName", "Member must have length between 3 and 63 and be a valid S3 bucket name: "+rule)
	}
	if len(s.KeyPrefix) > 1024 {
		return constraint(s.KeyPrefix, field+".keyPrefix", "Member must have length less than or equal to 1024")
	}
	if rule := keyPrefixRule(s.KeyPrefix); rule != "" {
		return constraint(s.KeyPrefix, field+".keyPrefix", rule)
	}
	return nil
}

// bucketNameRule returns the S3 bucket naming rule name breaks, or "".
func bucketNameRule(name string) string {
	switch {
	case len(name) < 3 || len(name) > 63:
		return "it must be between 3 and 63 characters long"
	case strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "":
		return "it may contain only lowercase letters, numbers, periods (.) and hyphens (-)"
	case !alnum(name[0]) || !alnum(name[len(name)-1]):
		return "it must begin and end with a letter or number"
	case strings.Contains(name, ".."):
		return "it must not contain two adjacent periods"
	case strings.Contains(name, ".-") || strings.Contains(name, "-."):
		return "each period-separated label must begin and end with a letter or number"
	case ipShaped.MatchString(name):
		return "it must not be formatted as an IP address"
	}
	for _, p := range reservedBucketPrefixes {
		if strings.HasPrefix(name, p) {
			return "it must not start with the reserved prefix " + p
		}
	}
	for _, sfx := range reservedBucketSuffixes {
		if strings.HasSuffix(name, sfx) {
			return "it must not end with the reserved suffix " + sfx
		}
	}
	return ""
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// keyPrefixRule returns the rule a key prefix breaks, or "": it must be
// UTF-8 (S3 keys are) without control characters (Unicode category Cc:
// they break listings, logs and terminals) and without bidirectional
// controls (Bidi_Control: U+202E and its kind make a key display as
// another).
func keyPrefixRule(p string) string {
	if !utf8.ValidString(p) {
		return "Member must be valid UTF-8"
	}
	for i, r := range p {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("Member must not contain control characters (U+%04X at byte %d)", r, i)
		case unicode.Is(unicode.Bidi_Control, r):
			return fmt.Sprintf("Member must not contain Unicode bidirectional control characters (U+%04X at byte %d)", r, i)
		}
	}
	return ""
}

func constraint(value, field, rule string) error {
	return &ValidationError{fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", echo(value), field, rule)}
}

// echo returns value as the message may show it: unchanged, or, when it
// holds what keyPrefixRule refuses, Go-quoted (without the quotes) so the
// message itself carries no control characters.
func echo(value string) string {
	if keyPrefixRule(value) == "" {
		return value
	}
	q := strconv.QuoteToGraphic(value)
	return q[1 : len(q)-1]
}

// Generation is one version of the logging configuration. Every record in
// the spool names the generation in force when its call was served, so a
// record is delivered where logging pointed at that moment even if the
// configuration changed since.
type Generation struct {
	// Number increases with every Put and Delete, from 1.
	Number uint32 `json:"generation"`
	// Config is nil for a Delete (logging off).
	Config *LoggingConfig `json:"config,omitempty"`
	// At is when it was put.
	At time.Time `json:"at"`
}

// ConfigStore persists the logging configuration and its history in one
// JSON file under the data directory, replaced atomically (write, fsync,
// rename, fsync directory) so a crash leaves the old or the new version.
type ConfigStore struct {
	path string

	mu   sync.RWMutex
	gens []Generation
}

type storeFile struct {
	Generations []Generation `json:"generations"`
}

// ConfigFile is where OpenConfigStore keeps the configuration, relative to
// the data directory.
const ConfigFile = "logging/config.json"

// OpenConfigStore loads the store under dataDir, creating an empty one.
func OpenConfigStore(dataDir string) (*ConfigStore, error) {
	s := &ConfigStore{path: filepath.Join(dataDir, ConfigFile)}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("invocation logging config: %w", err)
	}
	var f storeFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("invocation logging config %s is corrupt (%w): restore it from a backup, or move it aside to start with logging off and put the configuration again; "+
			"records still in the spool whose configuration version is then unknown are kept in %s for `modelwatch logs redeliver --bucket`",
			s.path, err, filepath.Join(dataDir, UndeliverableDir))
	}
	s.gens = f.Generations
	return s, nil
}

// Current returns the generation in force (Number 0 and a nil Config when
// logging was never configured).
func (s *ConfigStore) Current() Generation {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.gens) == 0 {
		return Generation{}
	}
	return s.gens[len(s.gens)-1]
}

// Get returns generation n, if known.
func (s *ConfigStore) Get(n uint32) (Generation, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, g := range s.gens {
		if g.Number == n {
			return g, true
		}
	}
	return Generation{}, false
}

// Generations returns every retained generation, oldest first.
func (s *ConfigStore) Generations() []Generation {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]Generation(nil), s.gens...)
}

// Set stores c (nil: logging off) as a new generation and returns it.
func (s *ConfigStore) Set(c *LoggingConfig, at time.Time) (Generation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := Generation{Number: 1, Config: c, At: at.UTC()}
	if n := len(s.gens); n > 0 {
		g.Number = s.gens[n-1].Number + 1
	}
	gens := append(append([]Generation(nil), s.gens...), g)
	if err := s.write(gens); err != nil {
		return Generation{}, err
	}
	s.gens = gens
	return g, nil
}

// Prune forgets generations older than the oldest one still needed (keep
// reports which); the current one is always kept.
func (s *ConfigStore) Prune(keep func(n uint32) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gens []Generation
	for i, g := range s.gens {
		if i == len(s.gens)-1 || keep(g.Number) {
			gens = append(gens, g)
		}
	}
	if len(gens) == len(s.gens) {
		return nil
	}
	if err := s.write(gens); err != nil {
		return err
	}
	s.gens = gens
	return nil
}

func (s *ConfigStore) write(gens []Generation) error {
	b, err := json.MarshalIndent(storeFile{Generations: gens}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, append(b, '\n'))
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new content.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}
