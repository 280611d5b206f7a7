package openai

import (
	"encoding/json"
	"errors"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"

	wire "github.com/modelwatch/modelwatch/internal/apischema/openai"
)

// errChunkShape is a chunk that is JSON but not a chat.completion.chunk.
var errChunkShape = errors.New("the chunk is not a chat.completion.chunk object")

// decodeChunk reads into c what a stream's events and record need from a
// chat.completion.chunk: each choice's index, finish reason and delta
// (role, content, refusal, reasoning, tool calls), and the usage. The rest
// (id, model, system_fingerprint, logprobs, members newer than this code)
// is skipped without being decoded: a stream's chunks are parsed once
// each, so this is the stream's hot path, about five times faster than
// encoding/json into the full type. c must be empty; the strings it gets
// are copies, so data may be reused.
func decodeChunk(data []byte, c *wire.ChatCompletionChunk) error {
	if len(data) == 0 || !gjson.ValidBytes(data) {
		return errors.New("the chunk is not valid JSON")
	}
	// A view of data, not a copy: every string kept is cloned below.
	root := gjson.Parse(unsafe.String(&data[0], len(data)))
	if !root.IsObject() {
		return errChunkShape
	}
	var err error
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "choices":
			c.Choices = c.Choices[:0] // a repeated member replaces, as in encoding/json
			switch {
			case v.IsArray():
				if c.Choices == nil {
					c.Choices = []wire.ChunkChoice{} // [] is not null
				}
				v.ForEach(func(_, ch gjson.Result) bool {
					c.Choices = append(c.Choices, wire.ChunkChoice{})
					err = decodeChoice(ch, &c.Choices[len(c.Choices)-1])
					return err == nil
				})
			case v.Type != gjson.Null:
				err = errChunkShape
			}
		case "usage":
			switch {
			case v.IsObject():
				c.Usage = new(wire.Usage)
				err = json.Unmarshal([]byte(v.Raw), c.Usage)
			case v.Type != gjson.Null:
				err = errChunkShape
			}
		}
		return err == nil
	})
	return err
}

// decodeChoice reads one choice of a chunk.
func decodeChoice(ch gjson.Result, cc *wire.ChunkChoice) error {
	if !ch.IsObject() {
		return errChunkShape
	}
	var err error
	ch.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "index":
			if v.Type != gjson.Number {
				err = errChunkShape
			}
			cc.Index = int(v.Int())
		case "finish_reason":
			cc.FinishReason, err = optString(v)
		case "delta":
			err = decodeDelta(v, &cc.Delta)
		}
		return err == nil
	})
	return err
}

// decodeDelta reads a choice's delta. Tool calls, rarer and nested, are
// decoded with encoding/json.
func decodeDelta(v gjson.Result, d *wire.Delta) error {
	switch {
	case v.Type == gjson.Null:
		return nil
	case !v.IsObject():
		return errChunkShape
	}
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "role":
			var s *string
			if s, err = optString(f); s != nil {
				d.Role = *s
			}
		case "content":
			d.Content, err = optString(f)
		case "refusal":
			d.Refusal, err = optString(f)
		case "reasoning_content":
			d.ReasoningContent, err = optString(f)
		case "reasoning":
			d.Reasoning, err = optString(f)
		case "tool_calls":
			if f.Type != gjson.Null {
				err = json.Unmarshal([]byte(f.Raw), &d.ToolCalls)
			}
		}
		return err == nil
	})
	return err
}

// optString is a string member that may be null: a copy of the string,
// or nil for null.
func optString(v gjson.Result) (*string, error) {
	switch v.Type {
	case gjson.Null:
		return nil, nil
	case gjson.String:
		s := strings.Clone(v.Str)
		return &s, nil
	}
	return nil, errChunkShape
}
