package config

import (
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/alarm"
	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/quota"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// Audit configures the audit trail: every control-plane call and every
// access-denied call as a CloudTrail event, delivered through its own
// durable spool to an object store under CloudTrail's key layout, with
// signed digest files for integrity validation.
type Audit struct {
	// Enabled turns the trail on (default true).
	Enabled *bool `yaml:"enabled"`
	// Store is auto, s3 or local, as invocationLogging.store; "" means
	// local, <dataDir>/s3/<bucket>/<key>: the trail never writes to a
	// bucket nobody named (CloudTrail, too, delivers only to a bucket the
	// trail's owner made). Set s3 (and bucket) to deliver to S3.
	Store objectstore.Mode `yaml:"store"`
	// Bucket and Prefix say where log and digest files go (default bucket
	// "modelwatch-audit", no prefix).
	Bucket string `yaml:"bucket"`
	Prefix string `yaml:"prefix"`
	// TrailName names the trail in digest file names (default
	// "modelwatch").
	TrailName string `yaml:"trailName"`
	// DeliveryInterval is how often log files are written (default 5m, as
	// CloudTrail); DigestInterval how often digests are (default 1h).
	DeliveryInterval time.Duration `yaml:"deliveryInterval"`
	DigestInterval   time.Duration `yaml:"digestInterval"`
}

// On reports whether the trail is enabled.
func (a Audit) On() bool { return a.Enabled == nil || *a.Enabled }

// OutputStore is the store mode audit files are written with.
func (a Audit) OutputStore(*Config) objectstore.Mode {
	if a.Store != "" {
		return a.Store
	}
	return objectstore.ModeLocal
}

// BucketName is the bucket audit files go to.
func (a Audit) BucketName() string {
	if a.Bucket == "" {
		return "modelwatch-audit"
	}
	return a.Bucket
}

// noteLines records the line of every entry of the governance lists, for
// validateGovernance's messages.
func (c *Config) noteLines(root *yaml.Node) {
	if c.lines == nil {
		c.lines = map[string]int{}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "quotas", "budgets", "alarms":
			if v.Kind == yaml.SequenceNode {
				for j, e := range v.Content {
					c.lines[k.Value+"["+strconv.Itoa(j)+"]"] = e.Line
				}
			}
		}
	}
}

// at prefixes a message about a list entry with its line, when the entry
// came from a file.
func (c *Config) at(entry string) string {
	if l, ok := c.lines[entry]; ok {
		return fmt.Sprintf("line %d: %s", l, entry)
	}
	return entry
}

// validateGovernance checks the audit trail, quotas, budgets and alarms.
func (c *Config) validateGovernance() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Audit.Store {
	case "", objectstore.ModeAuto, objectstore.ModeS3, objectstore.ModeLocal:
	default:
		bad("audit.store: %q must be auto, s3 or local", c.Audit.Store)
	}
	if d := c.Audit.DeliveryInterval; d != 0 && (d < 100*time.Millisecond || d > time.Hour) {
		bad("audit.deliveryInterval: %v must be between 100ms and 1h", d)
	}
	if d := c.Audit.DigestInterval; d != 0 && (d < time.Second || d > 24*time.Hour) {
		bad("audit.digestInterval: %v must be between 1s and 24h", d)
	}
	for i := range c.Quotas {
		if err := c.Quotas[i].Validate(); err != nil {
			bad("%s: %v", c.at(fmt.Sprintf("quotas[%d]", i)), err)
		}
	}
	if len(errs) == 0 {
		if err := quota.ValidateRules(c.Quotas); err != nil {
			bad("quotas: %v", err)
		}
	}
	n := len(errs)
	for i := range c.Budgets {
		if err := c.Budgets[i].Validate(); err != nil {
			bad("%s: %v", c.at(fmt.Sprintf("budgets[%d]", i)), err)
		}
	}
	if len(errs) == n {
		if err := budget.ValidateAll(c.Budgets); err != nil {
			bad("budgets: %v", err)
		}
	}
	n = len(errs)
	for i := range c.Alarms {
		if err := c.Alarms[i].Validate(); err != nil {
			bad("%s: %v", c.at(fmt.Sprintf("alarms[%d]", i)), err)
		}
	}
	if len(errs) == n {
		if err := alarm.ValidateAll(c.Alarms); err != nil {
			bad("alarms: %v", err)
		}
	}
	return errs
}
