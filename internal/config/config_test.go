package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/cost"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "modelwatch.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.Loopback() || c.Listen != "127.0.0.1:4600" || c.AccountID != "000000000000" || c.Region != "us-east-1" {
		t.Errorf("defaults: %s %s %s", c.Listen, c.AccountID, c.Region)
	}
	want := []string{"anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0", "amazon.titan-text-express-v1",
		"amazon.nova-lite-v1:0", "meta.llama3-8b-instruct-v1:0", "mistral.mistral-7b-instruct-v0:2", "amazon.titan-embed-text-v2:0"}
	have := map[string]*Model{}
	for i := range c.Models {
		have[c.Models[i].ID] = &c.Models[i]
	}
	for _, id := range want {
		m := have[id]
		if m == nil {
			t.Errorf("default catalog lacks %s", id)
			continue
		}
		if m.Provider != "simulator" || m.Family == "" || m.UpstreamModel != id {
			t.Errorf("%s: provider %q family %q upstream %q", id, m.Provider, m.Family, m.UpstreamModel)
		}
	}
}

func TestLoadMergesOntoDefaults(t *testing.T) {
	t.Setenv("MW_TEST_SECRET", `se"cr:et # not a comment`)
	path := writeFile(t, `
region: eu-west-1
limits:
  shutdownTimeout: 5s
auth:
  principals:
    - name: ci
      accessKeys: [{id: AKIACI0000000EXAMPLE, secret: "${MW_TEST_SECRET}"}]
models:
  - id: anthropic.claude-3-haiku-20240307-v1:0
    simulator: {throttleRate: 0.5}
  - id: acme.house-model-v1
    family: anthropic
    provider: simulator
    maxOutputTokens: 1000
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Region != "eu-west-1" || c.Limits.ShutdownTimeout != 5*time.Second || c.Limits.MaxRequestBytes != 25000000 {
		t.Errorf("scalars: %s %v %d", c.Region, c.Limits.ShutdownTimeout, c.Limits.MaxRequestBytes)
	}
	if got := c.Auth.Principals[0].AccessKeys[0].Secret; got != `se"cr:et # not a comment` {
		t.Errorf("env expansion gave %q", got)
	}
	var haiku, house *Model
	for i := range c.Models {
		switch c.Models[i].ID {
		case "anthropic.claude-3-haiku-20240307-v1:0":
			haiku = &c.Models[i]
		case "acme.house-model-v1":
			house = &c.Models[i]
		}
	}
	if haiku == nil || haiku.Simulator.ThrottleRate != 0.5 || haiku.Name != "Claude 3 Haiku" || haiku.Simulator.TimeToFirstToken != 20*time.Millisecond {
		t.Errorf("overriding one field of a built-in model lost the others: %+v", haiku)
	}
	if house == nil || house.DefaultMaxTokens != 1000 || house.Timeout != 2*time.Minute {
		t.Errorf("added model not filled with defaults: %+v", house)
	}
}

func TestDefaultCatalogOff(t *testing.T) {
	c, err := Load(writeFile(t, "defaultCatalog: false\nmodels:\n  - {id: anthropic.claude-3-haiku-20240307-v1:0, provider: simulator, maxOutputTokens: 10}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Models) != 1 {
		t.Errorf("%d models, want only the configured one", len(c.Models))
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"unknown key", "lissen: 1.2.3.4:1\n", "field lissen not found"},
		{"unknown model key", "models:\n  - {id: a.b, maxTokns: 3}\n", "field maxTokns not found"},
		{"missing env", "region: ${MW_TEST_UNSET_VARIABLE}\n", "environment variable MW_TEST_UNSET_VARIABLE is not set"},
		{"not a mapping", "- a\n- b\n", "top level must be a mapping"},
		{"model without id", "models:\n  - {name: x}\n", "entry 0 has no id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c, err := Load(writeFile(t, `
listen: nowhere
accountId: "12"
region: mars
log: {level: loud, format: xml}
providers:
  - {name: openai-prod, type: openia}
models:
  - {id: acme.x-v1, provider: nobody}
  - {id: meta.llama3-8b-instruct-v1:0, simulator: {errorRate: 2}}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{`listen: "nowhere"`, "accountId", "region", "log.level", "log.format", `unknown type "openia"`,
		`models[acme.x-v1]: unknown family`, `provider "nobody" is not defined`, "models[meta.llama3-8b-instruct-v1:0].simulator"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, "0.0.0.0:1": false, ":1": false, "10.0.0.1:1": false, "example.com:1": false} {
		if got := (&Config{Listen: addr}).Loopback(); got != want {
			t.Errorf("Loopback(%s) = %v", addr, got)
		}
	}
}

func FuzzApply(f *testing.F) {
	f.Add([]byte("region: eu-west-1\nmodels:\n  - {id: a.b, provider: simulator}\n"))
	f.Add([]byte("providers: [{name: x, type: simulator}]\n"))
	f.Add([]byte("defaultCatalog: false\n"))
	f.Add([]byte("models: 3\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		if err := c.apply(data); err != nil {
			return
		}
		_ = c.Validate() // must not panic on whatever was accepted
	})
}

func TestDefaultCatalogIsPriced(t *testing.T) {
	p, err := cost.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Default().Models {
		e, ok := p.Lookup(m.ID)
		if !ok {
			t.Errorf("default catalog model %s has no price", m.ID)
			continue
		}
		if !e.HasPrice() || e.Source == "" || e.Date == "" {
			t.Errorf("%s: incomplete entry %+v", m.ID, e)
		}
	}
}
