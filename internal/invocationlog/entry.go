package invocationlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"sync"
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
//	u32 len(input body), u32 len(output body) | binaryFlag
//	meta, input body, output body
//
// binaryFlag, the top bit of the output length, marks an output that is
// binary data (a generated image): Bedrock never inlines it, whatever its
// size, but writes it under data/ (or leaves it out of a CloudWatch event
// without a large-data S3 location). Entries spooled before the flag
// existed have it clear.
const entryVersion = 1

const binaryFlag = 1 << 31

// entry is a decoded spool entry. Its slices alias the spool's buffer.
type entry struct {
	gen       uint32
	time      time.Time
	requestID string
	meta      []byte
	inAt      int
	outAt     int
	in, out   []byte
	// binaryOut marks a binary output (binaryFlag).
	binaryOut bool
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
	setAsyncFields(&m, inv)
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
	me := metaEncoders.Get().(*metaEncoder)
	defer metaEncoders.Put(me)
	me.buf.Reset()
	if err := me.enc.Encode(&m); err != nil {
		return buf, err
	}
	mb := me.buf.Bytes()
	mb = mb[:len(mb)-1] // the newline Encode ends with; otherwise the bytes json.Marshal makes
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
	outLen := uint32(len(out))
	if len(out) > 0 && outputKind(inv) == Image {
		outLen |= binaryFlag
	}
	for _, n := range []uint32{uint32(len(mb)), uint32(inAt + len(inputKey)), uint32(outAt + len(outputKey)), uint32(len(in)), outLen} {
		buf = binary.LittleEndian.AppendUint32(buf, n)
	}
	buf = append(buf, mb...)
	buf = append(buf, in...)
	return append(buf, out...), nil
}

// metaEncoder renders record metadata into a buffer it keeps: unlike
// json.Marshal, it allocates no result on the request path.
type metaEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var metaEncoders = sync.Pool{New: func() any {
	me := &metaEncoder{}
	me.enc = json.NewEncoder(&me.buf)
	return me
}}

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
	e.binaryOut = f[4]&binaryFlag != 0
	metaLen, inLen, outLen := f[0], f[3], f[4]&^binaryFlag
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
	case bytes.Contains(body, []byte(`"image"`)), bytes.Contains(body, []byte(`"images"`)),
		bytes.Contains(body, []byte(`"image_url"`)), // Cohere Embed v4's interleaved inputs
		bytes.Contains(body, []byte(`Image"`)):      // inputImage, and an image task's conditionImage, referenceImage, maskImage
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

// offload says what becomes of a body whose compact JSON is over
// LargeBodyBytes.
type offload struct {
	ctx context.Context
	// s writes it to bucket; nil inlines every body whatever its size (the
	// dashboard's rendering).
	s *sender
	// kind is the destination's, for the omitted-bodies metric.
	kind string
	// bucket is where it goes, under the logs prefix logs; "" leaves it
	// out of the record (CloudWatch Logs without largeDataDeliveryS3Config).
	bucket, logs string
}

// appendRecord appends the record line for e to dst: its metadata with each
// delivered body spliced in, compacted to one line (a body that is not
// JSON, a malformed request, as a JSON string) and compacted only once,
// straight into dst; a body that o sends elsewhere appears as its S3 path
// instead, or not at all. A nil body (not delivered) leaves the field out.
// On error (an offloaded body could not be written) dst is returned as it
// was.
func appendRecord(dst []byte, e *entry, o offload) ([]byte, error) {
	mark := len(dst)
	dst = append(dst, e.meta[:e.inAt]...)
	dst, err := appendBody(dst, e, e.in, "input", o)
	if err != nil {
		return dst[:mark], err
	}
	dst = append(dst, e.meta[e.inAt:e.outAt]...)
	if dst, err = appendBody(dst, e, e.out, "output", o); err != nil {
		return dst[:mark], err
	}
	return append(dst, e.meta[e.outAt:]...), nil
}

// appendBody appends the "<part>BodyJson" field (or "<part>BodyS3Path")
// of body, with its trailing comma. A binary output is offloaded whatever
// its size.
func appendBody(dst []byte, e *entry, body []byte, part string, o offload) ([]byte, error) {
	if len(body) == 0 {
		return dst, nil
	}
	mark := len(dst)
	dst = append(dst, '"')
	dst = append(dst, part...)
	dst = append(dst, `BodyJson":`...)
	at := len(dst)
	dst = appendCompactBody(dst, body)
	binary := part == "output" && e.binaryOut
	if o.s == nil || (len(dst)-at <= LargeBodyBytes && !binary) {
		return append(dst, ','), nil
	}
	path, err := o.s.offload(o, e, part, dst[at:])
	dst = dst[:mark]
	if err != nil || path == "" {
		return dst, err
	}
	dst = append(dst, '"')
	dst = append(dst, part...)
	dst = append(dst, `BodyS3Path":`...)
	q, _ := json.Marshal(path)
	dst = append(dst, q...)
	return append(dst, ','), nil
}

// appendCompactBody appends body as compact JSON fit for one NDJSON line:
// a JSON body compacted (no newline survives), anything else (a malformed
// request) as a JSON string.
func appendCompactBody(dst, body []byte) []byte {
	if out, ok := appendCompactJSON(dst, body); ok {
		return out
	}
	q, _ := json.Marshal(string(body))
	return append(dst, q...)
}
