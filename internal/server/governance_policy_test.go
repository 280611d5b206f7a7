package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/modelwatch/modelwatch/internal/config"
)

// applyYAML applies a YAML document on top of c, as a config file would
// be: policies are parsed from it with its line numbers.
func applyYAML(t testing.TB, c *config.Config, doc string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.LoadOnto(c, path); err != nil {
		t.Fatal(err)
	}
}

// Keys of the policy tests' principals.
const (
	carolKeyID  = "AKIACAROL00000EXAMPLE"
	carolSecret = "carol/K7MDENG/bPxRfiCYEXAMPLEKEY"
	carolAPIKey = "mw-carol-0123456789abcdefghijklmno"
	daveKeyID   = "AKIADAVE000000EXAMPLE"
	daveSecret  = "dave/K7MDENG/bPxRfiCYEXAMPLEKEY0"
	erinAPIKey  = "mw-erin-0123456789abcdefghijklmnop"
)

// policyConfig is two principals with IAM policies, as a platform team
// writes them: carol may call Claude 3 Haiku directly and Claude 3.5 Haiku
// only through a US inference profile, list models through her group's
// managed policy, and use her API key; dave is in the same group but
// suspended by a tag, which an explicit deny tests; erin may invoke
// everything but was not given bedrock:CallWithBearerToken.
const policyConfig = `
auth:
  policies:
    - name: ListModels
      document:
        Version: "2012-10-17"
        Statement:
          - Sid: List
            Effect: Allow
            Action: ["bedrock:List*", "bedrock:Get*"]
            Resource: "*"
  groups:
    - name: analysts
      managedPolicies: [ListModels]
  principals:
    - name: carol
      accessKeys: [{id: ` + carolKeyID + `, secret: "` + carolSecret + `"}]
      apiKeys: ["` + carolAPIKey + `"]
      groups: [analysts]
      tags: {team: research}
      policies:
        - name: InvokeHaiku
          document: |
            {"Version": "2012-10-17",
             "Statement": [
              {"Sid": "Haiku3", "Effect": "Allow", "Action": "bedrock:InvokeModel*",
               "Resource": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-*"},
              {"Sid": "USProfiles", "Effect": "Allow", "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
               "Resource": "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.anthropic.*"},
              {"Sid": "Haiku35ViaProfile", "Effect": "Allow", "Action": "bedrock:InvokeModel",
               "Resource": "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-haiku-*",
               "Condition": {"StringLike": {"bedrock:InferenceProfileArn": "arn:aws:bedrock:*:*:inference-profile/us.*"}}},
              {"Sid": "KeysFromTheTeam", "Effect": "Allow", "Action": "bedrock:CallWithBearerToken", "Resource": "*",
               "Condition": {"StringEquals": {"aws:PrincipalTag/team": "research"}}},
              {"Sid": "NeverFromOutside", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
               "Condition": {"NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}}
             ]}
    - name: dave
      accessKeys: [{id: ` + daveKeyID + `, secret: "` + daveSecret + `"}]
      groups: [analysts]
      tags: {suspended: "true"}
      policies:
        - name: Everything
          document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "bedrock:*", Resource: "*"}]}
        - name: Suspension
          document:
            Version: "2012-10-17"
            Statement:
              - Effect: Deny
                Action: "bedrock:Invoke*"
                Resource: "*"
                Condition: {StringEquals: {"aws:PrincipalTag/suspended": "true"}}
    - name: erin
      apiKeys: ["` + erinAPIKey + `"]
      policies:
        - name: InvokeOnly
          document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "bedrock:InvokeModel*", Resource: "*"}]}
`

func converseOnce(client *bedrockruntime.Client, model string) error {
	_, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String(model),
		Messages: []rttypes.Message{{Role: rttypes.ConversationRoleUser,
			Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: "hi"}}}},
		InferenceConfig: &rttypes.InferenceConfiguration{MaxTokens: aws.Int32(20)},
	})
	return err
}

