package iampolicy_test

import (
	"fmt"

	"github.com/modelwatch/modelwatch/internal/iampolicy"
)

func Example() {
	allow, err := iampolicy.Parse(iampolicy.Source{ID: "InvokeClaude", Type: iampolicy.SourceUser}, []byte(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "ViaProfileOnly",
    "Effect": "Allow",
    "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
    "Resource": [
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.*",
      "arn:aws:bedrock:*::foundation-model/anthropic.*"
    ],
    "Condition": {"ArnLike": {"bedrock:InferenceProfileArn": "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.*"}}
  }]}`))
	if err != nil {
		panic(err)
	}
	deny, err := iampolicy.Parse(iampolicy.Source{ID: "arn:aws:iam::123456789012:policy/OfficeOnly", Type: iampolicy.SourceUserManaged}, []byte(`{
  "Version": "2012-10-17",
  "Statement": {"Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}}`))
	if err != nil {
		panic(err)
	}
	set := iampolicy.Compile(allow, deny)

	model := "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
	ctx := iampolicy.NewContext(4).Set("aws:SourceIp", "203.0.113.9")
	fmt.Println(set.Evaluate(&iampolicy.Request{Action: "bedrock:InvokeModel", Resource: model, Context: ctx}))

	ctx.Set("bedrock:InferenceProfileArn", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0")
	fmt.Println(set.Evaluate(&iampolicy.Request{Action: "bedrock:InvokeModel", Resource: model, Context: ctx}))

	ctx.Set("aws:SourceIp", "198.51.100.1")
	r := &iampolicy.Request{Action: "bedrock:InvokeModel", Resource: model, Context: ctx}
	res := set.Explain(r)
	fmt.Println(iampolicy.DeniedMessage("arn:aws:iam::123456789012:user/alice", r.Action, r.Resource, res.Decision, res.DenyingPolicy))
	// Output:
	// implicitDeny
	// allowed
	// User: arn:aws:iam::123456789012:user/alice is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0 with an explicit deny in an identity-based policy: arn:aws:iam::123456789012:policy/OfficeOnly
}
