package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/mp4"
	"github.com/modelwatch/modelwatch/internal/provider"
)

func reelRequest(task string, seconds int, shots ...provider.VideoShot) *provider.VideoRequest {
	return &provider.VideoRequest{Task: task, Shots: shots, DurationSeconds: seconds, ShotSeconds: 6,
		FPS: 24, Width: 1280, Height: 720, Seed: 7}
}

func genVideo(t *testing.T, req *provider.VideoRequest) *provider.VideoResponse {
	t.Helper()
	s := New(nil, Options{})
	resp, err := s.GenerateVideo(context.Background(), provider.Call{ModelID: "amazon.nova-reel-v1:1"}, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestVideoStructure(t *testing.T) {
	resp := genVideo(t, reelRequest(provider.TaskTextVideo, 6, provider.VideoShot{Text: "waves at dusk"}))
	info, err := mp4.Probe(resp.MP4)
	if err != nil {
		t.Fatal(err)
	}
	if info.Codec != "avc1" || info.Width != 1280 || info.Height != 720 || info.Samples != 144 ||
		info.SyncSamples != 1 || info.FPS() != 24 || info.Duration().Seconds() != 6 {
		t.Fatalf("info = %+v", info)
	}
	// README: "about 1.4 MB per shot": one uncompressed 4:2:0 key frame
	// (1280×720×1.5 = 1,382,400 bytes) plus small skip frames.
	if n := len(resp.MP4); n < 1_382_400 || n > 1_500_000 {
		t.Errorf("a 6-second shot is %d bytes, want about 1.4 MB", n)
	}
	if resp.ShotClips != nil || resp.DurationSeconds != 6 || resp.FPS != 24 || resp.Codec != "h264" {
		t.Fatalf("response = %d clips, %d s, %d fps, %s", len(resp.ShotClips), resp.DurationSeconds, resp.FPS, resp.Codec)
	}
	// Deterministic for (prompt, seed); another seed or prompt differs.
	again := genVideo(t, reelRequest(provider.TaskTextVideo, 6, provider.VideoShot{Text: "waves at dusk"}))
	if !bytes.Equal(again.MP4, resp.MP4) {
		t.Fatal("same prompt and seed gave different videos")
	}
	other := reelRequest(provider.TaskTextVideo, 6, provider.VideoShot{Text: "waves at dusk"})
	other.Seed = 8
	if bytes.Equal(genVideo(t, other).MP4, resp.MP4) {
		t.Fatal("another seed gave the same video")
	}
}

func TestVideoMultiShotClips(t *testing.T) {
	resp := genVideo(t, reelRequest(provider.TaskMultiShotManual, 12,
		provider.VideoShot{Text: "a red fox"}, provider.VideoShot{Text: "a snowy field"}))
	info, err := mp4.Probe(resp.MP4)
	if err != nil {
		t.Fatal(err)
	}
	if info.Samples != 288 || info.SyncSamples != 2 || info.Duration().Seconds() != 12 {
		t.Fatalf("info = %+v", info)
	}
	if len(resp.ShotClips) != 2 {
		t.Fatalf("%d clips", len(resp.ShotClips))
	}
	for _, c := range resp.ShotClips {
		ci, err := mp4.Probe(c)
		if err != nil || ci.Samples != 144 || ci.Duration().Seconds() != 6 {
			t.Fatalf("clip %+v, %v", ci, err)
		}
	}
}

func TestVideoFirstFrameImage(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	resp := genVideo(t, reelRequest(provider.TaskTextVideo, 6, provider.VideoShot{Text: "grey", Image: buf.Bytes(), ImageFormat: "png"}))
	// The key frame's first luma samples are the image's: Y of grey 200.
	want, _, _ := color.RGBToYCbCr(200, 200, 200)
	if !bytes.Contains(resp.MP4, bytes.Repeat([]byte{want}, 16)) {
		t.Fatal("the first-frame image is not in the key frame")
	}
	small := reelRequest(provider.TaskTextVideo, 6, provider.VideoShot{Text: "x", Image: buf.Bytes()[:100], ImageFormat: "png"})
	if _, err := New(nil, Options{}).GenerateVideo(context.Background(), provider.Call{}, small); err == nil {
		t.Fatal("a broken image was accepted")
	}
}

// TestVideoFFprobe has a real demuxer and decoder read the video: ffprobe
// for codec, size, rate and length, ffmpeg decoding every frame.
func TestVideoFFprobe(t *testing.T) {
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ffprobe is required in CI (Debian package ffmpeg)")
		}
		t.Skip("ffprobe not installed (Debian package ffmpeg); skipping the demuxer check")
	}
	for _, tc := range []struct {
		req     *provider.VideoRequest
		seconds string
		frames  string
	}{
		{reelRequest(provider.TaskTextVideo, 6, provider.VideoShot{Text: "waves at dusk"}), "6.000000", "144"},
		{reelRequest(provider.TaskMultiShotAutomated, 12, provider.VideoShot{Text: "a day in the city"}), "12.000000", "288"},
	} {
		resp := genVideo(t, tc.req)
		path := filepath.Join(t.TempDir(), "output.mp4")
		if err := os.WriteFile(path, resp.MP4, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(ffprobe, "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", path).Output()
		if err != nil {
			t.Fatalf("ffprobe: %v", err)
		}
		var probe struct {
			Streams []struct {
				CodecName    string `json:"codec_name"`
				Profile      string `json:"profile"`
				Width        int    `json:"width"`
				Height       int    `json:"height"`
				RFrameRate   string `json:"r_frame_rate"`
				AvgFrameRate string `json:"avg_frame_rate"`
				Duration     string `json:"duration"`
				NbReadFrames string `json:"nb_read_frames"`
				PixFmt       string `json:"pix_fmt"`
			} `json:"streams"`
			Format struct {
				FormatName string `json:"format_name"`
				Duration   string `json:"duration"`
			} `json:"format"`
		}
		if err := json.Unmarshal(out, &probe); err != nil || len(probe.Streams) != 1 {
			t.Fatalf("ffprobe output %s: %v", out, err)
		}
		st := probe.Streams[0]
		if st.CodecName != "h264" || st.Profile != "Constrained Baseline" || st.Width != 1280 || st.Height != 720 ||
			st.RFrameRate != "24/1" || st.AvgFrameRate != "24/1" || st.Duration != tc.seconds || st.NbReadFrames != tc.frames ||
			st.PixFmt != "yuv420p" || !strings.Contains(probe.Format.FormatName, "mp4") {
			t.Fatalf("ffprobe stream %+v format %+v", st, probe.Format)
		}
		// Decoding every frame must not report a single error.
		ffmpeg, err := exec.LookPath("ffmpeg")
		if err != nil {
			continue
		}
		dec, err := exec.Command(ffmpeg, "-v", "error", "-xerror", "-i", path, "-f", "null", "-").CombinedOutput()
		if err != nil || len(dec) != 0 {
			t.Fatalf("ffmpeg decode: %v\n%s", err, dec)
		}
	}
}
