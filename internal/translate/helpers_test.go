package translate

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
)

// testPNG is a 1x1 PNG.
var testPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// testPNGURL is testPNG as a base64 data: URL.
var testPNGURL = "data:image/png;base64," + base64.StdEncoding.EncodeToString(testPNG)

// checkInvalid asserts err is a ValidationException with msgPart in its
// message, carried by an openai.RequestError naming param (the chat
// completions and Responses translations' refusals) unless param is "-".
func checkInvalid(t *testing.T, err error, param, msgPart string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one about %q", param)
	}
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.Validation {
		t.Fatalf("error %v is not a ValidationException", err)
	}
	if param != "-" {
		var re *openai.RequestError
		if !errors.As(err, &re) {
			t.Fatalf("error %v is not an openai.RequestError", err)
		}
		if re.Param != param {
			t.Errorf("param = %q, want %q (message %q)", re.Param, param, e.Message)
		}
	}
	if !strings.Contains(e.Message, msgPart) {
		t.Errorf("message %q does not contain %q", e.Message, msgPart)
	}
	if strings.Contains(e.Message, "json:") || strings.Contains(e.Message, "Go value") || strings.Contains(e.Message, "*responses") {
		t.Errorf("message %q leaks a Go error", e.Message)
	}
}

// checkConverseRoundTrip asserts a translated request encodes and passes
// Converse's own validation after a JSON round trip.
func checkConverseRoundTrip(t *testing.T, cr *converse.Request) {
	t.Helper()
	b, err := json.Marshal(cr)
	if err != nil {
		t.Fatalf("translated request does not encode: %v", err)
	}
	if _, err := converse.Decode(b); err != nil {
		t.Fatalf("translated request %s fails Converse validation: %v", b, err)
	}
}
