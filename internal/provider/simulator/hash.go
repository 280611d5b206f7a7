package simulator

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// hasher is a small, allocation-free 64-bit hash that is the same in every
// process, so a prompt gets the same reply after a restart (hash/maphash
// seeds differ per process). It is not meant to resist attacks: it only
// seeds the reply generator.
type hasher struct{ h uint64 }

const (
	hashInit  = 0x9e3779b97f4a7c15
	hashMul   = 0xbf58476d1ce4e5b9
	hashMul2  = 0x94d049bb133111eb
	blobLimit = 64 << 10 // larger binary blobs are hashed by sample
	blobPart  = 4 << 10
)

func newHasher() hasher { return hasher{h: hashInit} }

func (h *hasher) word(x uint64) {
	h.h = bits.RotateLeft64((h.h^x)*hashMul, 31) * hashMul2
}

// str hashes s with its length, so that adjacent fields cannot run together.
func (h *hasher) str(s string) {
	h.word(uint64(len(s)))
	for len(s) >= 8 {
		h.word(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
		s = s[8:]
	}
	var tail uint64
	for i := len(s) - 1; i >= 0; i-- {
		tail = tail<<8 | uint64(s[i])
	}
	h.word(tail)
}

// bytes hashes a byte slice; large blobs (images, videos, documents) are
// hashed by their length, head and tail, which keeps hashing a many-megabyte
// image cheap while still telling different images apart in practice.
func (h *hasher) bytes(b []byte) {
	if len(b) > blobLimit {
		h.word(uint64(len(b)))
		h.bytes(b[:blobPart])
		h.bytes(b[len(b)-blobPart:])
		return
	}
	h.word(uint64(len(b)))
	for len(b) >= 8 {
		h.word(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	var tail uint64
	for i := len(b) - 1; i >= 0; i-- {
		tail = tail<<8 | uint64(b[i])
	}
	h.word(tail)
}

func (h *hasher) tag(t byte) { h.word(uint64(t) | 0xa5<<56) }

// sum finalises the hash (splitmix64's finaliser).
func (h *hasher) sum() uint64 {
	x := h.h
	x ^= x >> 30
	x *= hashMul
	x ^= x >> 27
	x *= hashMul2
	x ^= x >> 31
	return x
}

// hashString is the hash of one text, used to seed embeddings.
func hashString(s string) uint64 {
	h := newHasher()
	h.str(s)
	return h.sum()
}

// conversationHash hashes what a reply may depend on: the system prompt, the
// messages and the tool definitions. Inference parameters are left out on
// purpose, so that maxTokens and stop sequences only cut the same reply
// short; cache points are left out because they do not change the content.
func conversationHash(req *converse.Request) uint64 {
	h := newHasher()
	for i := range req.System {
		b := &req.System[i]
		h.tag('s')
		if b.Text != nil {
			h.str(*b.Text)
		}
		h.bytes(b.GuardContent)
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		h.tag('m')
		h.str(m.Role)
		for j := range m.Content {
			hashBlock(&h, &m.Content[j])
		}
	}
	if req.ToolConfig != nil {
		for i := range req.ToolConfig.Tools {
			t := &req.ToolConfig.Tools[i]
			h.tag('t')
			if t.ToolSpec != nil {
				h.str(t.ToolSpec.Name)
				h.str(t.ToolSpec.Description)
				h.bytes(t.ToolSpec.InputSchema.JSON)
			}
			h.bytes(t.SystemTool)
		}
	}
	return h.sum()
}

func hashBlock(h *hasher, b *converse.ContentBlock) {
	h.tag('b')
	if b.Text != nil {
		h.tag('T')
		h.str(*b.Text)
	}
	if b.Image != nil {
		h.tag('I')
		h.str(b.Image.Format)
		hashSource(h, b.Image.Source)
	}
	if b.Document != nil {
		hashDocument(h, b.Document)
	}
	if b.Video != nil {
		h.tag('V')
		h.str(b.Video.Format)
		hashSource(h, b.Video.Source)
	}
	if u := b.ToolUse; u != nil {
		h.tag('U')
		h.str(u.ToolUseID)
		h.str(u.Name)
		h.bytes(u.Input)
	}
	if r := b.ToolResult; r != nil {
		h.tag('R')
		h.str(r.ToolUseID)
		h.str(r.Status)
		for i := range r.Content {
			c := &r.Content[i]
			h.tag('c')
			h.bytes(c.JSON)
			if c.Text != nil {
				h.str(*c.Text)
			}
			if c.Image != nil {
				hashSource(h, c.Image.Source)
			}
			if c.Document != nil {
				hashDocument(h, c.Document)
			}
			if c.Video != nil {
				hashSource(h, c.Video.Source)
			}
			h.bytes(c.SearchResult)
		}
	}
	if rc := b.ReasoningContent; rc != nil {
		h.tag('r')
		if rc.ReasoningText != nil {
			h.str(rc.ReasoningText.Text)
		}
		h.bytes(rc.RedactedContent)
	}
	h.bytes(b.GuardContent)
	h.bytes(b.CitationsContent)
	h.bytes(b.Audio)
	h.bytes(b.SearchResult)
}

func hashSource(h *hasher, s converse.ImageSource) {
	h.bytes(s.Bytes)
	h.bytes(s.S3Location)
}

func hashDocument(h *hasher, d *converse.DocumentBlock) {
	h.tag('D')
	h.str(d.Format)
	h.str(d.Name)
	h.bytes(d.Source.Bytes)
	if d.Source.Text != nil {
		h.str(*d.Source.Text)
	}
	h.bytes(d.Source.Content)
	h.bytes(d.Source.S3Location)
	if d.Context != nil {
		h.str(*d.Context)
	}
}

// prng is a PCG generator held by value so that seeding one per call does
// not allocate.
type prng struct{ src rand.PCG }

func newPRNG(seed uint64) prng {
	var p prng
	p.src.Seed(seed, seed^0xda942042e4dd58b5)
	return p
}

// intn returns a number in [0, n); n must be positive. The modulo bias is
// irrelevant for picking words.
func (p *prng) intn(n int) int { return int(p.src.Uint64() % uint64(n)) }

// between returns a number in [lo, hi].
func (p *prng) between(lo, hi int) int { return lo + p.intn(hi-lo+1) }

// chance reports true with probability num/den.
func (p *prng) chance(num, den int) bool { return p.intn(den) < num }
