package responses

import (
	"encoding/json"
	"strings"
)

// Stream event types.
const (
	EventCreated                  = "response.created"
	EventInProgress               = "response.in_progress"
	EventCompleted                = "response.completed"
	EventIncomplete               = "response.incomplete"
	EventFailed                   = "response.failed"
	EventOutputItemAdded          = "response.output_item.added"
	EventOutputItemDone           = "response.output_item.done"
	EventContentPartAdded         = "response.content_part.added"
	EventContentPartDone          = "response.content_part.done"
	EventOutputTextDelta          = "response.output_text.delta"
	EventOutputTextDone           = "response.output_text.done"
	EventRefusalDelta             = "response.refusal.delta"
	EventRefusalDone              = "response.refusal.done"
	EventFunctionCallArgsDelta    = "response.function_call_arguments.delta"
	EventFunctionCallArgsDone     = "response.function_call_arguments.done"
	EventCustomToolCallInputDelta = "response.custom_tool_call_input.delta"
	EventCustomToolCallInputDone  = "response.custom_tool_call_input.done"
	EventReasoningSummaryPartAdd  = "response.reasoning_summary_part.added"
	EventReasoningSummaryPartDone = "response.reasoning_summary_part.done"
	EventReasoningSummaryDelta    = "response.reasoning_summary_text.delta"
	EventReasoningSummaryDone     = "response.reasoning_summary_text.done"
	EventReasoningTextDelta       = "response.reasoning_text.delta"
	EventReasoningTextDone        = "response.reasoning_text.done"
	// EventError is the stream-level error event, whose code and message
	// are top-level members. modelwatch ends a failed stream with
	// response.failed instead.
	EventError = "error"
)

// StreamEvent is the payload of one server-sent event. Every event has
// Type and SequenceNumber; which other members are set depends on Type
// (the positions are pointers because 0 is a position that must be
// written). There is deliberately no top-level error member: openai-go
// treats any payload with one as a stream error.
type StreamEvent struct {
	Type           string `json:"type"`
	SequenceNumber int    `json:"sequence_number"`
	// Response is set on response.created, in_progress, completed,
	// incomplete and failed.
	Response     *Response `json:"response,omitempty"`
	OutputIndex  *int      `json:"output_index,omitempty"`
	ItemID       string    `json:"item_id,omitempty"`
	ContentIndex *int      `json:"content_index,omitempty"`
	SummaryIndex *int      `json:"summary_index,omitempty"`
	// Item is set on output_item.added and done.
	Item *Item `json:"item,omitempty"`
	// Part is set on content_part.* and reasoning_summary_part.*.
	Part      *ContentPart `json:"part,omitempty"`
	Delta     *string      `json:"delta,omitempty"`
	Text      *string      `json:"text,omitempty"`
	Refusal   *string      `json:"refusal,omitempty"`
	Name      string       `json:"name,omitempty"`
	Arguments *string      `json:"arguments,omitempty"`
	Input     *string      `json:"input,omitempty"`
	// Logprobs is written ([]) on output_text delta and done events.
	Logprobs []json.RawMessage `json:"logprobs,omitzero"`
	// Code, Message and Param are the members of an error event.
	Code    *string `json:"code,omitempty"`
	Message string  `json:"message,omitempty"`
	Param   *string `json:"param,omitempty"`
}

// Frame renders the event as a server-sent event frame:
// "event: <type>\ndata: <json>\n\n". The JSON has no newline, so one data
// line carries it.
func (e *StreamEvent) Frame() ([]byte, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	typ := e.Type
	if strings.ContainsAny(typ, "\r\n") {
		// A line break would end the event line early.
		typ = strings.NewReplacer("\r", "", "\n", "").Replace(typ)
	}
	out := make([]byte, 0, len(typ)+len(data)+16)
	out = append(out, "event: "...)
	out = append(out, typ...)
	out = append(out, "\ndata: "...)
	out = append(out, data...)
	out = append(out, "\n\n"...)
	return out, nil
}
