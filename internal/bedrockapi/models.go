package bedrockapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
)

// modelSummary is ListFoundationModels' FoundationModelSummary (and the body
// of GetFoundationModel's modelDetails).
type modelSummary struct {
	ModelArn                   string    `json:"modelArn"`
	ModelID                    string    `json:"modelId"`
	ModelName                  string    `json:"modelName"`
	ProviderName               string    `json:"providerName"`
	InputModalities            []string  `json:"inputModalities"`
	OutputModalities           []string  `json:"outputModalities"`
	ResponseStreamingSupported bool      `json:"responseStreamingSupported"`
	CustomizationsSupported    []string  `json:"customizationsSupported"`
	InferenceTypesSupported    []string  `json:"inferenceTypesSupported"`
	ModelLifecycle             lifecycle `json:"modelLifecycle"`
}

type lifecycle struct {
	Status string `json:"status"`
}

func (h *Handler) summary(m *catalog.Model) modelSummary {
	status := "ACTIVE"
	if m.Legacy {
		status = "LEGACY"
	}
	return modelSummary{
		ModelArn:                   m.ARN(h.opts.Region),
		ModelID:                    m.ID,
		ModelName:                  m.Name,
		ProviderName:               m.Vendor,
		InputModalities:            m.InputModalities,
		OutputModalities:           m.OutputModalities,
		ResponseStreamingSupported: m.Streaming,
		CustomizationsSupported:    []string{},
		InferenceTypesSupported:    []string{"ON_DEMAND"},
		ModelLifecycle:             lifecycle{Status: status},
	}
}

// authenticateControl authenticates a control-plane request, which has no
// Invocation, checks that the caller may perform action on resource ("*"
// for actions without one), and returns its body and the caller.
func (h *Handler) authenticateControl(w http.ResponseWriter, r *http.Request, action, resource string) ([]byte, auth.Identity, bool) {
	w.Header()[headerRequestID] = []string{newRequestID()}
	body, id, err := h.gw.Control(w, r, h.opts.Bodies, h.opts.MaxRequestBytes, action, resource)
	if err != nil {
		writeError(w, apierror.From(bodyError(err, h.opts.MaxRequestBytes)))
		return nil, auth.Identity{}, false
	}
	return body, id, true
}

var providerFilter = regexp.MustCompile(`^[A-Za-z0-9- ]{1,63}$`)

// listFoundationModels serves ListFoundationModels with its four filters.
func (h *Handler) listFoundationModels(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := h.authenticateControl(w, r, auth.ActionListFoundationModels, "*"); !ok {
		return
	}
	q := r.URL.Query()
	byProvider := q.Get("byProvider")
	if byProvider != "" && !providerFilter.MatchString(byProvider) {
		writeError(w, apierror.ConstraintViolation(byProvider, "byProvider", "Member must satisfy regular expression pattern: [A-Za-z0-9- ]{1,63}"))
		return
	}
	enums := []struct {
		name    string
		allowed []string
	}{
		{"byCustomizationType", []string{"FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"}},
		{"byOutputModality", []string{"TEXT", "IMAGE", "EMBEDDING"}},
		{"byInferenceType", []string{"ON_DEMAND", "PROVISIONED"}},
	}
	for _, e := range enums {
		if v := q.Get(e.name); v != "" && !slices.Contains(e.allowed, v) {
			writeError(w, apierror.ConstraintViolation(v, e.name, enumConstraint(e.allowed)))
			return
		}
	}
	summaries := []modelSummary{}
	for _, m := range h.gw.Catalog().Models() {
		switch {
		case byProvider != "" && !strings.EqualFold(byProvider, m.Vendor):
		case q.Get("byCustomizationType") != "": // no catalog model is customizable
		case q.Get("byOutputModality") != "" && !slices.Contains(m.OutputModalities, q.Get("byOutputModality")):
		case q.Get("byInferenceType") == "PROVISIONED":
		default:
			summaries = append(summaries, h.summary(m))
		}
	}
	writeJSON(w, map[string]any{"modelSummaries": summaries})
}

// getFoundationModel serves GetFoundationModel for a model ID or
// foundation-model ARN.
func (h *Handler) getFoundationModel(w http.ResponseWriter, r *http.Request, escapedID string) {
	id, err := url.PathUnescape(escapedID)
	resource := "arn:aws:bedrock:" + h.opts.Region + "::foundation-model/" + id
	if strings.HasPrefix(id, "arn:") {
		resource = id
	}
	if _, _, ok := h.authenticateControl(w, r, auth.ActionGetFoundationModel, resource); !ok {
		return
	}
	if err == nil {
		if i := strings.Index(id, ":foundation-model/"); strings.HasPrefix(id, "arn:") && i >= 0 {
			id = id[i+len(":foundation-model/"):]
		}
		if m, ok := h.gw.Catalog().Lookup(id); ok && m.ID == id {
			writeJSON(w, map[string]any{"modelDetails": h.summary(m)})
			return
		}
	}
	writeError(w, apierror.New(apierror.Validation, "The provided model identifier is invalid."))
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, apierror.From(err))
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func newRequestID() string { return uuid.NewString() }
