package invokebody

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Amazon Nova Reel (Nova user guide, "Video generation access and usage")
// takes its modelInput through StartAsyncInvoke only:
//
//   - TEXT_VIDEO (v1:0 and v1:1): textToVideoParams {text 1–512,
//     images: [one ImageSource] (the first frame)}, videoGenerationConfig
//     {durationSeconds 6, fps 24, dimension "1280x720", seed
//     0–2,147,483,646}.
//   - MULTI_SHOT_AUTOMATED (v1:1): multiShotAutomatedParams {text 1–4000},
//     videoGenerationConfig {durationSeconds, required: a multiple of 6
//     in [12, 120], fps, dimension, seed}.
//   - MULTI_SHOT_MANUAL (v1:1): multiShotManualParams {shots: 2–20 of
//     {text 1–512, image?}}, 6 seconds a shot; videoGenerationConfig
//     {fps, dimension, seed} (the length follows from the shots).
//
// ImageSource is {format: png|jpeg, source: {bytes: base64}}; the image
// must be that format and 1280x720. Messages are everit's, wrapped as
// Bedrock wraps them for this model ("Malformed input request: <violation>,
// reformat your input and try again.", without the "please" of the chat
// models, as seen in Bedrock's answers), and the multi-shot length uses
// Bedrock's own sentence. Decisions where the documentation is silent:
// videoGenerationConfig may be left out of TEXT_VIDEO and manual requests
// (6 s, 24 fps, 1280x720, seed 42, the documented defaults); an image
// given by s3Location is refused (modelwatch reads no caller buckets):
// send its bytes.

// Nova Reel's fixed output.
const (
	reelShotSeconds = 6
	reelFPS         = 24
	reelWidth       = 1280
	reelHeight      = 720
	reelDimension   = "1280x720"
	reelSeedDefault = 42
	reelSeedMax     = 2_147_483_646
	reelMinMulti    = 12
	reelMaxMulti    = 120
)

// VideoCodec is implemented by the codecs of video-generation families,
// whose bodies arrive as StartAsyncInvoke's modelInput.
type VideoCodec interface {
	// DecodeVideo validates a modelInput document and translates it into
	// a neutral video request. Errors are *apierror.Error
	// ValidationExceptions in Bedrock's wording.
	DecodeVideo(body []byte, m Model) (*provider.VideoRequest, error)
}

type novaReelCodec struct{}

var (
	reelV0Schema = reelSchema(false)
	reelV1Schema = reelSchema(true)
)

func reelSchema(multiShot bool) *schema {
	image := func() *schema {
		return object(props{
			"format": enum("png", "jpeg"),
			"source": object(props{
				"bytes":      str().b64(),
				"s3Location": object(props{"uri": str(), "bucketOwner": str()}, "uri"),
			}),
		}, "format", "source")
	}
	config := func(duration *schema) *schema {
		p := props{
			"fps":       integer().oneOf("24"),
			"dimension": enum(reelDimension),
			"seed":      integer().between(0, reelSeedMax),
		}
		if duration != nil {
			p["durationSeconds"] = duration
		}
		return object(p)
	}
	variants := map[string]*schema{
		provider.TaskTextVideo: object(props{
			"textToVideoParams": object(props{
				"text":   str().length(1, 512),
				"images": array(image()).count(1, 1),
			}, "text"),
			"videoGenerationConfig": config(integer().oneOf("6")),
		}, "textToVideoParams"),
	}
	if multiShot {
		variants[provider.TaskMultiShotAutomated] = object(props{
			"multiShotAutomatedParams": object(props{"text": str().length(1, 4000)}, "text"),
			"videoGenerationConfig":    object(config(integer()).props, "durationSeconds"),
		}, "multiShotAutomatedParams", "videoGenerationConfig")
		variants[provider.TaskMultiShotManual] = object(props{
			"multiShotManualParams": object(props{
				"shots": array(object(props{"text": str().length(1, 512), "image": image()}, "text")).count(2, 20),
			}, "shots"),
			"videoGenerationConfig": config(nil),
		}, "multiShotManualParams")
	}
	return union("taskType", variants)
}

