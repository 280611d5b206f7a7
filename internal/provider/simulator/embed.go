package simulator

import (
	"bytes"
	"context"
	"image"
	_ "image/gif" // image inputs: PNG, JPEG and GIF decode to pixels
	_ "image/jpeg"
	_ "image/png"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Embed returns one deterministic vector per input. Latency is
// TimeToFirstToken.
//
// A text gets the vector it always got: seeded by a hash of the text, the
// values drawn from a normal distribution and scaled to a length of about
// one, or exactly one when Normalize is set. So the same text always gets
// the same vector and different texts nearly orthogonal ones.
//
// An image gets a vector computed from its pixels (imageVector): a
// downsampled colour layout, a colour histogram and an edge map, projected
// to the requested length by a fixed random projection, which keeps
// cosine similarities. So the same picture resized or slightly recoloured
// lands close to the original, and unrelated pictures far apart. WebP
// (which the standard library cannot decode) is embedded from a hash of
// its bytes, like a text.
//
// Texts and images share one space: both kinds of vector have unit length
// (before the unnormalised scaling of a text-only input), and as text and
// image vectors come from independent sources, a text and an image are
// nearly orthogonal (cosine about 0 ± 1/sqrt(dimensions)). An input with
// several parts (Titan Multimodal's text and image, a Cohere v4
// interleaved input) is the normalised average of its parts' unit
// vectors, as Titan documents, so it lies at a cosine of about 0.71 from
// each of two parts: closer to its own text and image than to anything
// else. Multimodal inputs are always unit length.
//
// A text over MaxInputTokens is cut as Truncate says or refused with
// Bedrock's Titan wording. InputTokens counts the text tokens embedded,
// InputImages the images.
func (s *Simulator) Embed(ctx context.Context, call provider.Call, req *provider.EmbedRequest) (*provider.EmbedResponse, error) {
	if req == nil || len(req.Inputs) == 0 {
		return nil, apierror.New(apierror.Validation, "At least one input text is required.")
	}
	if len(req.Inputs) > maxEmbedInputs {
		return nil, apierror.ConstraintViolation(strconv.Itoa(len(req.Inputs)), "inputs",
			"Member must have length less than or equal to "+strconv.Itoa(maxEmbedInputs))
	}
	if req.Images != nil && len(req.Images) != len(req.Inputs) {
		return nil, apierror.New(apierror.Validation, "The request has images for %d inputs but %d inputs.", len(req.Images), len(req.Inputs))
	}
	m := s.model(call.ModelID)
	dims := m.dimensions
	if req.Dimensions != 0 {
		dims = req.Dimensions
	}
	if dims < 1 || dims > maxDimensions {
		return nil, apierror.ConstraintViolation(strconv.Itoa(req.Dimensions), "dimensions",
			"Member must have value between 1 and "+strconv.Itoa(maxDimensions))
	}
	// The texts are cut or refused before any injected failure or waiting,
	// as the model's validation comes first.
	texts := req.Inputs
	if req.MaxInputTokens > 0 {
		texts = make([]string, len(req.Inputs))
		for i, t := range req.Inputs {
			fit, err := fitText(t, req.MaxInputTokens, req.Truncate)
			if err != nil {
				return nil, err
			}
			texts[i] = fit
		}
	}
	if err := s.inject(m, call); err != nil {
		return nil, err
	}
	resp := &provider.EmbedResponse{Embeddings: make([][]float32, len(texts)), InputImages: req.ImageCount()}
	// One backing array for all vectors: one allocation instead of many.
	backing := make([]float32, dims*len(texts))
	var src rand.PCG
	r := rand.New(&src)
	var part []float32
	for i, text := range texts {
		v := backing[i*dims : (i+1)*dims : (i+1)*dims]
		var imgs []provider.EmbedImage
		if req.Images != nil {
			imgs = req.Images[i]
		}
		resp.InputTokens += CountTokens(text)
		if len(imgs) == 0 {
			h := hashString(text)
			src.Seed(h, h^0x6a09e667f3bcc909)
			embed(v, r, req.Normalize)
			resp.Embeddings[i] = v
			continue
		}
		if part == nil {
			part = make([]float32, dims)
		}
		parts := 0
		if text != "" {
			h := hashString(text)
			src.Seed(h, h^0x6a09e667f3bcc909)
			embed(part, r, true)
			addTo(v, part)
			parts++
		}
		for _, im := range imgs {
			if err := imageVector(part, im, &src, r); err != nil {
				return nil, err
			}
			addTo(v, part)
			parts++
		}
		provider.NormalizeVector(v)
		resp.Embeddings[i] = v
	}
	if err := wait(ctx, m.ttft); err != nil {
		return nil, err
	}
	return resp, nil
}

// fitText applies a token limit to one text: cut from the start or the
// end, or refused (TruncateNone, "") with the message Bedrock's Titan
// embedding models give.
func fitText(text string, limit int, mode string) (string, error) {
	n := CountTokens(text)
	if n <= limit {
		return text, nil
	}
	ends := appendEnds(make([]int32, 0, n), text)
	switch mode {
	case provider.TruncateStart:
		return text[ends[len(ends)-limit-1]:], nil
	case provider.TruncateEnd:
		return text[:ends[limit-1]], nil
	}
	return "", apierror.New(apierror.Validation, "400 Bad Request: Too many input tokens. Max input tokens: %d, request input token count: %d", limit, n)
}

// embed fills v with normal values scaled by 1/sqrt(len): a vector of
// length close to one, as unnormalised embeddings of real models roughly
// are, or exactly one when normalize is set.
func embed(v []float32, r *rand.Rand, normalize bool) {
	scale := 1 / math.Sqrt(float64(len(v)))
	var sum float64
	for i := range v {
		x := r.NormFloat64() * scale
		sum += x * x
		v[i] = float32(x)
	}
	if normalize && sum > 0 {
		inv := 1 / math.Sqrt(sum)
		for i := range v {
			v[i] = float32(float64(v[i]) * inv)
		}
	}
}

func addTo(dst, v []float32) {
	for i, x := range v {
		dst[i] += x
	}
}

// Image features. The picture is sampled on a grid of imgSamples² points
// (nearest pixel: every size is read the same way, so a resized copy gives
// nearly the same samples), averaged into imgCells² cells, and described by
//   - its layout: the mean colour of layoutSide² regions, each channel
//     centred on its own mean, so a uniform tint does not move it;
//   - its palette: a histogram of histBins³ colour bins, centred;
//   - its edges: the mean luminance gradient of edgeSide² regions, centred.
//
// Each block is scaled to unit length and weighted, and the whole feature
// vector projected to the output length.
const (
	imgSamples = 128
	imgCells   = 32
	layoutSide = 8
	histBins   = 4
	edgeSide   = 4

	layoutLen = layoutSide * layoutSide * 3
	histLen   = histBins * histBins * histBins
	edgeLen   = edgeSide * edgeSide
	featLen   = layoutLen + histLen + edgeLen

	layoutWeight = 0.6
	histWeight   = 0.6
	edgeWeight   = 0.5

	// maxEmbedPixels bounds the pictures the simulator decodes (the
	// models downsample larger ones; Bedrock's own image limits are
	// checked by the codecs): 40 megapixels, 160 MB decoded.
	maxEmbedPixels = 40_000_000

	// projectionSeed fixes the random projection, so that vectors of one
	// length are comparable across calls and models.
	projectionSeed = 0x9e3779b97f4a7c15
)

// imageVector writes the unit vector of one image into v. A file that does
// not decode is a ValidationException (its header was checked, its data
// was not).
func imageVector(v []float32, im provider.EmbedImage, src *rand.PCG, r *rand.Rand) error {
	if im.Format == "webp" {
		h := newHasher()
		h.bytes(im.Data)
		seed := h.sum()
		src.Seed(seed, seed^0xbb67ae8584caa73b)
		embed(v, r, true)
		return nil
	}
	// The header first: decoding allocates 4 bytes a pixel, so a small
	// file claiming a huge picture must not get that far.
	cfg, _, err := image.DecodeConfig(bytes.NewReader(im.Data))
	if err == nil && int64(cfg.Width)*int64(cfg.Height) > maxEmbedPixels {
		return apierror.New(apierror.Validation, "400 Bad Request: Image exceeds max pixels allowed.")
	}
	var pic image.Image
	if err == nil {
		pic, _, err = image.Decode(bytes.NewReader(im.Data))
	}
	if err != nil {
		return apierror.New(apierror.Validation, "400 Bad Request: Unable to process the provided image: its data could not be decoded.")
	}
	f := imageFeatures(pic)
	// v = P·f with P's entries standard normal, drawn row by row from a
	// fixed seed: the same matrix for every image of this length.
	src.Seed(projectionSeed, uint64(len(v)))
	for k := range v {
		var x float64
		for _, fj := range f {
			x += r.NormFloat64() * fj
		}
		v[k] = float32(x)
	}
	provider.NormalizeVector(v)
	return nil
}

// imageFeatures describes a picture by its layout, palette and edges.
func imageFeatures(pic image.Image) []float64 {
	b := pic.Bounds()
	w, h := b.Dx(), b.Dy()
	var cells [imgCells * imgCells][3]float64
	var hist [histLen]float64
	const per = imgSamples / imgCells
	for sy := range imgSamples {
		y := b.Min.Y + (2*sy+1)*h/(2*imgSamples)
		for sx := range imgSamples {
			x := b.Min.X + (2*sx+1)*w/(2*imgSamples)
			cr, cg, cb, _ := pic.At(x, y).RGBA()
			rgb := [3]float64{float64(cr) / 0xffff, float64(cg) / 0xffff, float64(cb) / 0xffff}
			c := &cells[(sy/per)*imgCells+sx/per]
			for ch := range 3 {
				c[ch] += rgb[ch] / (per * per)
			}
			bin := 0
			for ch := range 3 {
				bin = bin*histBins + min(int(rgb[ch]*histBins), histBins-1)
			}
			hist[bin]++
		}
	}
	f := make([]float64, featLen)
	layout, palette, edges := f[:layoutLen], f[layoutLen:layoutLen+histLen], f[layoutLen+histLen:]
	const lp = imgCells / layoutSide
	for cy := range imgCells {
		for cx := range imgCells {
			region := (cy/lp*layoutSide + cx/lp) * 3
			for ch := range 3 {
				layout[region+ch] += cells[cy*imgCells+cx][ch] / (lp * lp)
			}
		}
	}
	for ch := range 3 {
		var mean float64
		for i := ch; i < layoutLen; i += 3 {
			mean += layout[i]
		}
		mean /= layoutLen / 3
		for i := ch; i < layoutLen; i += 3 {
			layout[i] -= mean
		}
	}
	copy(palette, hist[:])
	center(palette)
	const ep = imgCells / edgeSide
	lum := func(cx, cy int) float64 {
		c := cells[cy*imgCells+cx]
		return 0.299*c[0] + 0.587*c[1] + 0.114*c[2]
	}
	for cy := range imgCells - 1 {
		for cx := range imgCells - 1 {
			g := math.Abs(lum(cx+1, cy)-lum(cx, cy)) + math.Abs(lum(cx, cy+1)-lum(cx, cy))
			edges[cy/ep*edgeSide+cx/ep] += g
		}
	}
	center(edges)
	scaleBlock(layout, layoutWeight)
	scaleBlock(palette, histWeight)
	scaleBlock(edges, edgeWeight)
	return f
}

// center subtracts the block's mean from each of its values.
func center(x []float64) {
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for i := range x {
		x[i] -= mean
	}
}

// scaleBlock scales a block to length weight (a flat block stays zero).
func scaleBlock(x []float64, weight float64) {
	var sum float64
	for _, v := range x {
		sum += v * v
	}
	if sum < 1e-18 {
		clear(x)
		return
	}
	k := weight / math.Sqrt(sum)
	for i := range x {
		x[i] *= k
	}
}
