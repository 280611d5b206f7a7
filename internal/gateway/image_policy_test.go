package gateway

import (
	"errors"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
)

// TestImagePolicy checks that image-generation calls go only to models
// that output images, and that such models refuse chat (Converse) and
// embedding calls; a model that outputs text and images still chats.
func TestImagePolicy(t *testing.T) {
	canvas := &catalog.Model{ID: "amazon.nova-canvas-v1:0", OutputModalities: []string{"IMAGE"}}
	chat := &catalog.Model{ID: "amazon.nova-lite-v1:0", OutputModalities: []string{"TEXT"}, MaxOutputTokens: 100}
	omni := &catalog.Model{ID: "omni", OutputModalities: []string{"TEXT", "IMAGE"}, MaxOutputTokens: 100}
	req := func() *converse.Request {
		return &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("hi")}}}}
	}
	rule := func(err error) Rule {
		var pe *PolicyError
		if errors.As(err, &pe) {
			return pe.Rule
		}
		return 0
	}
	if err := CheckImage(canvas); err != nil {
		t.Errorf("CheckImage(canvas) = %v", err)
	}
	if r := rule(CheckImage(chat)); r != RuleImageModel {
		t.Errorf("CheckImage(chat) rule %d", r)
	}
	if err := CheckImage(omni); err == nil {
		t.Error("CheckImage(omni): a text model with image output is not an image-generation model")
	}
	if r := rule(CheckChat(canvas, req(), false)); r != RuleChatModel {
		t.Errorf("CheckChat(canvas) rule %d", r)
	}
	if err := CheckChat(omni, req(), false); err != nil {
		t.Errorf("CheckChat(omni) = %v", err)
	}
	if r := rule(CheckEmbed(canvas)); r != RuleEmbeddingModel {
		t.Errorf("CheckEmbed(canvas) rule %d", r)
	}
}