// accessDenied returns the AccessDeniedException's message, or fails.
func accessDenied(t *testing.T, err error) string {
	t.Helper()
	var ade *rttypes.AccessDeniedException
	var cde *bedrocktypes.AccessDeniedException
	switch {
	case errors.As(err, &ade):
		return aws.ToString(ade.Message)
	case errors.As(err, &cde):
		return aws.ToString(cde.Message)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		t.Fatalf("want AccessDeniedException, got %s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	t.Fatalf("want AccessDeniedException, got %v", err)
	return ""
}

func TestIdentityPolicies_TwoPrincipalsWithTheUnmodifiedSDK(t *testing.T) {
	srv, rec := startServer(t, func(c *config.Config) { applyYAML(t, c, policyConfig) })
	carol := runtimeClient(srv.URL(), carolKeyID, carolSecret)
	dave := runtimeClient(srv.URL(), daveKeyID, daveSecret)
	const (
		haiku3  = "anthropic.claude-3-haiku-20240307-v1:0"
		haiku35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
		nova    = "amazon.nova-lite-v1:0"
	)
	notAllowed := func(who, action, resource string) string {
		return "User: arn:aws:iam::000000000000:user/" + who + " is not authorized to perform: " + action +
			" on resource: " + resource + " because no identity-based policy allows the " + action + " action"
	}

	if err := converseOnce(carol, haiku3); err != nil {
		t.Errorf("carol Converse %s: %v", haiku3, err)
	}
	stream, err := carol.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku3),
		Messages: []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: "hi"}}}}})
	if err != nil {
		t.Errorf("carol ConverseStream %s (bedrock:InvokeModel* allows the stream action): %v", haiku3, err)
	} else {
		for range stream.GetStream().Events() {
		}
		stream.GetStream().Close()
	}
	// Claude 3.5 Haiku only through a US profile: the direct call is
	// implicitly denied on the foundation model...
	if got, want := accessDenied(t, converseOnce(carol, haiku35)), notAllowed("carol", "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/"+haiku35); got != want {
		t.Errorf("carol direct %s:\n got %s\nwant %s", haiku35, got, want)
	}
	// ...and allowed through the profile, which needs both the profile
	// and the model (with bedrock:InferenceProfileArn set).
	if err := converseOnce(carol, "us."+haiku35); err != nil {
		t.Errorf("carol Converse us.%s: %v", haiku35, err)
	}
	// The profile is not enough for the stream action on the model.
	_, err = carol.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("us." + haiku35),
		Messages: []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: "hi"}}}}})
	if got, want := accessDenied(t, err), notAllowed("carol", "bedrock:InvokeModelWithResponseStream", "arn:aws:bedrock:us-east-1::foundation-model/"+haiku35); got != want {
		t.Errorf("carol ConverseStream us.%s:\n got %s\nwant %s", haiku35, got, want)
	}
	if got, want := accessDenied(t, converseOnce(carol, nova)), notAllowed("carol", "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/"+nova); got != want {
		t.Errorf("carol %s:\n got %s\nwant %s", nova, got, want)
	}

	// The group's managed policy lets carol list models; nothing lets
	// her change the logging configuration (the secure default).
	ctl := controlClient(srv.URL(), carolKeyID, carolSecret)
	if _, err := ctl.ListFoundationModels(context.Background(), &bedrock.ListFoundationModelsInput{}); err != nil {
		t.Errorf("carol ListFoundationModels through the group's policy: %v", err)
	}
	_, err = ctl.PutModelInvocationLoggingConfiguration(context.Background(), &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{TextDataDeliveryEnabled: aws.Bool(true),
			S3Config: &bedrocktypes.S3Config{BucketName: aws.String("b")}}})
	if got, want := accessDenied(t, err), "User: arn:aws:iam::000000000000:user/carol is not authorized to perform: bedrock:PutModelInvocationLoggingConfiguration because no identity-based policy allows the bedrock:PutModelInvocationLoggingConfiguration action"; got != want {
		t.Errorf("carol Put logging:\n got %s\nwant %s", got, want)
	}

	// dave's suspension is an explicit deny, which wins over his allow.
	if got, want := accessDenied(t, converseOnce(dave, haiku3)), "User: arn:aws:iam::000000000000:user/dave is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/"+haiku3+" with an explicit deny in an identity-based policy"; got != want {
		t.Errorf("dave:\n got %s\nwant %s", got, want)
	}

	// The OpenAI door maps to the same actions, with the API key's own.
	chat := func(key, model string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/chat/completions",
			strings.NewReader(`{"model":"`+model+`","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, body := chat(carolAPIKey, haiku3); code != http.StatusOK {
		t.Errorf("carol's API key on the OpenAI door, %s: %d %s", haiku3, code, body)
	}
	if code, body := chat(carolAPIKey, nova); code != http.StatusForbidden || !strings.Contains(body, notAllowed("carol", "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/"+nova)) {
		t.Errorf("carol's API key on the OpenAI door, %s: %d %s", nova, code, body)
	}
	if code, body := chat(erinAPIKey, haiku3); code != http.StatusForbidden || !strings.Contains(body, "User: arn:aws:iam::000000000000:user/erin is not authorized to perform: bedrock:CallWithBearerToken because no identity-based policy allows the bedrock:CallWithBearerToken action") {
		t.Errorf("erin's API key without bedrock:CallWithBearerToken: %d %s", code, body)
	}

	// Every refusal is recorded: AccessDeniedException, 403, and no body.
	denied := 0
	for _, inv := range rec.all() {
		if inv.ErrorCode == "AccessDeniedException" {
			denied++
			if inv.Status != http.StatusForbidden || len(inv.Input.Data) != 0 || inv.PrincipalName == "" {
				t.Errorf("denied call recorded as status %d, principal %q, %d body bytes", inv.Status, inv.PrincipalName, len(inv.Input.Data))
			}
		}
	}
	if denied != 6 {
		t.Errorf("%d denied model calls recorded, want 6 (carol ×3, dave, carol and erin on the OpenAI door)", denied)
	}
}

// A policy may require request tags (aws:RequestTag/<key>): Converse's
// requestMetadata and InvokeModel's X-Amzn-Bedrock-Request-Metadata header
// carry them, and they are known when the model (named in the URL) is
// authorized, before the body is decoded.
func TestIdentityPolicies_RequestTagsFromRequestMetadata(t *testing.T) {
	srv, _ := startServer(t, func(c *config.Config) {
		applyYAML(t, c, `
auth:
  principals:
    - name: frank
      accessKeys: [{id: `+carolKeyID+`, secret: "`+carolSecret+`"}]
      policies:
        - name: ApolloOnly
          document:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: bedrock:InvokeModel
                Resource: "*"
                Condition: {StringEquals: {"aws:RequestTag/project": apollo}}
`)
	})
	frank := runtimeClient(srv.URL(), carolKeyID, carolSecret)
	const haiku = "anthropic.claude-3-haiku-20240307-v1:0"
	call := func(md map[string]string) error {
		_, err := frank.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), RequestMetadata: md,
			Messages: []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: "hi"}}}}})
		return err
	}
	if err := call(map[string]string{"project": "apollo"}); err != nil {
		t.Errorf("Converse tagged project=apollo: %v", err)
	}
	want := "User: arn:aws:iam::000000000000:user/frank is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/" + haiku + " because no identity-based policy allows the bedrock:InvokeModel action"
	for _, md := range []map[string]string{{"project": "gemini"}, nil} {
		if got := accessDenied(t, call(md)); got != want {
			t.Errorf("Converse tagged %v:\n got %s\nwant %s", md, got, want)
		}
	}
	invoke := func(header string) error {
		_, err := frank.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: invokeBody,
			ContentType: aws.String("application/json")}, func(o *bedrockruntime.Options) {
			o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue("X-Amzn-Bedrock-Request-Metadata", header))
		})
		return err
	}
	if err := invoke(`{"project":"apollo"}`); err != nil {
		t.Errorf("InvokeModel with the metadata header project=apollo: %v", err)
	}
	if got := accessDenied(t, invoke(`{"project":"gemini"}`)); got != want {
		t.Errorf("InvokeModel tagged gemini:\n got %s\nwant %s", got, want)
	}
}
