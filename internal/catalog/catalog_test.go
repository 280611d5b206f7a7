package catalog

import (
	"errors"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

func testCatalog(t testing.TB, region string) *Catalog {
	t.Helper()
	c, err := New(region, "123456789012", []*Model{
		{ID: "anthropic.claude-3-haiku-20240307-v1:0", Aliases: []string{"haiku", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghijkl"}},
		{ID: "amazon.nova-lite-v1:0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResolve(t *testing.T) {
	const haiku = "anthropic.claude-3-haiku-20240307-v1:0"
	tests := []struct {
		id, region       string
		wantModel        string
		wantProfile      string
		wantCode         apierror.Code
		wantInferenceReg string
	}{
		{id: haiku, wantModel: haiku},
		{id: "haiku", wantModel: haiku},
		{id: "arn:aws:bedrock:us-east-1::foundation-model/" + haiku, wantModel: haiku},
		{id: "us." + haiku, wantModel: haiku, wantProfile: "us." + haiku, wantInferenceReg: "us-east-1"},
		{id: "global." + haiku, wantModel: haiku, wantProfile: "global." + haiku, wantInferenceReg: "us-east-1"},
		{id: "eu." + haiku, region: "eu-west-1", wantModel: haiku, wantProfile: "eu." + haiku, wantInferenceReg: "eu-west-1"},
		{id: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + haiku, wantModel: haiku, wantProfile: "us." + haiku, wantInferenceReg: "us-east-1"},
		{id: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghijkl", wantModel: haiku},
		// Errors Bedrock gives.
		{id: "anthropic.claude-9", wantCode: apierror.Validation},
		{id: "eu." + haiku, wantCode: apierror.Validation}, // us-east-1 is not in the EU geography
		{id: "xx." + haiku, wantCode: apierror.Validation},
		{id: "arn:aws:bedrock:us-west-2::foundation-model/" + haiku, wantCode: apierror.Validation},
		{id: "arn:aws:bedrock:us-east-1::foundation-model/amazon.nope-v1", wantCode: apierror.Validation},
		{id: "arn:aws:bedrock:us-east-1:999999999999:inference-profile/us." + haiku, wantCode: apierror.AccessDenied},
		{id: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nope", wantCode: apierror.ResourceNotFound},
		{id: "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl", wantCode: apierror.ResourceNotFound},
		{id: "arn:aws:s3:::bucket/key", wantCode: apierror.Validation},
		{id: "", wantCode: apierror.Validation},
		{id: string(make([]byte, 2049)), wantCode: apierror.Validation},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			region := tt.region
			if region == "" {
				region = "us-east-1"
			}
			res, err := testCatalog(t, region).Resolve(tt.id)
			if tt.wantCode != "" {
				var e *apierror.Error
				if !errors.As(err, &e) || e.Code != tt.wantCode {
					t.Fatalf("Resolve = %+v, %v; want %s", res, err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Model.ID != tt.wantModel || res.ProfileID != tt.wantProfile || res.InferenceRegion != tt.wantInferenceReg {
				t.Errorf("Resolve = {%s %s %s}, want {%s %s %s}", res.Model.ID, res.ProfileID, res.InferenceRegion, tt.wantModel, tt.wantProfile, tt.wantInferenceReg)
			}
		})
	}
}

func TestNewRejectsDuplicates(t *testing.T) {
	_, err := New("us-east-1", "123456789012", []*Model{{ID: "a.b"}, {ID: "c.d", Aliases: []string{"a.b"}}})
	if err == nil {
		t.Fatal("duplicate alias accepted")
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"anthropic.claude-3-haiku-20240307-v1:0", "us.amazon.nova-lite-v1:0", "arn:aws:bedrock:us-east-1::foundation-model/x.y", "arn:", "a.b.c", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"} {
		f.Add(s)
	}
	c := testCatalog(f, "us-east-1")
	f.Fuzz(func(t *testing.T, id string) {
		res, err := c.Resolve(id)
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) {
				t.Fatalf("non-API error %v", err)
			}
			return
		}
		if res.Model == nil {
			t.Fatal("success without a model")
		}
	})
}

// A profile-only model refuses calls that name the model itself, by ID or
// foundation-model ARN, and serves its profiles and configured aliases.
func TestOnDemandRefusesProfileOnlyModels(t *testing.T) {
	r1 := &Model{ID: "deepseek.r1-v1:0", Provider: "p", ProfileOnly: true, Aliases: []string{"reasoner"}}
	plain := &Model{ID: "deepseek.v3-v1:0", Provider: "p"}
	c, err := New("us-east-1", "000000000000", []*Model{r1, plain})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id      string
		refused bool
	}{
		{"deepseek.r1-v1:0", true},
		{"arn:aws:bedrock:us-east-1::foundation-model/deepseek.r1-v1:0", true},
		{"us.deepseek.r1-v1:0", false},
		{"arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.deepseek.r1-v1:0", false},
		{"reasoner", false},
		{"deepseek.v3-v1:0", false},
	} {
		res, err := c.Resolve(tt.id)
		if err != nil {
			t.Fatalf("Resolve(%s): %v", tt.id, err)
		}
		err = OnDemand(tt.id, res)
		if (err != nil) != tt.refused {
			t.Errorf("OnDemand(%s) = %v, want refused %v", tt.id, err, tt.refused)
		}
	}
}
