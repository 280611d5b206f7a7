package bedrockapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
)

// Inference profile constraints, from the service model (botocore
// bedrock/2023-04-20/service-2.json: MaxResults, PaginationToken,
// InferenceProfileType, InferenceProfileIdentifier).
const (
	maxProfileResults = 1000
	maxTokenLength    = 2048
	// profileIDPattern is InferenceProfileIdentifier's pattern as AWS
	// prints it in constraint messages.
	profileIDPattern = `(arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):(inference-profile|application-inference-profile)/)?[a-zA-Z0-9-:.]+`
)

var profileIdentifier = regexp.MustCompile(`^` + profileIDPattern + `$`)

// profileSummary is InferenceProfileSummary, and the body of
// GetInferenceProfile's response (the same members, flat).
type profileSummary struct {
	InferenceProfileName string         `json:"inferenceProfileName"`
	Description          string         `json:"description,omitempty"`
	InferenceProfileArn  string         `json:"inferenceProfileArn"`
	Models               []profileModel `json:"models"`
	InferenceProfileID   string         `json:"inferenceProfileId"`
	Status               string         `json:"status"`
	Type                 string         `json:"type"`
}

type profileModel struct {
	ModelArn string `json:"modelArn"`
}

func toSummary(p catalog.Profile) profileSummary {
	models := make([]profileModel, len(p.ModelARNs))
	for i, a := range p.ModelARNs {
		models[i] = profileModel{ModelArn: a}
	}
	return profileSummary{
		InferenceProfileName: p.Name,
		Description:          p.Description,
		InferenceProfileArn:  p.ARN,
		Models:               models,
		InferenceProfileID:   p.ID,
		Status:               "ACTIVE",
		Type:                 p.Type,
	}
}

// listInferenceProfiles serves ListInferenceProfiles: the catalog's
// profiles, optionally of one type, maxResults at a time (all of them, up
// to 1000, when maxResults is absent).
func (h *Handler) listInferenceProfiles(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := h.authenticateControl(w, r, auth.ActionListInferenceProfiles, "*"); !ok {
		return
	}
	q := r.URL.Query()
	var v violations
	limit := maxProfileResults
	if s, ok := queryValue(q, "maxResults"); ok {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			v.add(s, "maxResults", "Member must be an integer")
		case n < 1:
			v.add(s, "maxResults", "Member must have value greater than or equal to 1")
		case n > maxProfileResults:
			v.add(s, "maxResults", "Member must have value less than or equal to 1000")
		default:
			limit = n
		}
	}
	token, hasToken := queryValue(q, "nextToken")
	if hasToken {
		switch {
		case len(token) < 1:
			v.add(token, "nextToken", "Member must have length greater than or equal to 1")
		case len(token) > maxTokenLength:
			v.add(truncate(token, 64), "nextToken", "Member must have length less than or equal to 2048")
		case strings.ContainsAny(token, " \t\n\r\f\v"):
			v.add(token, "nextToken", `Member must satisfy regular expression pattern: \S*`)
		}
	}
	typ, hasType := queryValue(q, "type")
	if hasType && typ != catalog.ProfileSystemDefined && typ != catalog.ProfileApplication {
		v.add(typ, "typeEquals", "Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]")
	}
	if err := v.err(); err != nil {
		writeError(w, err)
		return
	}
	var all []catalog.Profile
	for _, p := range h.gw.Catalog().Profiles() {
		if typ == "" || p.Type == typ {
			all = append(all, p)
		}
	}
	start := 0
	if hasToken {
		var err error
		if start, err = decodePageToken(token, typ, len(all)); err != nil {
			writeError(w, apierror.From(err))
			return
		}
	}
	end := min(start+limit, len(all))
	page := make([]profileSummary, 0, end-start)
	for _, p := range all[start:end] {
		page = append(page, toSummary(p))
	}
	resp := struct {
		Summaries []profileSummary `json:"inferenceProfileSummaries"`
		NextToken string           `json:"nextToken,omitempty"`
	}{Summaries: page}
	if end < len(all) {
		resp.NextToken = encodePageToken(typ, end)
	}
	writeJSON(w, resp)
}

