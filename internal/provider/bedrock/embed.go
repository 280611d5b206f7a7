package bedrock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

const (
	// embedParallel bounds the InvokeModel calls one Embed makes at once:
	// Titan takes one text per call, and a batch should not cost its
	// length in round trips, nor flood the account's quota.
	embedParallel = 8
	// cohereBatch is Cohere Embed's limit of texts per call.
	cohereBatch = 96
	// Fixed output lengths of the models that cannot change them.
	titanV1Dimensions  = 1536
	cohereV3Dimensions = 1024
)

// Embed computes embeddings with the upstream's native InvokeModel body:
// Titan Text Embeddings (one call per text, run in parallel, token
// counts summed), Titan Multimodal Embeddings (a text and at most one
// image per input) or Cohere Embed (batches of 96; images only with v4,
// as interleaved inputs). Other models, and images for a text model, are a
// ValidationException.
// Models that cannot normalise upstream are normalised here.
func (p *Provider) Embed(ctx context.Context, call provider.Call, req *provider.EmbedRequest) (*provider.EmbedResponse, error) {
	if req == nil || len(req.Inputs) == 0 {
		return nil, apierror.New(apierror.Validation, "At least one input text is required.")
	}
	if req.Dimensions < 0 {
		return nil, apierror.New(apierror.Validation, "The embedding dimensions must not be negative.")
	}
	model := upstreamModel(call)
	switch {
	case strings.Contains(model, "amazon.titan-embed"):
		return p.embedTitan(ctx, model, req)
	case strings.Contains(model, "cohere.embed"):
		return p.embedCohere(ctx, model, req)
	}
	return nil, apierror.New(apierror.Validation, "The model %s does not support embeddings through the Bedrock provider (Amazon Titan and Cohere Embed models do).", model)
}

// titanEmbedRequest is the body of Titan Text Embeddings V2 (dimensions,
// normalize), G1 (inputText only) and Multimodal Embeddings G1
// (embeddingConfig, inputImage; inputText may then be absent).
type titanEmbedRequest struct {
	InputText       string                `json:"inputText,omitempty"`
	InputImage      string                `json:"inputImage,omitempty"`
	Dimensions      int                   `json:"dimensions,omitempty"`
	Normalize       *bool                 `json:"normalize,omitempty"`
	EmbeddingConfig *titanEmbeddingConfig `json:"embeddingConfig,omitempty"`
}

type titanEmbeddingConfig struct {
	OutputEmbeddingLength int `json:"outputEmbeddingLength"`
}

type titanEmbedResponse struct {
	Embedding           []float32 `json:"embedding"`
	InputTextTokenCount int       `json:"inputTextTokenCount"`
}

