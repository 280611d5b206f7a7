package provider

import "context"

// Video-generation task types, as Nova Reel names them (taskType).
const (
	TaskTextVideo          = "TEXT_VIDEO"
	TaskMultiShotAutomated = "MULTI_SHOT_AUTOMATED"
	TaskMultiShotManual    = "MULTI_SHOT_MANUAL"
)

// VideoShot is one shot of a video: its text and, optionally, the image
// its first frame shows.
type VideoShot struct {
	Text string
	// Image is the decoded first-frame image (PNG or JPEG bytes), nil when
	// the shot has none; ImageFormat is "png" or "jpeg".
	Image       []byte
	ImageFormat string
}

// VideoRequest is a neutral video-generation request: a Nova Reel
// modelInput, already validated by its codec.
type VideoRequest struct {
	// Task is one of the TaskXxxVideo constants.
	Task string
	// Shots are the video's shots in order. TEXT_VIDEO and
	// MULTI_SHOT_AUTOMATED have one entry (the whole prompt); a manual
	// multi-shot request one per shot.
	Shots []VideoShot
	// DurationSeconds is the length of the whole video; ShotSeconds the
	// length of each shot (Nova Reel: 6).
	DurationSeconds, ShotSeconds int
	// FPS, Width and Height are the output's frame rate and size.
	FPS, Width, Height int
	// Seed makes the output reproducible: the same request and seed give
	// the same video.
	Seed int64
}

// VideoResponse is a generated video.
type VideoResponse struct {
	// MP4 is the whole video (an ISO BMFF file).
	MP4 []byte
	// ShotClips are the shots as separate MP4 files, in order, for
	// multi-shot tasks (nil for TEXT_VIDEO).
	ShotClips [][]byte
	// DurationSeconds, FPS, Width and Height describe MP4.
	DurationSeconds, FPS, Width, Height int
	// Codec names the video codec in MP4 ("h264").
	Codec string
}

// VideoGenerator is implemented by providers that can generate videos.
// Generation is slow (Bedrock takes about 90 seconds per 6 seconds of
// video) and runs in the background of an asynchronous invocation: the
// call must honour ctx.
type VideoGenerator interface {
	GenerateVideo(ctx context.Context, call Call, req *VideoRequest) (*VideoResponse, error)
}
