package objectstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Mode selects the Store that Open returns.
type Mode string

const (
	// ModeAuto picks S3 when AWS configuration is present, else local; see
	// UseS3.
	ModeAuto Mode = "auto"
	// ModeS3 always uses S3 (or an S3-compatible endpoint) via LoadS3.
	ModeS3 Mode = "s3"
	// ModeLocal always uses a local directory, <dataDir>/s3.
	ModeLocal Mode = "local"
)

// autoEnv are the variables whose presence makes ModeAuto choose S3.
var autoEnv = []string{
	"AWS_ENDPOINT_URL_S3",
	"AWS_ENDPOINT_URL",
	"AWS_ACCESS_KEY_ID",
	"AWS_PROFILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",
}

// Open returns the Store for mode: ModeLocal gives NewDir(<dataDir>/s3),
// ModeS3 gives LoadS3(ctx, region), and ModeAuto (or "") decides with
// UseS3(getenv). getenv nil means os.Getenv. getenv only drives the
// decision: LoadS3 reads the process environment, as the AWS SDK does.
func Open(ctx context.Context, mode Mode, dataDir, region string, getenv func(string) string) (Store, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	switch mode {
	case ModeAuto, "":
		if UseS3(getenv) {
			return LoadS3(ctx, region)
		}
		return NewDir(filepath.Join(dataDir, "s3")), nil
	case ModeS3:
		return LoadS3(ctx, region)
	case ModeLocal:
		return NewDir(filepath.Join(dataDir, "s3")), nil
	default:
		return nil, fmt.Errorf("objectstore: unknown mode %q (want %q, %q or %q)", mode, ModeAuto, ModeS3, ModeLocal)
	}
}

// UseS3 reports whether ModeAuto chooses S3: true when any of
// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_PROFILE,
// AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
// AWS_CONTAINER_CREDENTIALS_FULL_URI is non-empty, or a shared credentials
// or config file exists (AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE when
// set, else ~/.aws/credentials and ~/.aws/config). getenv nil means
// os.Getenv.
func UseS3(getenv func(string) string) bool {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, k := range autoEnv {
		if getenv(k) != "" {
			return true
		}
	}
	home := getenv("HOME")
	if home == "" {
		home = getenv("USERPROFILE")
	}
	for _, f := range []struct{ env, name string }{
		{"AWS_SHARED_CREDENTIALS_FILE", "credentials"},
		{"AWS_CONFIG_FILE", "config"},
	} {
		p := getenv(f.env)
		if p == "" {
			if home == "" {
				continue
			}
			p = filepath.Join(home, ".aws", f.name)
		} else if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
			p = filepath.Join(home, p[1:]) // as the SDK expands it
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return true
		}
	}
	return false
}
