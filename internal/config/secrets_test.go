package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A key placed where a name or number belongs must not reach an error
// message: `config validate` and `serve` print those.
func TestConfigErrorsNeverShowValuesFromTheEnvironment(t *testing.T) {
	const key = "sk-proj-SECRETSECRETSECRET0123456789"
	t.Setenv("MY_KEY", key)
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"apiKeyEnv holding the key", "providers:\n  - name: oa\n    type: openai\n    apiKeyEnv: ${MY_KEY}\n",
			"providers[oa]: apiKeyEnv must be the name of an environment variable, such as OPENAI_API_KEY, not the key itself"},
		{"a key in a number field", "providers:\n  - name: oa\n    type: openai\n    retries: ${MY_KEY}\n", notShown},
		{"a key in the region", "region: ${MY_KEY}\n", `region: "` + notShown + `" is not an AWS region name`},
		{"a key in a base URL", "providers:\n  - name: oa\n    type: openai\n    baseURL: ${MY_KEY}\n", notShown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "sk-proj") {
				t.Fatalf("the error shows the secret: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}
