package catalog

import (
	"errors"
	"slices"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

func TestProfileGeosCoverEveryPrefix(t *testing.T) {
	if len(geoOrder) != len(geoPrefixes) {
		t.Fatalf("geoOrder lists %d prefixes, geoPrefixes has %d", len(geoOrder), len(geoPrefixes))
	}
	for _, g := range geoOrder {
		if geoPrefixes[g] == nil || geoNames[g] == "" {
			t.Errorf("prefix %q lacks a region test or a display name", g)
		}
	}
}

func TestProfileGeosAreWhatResolveAccepts(t *testing.T) {
	for _, tt := range []struct {
		region string
		want   []string
	}{
		{"us-east-1", []string{"us", "global"}},
		{"us-gov-west-1", []string{"us-gov", "global"}},
		{"eu-west-1", []string{"eu", "global"}},
		{"ap-northeast-1", []string{"apac", "jp", "global"}},
		{"ap-southeast-2", []string{"apac", "au", "global"}},
		{"ca-central-1", []string{"ca", "global"}},
	} {
		c := testCatalog(t, tt.region)
		got := c.ProfileGeos()
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: ProfileGeos = %v, want %v", tt.region, got, tt.want)
		}
		for _, g := range geoOrder {
			_, err := c.Resolve(g + ".amazon.nova-lite-v1:0")
			if accepted := err == nil; accepted != slices.Contains(got, g) {
				t.Errorf("%s: Resolve(%s.…) accepted=%v, listed=%v", tt.region, g, accepted, !accepted)
			}
		}
	}
}

func TestProfilesListSystemThenApplication(t *testing.T) {
	c := testCatalog(t, "us-east-1")
	const haiku = "anthropic.claude-3-haiku-20240307-v1:0"
	got := c.Profiles()
	var ids []string
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	want := []string{"us." + haiku, "global." + haiku, "us.amazon.nova-lite-v1:0", "global.amazon.nova-lite-v1:0", "abcdefghijkl"}
	if !slices.Equal(ids, want) {
		t.Fatalf("profile IDs = %v, want %v", ids, want)
	}
	us := got[0]
	if us.Type != ProfileSystemDefined || us.Model.ID != haiku ||
		us.ARN != "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us."+haiku ||
		!slices.Equal(us.ModelARNs, []string{"arn:aws:bedrock:us-east-1::foundation-model/" + haiku}) {
		t.Errorf("system profile = %+v", us)
	}
	app := got[4]
	if app.Type != ProfileApplication || app.Model.ID != haiku || app.Name != "abcdefghijkl" ||
		app.ARN != "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghijkl" {
		t.Errorf("application profile = %+v", app)
	}
	for _, p := range got {
		if p.Description == "" || p.Name == "" || len(p.ModelARNs) != 1 {
			t.Errorf("profile %s lacks a name, description or model: %+v", p.ID, p)
		}
		// Every listed profile is a model identifier the runtime serves.
		res, err := c.Resolve(p.ID)
		if p.Type == ProfileApplication {
			res, err = c.Resolve(p.ARN)
		}
		if err != nil || res.Model != p.Model {
			t.Errorf("Resolve(%s) = %v, %v; want model %s", p.ID, res.Model, err, p.Model.ID)
		}
	}
}

func TestProfileNames(t *testing.T) {
	c, err := New("eu-west-3", "123456789012", []*Model{{ID: "anthropic.claude-3-5-sonnet-20241022-v2:0", Name: "Claude 3.5 Sonnet v2"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Profile("eu.anthropic.claude-3-5-sonnet-20241022-v2:0")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "EU Claude 3.5 Sonnet v2" || p.Description != "Routes requests to Claude 3.5 Sonnet v2 in eu-west-3." {
		t.Errorf("name %q, description %q", p.Name, p.Description)
	}
}

func TestProfileLookup(t *testing.T) {
	const haiku = "anthropic.claude-3-haiku-20240307-v1:0"
	const appARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghijkl"
	c := testCatalog(t, "us-east-1")
	for _, tt := range []struct {
		id     string
		wantID string // "" = ResourceNotFoundException
	}{
		{"us." + haiku, "us." + haiku},
		{"global." + haiku, "global." + haiku},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + haiku, "us." + haiku},
		{appARN, "abcdefghijkl"},
		{"abcdefghijkl", "abcdefghijkl"},
		// Not profiles the server has.
		{"eu." + haiku, ""},                // us-east-1 is not in the EU
		{haiku, ""},                        // a model, not a profile
		{"us.haiku", ""},                   // an alias is not a model ID
		{"us.anthropic.claude-9-v1:0", ""}, // no such model
		{"arn:aws:bedrock:us-west-2:123456789012:inference-profile/us." + haiku, ""}, // another region
		{"arn:aws:bedrock:us-east-1:999999999999:inference-profile/us." + haiku, ""}, // another account
		{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/zzzzzzzzzzzz", ""},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/abcdefghijkl", ""}, // app ID under the wrong kind
		{"arn:aws:bedrock:us-east-1::foundation-model/" + haiku, ""},
		{"arn:aws:s3:::bucket", ""},
		{"", ""},
	} {
		p, err := c.Profile(tt.id)
		if tt.wantID == "" {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.ResourceNotFound {
				t.Errorf("Profile(%q) = %+v, %v; want ResourceNotFoundException", tt.id, p, err)
			}
			continue
		}
		if err != nil || p.ID != tt.wantID {
			t.Errorf("Profile(%q) = %q, %v; want %q", tt.id, p.ID, err, tt.wantID)
		}
	}
}

func TestSplitProfileID(t *testing.T) {
	for _, tt := range []struct {
		id, geo, base string
		ok            bool
	}{
		{"us.anthropic.claude-3-haiku-20240307-v1:0", "us", "anthropic.claude-3-haiku-20240307-v1:0", true},
		{"us-gov.anthropic.claude-3-haiku-20240307-v1:0", "us-gov", "anthropic.claude-3-haiku-20240307-v1:0", true},
		{"global.amazon.nova-lite-v1:0", "global", "amazon.nova-lite-v1:0", true},
		{"anthropic.claude-3-haiku-20240307-v1:0", "", "", false}, // a vendor is not a geography
		{"us.haiku", "", "", false},
		{"us.", "", "", false},
		{"", "", "", false},
	} {
		geo, base, ok := SplitProfileID(tt.id)
		if geo != tt.geo || base != tt.base || ok != tt.ok {
			t.Errorf("SplitProfileID(%q) = %q, %q, %v", tt.id, geo, base, ok)
		}
	}
}

func FuzzProfile(f *testing.F) {
	f.Add("us.anthropic.claude-3-haiku-20240307-v1:0")
	f.Add("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghijkl")
	f.Add("arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.amazon.nova-lite-v1:0")
	f.Add("arn::::")
	c := testCatalog(f, "us-east-1")
	f.Fuzz(func(t *testing.T, id string) {
		p, err := c.Profile(id)
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.ResourceNotFound {
				t.Fatalf("Profile(%q) error %v is not ResourceNotFoundException", id, err)
			}
			return
		}
		if p.Model == nil || (id != p.ID && id != p.ARN) {
			t.Fatalf("Profile(%q) = %+v: neither its ID nor its ARN", id, p)
		}
	})
}
