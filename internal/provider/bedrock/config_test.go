package bedrock

import (
	"os"
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider/providertest"
)

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    Config
		want string // "" means valid
	}{
		{"empty", Config{}, ""},
		{"region and endpoint", Config{Region: "us-west-2", BaseURL: "https://vpce.example.com"}, ""},
		{"not http", Config{BaseURL: "vpce.example.com"}, `baseURL "vpce.example.com" must be an http or https URL`},
		{"credentials in the URL", Config{BaseURL: "https://u:p@example.com"}, "baseURL must not carry credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			providertest.CheckValidation(t, tt.c.Validate(), tt.want)
		})
	}
}

// The region is the configured one, else the AWS configuration's, else
// the server's.
func TestConfigProvisionRegion(t *testing.T) {
	for _, tt := range []struct {
		name   string
		c      Config
		awsEnv string // AWS_REGION
		want   string
	}{
		{"configured", Config{Region: "us-west-2"}, "eu-west-3", "us-west-2"},
		{"from the AWS configuration", Config{}, "eu-west-3", "eu-west-3"},
		{"the server's", Config{}, "", "ap-south-1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWSEnv(t)
			t.Setenv("AWS_REGION", tt.awsEnv)
			got, err := tt.c.Provision(t.Context(), "aws", Env{Getenv: os.Getenv, Region: "ap-south-1"})
			if err != nil {
				t.Fatal(err)
			}
			p := got.(*Provider)
			if p.name != "aws" || p.region != tt.want {
				t.Errorf("name %q region %q, want aws %q", p.name, p.region, tt.want)
			}
		})
	}
}

func TestConfigProvisionEndpoint(t *testing.T) {
	isolateAWSEnv(t)
	got, err := Config{Region: "us-east-1", BaseURL: "http://127.0.0.1:9/"}.Provision(t.Context(), "aws", Env{})
	if err != nil {
		t.Fatal(err)
	}
	if e := got.(*Provider).endpoint.String(); e != "http://127.0.0.1:9" {
		t.Errorf("endpoint %s", e)
	}
	if _, err := (Config{BaseURL: "nowhere"}).Provision(t.Context(), "aws", Env{}); err == nil {
		t.Error("an invalid configuration was provisioned")
	}
}
