package bedrockapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

func TestValidateStartCollectsViolations(t *testing.T) {
	var req startAsyncRequest
	if err := json.Unmarshal([]byte(`{"clientRequestToken":"","modelId":"bad id!","outputDataConfig":{"s3OutputDataConfig":{"s3Uri":"s3://B","bucketOwner":"12"}}}`), &req); err != nil {
		t.Fatal(err)
	}
	err := validateStart(&req)
	want := "5 validation errors detected: " + strings.Join([]string{
		"Value '' at 'clientRequestToken' failed to satisfy constraint: Member must have length between 1 and 256",
		"Value 'bad id!' at 'modelId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z_\\.\\-/0-9:]+",
		"Value null at 'modelInput' failed to satisfy constraint: Member must not be null",
		"Value 's3://B' at 'outputDataConfig.s3OutputDataConfig.s3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern: s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?",
		"Value '12' at 'outputDataConfig.s3OutputDataConfig.bucketOwner' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]{12}",
	}, "; ")
	if err == nil || err.Code != apierror.Validation || err.Message != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func FuzzStartAsyncRequest(f *testing.F) {
	f.Add([]byte(`{"modelId":"amazon.nova-reel-v1:1","modelInput":{"taskType":"TEXT_VIDEO","textToVideoParams":{"text":"x"}},"outputDataConfig":{"s3OutputDataConfig":{"s3Uri":"s3://bucket/prefix"}},"clientRequestToken":"t","tags":[{"key":"k","value":"v"}]}`))
	f.Add([]byte(`{"modelId":null,"outputDataConfig":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req startAsyncRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		if err := validateStart(&req); err != nil {
			if err.Code != apierror.Validation || !strings.Contains(err.Message, "validation error") {
				t.Fatalf("%v", err)
			}
			return
		}
		// Accepted: every required member is there and well formed.
		if req.ModelID == nil || req.OutputDataConfig == nil || req.OutputDataConfig.S3OutputDataConfig == nil ||
			req.OutputDataConfig.S3OutputDataConfig.S3URI == nil || !s3URIPattern.MatchString(*req.OutputDataConfig.S3OutputDataConfig.S3URI) ||
			len(req.Tags) > maxTags {
			t.Fatalf("accepted %s", body)
		}
	})
}
