package invocationlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
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
	// Bucket names as S3 allows them (the service model only bounds length;
	// a name S3 would refuse cannot be written, which Bedrock reports the same way).
	bucketName   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	logGroupName = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)
	roleARN      = regexp.MustCompile(`^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$`)
)

// Validate checks c as Bedrock's service model does: at least one
// destination, names within their bounds and patterns.
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

func (s *S3Config) validate(field string) error {
	if s == nil {
		return nil
	}
	if len(s.BucketName) < 3 || len(s.BucketName) > 63 || !bucketName.MatchString(s.BucketName) {
		return constraint(s.BucketName, field+".bucketName", "Member must have length between 3 and 63 and be a valid S3 bucket name")
	}
	if len(s.KeyPrefix) > 1024 {
		return constraint(s.KeyPrefix, field+".keyPrefix", "Member must have length less than or equal to 1024")
	}
	return nil
}

func constraint(value, field, rule string) error {
	return &ValidationError{fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, rule)}
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
		return nil, fmt.Errorf("invocation logging config %s is corrupt: %w", s.path, err)
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
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
