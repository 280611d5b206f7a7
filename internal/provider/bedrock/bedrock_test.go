package bedrock

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/modelwatch/modelwatch/internal/provider"
)

// isolateAWSEnv points the SDK's configuration at nothing: no files, no
// instance metadata, no endpoint overrides, no region.
func isolateAWSEnv(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "nonexistent-config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "nonexistent-credentials"),
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME":       "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS":    "",
	} {
		t.Setenv(k, v)
	}
}

func TestNewUsesTheCredentialChain(t *testing.T) {
	isolateAWSEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecretKey)
	t.Setenv("AWS_SESSION_TOKEN", testSessionToken)
	t.Setenv("AWS_REGION", testRegion)

	ex := loadExchange(t, "converse")
	rs := newReplay(t, ex) // verifies the signature with the test credentials
	p, err := New(t.Context(), Options{BaseURL: rs.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if p.region != testRegion {
		t.Errorf("region = %q, want the environment's %q", p.region, testRegion)
	}
	if _, err := p.Converse(t.Context(), provider.Call{UpstreamModel: ex.Model}, chatRequest()); err != nil {
		t.Fatal(err)
	}
	if len(rs.received()) != 1 {
		t.Fatalf("the request did not reach the endpoint")
	}
}

func TestNewEndpointFromEnvironment(t *testing.T) {
	isolateAWSEnv(t)
	ex := loadExchange(t, "converse")
	rs := newReplay(t, ex)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // the service-specific setting wins
	t.Setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", rs.srv.URL)

	p, err := New(t.Context(), Options{Region: testRegion, Credentials: testCredentials()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Converse(t.Context(), provider.Call{UpstreamModel: ex.Model}, chatRequest()); err != nil {
		t.Fatal(err)
	}
}

func TestNewEndpoints(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		opts    Options
		want    string
		wantErr string
	}{
		{name: "region default", opts: Options{Region: "us-east-1"}, want: "https://bedrock-runtime.us-east-1.amazonaws.com"},
		{name: "china partition", opts: Options{Region: "cn-north-1"}, want: "https://bedrock-runtime.cn-north-1.amazonaws.com.cn"},
		{name: "region from environment", env: map[string]string{"AWS_REGION": "eu-west-3"}, want: "https://bedrock-runtime.eu-west-3.amazonaws.com"},
		{name: "base URL wins", env: map[string]string{"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://elsewhere"}, opts: Options{Region: "us-east-1", BaseURL: "https://vpce.example.com/"}, want: "https://vpce.example.com"},
		{name: "base URL with a path", opts: Options{Region: "us-east-1", BaseURL: "http://proxy.internal:8080/bedrock"}, want: "http://proxy.internal:8080/bedrock"},
		{name: "global endpoint", env: map[string]string{"AWS_ENDPOINT_URL": "http://localstack:4566"}, opts: Options{Region: "us-east-1"}, want: "http://localstack:4566"},
		{name: "configured endpoints ignored", env: map[string]string{"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://elsewhere", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, opts: Options{Region: "us-east-1"}, want: "https://bedrock-runtime.us-east-1.amazonaws.com"},
		{name: "no region", wantErr: "no AWS region"},
		{name: "bad region", opts: Options{Region: "us-east-1.evil.com/"}, wantErr: "invalid AWS region"},
		{name: "bad scheme", opts: Options{Region: "us-east-1", BaseURL: "ftp://example.com"}, wantErr: "must be an http or https URL"},
		{name: "credentials in the URL", opts: Options{Region: "us-east-1", BaseURL: "https://user:hunter2@example.com"}, wantErr: "must not carry credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWSEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tt.opts.Credentials = testCredentials()
			p, err := New(t.Context(), tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error shows the URL's password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.endpoint.String(); got != tt.want {
				t.Errorf("endpoint = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNewCachesCredentials(t *testing.T) {
	calls := 0
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		calls++
		return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey, SessionToken: testSessionToken, Source: "test"}, nil
	})
	ex := loadExchange(t, "converse")
	rs := newReplay(t, ex)
	p, err := New(t.Context(), Options{Region: testRegion, BaseURL: rs.srv.URL, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := p.Converse(t.Context(), provider.Call{UpstreamModel: ex.Model}, chatRequest()); err != nil {
			t.Fatal(err)
		}
	}
	// Credentials without an expiry are fetched once, then cached.
	if calls != 1 {
		t.Errorf("credentials retrieved %d times for 3 calls, want 1", calls)
	}
}

func TestCredentialFailureIsTheOperators(t *testing.T) {
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, context.DeadlineExceeded
	})
	p, err := New(t.Context(), Options{Region: testRegion, BaseURL: "http://127.0.0.1:1", Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Converse(t.Context(), provider.Call{UpstreamModel: "m"}, chatRequest())
	e := asAPIError(t, err)
	if e.Code != "ModelErrorException" || !strings.Contains(e.Message, "AWS credentials") {
		t.Errorf("error = %+v", e)
	}
}

func TestModelIDEscaping(t *testing.T) {
	p := newTestProvider(t, "https://bedrock-runtime.us-west-2.amazonaws.com")
	tests := []struct{ model, want string }{
		{"anthropic.claude-3-haiku-20240307-v1:0", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"},
		{"us.anthropic.claude-3-5-sonnet-20240620-v1:0", "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"},
		{"arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0",
			"/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.meta.llama3-2-1b-instruct-v1%3A0/converse"},
		{"model with space+plus", "/model/model%20with%20space%2Bplus/converse"},
	}
	for _, tt := range tests {
		if got := p.operationURL(tt.model, "converse").EscapedPath(); got != tt.want {
			t.Errorf("%s: path %s, want %s", tt.model, got, tt.want)
		}
	}
}

func TestBaseURLWithPathPrefix(t *testing.T) {
	ex := loadExchange(t, "converse")
	ex.Request.Path = "/proxy/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
	rs := newReplay(t, ex)
	p := newTestProvider(t, rs.srv.URL+"/proxy/")
	if _, err := p.Converse(t.Context(), provider.Call{UpstreamModel: ex.Model}, chatRequest()); err != nil {
		t.Fatal(err)
	}
}
