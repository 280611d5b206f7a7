package invocationlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// A spool entry is one record before delivery. The record's metadata is
// encoded as its final JSON with the bodies left out; the bodies follow raw,
// as they crossed the wire, with the offsets at which delivery splices them
// in (inline, or as an S3 path when offloaded). That keeps the request path
// to one small json.Marshal and a copy, and lets each destination decide
// about offloading without parsing the record again.
//
// Layout (little endian):
//
//	u8  entryVersion
//	u32 generation of the logging configuration in force
//	i64 record timestamp, Unix seconds
//	u8  len(requestID), requestID
//	u32 len(meta), u32 input splice offset, u32 output splice offset
//	u32 len(input body), u32 len(output body)
//	meta, input body, output body
const entryVersion = 1

// entry is a decoded spool entry. Its slices alias the spool's buffer.
type entry struct {
	gen       uint32
	time      time.Time
	requestID string
	meta      []byte
	inAt      int
	outAt     int
	in, out   []byte
}

var errBadEntry = errors.New("invocationlog: malformed spool entry")

var (
	inputKey  = []byte(`"input":{`)
	outputKey = []byte(`"output":{`)
)

// encodeEntry appends the spool entry for inv to buf. cfg decides which
// bodies are kept: a body whose data kind is not delivered never reaches
// the disk.
//
// The record stays Bedrock's: its token counts are exactly the usage the
// provider reported (input.cacheReadInputTokenCount and
// input.cacheWriteInputTokenCount, the latter all TTLs together), and the
// service tier, the latency mode and the split of cache writes by TTL,
// which Bedrock's schema has no field for, appear only where Bedrock's own
// records show them: in the bodies (a Converse response's serviceTier,
// performanceConfig and usage.cacheDetails). No field is added to
// Bedrock's namespace; the metrics and the cost carry the tier.
func encodeEntry(buf []byte, gen uint32, cfg *LoggingConfig, accountID, region string, inv *invocation.Invocation) ([]byte, error) {
	ts := inv.Start.UTC().Truncate(time.Second)
	identity := inv.PrincipalARN
	m := Record{
		SchemaType:      "ModelInvocationLog",
		SchemaVersion:   "1.0",
		Timestamp:       ts.Format(time.RFC3339),
		AccountID:       accountID,
		Identity:        Identity{ARN: identity},
		Region:          region,
		RequestID:       inv.RequestID,
		Operation:       string(inv.Operation),
		ModelID:         inv.ModelID,
		InferenceRegion: inv.InferenceRegion,
		RequestMetadata: inv.RequestMetadata,
		ErrorCode:       inv.ErrorCode,
		Input: RecordInput{
			InputContentType:          inv.Input.ContentType,
			InputTokenCount:           inv.Usage.InputTokens,
			CacheReadInputTokenCount:  inv.Usage.CacheReadInputTokens,
			CacheWriteInputTokenCount: inv.Usage.CacheWriteInputTokens,
		},
		Output: RecordOutput{
			OutputContentType: inv.Output.ContentType,
			OutputTokenCount:  inv.Usage.OutputTokens,
		},
	}
	if len(inv.Attempts) > 0 {
		m.Upstream = &RecordUpstream{Provider: inv.Provider, Model: inv.UpstreamModel, ServedModelID: inv.ServedModelID, Attempts: len(inv.Attempts)}
	}
	in, out := inv.Input.Data, inv.Output.Data
	// Classifying the input scans it: only pay for that when the toggles
	// that could apply disagree (with the defaults they all agree).
	if t := cfg.Delivers(Text); t != cfg.Delivers(Image) || t != cfg.Delivers(Video) {
		if !cfg.Delivers(inputKind(in)) {
			in = nil
		}
	} else if !t {
		in = nil
	}
	if !cfg.Delivers(outputKind(inv)) {
		out = nil
	}
	if len(in) == 0 {
		m.Input.InputContentType = ""
	}
	if len(out) == 0 {
		m.Output.OutputContentType = ""
	}
	mb, err := json.Marshal(&m)
	if err != nil {
		return buf, err
	}
	outAt := bytes.LastIndex(mb, outputKey)
	inAt := bytes.LastIndex(mb[:outAt], inputKey)
	if outAt < 0 || inAt < 0 {
		return buf, errBadEntry
	}
	rid := inv.RequestID
	if len(rid) > 255 {
		rid = rid[:255]
	}
	buf = append(buf, entryVersion)
	buf = binary.LittleEndian.AppendUint32(buf, gen)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(ts.Unix()))
	buf = append(buf, byte(len(rid)))
	buf = append(buf, rid...)
	for _, n := range []int{len(mb), inAt + len(inputKey), outAt + len(outputKey), len(in), len(out)} {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
	}
	buf = append(buf, mb...)
	buf = append(buf, in...)
	return append(buf, out...), nil
}