// getInferenceProfile serves GetInferenceProfile for a profile ID or ARN.
// The grant is checked on the profile's ARN (for an identifier the
// catalog does not know, on the ARN it would have), so a denied caller
// learns nothing about which profiles exist.
func (h *Handler) getInferenceProfile(w http.ResponseWriter, r *http.Request, escapedID string) {
	cat := h.gw.Catalog()
	id, uerr := url.PathUnescape(escapedID)
	profile, lookupErr := cat.Profile(id)
	resource := profile.ARN
	if lookupErr != nil {
		resource = id
		if !strings.HasPrefix(id, "arn:") {
			resource = "arn:aws:bedrock:" + cat.Region() + ":" + cat.AccountID() + ":inference-profile/" + id
		}
	}
	if _, _, ok := h.authenticateControl(w, r, auth.ActionGetInferenceProfile, resource); !ok {
		return
	}
	var v violations
	switch {
	case uerr != nil:
		v.add(truncate(escapedID, 64), "inferenceProfileIdentifier", "Member must satisfy regular expression pattern: "+profileIDPattern)
	case len(id) < 1:
		v.add(id, "inferenceProfileIdentifier", "Member must have length greater than or equal to 1")
	case len(id) > 2048:
		v.add(truncate(id, 64), "inferenceProfileIdentifier", "Member must have length less than or equal to 2048")
	case !profileIdentifier.MatchString(id):
		v.add(truncate(id, 256), "inferenceProfileIdentifier", "Member must satisfy regular expression pattern: "+profileIDPattern)
	}
	if err := v.err(); err != nil {
		writeError(w, err)
		return
	}
	if lookupErr != nil {
		writeError(w, apierror.From(lookupErr))
		return
	}
	writeJSON(w, toSummary(profile))
}

// queryValue returns a query parameter's first value and whether it was
// sent at all (an empty value is sent, and may break a constraint).
func queryValue(q url.Values, name string) (string, bool) {
	vs, ok := q[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// violations collects service-model constraint violations and reports
// them all at once, as AWS does: "2 validation errors detected: Value 'x'
// at 'a' failed to satisfy constraint: ...; Value 'y' at 'b' ...".
type violations []string

func (v *violations) add(value, path, constraint string) {
	*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint))
}

func (v violations) err() *apierror.Error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return apierror.New(apierror.Validation, "1 validation error detected: %s", v[0])
	}
	return apierror.New(apierror.Validation, "%d validation errors detected: %s", len(v), strings.Join(v, "; "))
}

// Page tokens are opaque to callers: "p1.<type filter>.<offset>",
// base64url-encoded. The type filter is part of the token so that a
// token cannot be replayed against a differently filtered list.
const pageTokenVersion = "p1"

func encodePageToken(typ string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pageTokenVersion + "." + typ + "." + strconv.Itoa(offset)))
}

// decodePageToken returns the offset a token points at in a list of n
// profiles filtered by typ.
func decodePageToken(token, typ string, n int) (int, error) {
	invalid := apierror.New(apierror.Validation, "The provided nextToken is not valid. Use the nextToken from the previous ListInferenceProfiles response with the same type filter.")
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return 0, invalid
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 || parts[0] != pageTokenVersion || parts[1] != typ {
		return 0, invalid
	}
	offset, err := strconv.Atoi(parts[2])
	if err != nil || offset < 1 || offset >= n {
		// A token always points inside the list; past its end it was made
		// for a list that has since shrunk (another configuration).
		return 0, invalid
	}
	if encodePageToken(typ, offset) != token {
		return 0, invalid // not a token this server wrote (another spelling of one)
	}
	return offset, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
