package simulator

import (
	"bytes"
	"context"
	"image"
	"image/color"
	_ "image/jpeg" // first-frame images
	_ "image/png"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/mp4"
	"github.com/modelwatch/modelwatch/internal/provider"
)

var _ provider.VideoGenerator = (*Simulator)(nil)

// videoTimescale is the MP4 media timescale of generated videos (ffmpeg's
// choice for 24 fps: 512 units a frame).
const videoTimescale = 12288

// GenerateVideo makes a real, playable MP4 (H.264 Constrained Baseline,
// see video_h264.go) of the requested length, size and frame rate. Each
// shot is one still picture derived from the shot's text, the seed and
// the shot's position, so the same request and seed give the same bytes;
// a shot with a first-frame image shows that image. Generation takes the
// model's timeToFirstToken for every shot (Bedrock takes about 90 seconds
// per 6-second shot; the catalog's default is short so that tests are
// fast), and the model's injected errors and throttles apply.
func (s *Simulator) GenerateVideo(ctx context.Context, call provider.Call, req *provider.VideoRequest) (*provider.VideoResponse, error) {
	m := s.model(call.ModelID)
	if err := s.inject(m, call); err != nil {
		return nil, err
	}
	if req.Width%16 != 0 || req.Height%16 != 0 || req.Width <= 0 || req.Height <= 0 || req.FPS <= 0 ||
		req.ShotSeconds <= 0 || req.DurationSeconds <= 0 || req.DurationSeconds%req.ShotSeconds != 0 {
		return nil, apierror.New(apierror.Validation, "The simulator cannot generate a %dx%d video of %d s at %d fps.",
			req.Width, req.Height, req.DurationSeconds, req.FPS)
	}
	shots := req.DurationSeconds / req.ShotSeconds
	if d := m.ttft * time.Duration(shots); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	st := newH264Stream(req.Width, req.Height)
	track := mp4.Track{
		Width: req.Width, Height: req.Height, Timescale: videoTimescale,
		SampleDuration: uint32(videoTimescale / req.FPS), SPS: st.sps(), PPS: st.pps(),
	}
	framesPerShot := req.ShotSeconds * req.FPS
	var all []mp4.Sample
	var clips [][]byte
	for i := range shots {
		shot := req.Shots[min(i, len(req.Shots)-1)]
		y, cb, cr, err := shotPicture(shot, req, i)
		if err != nil {
			return nil, err
		}
		samples := make([]mp4.Sample, 0, framesPerShot)
		samples = append(samples, mp4.Sample{Data: avcc(st.idr(y, cb, cr)), Sync: true})
		for range framesPerShot - 1 {
			samples = append(samples, mp4.Sample{Data: avcc(st.skip())})
		}
		all = append(all, samples...)
		if req.Task != provider.TaskTextVideo {
			var clip bytes.Buffer
			if _, err := mp4.Write(&clip, track, samples); err != nil {
				return nil, err
			}
			clips = append(clips, clip.Bytes())
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	if _, err := mp4.Write(&out, track, all); err != nil {
		return nil, err
	}
	return &provider.VideoResponse{
		MP4: out.Bytes(), ShotClips: clips, DurationSeconds: req.DurationSeconds,
		FPS: req.FPS, Width: req.Width, Height: req.Height, Codec: "h264",
	}, nil
}

// shotPicture renders shot i as planar 4:2:0 samples: the shot's image
// when it has one (validated to be the output size), else a picture drawn
// from the hash of the text, seed and position: a vertical gradient
// between two colours, a horizon, and a disc.
func shotPicture(shot provider.VideoShot, req *provider.VideoRequest, i int) (y, cb, cr []byte, err error) {
	w, h := req.Width, req.Height
	var src image.Image
	if len(shot.Image) > 0 {
		src, _, err = image.Decode(bytes.NewReader(shot.Image))
		if err != nil {
			return nil, nil, nil, apierror.New(apierror.Validation, "The first-frame image could not be decoded: %v", err)
		}
		if b := src.Bounds(); b.Dx() != w || b.Dy() != h {
			return nil, nil, nil, apierror.New(apierror.Validation, "The first-frame image must be %dx%d, got %dx%d.", w, h, b.Dx(), b.Dy())
		}
	}
	hs := newHasher()
	hs.str(shot.Text)
	hs.word(uint64(req.Seed))
	hs.word(uint64(i))
	p := newPRNG(hs.sum())
	top := color.RGBA{uint8(p.intn(256)), uint8(p.intn(256)), uint8(p.intn(256)), 255}
	bottom := color.RGBA{uint8(p.intn(256)), uint8(p.intn(256)), uint8(p.intn(256)), 255}
	disc := color.RGBA{uint8(155 + p.intn(101)), uint8(155 + p.intn(101)), uint8(p.intn(120)), 255}
	horizon := h/3 + p.intn(h/3)
	cx, cy, rad := p.between(w/8, w*7/8), p.between(h/8, horizon), p.between(h/12, h/5)

	rgb := func(x, yy int) (r, g, b uint8) {
		if src != nil {
			c := color.RGBAModel.Convert(src.At(src.Bounds().Min.X+x, src.Bounds().Min.Y+yy)).(color.RGBA)
			return c.R, c.G, c.B
		}
		dx, dy := x-cx, yy-cy
		if dx*dx+dy*dy <= rad*rad {
			return disc.R, disc.G, disc.B
		}
		t := yy * 256 / h
		mix := func(a, b uint8) uint8 { return uint8((int(a)*(256-t) + int(b)*t) / 256) }
		r, g, b = mix(top.R, bottom.R), mix(top.G, bottom.G), mix(top.B, bottom.B)
		if yy >= horizon {
			r, g, b = r/2, g/2, b/2
		}
		return r, g, b
	}
	y = make([]byte, w*h)
	cb = make([]byte, w*h/4)
	cr = make([]byte, w*h/4)
	for yy := range h {
		for x := range w {
			r, g, b := rgb(x, yy)
			ly, lcb, lcr := color.RGBToYCbCr(r, g, b)
			y[yy*w+x] = pcm(ly)
			if x%2 == 0 && yy%2 == 0 {
				cb[(yy/2)*(w/2)+x/2] = pcm(lcb)
				cr[(yy/2)*(w/2)+x/2] = pcm(lcr)
			}
		}
	}
	return y, cb, cr, nil
}

// pcm keeps a sample off zero, which early H.264 decoders refuse in I_PCM
// macroblocks.
func pcm(v uint8) uint8 { return max(v, 1) }
