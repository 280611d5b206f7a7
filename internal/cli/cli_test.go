package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb, envOf(env))
	return code, out.String(), errb.String()
}

func TestCommands(t *testing.T) {
	if code, out, _ := run(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "modelwatch ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, errs := run(t, nil, "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errs)
	}
	if code, _, _ := run(t, nil); code != 2 {
		t.Errorf("no command: %d", code)
	}
	if code, out, _ := run(t, nil, "help"); code != 0 || !strings.Contains(out, "modelwatch serve") {
		t.Errorf("help: %d %q", code, out)
	}
}

func TestPrecedence(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("region: eu-west-1\naccountId: \"111111111111\"\nlisten: 127.0.0.1:7000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"defaults", nil, nil, "listen 127.0.0.1:4600, region us-east-1, account 000000000000"},
		{"AWS_REGION", map[string]string{"AWS_REGION": "ap-south-1"}, nil, "region ap-south-1"},
		{"file over AWS_REGION", map[string]string{"AWS_REGION": "ap-south-1"}, []string{"--config", cfg}, "listen 127.0.0.1:7000, region eu-west-1, account 111111111111"},
		{"MODELWATCH_CONFIG", map[string]string{"MODELWATCH_CONFIG": cfg}, nil, "region eu-west-1"},
		{"env over file", map[string]string{"MODELWATCH_REGION": "us-west-2"}, []string{"--config", cfg}, "region us-west-2"},
		{"flag over env", map[string]string{"MODELWATCH_REGION": "us-west-2", "MODELWATCH_LISTEN": "127.0.0.1:1"}, []string{"--region", "eu-north-1", "--config", cfg}, "listen 127.0.0.1:1, region eu-north-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.env, append([]string{"config", "validate"}, tt.args...)...)
			if code != 0 || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, out, errs, tt.want)
			}
		})
	}
}

func TestValidateFailures(t *testing.T) {
	code, _, errs := run(t, map[string]string{"MODELWATCH_LISTEN": "0.0.0.0:4600"}, "config", "validate")
	if code != 1 || !strings.Contains(errs, "no principal is configured") {
		t.Errorf("non-loopback without principals: %d %q", code, errs)
	}
	code, _, errs = run(t, nil, "config", "validate", "--region", "moon-1")
	if code != 1 || !strings.Contains(errs, "region") {
		t.Errorf("bad region: %d %q", code, errs)
	}
	code, _, errs = run(t, nil, "serve", "--listen", "0.0.0.0:0", "--data-dir", t.TempDir())
	if code != 1 || !strings.Contains(errs, "auth.principals") {
		t.Errorf("serve beyond loopback without principals: %d %q", code, errs)
	}
}
