package config_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/config"
)

const clusterYAML = `
listen: 127.0.0.1:0
cluster:
  replica: mw-0
  postgres: postgres://postgres@127.0.0.1:5432/test
  redis: redis://127.0.0.1:6379/0
  redisUnavailable: closed
  secretsKey: ${MW_TEST_SECRETS_KEY}
auth:
  principals:
    - name: carol
      apiKeys: ["carol-key-0123456789abcdef"]
    - name: sigv4
      accessKeys:
        - id: AKIAEXAMPLE000000001
          secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
quotas:
  - name: rpm
    requestsPerMinute: 10
`

// TestSharedGovernanceHashesAPIKeysAndSealsSecrets: the document shared
// on PostgreSQL holds only the governance sections, API keys as their
// SHA-256, secret access keys sealed; applied on another replica with the
// same secretsKey it yields the same principals and quotas.
func TestSharedGovernanceHashesAPIKeysAndSealsSecrets(t *testing.T) {
	t.Setenv("MW_TEST_SECRETS_KEY", "a-long-random-cluster-secret-0123456789")
	cfg, err := loadAndValidate(t, clusterYAML)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cfg.SharedGovernance()
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	sum := sha256.Sum256([]byte("carol-key-0123456789abcdef"))
	for _, secret := range []string{"carol-key-0123456789abcdef", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "postgres://", "listen", "a-long-random"} {
		if strings.Contains(text, secret) {
			t.Errorf("shared document holds %q:\n%s", secret, text)
		}
	}
	for _, want := range []string{"sha256:" + hex.EncodeToString(sum[:]), "sealed:v1:", "requestsPerMinute: 10"} {
		if !strings.Contains(text, want) {
			t.Errorf("shared document lacks %q:\n%s", want, text)
		}
	}

	other, err := loadAndValidate(t, "listen: 127.0.0.1:0\ncluster:\n  secretsKey: a-long-random-cluster-secret-0123456789\n")
	if err != nil {
		t.Fatal(err)
	}
	applied, err := other.WithSharedGovernance(doc)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(applied.Auth.Principals); n != 2 {
		t.Fatalf("%d principals", n)
	}
	if got := string(applied.Auth.Principals[1].AccessKeys[0].Secret); got != "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" {
		t.Errorf("secret access key opened as %q", got)
	}
	if len(applied.Quotas) != 1 || applied.Quotas[0].RequestsPerMinute != 10 {
		t.Errorf("quotas %+v", applied.Quotas)
	}
	if applied.Listen != other.Listen || len(other.Auth.Principals) != 0 {
		t.Errorf("applying changed the replica's own settings or the original")
	}
	if _, err := other.WithSharedGovernance([]byte("auth: {}\nlisten: 0.0.0.0:80\n")); err == nil || !strings.Contains(err.Error(), `line 2: "listen" is not shared`) {
		t.Errorf("a document setting listen: %v", err)
	}

	wrong, _ := loadAndValidate(t, "listen: 127.0.0.1:0\ncluster:\n  secretsKey: another-long-random-secret-abcdefgh\n")
	if _, err := wrong.WithSharedGovernance(doc); err == nil || !strings.Contains(err.Error(), "cluster.secretsKey does not open it") {
		t.Errorf("wrong key: %v", err)
	}
	none, _ := loadAndValidate(t, "listen: 127.0.0.1:0\n")
	if _, err := none.WithSharedGovernance(doc); err == nil || !strings.Contains(err.Error(), "cluster.secretsKey is not set") {
		t.Errorf("no key: %v", err)
	}
}

// TestSharedGovernanceRefusesAccessKeysWithoutSecretsKey: a SigV4 secret
// cannot be hashed; without secretsKey it is not shared at all.
func TestSharedGovernanceRefusesAccessKeysWithoutSecretsKey(t *testing.T) {
	cfg, err := loadAndValidate(t, strings.Replace(clusterYAML, "  secretsKey: ${MW_TEST_SECRETS_KEY}\n", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.SharedGovernance(); err == nil || !strings.Contains(err.Error(), "set cluster.secretsKey") {
		t.Fatalf("got %v", err)
	}
}

func TestClusterSettingsAreValidated(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"cluster:\n  replica: Mw_0\n", `cluster.replica: "Mw_0" must be a DNS label`},
		{"cluster:\n  postgres: mysql://x\n", "cluster.postgres: must be a URL postgres://"},
		{"cluster:\n  redis: http://x:1\n", "cluster.redis: must be a URL redis://"},
		{"cluster:\n  redis: redis://x:1\n  redisUnavailable: open\n", `cluster.redisUnavailable: "open" must be local`},
		{"cluster:\n  redisUnavailable: closed\n", "cluster.redisUnavailable: set only with cluster.redis"},
		{"cluster:\n  secretsKey: short\n", "cluster.secretsKey: must be at least 16 characters"},
		{"metrics:\n  prometheusURL: prometheus:9090\n", `metrics.prometheusURL: "prometheus:9090" must be an http://`},
	} {
		_, err := loadAndValidate(t, "listen: 127.0.0.1:0\n"+tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "mysql://x") {
			t.Errorf("the error shows the URL: %v", err)
		}
	}
}

// FuzzWithSharedGovernance: whatever the shared configuration document
// holds (it comes from the database), applying it is an error or a valid
// configuration, never a panic, and never changes the replica's own
// settings.
func FuzzWithSharedGovernance(f *testing.F) {
	f.Add([]byte("auth:\n  principals:\n    - name: a\n      apiKeys: [\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"]\n"))
	f.Add([]byte("auth:\n  principals:\n    - name: s\n      accessKeys: [{id: AKIAEXAMPLE000000001, secret: \"sealed:v1:AAAA\"}]\n"))
	f.Add([]byte("quotas:\n  - {name: q, requestsPerMinute: 1}\nbudgets: []\nalarms: []\n"))
	f.Add([]byte("listen: 0.0.0.0:1\n"))
	path := filepath.Join(f.TempDir(), "modelwatch.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:0\ncluster:\n  secretsKey: a-long-random-cluster-secret-0123456789\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	base, err := config.Load(path)
	if err == nil {
		err = base.Validate()
	}
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := base.WithSharedGovernance(doc)
		if err != nil {
			return
		}
		if got.DataDir != base.DataDir || got.Listen != base.Listen || got.Cluster != base.Cluster || len(got.Models) != len(base.Models) {
			t.Fatalf("applying changed the replica's own settings")
		}
	})
}