func (p *Provider) embedTitan(ctx context.Context, model string, req *provider.EmbedRequest) (*provider.EmbedResponse, error) {
	v2 := strings.Contains(model, "titan-embed-text-v2")
	image := strings.Contains(model, "titan-embed-image")
	// Titan Multimodal takes one image with (or instead of) the text.
	if !image {
		if err := req.RefuseImages("Bedrock (" + model + ")"); err != nil {
			return nil, err
		}
	}
	for _, imgs := range req.Images {
		if len(imgs) > 1 {
			return nil, apierror.New(apierror.Validation, "The model %s embeds at most one image per input; an input has %d.", model, len(imgs))
		}
	}
	if !v2 && !image && req.Dimensions != 0 && req.Dimensions != titanV1Dimensions {
		return nil, apierror.New(apierror.Validation, "The model %s only produces %d-dimension embeddings.", model, titanV1Dimensions)
	}
	// Only V2 normalises upstream; the others are normalised here.
	normalizeHere := req.Normalize && !v2
	vectors := make([][]float32, len(req.Inputs))
	tokens := make([]int, len(req.Inputs))
	err := parallel(ctx, len(req.Inputs), func(ctx context.Context, i int) error {
		body := titanEmbedRequest{InputText: req.Inputs[i]}
		switch {
		case v2:
			body.Dimensions = req.Dimensions
			body.Normalize = &req.Normalize
		case image && req.Dimensions != 0:
			body.EmbeddingConfig = &titanEmbeddingConfig{OutputEmbeddingLength: req.Dimensions}
		}
		if image && req.Images != nil && len(req.Images[i]) == 1 {
			body.InputImage = base64.StdEncoding.EncodeToString(req.Images[i][0].Data)
		}
		var resp titanEmbedResponse
		headerTokens, err := p.invokeJSON(ctx, model, body, &resp)
		if err != nil {
			return err
		}
		if len(resp.Embedding) == 0 {
			return p.badResponse(model, fmt.Errorf("the Titan embedding response has no embedding"))
		}
		vectors[i] = resp.Embedding
		tokens[i] = resp.InputTextTokenCount
		if tokens[i] == 0 {
			tokens[i] = headerTokens
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &provider.EmbedResponse{Embeddings: vectors, InputImages: req.ImageCount()}
	for _, n := range tokens {
		out.InputTokens += n
	}
	if normalizeHere {
		for _, v := range out.Embeddings {
			provider.NormalizeVector(v)
		}
	}
	return out, nil
}

// cohereEmbedRequest is the body of Cohere Embed v3 and v4: texts, or
// for v4 interleaved inputs when there are images.
type cohereEmbedRequest struct {
	Texts           []string      `json:"texts,omitempty"`
	Inputs          []cohereInput `json:"inputs,omitempty"`
	InputType       string        `json:"input_type"`
	Truncate        string        `json:"truncate,omitempty"`
	EmbeddingTypes  []string      `json:"embedding_types,omitempty"`
	OutputDimension int           `json:"output_dimension,omitempty"`
}

// cohereInput is one of Cohere Embed v4's interleaved inputs.
type cohereInput struct {
	Content []cohereContent `json:"content"`
}

type cohereContent struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	ImageURL string `json:"image_url,omitempty"`
}

// cohereEmbedResponse holds "embeddings" as a list of float vectors (the
// default response type) or as an object keyed by type (when
// embedding_types was sent, and always for v4).
type cohereEmbedResponse struct {
	Embeddings json.RawMessage `json:"embeddings"`
}

func (r *cohereEmbedResponse) floats() ([][]float32, error) {
	var list [][]float32
	if err := json.Unmarshal(r.Embeddings, &list); err == nil {
		return list, nil
	}
	var byType struct {
		Float [][]float32 `json:"float"`
	}
	if err := json.Unmarshal(r.Embeddings, &byType); err != nil {
		return nil, err
	}
	return byType.Float, nil
}

func (p *Provider) embedCohere(ctx context.Context, model string, req *provider.EmbedRequest) (*provider.EmbedResponse, error) {
	v4 := strings.Contains(model, "cohere.embed-v4")
	if !v4 && req.Dimensions != 0 && req.Dimensions != cohereV3Dimensions {
		return nil, apierror.New(apierror.Validation, "The model %s only produces %d-dimension embeddings.", model, cohereV3Dimensions)
	}
	// Images go as v4's interleaved inputs; v3 takes one image per call
	// and no text with it, which a neutral request cannot promise.
	if !v4 {
		if err := req.RefuseImages("Bedrock (" + model + ")"); err != nil {
			return nil, err
		}
	}
	inputType := req.InputType
	// v4 has no "image" type: its images are documents like any input.
	if inputType == "" || (v4 && inputType == provider.EmbedImageInput) {
		inputType = provider.EmbedSearchDocument
	}
	truncate := req.Truncate
	if v4 {
		truncate = map[string]string{provider.TruncateStart: "LEFT", provider.TruncateEnd: "RIGHT"}[truncate]
	}
	batches := (len(req.Inputs) + cohereBatch - 1) / cohereBatch
	vectors := make([][]float32, len(req.Inputs))
	tokens := make([]int, batches)
	err := parallel(ctx, batches, func(ctx context.Context, b int) error {
		lo, hi := b*cohereBatch, min((b+1)*cohereBatch, len(req.Inputs))
		body := cohereEmbedRequest{Texts: req.Inputs[lo:hi], InputType: inputType, Truncate: truncate}
		if req.ImageCount() > 0 {
			body.Texts = nil
			for i := lo; i < hi; i++ {
				var in cohereInput
				if req.Inputs[i] != "" {
					in.Content = append(in.Content, cohereContent{Type: "text", Text: req.Inputs[i]})
				}
				for _, im := range req.Images[i] {
					in.Content = append(in.Content, cohereContent{Type: "image_url",
						ImageURL: "data:" + im.MediaType() + ";base64," + base64.StdEncoding.EncodeToString(im.Data)})
				}
				body.Inputs = append(body.Inputs, in)
			}
		}
		if v4 {
			body.EmbeddingTypes = []string{"float"}
			body.OutputDimension = req.Dimensions
		}
		var resp cohereEmbedResponse
		headerTokens, err := p.invokeJSON(ctx, model, body, &resp)
		if err != nil {
			return err
		}
		got, err := resp.floats()
		if err != nil || len(got) != hi-lo {
			return p.badResponse(model, fmt.Errorf("the Cohere embedding response has %d float vectors for %d texts (%v)", len(got), hi-lo, err))
		}
		copy(vectors[lo:hi], got)
		tokens[b] = headerTokens
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &provider.EmbedResponse{Embeddings: vectors, InputImages: req.ImageCount()}
	for _, n := range tokens {
		out.InputTokens += n
	}
	if req.Normalize {
		for _, v := range out.Embeddings {
			provider.NormalizeVector(v)
		}
	}
	return out, nil
}

// invokeJSON runs one InvokeModel call with a JSON body and decodes the
// JSON answer into out. It returns the X-Amzn-Bedrock-Input-Token-Count
// header (Cohere's body has no token count).
func (p *Provider) invokeJSON(ctx context.Context, model string, in, out any) (int, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, &apierror.Error{Code: apierror.InternalServer, Message: "The server encountered an internal error while processing the request.", Cause: err}
	}
	h := jsonHeaders.Clone()
	h.Set("Accept", defaultContentType)
	resp, err := p.do(ctx, request{model: model, op: "invoke", body: body, headers: h})
	if err != nil {
		return 0, err
	}
	data, err := p.readBody(ctx, model, resp)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return 0, p.badResponse(model, fmt.Errorf("decoding the embedding response: %w", err))
	}
	return headerInt(resp.Header, headerInputTokens), nil
}

// parallel runs fn for 0..n-1 with at most embedParallel at once and
// returns the first failure, cancelling the calls still running.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if n == 1 {
		return fn(ctx, 0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, embedParallel)
	)
	started := 0
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		started++
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr == nil && started < n {
		// The caller's context ended before every call was started.
		return provider.TransportError("Bedrock", ctx.Err())
	}
	return firstErr
}
