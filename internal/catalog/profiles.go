package catalog

import (
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// Inference profile types, as Bedrock's InferenceProfileType names them.
const (
	ProfileSystemDefined = "SYSTEM_DEFINED"
	ProfileApplication   = "APPLICATION"
)

// Profile is an inference profile the catalog serves: a system-defined
// cross-region profile (a geography prefix on a catalog model ID), or an
// application inference profile configured as a model's alias.
type Profile struct {
	// ID is the inferenceProfileId: "us.anthropic.claude-…" for a
	// cross-region profile, the last ARN segment for an application one.
	ID string
	// ARN is the inferenceProfileArn.
	ARN string
	// Name and Description are inferenceProfileName and description.
	Name, Description string
	// Type is ProfileSystemDefined or ProfileApplication.
	Type string
	// Model is the catalog model the profile routes to.
	Model *Model
	// ModelARNs are the foundation-model ARNs of the regions the profile
	// routes to. modelwatch serves every profile in its serving region,
	// so there is one: the ARN authorization checks a profile call
	// against.
	ModelARNs []string
}

// geoOrder lists the keys of geoPrefixes in listing order.
var geoOrder = []string{"us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"}

// geoNames are the geographies as Bedrock's profile names spell them
// ("US Claude 3.5 Sonnet v2").
var geoNames = map[string]string{
	"us": "US", "us-gov": "US-GOV", "eu": "EU", "apac": "APAC",
	"jp": "JP", "au": "AU", "ca": "CA", "global": "Global",
}

// AccountID returns the account the catalog was built for.
func (c *Catalog) AccountID() string { return c.accountID }

// ProfileGeos returns the cross-region profile prefixes ("us", "global",
// …) whose geography contains the serving region, in listing order:
// exactly the prefixes Resolve accepts.
func (c *Catalog) ProfileGeos() []string {
	var geos []string
	for _, g := range geoOrder {
		if geoPrefixes[g](c.region) {
			geos = append(geos, g)
		}
	}
	return geos
}

// SplitProfileID splits a cross-region inference profile ID
// ("us.anthropic.claude-3-haiku-20240307-v1:0") into its geography
// prefix and base model ID. ok is false when id does not start with a
// known prefix followed by a vendor-qualified model ID. It does not check
// that the serving region belongs to the geography (Resolve does).
func SplitProfileID(id string) (geo, base string, ok bool) {
	geo, base, ok = strings.Cut(id, ".")
	if !ok || geoPrefixes[geo] == nil || !strings.Contains(base, ".") {
		return "", "", false
	}
	return geo, base, true
}

// Profiles returns every inference profile the catalog serves: first the
// system-defined ones (each model, in configuration order, under each
// prefix of ProfileGeos), then the application profiles (each alias that
// is an application-inference-profile ARN, in configuration order). The
// list is built once and shared: callers must not modify it.
func (c *Catalog) Profiles() []Profile {
	c.profilesOnce.Do(func() { c.profiles = c.buildProfiles() })
	return c.profiles
}

func (c *Catalog) buildProfiles() []Profile {
	geos := c.ProfileGeos()
	out := make([]Profile, 0, len(c.models)*len(geos))
	for _, m := range c.models {
		for _, g := range geos {
			out = append(out, c.systemProfile(g, m))
		}
	}
	for _, m := range c.models {
		for _, a := range m.Aliases {
			if id, ok := applicationProfileID(a); ok {
				out = append(out, c.applicationProfile(a, id, m))
			}
		}
	}
	return out
}

// Profile returns the inference profile named by an ID or ARN, as
// GetInferenceProfile takes it: a cross-region profile ID or its
// inference-profile ARN (of the serving account and region), or an
// application profile's ARN or ID. Anything else is Bedrock's
// ResourceNotFoundException.
func (c *Catalog) Profile(identifier string) (Profile, error) {
	notFound := apierror.New(apierror.ResourceNotFound, "The inference profile %s does not exist.", truncate(identifier, 256))
	id := identifier
	if strings.HasPrefix(identifier, "arn:") {
		parts := strings.SplitN(identifier, ":", 6)
		if len(parts) != 6 || parts[1] != "aws" || parts[2] != "bedrock" {
			return Profile{}, notFound // the ARNs listed are in partition aws
		}
		kind, name, _ := strings.Cut(parts[5], "/")
		switch kind {
		case "inference-profile":
			if parts[3] != c.region || parts[4] != c.accountID {
				return Profile{}, notFound
			}
			id = name
		case "application-inference-profile":
			if p, ok := c.applicationByARN(identifier); ok {
				return p, nil
			}
			return Profile{}, notFound
		default:
			return Profile{}, notFound
		}
	}
	if geo, base, ok := SplitProfileID(id); ok && geoPrefixes[geo](c.region) {
		if m, ok := c.byID[base]; ok && m.ID == base {
			return c.systemProfile(geo, m), nil
		}
	}
	if id == identifier { // a bare ID may name an application profile
		for _, m := range c.models {
			for _, a := range m.Aliases {
				if aid, ok := applicationProfileID(a); ok && aid == id {
					return c.applicationProfile(a, aid, m), nil
				}
			}
		}
	}
	return Profile{}, notFound
}

func (c *Catalog) applicationByARN(arn string) (Profile, bool) {
	m, ok := c.byID[arn]
	if !ok {
		return Profile{}, false
	}
	id, ok := applicationProfileID(arn)
	if !ok {
		return Profile{}, false
	}
	return c.applicationProfile(arn, id, m), true
}

func (c *Catalog) systemProfile(geo string, m *Model) Profile {
	id := geo + "." + m.ID
	return Profile{
		ID:          id,
		ARN:         "arn:aws:bedrock:" + c.region + ":" + c.accountID + ":inference-profile/" + id,
		Name:        geoNames[geo] + " " + displayName(m),
		Description: "Routes requests to " + displayName(m) + " in " + c.region + ".",
		Type:        ProfileSystemDefined,
		Model:       m,
		ModelARNs:   []string{m.ARN(c.region)},
	}
}

// applicationProfile describes an alias ARN. The configuration gives an
// application profile no name of its own, so its ID serves as one (AWS
// generates such IDs: 12 lower-case letters and digits).
func (c *Catalog) applicationProfile(arn, id string, m *Model) Profile {
	return Profile{
		ID:          id,
		ARN:         arn,
		Name:        id,
		Description: "Application inference profile routing requests to " + displayName(m) + " in " + c.region + ".",
		Type:        ProfileApplication,
		Model:       m,
		ModelARNs:   []string{m.ARN(c.region)},
	}
}

// applicationProfileID returns the ID of an application inference
// profile ARN (arn:aws…:bedrock:region:account:application-inference-profile/ID).
func applicationProfileID(s string) (string, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "bedrock" {
		return "", false
	}
	kind, id, ok := strings.Cut(parts[5], "/")
	if !ok || kind != "application-inference-profile" || id == "" {
		return "", false
	}
	return id, true
}

func displayName(m *Model) string {
	if m.Name != "" {
		return m.Name
	}
	return m.ID
}