// reelBody is the modelInput, after the schema check.
type reelBody struct {
	TaskType          string `json:"taskType"`
	TextToVideoParams *struct {
		Text   string      `json:"text"`
		Images []reelImage `json:"images"`
	} `json:"textToVideoParams"`
	MultiShotAutomatedParams *struct {
		Text string `json:"text"`
	} `json:"multiShotAutomatedParams"`
	MultiShotManualParams *struct {
		Shots []struct {
			Text  string     `json:"text"`
			Image *reelImage `json:"image"`
		} `json:"shots"`
	} `json:"multiShotManualParams"`
	VideoGenerationConfig *struct {
		DurationSeconds *int   `json:"durationSeconds"`
		Seed            *int64 `json:"seed"`
	} `json:"videoGenerationConfig"`
}

type reelImage struct {
	Format string `json:"format"`
	Source struct {
		Bytes      string    `json:"bytes"`
		S3Location *struct{} `json:"s3Location"`
	} `json:"source"`
}

// reelMalformed is Bedrock's wrapping of a Nova Reel violation.
func reelMalformed(violation string) *apierror.Error {
	return apierror.New(apierror.Validation, "Malformed input request: %s, reformat your input and try again.", violation)
}

// DecodeVideo implements VideoCodec.
func (novaReelCodec) DecodeVideo(body []byte, m Model) (*provider.VideoRequest, error) {
	root, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	s := reelV0Schema
	if !strings.HasPrefix(m.ID, "amazon.nova-reel-v1:0") {
		s = reelV1Schema
	}
	if v := s.violations(root, 0); len(v) > 0 {
		return nil, reelMalformed(strings.Join(v, violationSep))
	}
	var b reelBody
	if err := unmarshal(body, &b); err != nil {
		return nil, err
	}
	req := &provider.VideoRequest{Task: b.TaskType, DurationSeconds: reelShotSeconds, ShotSeconds: reelShotSeconds,
		FPS: reelFPS, Width: reelWidth, Height: reelHeight, Seed: reelSeedDefault}
	if c := b.VideoGenerationConfig; c != nil && c.Seed != nil {
		req.Seed = *c.Seed
	}
	switch b.TaskType {
	case provider.TaskTextVideo:
		shot := provider.VideoShot{Text: b.TextToVideoParams.Text}
		if imgs := b.TextToVideoParams.Images; len(imgs) > 0 {
			if err := decodeReelImage(&imgs[0], "#/textToVideoParams/images/0", &shot); err != nil {
				return nil, err
			}
		}
		req.Shots = []provider.VideoShot{shot}
	case provider.TaskMultiShotAutomated:
		d := *b.VideoGenerationConfig.DurationSeconds
		if d%reelShotSeconds != 0 || d < reelMinMulti || d > reelMaxMulti {
			return nil, apierror.New(apierror.Validation, "Malformed input request: #/videoGenerationConfig/durationSeconds must be an integer evenly divisible by 6 and within the range of 12 through 120. Provide a valid duration and try again.")
		}
		req.DurationSeconds = d
		req.Shots = []provider.VideoShot{{Text: b.MultiShotAutomatedParams.Text}}
	case provider.TaskMultiShotManual:
		shots := b.MultiShotManualParams.Shots
		req.DurationSeconds = reelShotSeconds * len(shots)
		for i, s := range shots {
			shot := provider.VideoShot{Text: s.Text}
			if s.Image != nil {
				if err := decodeReelImage(s.Image, fmt.Sprintf("#/multiShotManualParams/shots/%d/image", i), &shot); err != nil {
					return nil, err
				}
			}
			req.Shots = append(req.Shots, shot)
		}
	}
	return req, nil
}

// decodeReelImage checks an ImageSource (a PNG or JPEG of the format
// named, 1280x720) and puts its bytes in the shot.
func decodeReelImage(img *reelImage, at string, shot *provider.VideoShot) error {
	if img.Source.S3Location != nil || img.Source.Bytes == "" {
		return reelMalformed(at + "/source: modelwatch takes the image as bytes; an s3Location source is not read")
	}
	raw, err := base64.StdEncoding.DecodeString(img.Source.Bytes)
	if err != nil {
		return reelMalformed(at + "/source/bytes: the image is not valid base64")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil || format != img.Format {
		return reelMalformed(fmt.Sprintf("%s: the image is not a %s image", at, strings.ToUpper(img.Format)))
	}
	if cfg.Width != reelWidth || cfg.Height != reelHeight {
		return reelMalformed(fmt.Sprintf("%s: the image must be %dx%d pixels, found %dx%d", at, reelWidth, reelHeight, cfg.Width, cfg.Height))
	}
	shot.Image, shot.ImageFormat = raw, img.Format
	return nil
}
