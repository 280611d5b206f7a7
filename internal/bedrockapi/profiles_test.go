package bedrockapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/catalog"
)

func controlSDK(url string) *bedrock.Client {
	return bedrock.New(bedrock.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
}

func TestListInferenceProfilesPagesThroughEverything(t *testing.T) {
	srv, _ := testServer(t)
	client := controlSDK(srv.URL)
	// Two models under us. and global., plus the application profile.
	want := []string{"us." + testHaiku, "global." + testHaiku, "us." + testEmbed, "global." + testEmbed, "a1b2c3d4e5f6"}
	for _, size := range []int32{1, 2, 4, 5, 1000} {
		var got []string
		pager := bedrock.NewListInferenceProfilesPaginator(client, &bedrock.ListInferenceProfilesInput{MaxResults: aws.Int32(size)})
		for pager.HasMorePages() {
			page, err := pager.NextPage(t.Context())
			if err != nil {
				t.Fatalf("pages of %d: %v", size, err)
			}
			for _, p := range page.InferenceProfileSummaries {
				got = append(got, aws.ToString(p.InferenceProfileId))
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("pages of %d: %v, want %v", size, got, want)
		}
	}
}

func TestGetInferenceProfileByIDAndARN(t *testing.T) {
	srv, _ := testServer(t)
	client := controlSDK(srv.URL)
	for _, id := range []string{"us." + testHaiku, "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us." + testHaiku} {
		out, err := client.GetInferenceProfile(t.Context(), &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.InferenceProfileName) != "US Claude 3 Haiku" || out.Type != types.InferenceProfileTypeSystemDefined ||
			out.Status != types.InferenceProfileStatusActive || aws.ToString(out.Models[0].ModelArn) != "arn:aws:bedrock:us-east-1::foundation-model/"+testHaiku {
			t.Errorf("%s: %+v", id, out)
		}
	}
	_, err := client.GetInferenceProfile(t.Context(), &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String("apac." + testHaiku)})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("a profile of another geography: %v", err)
	}
}

// The wire form, as the SDK's deserializer does not show it: member
// names, no null members, status and type strings.
func TestInferenceProfileWireShape(t *testing.T) {
	srv, _ := testServer(t)
	resp, err := http.Get(srv.URL + "/inference-profiles/" + url.PathEscape(testApp))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	const want = `{"inferenceProfileName":"a1b2c3d4e5f6","description":"Application inference profile routing requests to Claude 3 Haiku in us-east-1.",` +
		`"inferenceProfileArn":"` + testApp + `","models":[{"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/` + testHaiku + `"}],` +
		`"inferenceProfileId":"a1b2c3d4e5f6","status":"ACTIVE","type":"APPLICATION"}`
	if resp.StatusCode != 200 || string(body) != want || resp.Header.Get("Content-Type") != "application/json" || len(resp.Header.Values("x-amzn-RequestId")) != 1 {
		t.Errorf("%d %s\n%s\nwant\n%s", resp.StatusCode, resp.Header, body, want)
	}

	resp, err = http.Get(srv.URL + "/inference-profiles?type=APPLICATION&maxResults=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if _, ok := list["nextToken"]; ok || len(list) != 1 {
		t.Errorf("a last page carries %v", list)
	}
}

func TestListInferenceProfilesValidation(t *testing.T) {
	srv, _ := testServer(t)
	get := func(query string) (int, string, string) {
		resp, err := http.Get(srv.URL + "/inference-profiles?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct{ Message string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), e.Message
	}
	for _, tt := range []struct{ query, msg string }{
		{"maxResults=abc", "1 validation error detected: Value 'abc' at 'maxResults' failed to satisfy constraint: Member must be an integer"},
		{"nextToken=", "1 validation error detected: Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"nextToken=a%20b", `1 validation error detected: Value 'a b' at 'nextToken' failed to satisfy constraint: Member must satisfy regular expression pattern: \S*`},
		{"nextToken=" + strings.Repeat("a", 2049), "at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{"type=system_defined", "1 validation error detected: Value 'system_defined' at 'typeEquals' failed to satisfy constraint: Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]"},
		{"nextToken=" + encodePageToken("", 99), "The provided nextToken is not valid."},
	} {
		status, typ, msg := get(tt.query)
		if status != 400 || typ != "ValidationException" || !strings.Contains(msg, tt.msg) {
			t.Errorf("%s: %d %s %q, want ValidationException %q", tt.query, status, typ, msg, tt.msg)
		}
	}
}

func TestPageTokens(t *testing.T) {
	for _, typ := range []string{"", catalog.ProfileSystemDefined, catalog.ProfileApplication} {
		tok := encodePageToken(typ, 3)
		if off, err := decodePageToken(tok, typ, 10); err != nil || off != 3 {
			t.Errorf("%q: round trip %d, %v", typ, off, err)
		}
	}
	tok := encodePageToken(catalog.ProfileSystemDefined, 3)
	for name, check := range map[string]func() (int, error){
		"another filter": func() (int, error) { return decodePageToken(tok, catalog.ProfileApplication, 10) },
		"past the end":   func() (int, error) { return decodePageToken(tok, catalog.ProfileSystemDefined, 3) },
		"zero offset":    func() (int, error) { return decodePageToken(encodePageToken("", 0), "", 10) },
		"leading zeros":  func() (int, error) { return decodePageToken("cDEuLjAz", "", 10) }, // "p1..03"
		"not base64":     func() (int, error) { return decodePageToken("!!", "", 10) },
		"another version": func() (int, error) {
			return decodePageToken(strings.Replace(encodePageToken("", 1), "cDE", "cDI", 1), "", 10)
		},
	} {
		if _, err := check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestViolationsWording(t *testing.T) {
	var v violations
	if v.err() != nil {
		t.Fatal("no violations is no error")
	}
	v.add("0", "maxResults", "Member must have value greater than or equal to 1")
	if got := v.err().Message; got != "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1" {
		t.Errorf("one: %s", got)
	}
	v.add("X", "typeEquals", "Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]")
	if got := v.err().Message; !strings.HasPrefix(got, "2 validation errors detected: Value '0' at 'maxResults' ") || !strings.Contains(got, "; Value 'X' at 'typeEquals'") {
		t.Errorf("two: %s", got)
	}
}

func FuzzDecodePageToken(f *testing.F) {
	f.Add(encodePageToken("", 5), "", 10)
	f.Add(encodePageToken(catalog.ProfileApplication, 1), catalog.ProfileApplication, 2)
	f.Add("cDEuLi0x", "", 10) // "p1..-1"
	f.Fuzz(func(t *testing.T, token, typ string, n int) {
		off, err := decodePageToken(token, typ, n)
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.Validation {
				t.Fatalf("error %v is not a ValidationException", err)
			}
			return
		}
		if off < 1 || off >= n {
			t.Fatalf("offset %d outside the list of %d", off, n)
		}
		if encodePageToken(typ, off) != token {
			t.Fatalf("token %q decodes to %d but is not the token of that offset", token, off)
		}
	})
}
