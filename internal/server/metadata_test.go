package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// TestRequestMetadata_EveryOperationAppliesBedrocksRules sends request
// metadata through an unmodified SDK on all four runtime operations
// (Converse's requestMetadata member, InvokeModel's
// X-Amzn-Bedrock-Request-Metadata header): what Bedrock accepts is
// recorded as sent, what it refuses gets Bedrock's ValidationException
// before any model is called, and nothing of it is recorded.
func TestRequestMetadata_EveryOperationAppliesBedrocksRules(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	ctx := context.Background()
	msgs := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}}
	header := func(md map[string]string) *string {
		b, _ := json.Marshal(md)
		return aws.String(string(b))
	}
	ops := []struct {
		name string
		call func(md map[string]string) (middleware.Metadata, error)
	}{
		{"Converse", func(md map[string]string) (middleware.Metadata, error) {
			out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: msgs, RequestMetadata: md})
			if err != nil {
				return middleware.Metadata{}, err
			}
			return out.ResultMetadata, nil
		}},
		{"ConverseStream", func(md map[string]string) (middleware.Metadata, error) {
			out, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku), Messages: msgs, RequestMetadata: md})
			if err != nil {
				return middleware.Metadata{}, err
			}
			return out.ResultMetadata, drain[types.ConverseStreamOutput](out.GetStream())
		}},
		{"InvokeModel", func(md map[string]string) (middleware.Metadata, error) {
			out, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: invokeBody, RequestMetadata: header(md)})
			if err != nil {
				return middleware.Metadata{}, err
			}
			return out.ResultMetadata, nil
		}},
		{"InvokeModelWithResponseStream", func(md map[string]string) (middleware.Metadata, error) {
			out, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(haiku), Body: invokeBody, RequestMetadata: header(md)})
			if err != nil {
				return middleware.Metadata{}, err
			}
			return out.ResultMetadata, drain[types.ResponseStream](out.GetStream())
		}},
	}
	const (
		keys   = "Value at 'requestMetadata' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{1,256}]"
		values = "Value at 'requestMetadata' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}]"
	)
	seventeen := map[string]string{}
	for i := range 17 {
		seventeen[fmt.Sprintf("k%d", i)] = "v"
	}
	for _, tc := range []struct {
		name string
		md   map[string]string
		want string // "" means accepted
	}{
		{"allowed characters", map[string]string{"team": "search", "cost-center": "a.b/c:d@e$f#g=h+i,j_k l"}, ""},
		{"value of 256", map[string]string{"k": strings.Repeat("v", 256)}, ""},
		{"angle brackets in a key", map[string]string{"<script>": "v"}, "1 validation error detected: " + keys},
		{"quote in a value", map[string]string{"team": `a"b`}, "1 validation error detected: " + values},
		{"value of 257", map[string]string{"k": strings.Repeat("v", 257)}, "1 validation error detected: " + values},
		{"17 pairs", seventeen, "1 validation error detected: Value at 'requestMetadata' failed to satisfy constraint: Member must have length less than or equal to 16"},
		{"bad key and bad value", map[string]string{"a<": "v", "b": "<"}, "2 validation errors detected: " + keys + "; " + values},
	} {
		for _, op := range ops {
			t.Run(tc.name+"/"+op.name, func(t *testing.T) {
				md, err := op.call(tc.md)
				if tc.want == "" {
					if err != nil {
						t.Fatal(err)
					}
					inv := rec.byRequestID(t, requestID(t, md))
					if fmt.Sprint(inv.RequestMetadata) != fmt.Sprint(tc.md) {
						t.Errorf("recorded %v, want %v", inv.RequestMetadata, tc.md)
					}
					return
				}
				apiError(t, err, "ValidationException", 400, "")
				var ae smithy.APIError
				if errors.As(err, &ae) && ae.ErrorMessage() != tc.want {
					t.Errorf("message\n %q\nwant\n %q", ae.ErrorMessage(), tc.want)
				}
				inv := rec.last(t)
				if inv.ErrorCode != "ValidationException" || inv.RequestMetadata != nil || inv.Usage.OutputTokens != 0 {
					t.Errorf("recorded %s, metadata %v, %d output tokens", inv.ErrorCode, inv.RequestMetadata, inv.Usage.OutputTokens)
				}
			})
		}
	}
}

// eventStream is what the SDK's event-stream readers have in common.
type eventStream[E any] interface {
	Events() <-chan E
	Close() error
	Err() error
}

// drain reads a stream to its end and returns its error.
func drain[E any](st eventStream[E]) error {
	for range st.Events() {
	}
	st.Close()
	return st.Err()
}
