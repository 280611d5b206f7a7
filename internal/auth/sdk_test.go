package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/auth/bearer"
)

// TestBedrockRuntimeClient drives the real SDK client against the gateway's
// authentication, with the real clock.
func TestBedrockRuntimeClient(t *testing.T) {
	a := newTestAuthenticator(t, nil)
	srv := newTestServer(t, a, false)

	tests := []struct {
		name     string
		akid     string
		secret   string
		token    string
		modelID  string
		wantPath string
		wantCode string
	}{
		{
			name:     "model ID with ':'",
			akid:     testAKID,
			secret:   testSecret,
			modelID:  "anthropic.claude-3-haiku-20240307-v1:0",
			wantPath: invokePath,
		},
		{
			name:     "inference profile ARN with '/'",
			akid:     testAKID,
			secret:   testSecret,
			modelID:  "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
			wantPath: "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
		},
		{
			name:    "session token",
			akid:    otherAKID,
			secret:  otherSecret,
			token:   "IQoJb3JpZ2luX2VjEXAMPLE",
			modelID: "amazon.nova-lite-v1:0",
		},
		{
			name:     "wrong secret",
			akid:     testAKID,
			secret:   otherSecret,
			modelID:  "anthropic.claude-3-haiku-20240307-v1:0",
			wantCode: "InvalidSignatureException",
		},
		{
			name:     "unknown access key",
			akid:     "AKIDUNKNOWN000000000",
			secret:   testSecret,
			modelID:  "anthropic.claude-3-haiku-20240307-v1:0",
			wantCode: "UnrecognizedClientException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := bedrockruntime.New(bedrockruntime.Options{
				Region:           testRegion,
				BaseEndpoint:     aws.String(srv.URL),
				Credentials:      credentials.NewStaticCredentialsProvider(tt.akid, tt.secret, tt.token),
				HTTPClient:       srv.Client(),
				RetryMaxAttempts: 1,
			})
			_, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
				ModelId:     aws.String(tt.modelID),
				Body:        invokeBody(),
				ContentType: aws.String("application/json"),
			})
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("InvokeModel: %v", err)
				}
				if tt.wantPath != "" && srv.path() != tt.wantPath {
					t.Errorf("server saw path %q, want %q", srv.path(), tt.wantPath)
				}
				return
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("InvokeModel error %v is not an API error", err)
			}
			if apiErr.ErrorCode() != tt.wantCode {
				t.Fatalf("ErrorCode() = %q (%v), want %q", apiErr.ErrorCode(), err, tt.wantCode)
			}
			var generic *smithy.GenericAPIError
			if tt.wantCode == "InvalidSignatureException" && (!errors.As(err, &generic) || generic.Message != msgMismatch) {
				t.Errorf("error = %v, want the mismatch message", err)
			}
		})
	}

	t.Run("converse", func(t *testing.T) {
		client := bedrockruntime.New(bedrockruntime.Options{
			Region:           testRegion,
			BaseEndpoint:     aws.String(srv.URL),
			Credentials:      credentials.NewStaticCredentialsProvider(testAKID, testSecret, ""),
			HTTPClient:       srv.Client(),
			RetryMaxAttempts: 1,
		})
		_, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
			ModelId: aws.String("us.anthropic.claude-3-haiku-20240307-v1:0"),
		})
		if err != nil {
			t.Fatalf("Converse: %v", err)
		}
	})
}

// TestBedrockRuntimeClientBearer uses the SDK's Bedrock API key support
// (what AWS_BEARER_TOKEN_BEDROCK enables), which only signs over HTTPS.
func TestBedrockRuntimeClientBearer(t *testing.T) {
	a := newTestAuthenticator(t, nil)
	srv := newTestServer(t, a, true)
	for _, tt := range []struct {
		name, key, wantCode string
	}{
		{name: "valid key", key: testAPIKey},
		{name: "hashed key", key: hashedAPIKey},
		{name: "unknown key", key: "ABSKunknownkeyunknownkeyunknownkey", wantCode: "UnrecognizedClientException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := bedrockruntime.New(bedrockruntime.Options{
				Region:       testRegion,
				BaseEndpoint: aws.String(srv.URL),
				BearerAuthTokenProvider: bearer.TokenProviderFunc(func(context.Context) (bearer.Token, error) {
					return bearer.Token{Value: tt.key}, nil
				}),
				AuthSchemePreference: []string{"httpBearerAuth"},
				HTTPClient:           srv.Client(),
				RetryMaxAttempts:     1,
			})
			_, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
				ModelId:     aws.String("anthropic.claude-3-haiku-20240307-v1:0"),
				Body:        invokeBody(),
				ContentType: aws.String("application/json"),
			})
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("InvokeModel: %v", err)
				}
				return
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode {
				t.Fatalf("InvokeModel error = %v, want %s", err, tt.wantCode)
			}
		})
	}
}
