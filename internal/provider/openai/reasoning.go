package openai

import (
	"bytes"
	"encoding/json"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Reasoning requests, mapped to OpenAI's reasoning_effort.
//
// A Converse request asks for reasoning in the words of the model family
// it was written for, all in additionalModelRequestFields: gpt-oss's
// reasoning_effort (sent as it is), Claude's thinking and Nova 2's
// reasoningConfig, or in outputConfig.effort (Claude's effort). An
// OpenAI-compatible upstream knows only reasoning_effort, and refuses
// members it does not know, so thinking and reasoningConfig are replaced
// by the effort they stand for:
//
//   - thinking {type: enabled, budget_tokens: N}: low below 4,096 tokens,
//     medium below 16,384, high from there; adaptive: medium; disabled:
//     no reasoning_effort.
//   - reasoningConfig {type: enabled, maxReasoningEffort}: that effort
//     (low when unset); disabled: none.
//   - outputConfig.effort: low, medium and high as they are; xhigh and
//     max as high, OpenAI's highest.
//
// A reasoning_effort the request sets itself wins over all of these. The
// answer's reasoning (reasoning_content or reasoning) comes back as
// reasoningContent blocks and deltas (package translate).

// Budget bounds of thinking's effort levels.
const (
	mediumBudget = 4096
	highBudget   = 16384
)

// reasoningFields rewrites the request's additionalModelRequestFields for
// an OpenAI-compatible upstream: thinking and reasoningConfig become
// reasoning_effort, as does outputConfig.effort. It returns the fields
// unchanged when there is nothing to rewrite.
func reasoningFields(req *converse.Request) (json.RawMessage, error) {
	extra := req.AdditionalModelRequestFields
	effort := ""
	if oc := req.OutputConfig; oc != nil {
		effort = effortLevel(oc.Effort)
	}
	trimmed := bytes.TrimSpace(extra)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		if effort == "" {
			return extra, nil
		}
		return json.Marshal(map[string]string{"reasoning_effort": effort})
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(extra, &fields); err != nil {
		return nil, apierror.New(apierror.Validation, "The additionalModelRequestFields field must be a JSON object.")
	}
	_, hasThinking := fields["thinking"]
	_, hasConfig := fields["reasoningConfig"]
	if !hasThinking && !hasConfig && effort == "" {
		return extra, nil
	}
	if raw, ok := fields["thinking"]; ok {
		var th struct {
			Type         string `json:"type"`
			BudgetTokens int    `json:"budget_tokens"`
		}
		if json.Unmarshal(raw, &th) == nil {
			switch th.Type {
			case "enabled":
				effort = budgetEffort(th.BudgetTokens)
			case "adaptive":
				effort = "medium"
			}
		}
		delete(fields, "thinking")
	}
	if raw, ok := fields["reasoningConfig"]; ok {
		var rc struct {
			Type               string `json:"type"`
			MaxReasoningEffort string `json:"maxReasoningEffort"`
		}
		if json.Unmarshal(raw, &rc) == nil && rc.Type == "enabled" {
			effort = effortLevel(rc.MaxReasoningEffort)
			if effort == "" {
				effort = "low"
			}
		}
		delete(fields, "reasoningConfig")
	}
	if _, set := fields["reasoning_effort"]; !set && effort != "" {
		fields["reasoning_effort"], _ = json.Marshal(effort)
	}
	return json.Marshal(fields)
}

// budgetEffort is the effort level of a thinking budget.
func budgetEffort(budget int) string {
	switch {
	case budget < mediumBudget:
		return "low"
	case budget < highBudget:
		return "medium"
	}
	return "high"
}

// effortLevel maps an effort name to OpenAI's levels ("" for none).
func effortLevel(e string) string {
	switch e {
	case "low", "medium", "high":
		return e
	case "xhigh", "max":
		return "high"
	}
	return ""
}
