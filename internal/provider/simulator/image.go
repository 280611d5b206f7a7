package simulator

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// The simulator's images are real, decodable PNG (or JPEG) files of the
// requested size, made cheaply from a hash of the request: a background
// gradient in bands of 16 rows and a few solid circles and rectangles, in
// colours drawn from the hash (or from the request's colours, for a
// colour-guided generation). Flat regions compress well, so a 1024×1024
// PNG is tens of kilobytes, not megabytes of noise. The same request and
// seed give the same bytes; another seed, prompt or task gives another
// picture, and each image of a multi-image request differs.
//
// Edit tasks honour their inputs: IMAGE_VARIATION, a conditioned
// TEXT_IMAGE and Stability's image-to-image blend the (first) input image,
// scaled to the output size, with the generated picture, the input
// weighted by Strength; INPAINTING repaints only the mask's black pixels and keeps the
// rest of the input exactly (a maskPrompt, which the simulator cannot
// segment, stands for the centre half of the image); OUTPAINTING keeps the
// black (masked) region, or the centre half, and repaints the rest;
// BACKGROUND_REMOVAL makes transparent every pixel close to the colour of
// the image's corners and keeps the others, as a PNG with an alpha
// channel.
//
// Moderation: a prompt containing the word BLOCKED_PROMPT is refused as
// the content filter refuses one (every image missing with "Filter reason:
// prompt"; Nova Canvas and Titan answer it with a ValidationException);
// one containing BLOCKED_OUTPUT has its last image removed by the output
// filter (all of them when one was asked for), with Nova Canvas's "Some
// of"/"All of the generated images have been blocked" error. The words
// are fixed, so tests can rely on them.
//
// webp output is refused with a ValidationException: Go's standard library
// has no webp encoder, and the simulator will not label a PNG as webp.

// Moderation words of the simulator.
const (
	BlockPromptWord = "BLOCKED_PROMPT"
	BlockOutputWord = "BLOCKED_OUTPUT"
)

// Bounds that keep one call from exhausting memory.
const (
	maxImageSide   = 8192
	maxImagePixels = 16 << 20
	maxImageCount  = 10
)

// GenerateImages implements provider.ImageGenerator. Latency is the
// model's TimeToFirstToken; failures are injected as for chat.
func (s *Simulator) GenerateImages(ctx context.Context, call provider.Call, req *provider.ImageRequest) (*provider.ImageResponse, error) {
	if req == nil {
		return nil, apierror.New(apierror.Validation, "The request body is missing.")
	}
	switch {
	case req.Count < 1 || req.Count > maxImageCount:
		return nil, apierror.New(apierror.Validation, "The number of images must be between 1 and %d.", maxImageCount)
	case req.Width < 1 || req.Height < 1 || req.Width > maxImageSide || req.Height > maxImageSide || req.Width*req.Height > maxImagePixels:
		return nil, apierror.New(apierror.Validation, "The image size %dx%d is not supported.", req.Width, req.Height)
	case req.Format == "webp":
		return nil, apierror.New(apierror.Validation, "The simulator cannot encode webp images. Request png or jpeg.")
	case req.Format != "" && req.Format != "png" && req.Format != "jpeg":
		return nil, apierror.New(apierror.Validation, "The output format %s is not supported. Request png or jpeg.", req.Format)
	}
	m := s.model(call.ModelID)
	if err := s.inject(m, call); err != nil {
		return nil, err
	}
	resp := &provider.ImageResponse{FinishReasons: make([]string, req.Count)}
	if strings.Contains(req.Prompt, BlockPromptWord) {
		for i := range resp.FinishReasons {
			resp.FinishReasons[i] = provider.FilterReasonPrompt
		}
		resp.Error = provider.BlockedPromptMessage
		return resp, wait(ctx, m.ttft)
	}
	src, err := decodeInputs(req)
	if err != nil {
		return nil, err
	}
	blocked := -1 // the image the output filter removes
	if strings.Contains(req.Prompt, BlockOutputWord) {
		blocked = req.Count - 1
	}
	base := requestHash(req)
	for i := range req.Count {
		seed := req.Seed + int64(i)
		resp.Seeds = append(resp.Seeds, seed)
		if i == blocked {
			resp.FinishReasons[i] = provider.FilterReasonOutput
			continue
		}
		img := render(req, src, base^uint64(i)*0x9e3779b97f4a7c15)
		b, err := encodeImage(img, req.Format)
		if err != nil {
			return nil, err
		}
		resp.Images = append(resp.Images, b)
	}
	switch {
	case blocked >= 0 && len(resp.Images) == 0:
		resp.Error = provider.BlockedAllMessage
	case blocked >= 0:
		resp.Error = provider.BlockedSomeMessage
	}
	if err := wait(ctx, m.ttft); err != nil {
		return nil, err
	}
	return resp, nil
}

