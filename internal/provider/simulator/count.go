package simulator

import (
	"unsafe"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Input token accounting. Text of every kind is counted with CountTokens;
// media, whose content the simulator cannot read, are estimated from their
// size. The numbers are plausible, not exact to any real model.
const (
	// requestOverhead and messageOverhead stand for the role markers and
	// separators a chat template adds.
	requestOverhead = 1
	messageOverhead = 3
	// An image or video with inline bytes costs max(minMediaTokens,
	// len(bytes)/mediaBytesPerToken); one in S3, whose size is unknown,
	// costs unknownMediaTokens (about a one-megapixel image).
	minMediaTokens     = 85
	mediaBytesPerToken = 750
	unknownMediaTokens = 1600
	// A document costs its text's count, or ceil(len(bytes)/4) for
	// binary sources, or unknownDocumentTokens when it is in S3; its name
	// and context are counted as text.
	documentBytesPerToken = 4
	unknownDocumentTokens = 1000
)

// countInput returns the input token count of a request: the system
// prompt, every message's content, the tool definitions (name, description
// and input schema as JSON text) and the per-request and per-message
// overheads. Raw JSON members (guard content, citations, search results,
// audio, system tools, tool use inputs, JSON tool results) count as their
// JSON text; cache points are free.
func countInput(req *converse.Request) int {
	n := requestOverhead
	for i := range req.System {
		n += countSystem(&req.System[i])
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		n += messageOverhead
		for j := range m.Content {
			n += countBlock(&m.Content[j])
		}
	}
	if req.ToolConfig != nil {
		for i := range req.ToolConfig.Tools {
			n += countTool(&req.ToolConfig.Tools[i])
		}
	}
	return n
}

func countSystem(b *converse.SystemContentBlock) int {
	n := countRaw(b.GuardContent)
	if b.Text != nil {
		n += CountTokens(*b.Text)
	}
	return n
}

func countTool(t *converse.Tool) int {
	n := countRaw(t.SystemTool)
	if s := t.ToolSpec; s != nil {
		n += CountTokens(s.Name) + CountTokens(s.Description) + countRaw(s.InputSchema.JSON)
	}
	return n
}

// checkpoint is a cache point of a request: the hash of the prompt prefix
// it ends and that prefix's input tokens.
type checkpoint struct {
	hash   uint64
	tokens int
	ttl    string
}

// checkpoints walks the prompt in the order Bedrock caches it (tools, then
// system, then messages) and returns its cache points in order. The
// prefix hash covers the content only, so adding a cache point further on
// does not change the prefixes before it. toolPoints false leaves out
// cache points in the tool list (families that cannot cache tools). The
// token count at the end of the walk is countInput's.
func checkpoints(req *converse.Request, toolPoints bool) []checkpoint {
	var cps []checkpoint
	h := newHasher()
	n := requestOverhead
	mark := func(cp *converse.CachePointBlock) {
		cps = append(cps, checkpoint{hash: h.sum(), tokens: n, ttl: cacheTTL(cp.TTL)})
	}
	if req.ToolConfig != nil {
		for i := range req.ToolConfig.Tools {
			t := &req.ToolConfig.Tools[i]
			if t.CachePoint != nil {
				if toolPoints {
					mark(t.CachePoint)
				}
				continue
			}
			h.tag('t')
			if t.ToolSpec != nil {
				h.str(t.ToolSpec.Name)
				h.str(t.ToolSpec.Description)
				h.bytes(t.ToolSpec.InputSchema.JSON)
			}
			h.bytes(t.SystemTool)
			n += countTool(t)
		}
	}
	for i := range req.System {
		b := &req.System[i]
		if b.CachePoint != nil {
			mark(b.CachePoint)
			continue
		}
		h.tag('s')
		if b.Text != nil {
			h.str(*b.Text)
		}
		h.bytes(b.GuardContent)
		n += countSystem(b)
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		h.tag('m')
		h.str(m.Role)
		n += messageOverhead
		for j := range m.Content {
			b := &m.Content[j]
			if b.CachePoint != nil {
				mark(b.CachePoint)
				continue
			}
			hashBlock(&h, b)
			n += countBlock(b)
		}
	}
	return cps
}

// hasCachePoint reports whether the request marks any cache point.
func hasCachePoint(req *converse.Request) bool {
	if req.ToolConfig != nil {
		for i := range req.ToolConfig.Tools {
			if req.ToolConfig.Tools[i].CachePoint != nil {
				return true
			}
		}
	}
	for i := range req.System {
		if req.System[i].CachePoint != nil {
			return true
		}
	}
	for i := range req.Messages {
		for j := range req.Messages[i].Content {
			if req.Messages[i].Content[j].CachePoint != nil {
				return true
			}
		}
	}
	return false
}

func countBlock(b *converse.ContentBlock) int {
	n := 0
	if b.Text != nil {
		n += CountTokens(*b.Text)
	}
	if b.Image != nil {
		n += mediaTokens(b.Image.Source)
	}
	if b.Document != nil {
		n += documentTokens(b.Document)
	}
	if b.Video != nil {
		n += mediaTokens(b.Video.Source)
	}
	if u := b.ToolUse; u != nil {
		n += CountTokens(u.Name) + countRaw(u.Input)
	}
	if r := b.ToolResult; r != nil {
		for i := range r.Content {
			c := &r.Content[i]
			n += countRaw(c.JSON) + countRaw(c.SearchResult)
			if c.Text != nil {
				n += CountTokens(*c.Text)
			}
			if c.Image != nil {
				n += mediaTokens(c.Image.Source)
			}
			if c.Document != nil {
				n += documentTokens(c.Document)
			}
			if c.Video != nil {
				n += mediaTokens(c.Video.Source)
			}
		}
	}
	if rc := b.ReasoningContent; rc != nil {
		if rc.ReasoningText != nil {
			n += CountTokens(rc.ReasoningText.Text)
		}
		n += ceilDiv(len(rc.RedactedContent), documentBytesPerToken)
	}
	n += countRaw(b.GuardContent) + countRaw(b.CitationsContent) + countRaw(b.Audio) + countRaw(b.SearchResult)
	return n
}

func mediaTokens(s converse.ImageSource) int {
	if len(s.Bytes) == 0 {
		return unknownMediaTokens
	}
	return max(minMediaTokens, len(s.Bytes)/mediaBytesPerToken)
}

func documentTokens(d *converse.DocumentBlock) int {
	n := CountTokens(d.Name)
	if d.Context != nil {
		n += CountTokens(*d.Context)
	}
	switch {
	case d.Source.Text != nil:
		n += CountTokens(*d.Source.Text)
	case len(d.Source.Content) > 0:
		n += countRaw(d.Source.Content)
	case len(d.Source.Bytes) > 0:
		n += ceilDiv(len(d.Source.Bytes), documentBytesPerToken)
	default:
		n += unknownDocumentTokens
	}
	return n
}

// countRaw counts JSON text without copying it.
func countRaw(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	return CountTokens(unsafeString(b))
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// unsafeString views b as a string for read-only scanning; the string must
// not outlive the call.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