// decodeEntry parses a spool entry without copying.
func decodeEntry(b []byte) (entry, error) {
	var e entry
	if len(b) < 1+4+8+1 || b[0] != entryVersion {
		return e, errBadEntry
	}
	e.gen = binary.LittleEndian.Uint32(b[1:])
	e.time = time.Unix(int64(binary.LittleEndian.Uint64(b[5:])), 0).UTC()
	n := int(b[13])
	b = b[14:]
	if len(b) < n+20 {
		return e, errBadEntry
	}
	e.requestID = string(b[:n])
	b = b[n:]
	var f [5]int
	for i := range f {
		f[i] = int(binary.LittleEndian.Uint32(b[4*i:]))
	}
	b = b[20:]
	metaLen, inLen, outLen := f[0], f[3], f[4]
	if metaLen < 0 || inLen < 0 || outLen < 0 || metaLen+inLen+outLen != len(b) ||
		f[1] > f[2] || f[2] > metaLen || f[1] < len(inputKey) {
		return e, errBadEntry
	}
	e.meta, e.inAt, e.outAt = b[:metaLen], f[1], f[2]
	e.in = b[metaLen : metaLen+inLen]
	e.out = b[metaLen+inLen:]
	return e, nil
}

// inputKind classifies a request body: images (Converse and Nova image
// blocks, Anthropic image sources, Titan's inputImage) need
// imageDataDeliveryEnabled, video needs videoDataDeliveryEnabled, anything
// else is text. A byte search, not a parse: it runs on the request path.
func inputKind(body []byte) DataKind {
	switch {
	case bytes.Contains(body, []byte(`"video"`)):
		return Video
	case bytes.Contains(body, []byte(`"image"`)), bytes.Contains(body, []byte(`"inputImage"`)), bytes.Contains(body, []byte(`"images"`)):
		return Image
	}
	return Text
}

// outputKind classifies a response body by the model's output modality.
func outputKind(inv *invocation.Invocation) DataKind {
	if inv.Status >= 300 {
		return Text // an error message
	}
	switch inv.OutputModality {
	case "EMBEDDING":
		return Embedding
	case "IMAGE":
		return Image
	case "VIDEO":
		return Video
	}
	return Text
}

// bodyRef says how a body appears in a delivered record.
type bodyRef struct {
	json   []byte // compact JSON to inline
	s3Path string // or the s3:// path of the offloaded object
}

// appendRecord writes the record line for e with the given bodies. A nil
// body (not delivered) leaves the field out.
func appendRecord(dst []byte, e *entry, in, out bodyRef) []byte {
	dst = append(dst, e.meta[:e.inAt]...)
	dst = appendBody(dst, "inputBody", in)
	dst = append(dst, e.meta[e.inAt:e.outAt]...)
	dst = appendBody(dst, "outputBody", out)
	return append(dst, e.meta[e.outAt:]...)
}

func appendBody(dst []byte, field string, b bodyRef) []byte {
	switch {
	case b.s3Path != "":
		dst = append(dst, `"`+field+`S3Path":`...)
		q, _ := json.Marshal(b.s3Path)
		dst = append(dst, q...)
		return append(dst, ',')
	case b.json != nil:
		dst = append(dst, `"`+field+`Json":`...)
		dst = append(dst, b.json...)
		return append(dst, ',')
	}
	return dst
}

// compactBody returns body as compact JSON fit for one NDJSON line: JSON
// bodies are compacted (no newlines survive), anything else (a malformed
// request) is recorded as a JSON string. Empty bodies yield nil.
func compactBody(dst *bytes.Buffer, body []byte) []byte {
	if len(body) == 0 {
		return nil
	}
	dst.Reset()
	if err := json.Compact(dst, body); err == nil {
		return dst.Bytes()
	}
	dst.Reset()
	q, _ := json.Marshal(string(body))
	dst.Write(q)
	return dst.Bytes()
}