// inputs are the decoded input images of an edit task.
type inputs struct {
	src  image.Image // the source, variation or condition image (nil: none)
	mask image.Image // nil: none (a mask prompt, or no mask)
}

func decodeInputs(req *provider.ImageRequest) (inputs, error) {
	var in inputs
	dec := func(b []byte) (image.Image, error) {
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, apierror.New(apierror.Validation, "An input image could not be decoded. Supported image formats are PNG and JPEG.")
		}
		return img, nil
	}
	var err error
	if len(req.Images) > 0 {
		if in.src, err = dec(req.Images[0]); err != nil {
			return in, err
		}
	}
	if len(req.Mask) > 0 {
		if in.mask, err = dec(req.Mask); err != nil {
			return in, err
		}
	}
	edit := req.Task == provider.TaskInpainting || req.Task == provider.TaskOutpainting || req.Task == provider.TaskBackgroundRemoval
	if edit && in.src == nil {
		return in, apierror.New(apierror.Validation, "The %s task needs an input image.", req.Task)
	}
	return in, nil
}

// requestHash hashes what the picture depends on.
func requestHash(req *provider.ImageRequest) uint64 {
	h := newHasher()
	h.str(req.Task)
	h.str(req.Prompt)
	h.str(req.NegativePrompt)
	h.str(req.Style)
	h.word(uint64(req.Seed))
	for _, c := range req.Colors {
		h.str(c)
	}
	for _, b := range req.Images {
		h.bytes(b)
	}
	h.str(req.MaskPrompt)
	return h.sum()
}

// render draws one image.
func render(req *provider.ImageRequest, in inputs, seed uint64) *image.NRGBA {
	w, hgt := req.Width, req.Height
	out := image.NewNRGBA(image.Rect(0, 0, w, hgt))
	if req.Task == provider.TaskBackgroundRemoval {
		removeBackground(out, in.src)
		return out
	}
	r := rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909))
	palette := colours(req.Colors, r)
	paint(out, palette, r)
	switch req.Task {
	case provider.TaskInpainting, provider.TaskOutpainting:
		keepOutside := req.Task == provider.TaskInpainting
		for y := range hgt {
			for x := range w {
				inRegion := masked(in.mask, x, y, w, hgt)
				if inRegion != keepOutside {
					out.Set(x, y, in.src.At(x, y))
				}
			}
		}
	default:
		if in.src != nil {
			blend(out, in.src, req.Strength)
		}
	}
	return out
}

// masked reports whether (x, y) is in the mask's black region; without a
// mask image, the region is the centre half of the image.
func masked(mask image.Image, x, y, w, h int) bool {
	if mask == nil {
		return x >= w/4 && x < w-w/4 && y >= h/4 && y < h-h/4
	}
	b := mask.Bounds()
	r, g, bl, _ := mask.At(b.Min.X+x, b.Min.Y+y).RGBA()
	return r+g+bl < 3*0x8000
}

// colours is the palette: the request's colours, else five from r.
func colours(hex []string, r *rand.Rand) []color.NRGBA {
	var p []color.NRGBA
	for _, h := range hex {
		var v uint32
		for _, c := range strings.TrimPrefix(h, "#") {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= uint32(c - '0')
			case c >= 'a' && c <= 'f':
				v |= uint32(c-'a') + 10
			case c >= 'A' && c <= 'F':
				v |= uint32(c-'A') + 10
			}
		}
		p = append(p, color.NRGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 255})
	}
	for len(p) < 5 {
		p = append(p, color.NRGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
	}
	return p
}

