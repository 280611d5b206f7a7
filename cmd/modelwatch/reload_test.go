package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/cmdtest"
)

// Carol's key and the model she calls.
const (
	carolKey = "carol-key-0123456789abcdef"
	haikuID  = "anthropic.claude-3-haiku-20240307-v1:0"
	haikuARN = "arn:aws:bedrock:us-east-1::foundation-model/" + haikuID
)

// reloadConfig is the served file with carol's policy statements spliced
// in. The header comment and blank line make its layout a user's, so
// that the lines errors name can be checked against the file's own.
func reloadConfig(statements string) string {
	return `# modelwatch, reloaded on SIGHUP.
region: us-east-1
accountId: "123456789012"

auth:
  principals:
    - name: carol
      apiKeys: ["` + carolKey + `"]
      policies:
        - name: haiku
          document:
            Version: "2012-10-17"
            Statement:
              - Sid: UseAPIKeys
                Effect: Allow
                Action: bedrock:CallWithBearerToken
                Resource: "*"
` + statements
}

// The three versions of carol's policy: she may call Claude 3 Haiku; a
// broken document (lowercase Effect, on line 19); a valid one that denies
// her.
var (
	allowHaiku = reloadConfig(`              - Sid: InvokeHaiku
                Effect: Allow
                Action: bedrock:InvokeModel
                Resource: ` + haikuARN + `
`)
	brokenPolicy = reloadConfig(`              - Sid: InvokeHaiku
                Effect: allow
                Action: bedrock:InvokeModel
                Resource: ` + haikuARN + `
`)
	denyHaiku = reloadConfig(`              - Sid: InvokeHaiku
                Effect: Allow
                Action: bedrock:InvokeModel
                Resource: ` + haikuARN + `
              - Sid: NoMoreHaiku
                Effect: Deny
                Action: bedrock:InvokeModel
                Resource: ` + haikuARN + `
`)
)

// converse calls Claude 3 Haiku through the Bedrock Runtime door with
// carol's API key, as a Bedrock API key client does, and returns the
// status, the x-amzn-ErrorType header and the body.
func converse(t *testing.T, url string) (status int, errType, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/model/"+haikuID+"/converse",
		strings.NewReader(`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":10}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+carolKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), string(b)
}

// watchHealth polls /healthz every 50 ms until stop is closed and returns
// a function reporting every answer that was not 200.
func watchHealth(url string, stop <-chan struct{}) (failures func() []string) {
	var mu sync.Mutex
	var bad []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			resp, err := http.Get(url + "/healthz")
			mu.Lock()
			switch {
			case err != nil:
				bad = append(bad, err.Error())
			case resp.StatusCode != http.StatusOK:
				bad = append(bad, resp.Status)
			}
			mu.Unlock()
			if err == nil {
				resp.Body.Close()
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() []string {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return bad
	}
}

// waitForLog waits up to 5 s for the server's log to contain s, and
// reports whether it did.
func waitForLog(srv *cmdtest.Process, s string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(srv.Log(), s) {
			return true
		}
	}
	return false
}

func TestSIGHUPReloadsPoliciesAtomically(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "modelwatch.yaml")
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(cfgFile, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(allowHaiku)
	srv := cmdtest.Serve(t, bin, []string{"--config", cfgFile},
		"MODELWATCH_LISTEN=127.0.0.1:0", "MODELWATCH_DATA_DIR="+filepath.Join(dir, "data"))
	pid := srv.Cmd.Process.Pid
	stop := make(chan struct{})
	healthFailures := watchHealth(srv.URL, stop)
	hup := func() {
		t.Helper()
		if err := srv.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatalf("SIGHUP: %v", err)
		}
	}

	if status, _, body := converse(t, srv.URL); status != http.StatusOK {
		t.Fatalf("carol allowed Claude 3 Haiku: %d %s", status, body)
	}

	// A broken policy: the reload is refused whole and carol keeps her
	// access.
	write(brokenPolicy)
	hup()
	const notReloaded = `msg="configuration not reloaded; the server keeps its previous configuration"`
	if !waitForLog(srv, notReloaded) {
		t.Fatalf("no %s in the log within 5 s of SIGHUP:\n%s", notReloaded, srv.Log())
	}
	if status, _, body := converse(t, srv.URL); status != http.StatusOK {
		t.Errorf("after a refused reload carol's call failed: %d %s", status, body)
	}
	var refusal string
	for _, line := range strings.Split(srv.Log(), "\n") {
		if strings.Contains(line, notReloaded) {
			refusal = line
		}
	}
	// slog's text handler quotes the error: " is \" and a newline \n.
	const wantCause = `principal \"carol\": policy \"haiku\": line 19, column 25: Effect must be \"Allow\" or \"Deny\", not \"allow\"`
	if !strings.Contains(refusal, wantCause) {
		t.Errorf("the refusal does not say what is wrong where; want it to contain\n%s\ngot\n%s", wantCause, refusal)
	}

	// A valid policy that denies her applies without a restart.
	write(denyHaiku)
	hup()
	var status int
	var errType, body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if status, errType, body = converse(t, srv.URL); status != http.StatusOK {
			break
		}
	}
	var msg struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal([]byte(body), &msg)
	const wantDenied = "User: arn:aws:iam::123456789012:user/carol is not authorized to perform: bedrock:InvokeModel on resource: " +
		haikuARN + " with an explicit deny in an identity-based policy"
	if status != http.StatusForbidden || errType != "AccessDeniedException" || msg.Message != wantDenied {
		t.Errorf("after reloading a denying policy: %d %q %s\nwant 403 AccessDeniedException with message %q", status, errType, body, wantDenied)
	}
	if !waitForLog(srv, `msg="configuration reloaded"`) {
		t.Errorf("no \"configuration reloaded\" in the log:\n%s", srv.Log())
	}

	close(stop)
	if bad := healthFailures(); len(bad) > 0 {
		t.Errorf("/healthz was not 200 throughout: %v", bad)
	}
	if srv.Cmd.Process.Pid != pid || syscall.Kill(pid, 0) != nil {
		t.Errorf("the server process %d is gone", pid)
	}
	if n := strings.Count(srv.Log(), "url=http://"); n != 1 {
		t.Errorf("the server logged its URL %d times: it restarted\n%s", n, srv.Log())
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("serve exited with %v after SIGTERM; log:\n%s", err, srv.Log())
	}
}
