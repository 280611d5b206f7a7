package openai

import (
	"bytes"
	"encoding/json"
)

// Content is a message's content: either a string (Text) or an array of
// content parts (Parts).
type Content struct {
	Text  *string
	Parts []ContentPart
}

// TextContent returns a string content.
func TextContent(s string) *Content { return &Content{Text: &s} }

// MarshalJSON writes a string or an array.
func (c Content) MarshalJSON() ([]byte, error) {
	return MarshalStringOrArray(c.Text, c.Parts)
}

// UnmarshalJSON reads a string or an array of content parts.
func (c *Content) UnmarshalJSON(b []byte) error {
	*c = Content{}
	if ok, err := UnmarshalStringOrArray(b, &c.Text, &c.Parts); ok {
		return err
	}
	return invalid("", "Invalid type for a message's 'content': it must be a string or an array of content parts.")
}

// MarshalStringOrArray writes a union that is a string or an array (a
// message's content, the Responses API's input): text as a JSON string
// when it is set, else list as an array, [] when nil (never null).
func MarshalStringOrArray[T any](text *string, list []T) ([]byte, error) {
	if text != nil {
		return json.Marshal(*text)
	}
	if list == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(list)
}

// UnmarshalStringOrArray reads a union that is a string or an array: a
// JSON string into *text, an array into *list; null leaves both as they
// are. ok is false, with nothing read, for any other JSON value, which the
// caller refuses in its own API's terms.
func UnmarshalStringOrArray[T any](b []byte, text **string, list *[]T) (ok bool, err error) {
	switch firstByte(b) {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return true, err
		}
		*text = &s
		return true, nil
	case '[':
		return true, json.Unmarshal(b, list)
	case 'n':
		return true, nil
	}
	return false, nil
}

// Stop is the stop parameter: a string or an array of strings, held as a
// list. It is written as an array.
type Stop []string

// UnmarshalJSON reads a string, an array of strings or null.
func (s *Stop) UnmarshalJSON(b []byte) error {
	*s = nil
	switch firstByte(b) {
	case '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Stop{one}
		return nil
	case '[':
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return invalid("stop", "Invalid type for 'stop': it must be a string or an array of strings.")
		}
		*s = list
		return nil
	case 'n':
		return nil
	}
	return invalid("stop", "Invalid type for 'stop': it must be a string or an array of strings.")
}

// ToolChoice is the tool_choice parameter: a mode ("none", "auto",
// "required") or a named function the model must call.
type ToolChoice struct {
	// Mode is set when the choice is a string.
	Mode string
	// Function is the name of the function to call when the choice is an
	// object.
	Function string
}

// MarshalJSON writes the mode string or the named-function object.
func (t ToolChoice) MarshalJSON() ([]byte, error) {
	if t.Function == "" {
		return json.Marshal(t.Mode)
	}
	return json.Marshal(namedToolChoice{Type: "function", Function: &struct {
		Name string `json:"name"`
	}{Name: t.Function}})
}

type namedToolChoice struct {
	Type     string `json:"type"`
	Function *struct {
		Name string `json:"name"`
	} `json:"function,omitempty"`
}

// UnmarshalJSON reads a mode string or {"type":"function","function":
// {"name":...}}. Other object forms (allowed_tools, custom tools) are
// refused.
func (t *ToolChoice) UnmarshalJSON(b []byte) error {
	*t = ToolChoice{}
	switch firstByte(b) {
	case '"':
		if err := json.Unmarshal(b, &t.Mode); err != nil {
			return err
		}
		switch t.Mode {
		case ToolChoiceNone, ToolChoiceAuto, ToolChoiceRequired:
			return nil
		}
		return invalid("tool_choice", "Invalid value for 'tool_choice': %q. Supported values are: 'none', 'auto', 'required', or an object naming a function.", t.Mode)
	case '{':
		var n namedToolChoice
		if err := json.Unmarshal(b, &n); err != nil {
			return invalid("tool_choice", "Invalid type for 'tool_choice'.")
		}
		if n.Type != "function" || n.Function == nil || n.Function.Name == "" {
			return invalid("tool_choice", "Unsupported 'tool_choice': only {\"type\": \"function\", \"function\": {\"name\": ...}} objects are supported.")
		}
		t.Function = n.Function.Name
		return nil
	case 'n':
		return nil
	}
	return invalid("tool_choice", "Invalid type for 'tool_choice': it must be a string or an object.")
}

// firstByte returns the first non-space byte of a JSON value.
func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