// paint draws the banded gradient and the shapes.
func paint(img *image.NRGBA, p []color.NRGBA, r *rand.Rand) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	top, bottom := p[0], p[1]
	const band = 16
	for y := 0; y < h; y += band {
		t := float64(y) / float64(max(h-1, 1))
		c := color.NRGBA{lerp(top.R, bottom.R, t), lerp(top.G, bottom.G, t), lerp(top.B, bottom.B, t), 255}
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = c.R, c.G, c.B, c.A
		}
		for yy := y + 1; yy < min(y+band, h); yy++ {
			copy(img.Pix[yy*img.Stride:yy*img.Stride+4*w], row)
		}
	}
	shapes := 3 + r.IntN(4)
	for i := range shapes {
		c := p[2+i%(len(p)-2)]
		cx, cy := r.IntN(w), r.IntN(h)
		size := max(1, min(w, h)/8+r.IntN(max(1, min(w, h)/4)))
		if r.IntN(2) == 0 {
			fillRect(img, cx-size/2, cy-size/3, cx+size/2, cy+size/3, c)
		} else {
			fillCircle(img, cx, cy, size/2, c)
		}
	}
}

func lerp(a, b uint8, t float64) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*t) }

func fillRect(img *image.NRGBA, x0, y0, x1, y1 int, c color.NRGBA) {
	r := image.Rect(x0, y0, x1, y1).Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
}

func fillCircle(img *image.NRGBA, cx, cy, rad int, c color.NRGBA) {
	r := image.Rect(cx-rad, cy-rad, cx+rad+1, cy+rad+1).Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if dx, dy := x-cx, y-cy; dx*dx+dy*dy <= rad*rad {
				img.SetNRGBA(x, y, c)
			}
		}
	}
}

// blend mixes src, scaled to img's size (nearest neighbour), into img with
// weight w for src.
func blend(img *image.NRGBA, src image.Image, w float64) {
	w = min(max(w, 0), 1)
	sb := src.Bounds()
	dw, dh := img.Rect.Dx(), img.Rect.Dy()
	for y := range dh {
		sy := sb.Min.Y + y*sb.Dy()/dh
		for x := range dw {
			sx := sb.Min.X + x*sb.Dx()/dw
			r, g, b, _ := src.At(sx, sy).RGBA()
			i := img.PixOffset(x, y)
			px := img.Pix[i : i+3 : i+3]
			px[0] = uint8(float64(r>>8)*w + float64(px[0])*(1-w))
			px[1] = uint8(float64(g>>8)*w + float64(px[1])*(1-w))
			px[2] = uint8(float64(b>>8)*w + float64(px[2])*(1-w))
		}
	}
}

// removeBackground copies src into img, making transparent the pixels
// within a colour distance of the average of its four corners.
func removeBackground(img *image.NRGBA, src image.Image) {
	b := src.Bounds()
	var bg [3]int
	for _, p := range []image.Point{b.Min, {b.Max.X - 1, b.Min.Y}, {b.Min.X, b.Max.Y - 1}, {b.Max.X - 1, b.Max.Y - 1}} {
		r, g, bl, _ := src.At(p.X, p.Y).RGBA()
		bg[0], bg[1], bg[2] = bg[0]+int(r>>8), bg[1]+int(g>>8), bg[2]+int(bl>>8)
	}
	for i := range bg {
		bg[i] /= 4
	}
	const near = 48
	for y := range img.Rect.Dy() {
		for x := range img.Rect.Dx() {
			r, g, bl, _ := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
			c := color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}
			if abs(int(c.R)-bg[0])+abs(int(c.G)-bg[1])+abs(int(c.B)-bg[2]) <= near {
				c = color.NRGBA{}
			}
			img.SetNRGBA(x, y, c)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// encodeImage encodes img as PNG (the default) or JPEG.
func encodeImage(img *image.NRGBA, format string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if format == "jpeg" {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
	}
	if err != nil {
		return nil, &apierror.Error{Code: apierror.InternalServer, Message: "The image could not be encoded.", Cause: err}
	}
	return buf.Bytes(), nil
}
