package invocationlog

import (
	"bytes"
	"testing"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// TestImageOutputIsBinary checks that an image model's output is flagged
// binary in the spool entry (so delivery always offloads it), that the
// flag does not disturb the lengths, and that other outputs and image
// outputs left out by the toggle are not flagged.
func TestImageOutputIsBinary(t *testing.T) {
	on := &LoggingConfig{S3Config: &S3Config{BucketName: "logs"}, ImageDataDeliveryEnabled: ptr(true)}
	off := &LoggingConfig{S3Config: &S3Config{BucketName: "logs"}, ImageDataDeliveryEnabled: ptr(false)}
	img := testInvocation()
	img.OutputModality = "IMAGE"
	img.Output.Data = []byte(`{"images":["iVBORw0KGgo="]}`)
	for _, c := range []struct {
		name   string
		cfg    *LoggingConfig
		inv    *invocation.Invocation
		binary bool
		out    []byte
	}{
		{"image on", on, img, true, img.Output.Data},
		{"image off", off, img, false, nil},
		{"text", on, testInvocation(), false, testInvocation().Output.Data},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := encodeEntry(nil, 1, c.cfg, "000000000000", "us-east-1", c.inv)
			if err != nil {
				t.Fatal(err)
			}
			e, err := decodeEntry(b)
			if err != nil {
				t.Fatal(err)
			}
			if e.binaryOut != c.binary || !bytes.Equal(e.out, c.out) {
				t.Errorf("binary %v, output %q", e.binaryOut, e.out)
			}
			// Rendered without a destination (the dashboard), the body
			// stays inline.
			line, err := appendRecord(nil, &e, offload{})
			if err != nil || (c.out != nil && !bytes.Contains(line, []byte(`"outputBodyJson":`))) {
				t.Errorf("inline rendering: %s, %v", line, err)
			}
		})
	}
}
