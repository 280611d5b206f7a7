package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	wire "github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// DefaultBaseURL is OpenAI's API root.
const DefaultBaseURL = "https://api.openai.com/v1"

// Values of Options.MaxTokensParam.
const (
	MaxTokens           = "max_tokens"
	MaxCompletionTokens = "max_completion_tokens"
)

// Limits on what is read from an upstream.
const (
	maxResponseBytes = 64 << 20 // a complete chat or embeddings response
	maxErrorBytes    = 64 << 10 // an error body
	maxEventBytes    = 16 << 20 // one server-sent event
)

// Options configure a Provider.
type Options struct {
	// Name is the provider's display name in errors and logs (default
	// "OpenAI").
	Name string
	// BaseURL is the API root that /chat/completions and /embeddings are
	// appended to (default https://api.openai.com/v1; Ollama:
	// http://127.0.0.1:11434/v1).
	BaseURL string
	// APIKey is sent as Authorization: Bearer; empty sends none (local
	// servers).
	APIKey string
	// Headers are extra headers sent with every request
	// (OpenAI-Organization, OpenAI-Project, ...).
	Headers map[string]string
	// Client is the HTTP client whose Transport carries the calls (its
	// redirect policy, cookie jar and Timeout are not used: each call's
	// context bounds it); nil means one with connect, TLS and idle
	// timeouts.
	Client *http.Client
	// MaxTokensParam names the output budget parameter: max_completion_tokens
	// or max_tokens. Empty means max_completion_tokens for api.openai.com
	// and max_tokens for other servers.
	MaxTokensParam string
	// UnencryptedHTTP2 speaks HTTP/2 without TLS (h2c, prior knowledge) to
	// an http:// BaseURL, for servers that take it (another modelwatch,
	// Envoy, nginx with http2 on a plain port): all calls and streams then
	// share a few connections instead of holding one each. HTTPS
	// upstreams get HTTP/2 when they offer it, without this.
	UnencryptedHTTP2 bool
}

// Header values every request shares.
var (
	headerJSON        = []string{"application/json"}
	headerEventStream = []string{"text/event-stream"}
)

// Provider calls an OpenAI-compatible upstream. It is safe for concurrent
// use.
type Provider struct {
	name            string
	base            string
	key             string
	auth            []string // the Authorization header's value, nil without a key
	headers         http.Header
	client          *http.Client
	legacyMaxTokens bool
}

var _ provider.Provider = (*Provider)(nil)

// New checks the options and returns a Provider. Errors never contain the
// API key or header values.
func New(opts Options) (*Provider, error) {
	p := &Provider{name: opts.Name, key: opts.APIKey, client: opts.Client, headers: http.Header{}}
	if p.name == "" {
		p.name = "OpenAI"
	}
	base := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return nil, fmt.Errorf("openai provider %s: baseURL is not a valid URL", p.name)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("openai provider %s: baseURL must start with http:// or https://", p.name)
	case u.Host == "":
		return nil, fmt.Errorf("openai provider %s: baseURL has no host", p.name)
	case u.User != nil:
		return nil, fmt.Errorf("openai provider %s: baseURL must not contain credentials; use the API key setting", p.name)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("openai provider %s: baseURL must not have a query or fragment", p.name)
	}
	p.base = base
	if strings.ContainsAny(p.key, "\r\n") {
		return nil, fmt.Errorf("openai provider %s: the API key contains a line break", p.name)
	}
	if p.key != "" {
		p.auth = []string{"Bearer " + p.key}
	}
	for k, v := range opts.Headers {
		if k == "" || strings.ContainsAny(k, " :\t\r\n") {
			return nil, fmt.Errorf("openai provider %s: header name %q is not valid", p.name, k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("openai provider %s: the value of header %s contains a line break", p.name, k)
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if ck == "Authorization" && p.key != "" {
			return nil, fmt.Errorf("openai provider %s: set either an API key or an Authorization header, not both", p.name)
		}
		p.headers.Set(ck, v)
	}
	switch opts.MaxTokensParam {
	case "":
		p.legacyMaxTokens = u.Hostname() != "api.openai.com"
	case MaxTokens:
		p.legacyMaxTokens = true
	case MaxCompletionTokens:
	default:
		return nil, fmt.Errorf("openai provider %s: maxTokensParam must be %q or %q", p.name, MaxCompletionTokens, MaxTokens)
	}
	if p.client == nil {
		p.client = defaultClient(opts.UnencryptedHTTP2)
	}
	return p, nil
}

// defaultClient bounds connecting but not answering: completions can take
// minutes, and streams last as long as the model writes.
func defaultClient(h2c bool) *http.Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		// A gateway talks to few hosts with many calls at once: keep enough
		// idle connections that bursts do not reconnect.
		MaxIdleConnsPerHost: 1024,
	}
	if h2c {
		t.Protocols = new(http.Protocols)
		t.Protocols.SetUnencryptedHTTP2(true)
		t.Protocols.SetHTTP2(true)
	}
	return &http.Client{Transport: t}
}

// model returns the upstream's name for the call's model.
func model(call provider.Call) string {
	if call.UpstreamModel != "" {
		return call.UpstreamModel
	}
	return call.ModelID
}

// Converse sends a chat completion request and translates the answer.
func (p *Provider) Converse(ctx context.Context, call provider.Call, req *converse.Request) (*converse.Response, error) {
	body, err := p.chatBody(call, req, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, call, "/chat/completions", body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return p.readCompletion(ctx, call, resp)
}

// readCompletion reads a non-streamed chat completion. A 200 answer that
// holds an error body (some servers send one) is reported as that error.
func (p *Provider) readCompletion(ctx context.Context, call provider.Call, resp *http.Response) (*converse.Response, error) {
	data, err := readLimited(resp.Body, maxResponseBytes)
	if err != nil {
		return nil, p.readError(ctx, call, err)
	}
	return p.parseCompletion(call, data)
}

// parseCompletion translates a non-streamed chat completion's body.
func (p *Provider) parseCompletion(call provider.Call, data []byte) (*converse.Response, error) {
	var cc wire.ChatCompletion
	if err := json.Unmarshal(data, &cc); err != nil {
		return nil, p.badResponse(call, "the chat completion could not be parsed", err)
	}
	if len(cc.Choices) == 0 {
		if ue, ok := wire.ParseUpstreamError(data); ok {
			status := ue.StatusCode()
			if status == 0 {
				status = http.StatusBadGateway
			}
			return nil, provider.UpstreamError(p.name, model(call), status, p.redact(ue.Message))
		}
	}
	out, err := translate.ChatCompletionToConverse(&cc)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// chatBody builds the upstream chat request body.
func (p *Provider) chatBody(call provider.Call, req *converse.Request, stream bool) ([]byte, error) {
	if req == nil {
		return nil, apierror.New(apierror.Validation, "The request body is missing.")
	}
	cr, err := translate.ConverseToChatRequest(req)
	if err != nil {
		return nil, err
	}
	cr.Model = model(call)
	if p.legacyMaxTokens {
		cr.MaxTokens, cr.MaxCompletionTokens = cr.MaxCompletionTokens, nil
	}
	if stream {
		cr.Stream = true
		cr.StreamOptions = &wire.StreamOptions{IncludeUsage: true}
	}
	body, err := json.Marshal(cr)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the chat request: %w", p.name, err)
	}
	extra, err := reasoningFields(req)
	if err != nil {
		return nil, err
	}
	if len(extra) == 0 {
		return body, nil
	}
	return mergeFields(body, extra)
}

// mergeFields adds the members of extra that body does not have.
func mergeFields(body, extra []byte) ([]byte, error) {
	var add map[string]json.RawMessage
	if err := json.Unmarshal(extra, &add); err != nil {
		return nil, apierror.New(apierror.Validation, "The additionalModelRequestFields field must be a JSON object.")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	for k, v := range add {
		if _, set := m[k]; !set {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// post sends a request and returns a 2xx response; any other status is
// read and mapped to an error.
func (p *Provider) post(ctx context.Context, call provider.Call, path string, body []byte, stream bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: building the request: %w", p.name, err)
	}
	// A new map whose values are shared, never cloned: the transport
	// only reads a request's headers, and the values are fixed.
	h := make(http.Header, len(p.headers)+4)
	for k, v := range p.headers {
		h[k] = v
	}
	h["Content-Type"] = headerJSON
	if stream {
		h["Accept"] = headerEventStream
	} else {
		h["Accept"] = headerJSON
	}
	if p.auth != nil {
		h["Authorization"] = p.auth
	}
	if call.RequestID != "" {
		// OpenAI records a caller-supplied request ID with the request.
		h["X-Client-Request-Id"] = []string{call.RequestID}
	}
	req.Header = h
	resp, err := p.roundTrip(req)
	if err != nil {
		return nil, provider.TransportError(p.name, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := readLimited(resp.Body, maxErrorBytes)
	return nil, provider.UpstreamError(p.name, model(call), resp.StatusCode, p.redact(errorMessage(data)))
}

// roundTrip sends req through the client's transport directly: an API
// call follows no redirects and keeps no cookies, and each call's context
// bounds it, so what http.Client.Do adds (a copy of the request headers
// for redirects, their bookkeeping) is cost without use.
func (p *Provider) roundTrip(req *http.Request) (*http.Response, error) {
	if p.client.Transport != nil {
		return p.client.Transport.RoundTrip(req)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// errorMessage extracts the message of an upstream error body: OpenAI's
// error object, or a short plain-text body.
func errorMessage(data []byte) string {
	if ue, ok := wire.ParseUpstreamError(data); ok {
		return ue.Message
	}
	s := strings.TrimSpace(string(data))
	if s == "" || len(s) > 512 || strings.ContainsAny(s, "<{") || !utf8.ValidString(s) {
		return "" // an HTML page or an unknown shape says nothing useful
	}
	return s
}

// redact removes the API key from upstream text.
func (p *Provider) redact(s string) string {
	if p.key == "" {
		return s
	}
	return strings.ReplaceAll(s, p.key, "[REDACTED]")
}

// readError maps a failure while reading a response body.
func (p *Provider) readError(ctx context.Context, call provider.Call, err error) error {
	if ctx.Err() != nil {
		return provider.TransportError(p.name, ctx.Err())
	}
	if errors.Is(err, errTooLarge) {
		return p.badResponse(call, "the response is too large", err)
	}
	return provider.TransportError(p.name, err)
}

// badResponse reports an answer that could not be understood.
func (p *Provider) badResponse(call provider.Call, what string, cause error) error {
	return &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: http.StatusOK, ResourceName: model(call),
		Message: "The model's provider returned a response that could not be read.",
		Cause:   fmt.Errorf("%s upstream %s: %s: %w", p.name, model(call), what, cause)}
}

var errTooLarge = errors.New("response larger than the limit")

// readLimited reads at most limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	return readSized(r, -1, limit)
}

// readSized reads at most limit bytes of a body whose length the server
// announced (size; -1 when unknown): a known length is read into one
// buffer of that size, instead of one grown by doubling.
func readSized(r io.Reader, size, limit int64) ([]byte, error) {
	if size < 0 || size > limit {
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > limit {
			return nil, errTooLarge
		}
		return data, nil
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, err
	}
	return data, nil
}

// Embed sends an embeddings request. OpenAI's vectors are unit length
// already; Normalize makes sure of it for other servers.
func (p *Provider) Embed(ctx context.Context, call provider.Call, req *provider.EmbedRequest) (*provider.EmbedResponse, error) {
	if req == nil || len(req.Inputs) == 0 {
		return nil, apierror.New(apierror.Validation, "At least one input text is required.")
	}
	// /v1/embeddings takes text only.
	if err := req.RefuseImages(p.name); err != nil {
		return nil, err
	}
	er := wire.EmbeddingRequest{Model: model(call), Input: req.Inputs, EncodingFormat: wire.EncodingFloat}
	if req.Dimensions > 0 {
		d := req.Dimensions
		er.Dimensions = &d
	}
	body, err := json.Marshal(er)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the embeddings request: %w", p.name, err)
	}
	resp, err := p.post(ctx, call, "/embeddings", body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readLimited(resp.Body, maxResponseBytes)
	if err != nil {
		return nil, p.readError(ctx, call, err)
	}
	var out wire.EmbeddingResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, p.badResponse(call, "the embeddings response could not be parsed", err)
	}
	if len(out.Data) != len(req.Inputs) {
		return nil, p.badResponse(call, "wrong number of embeddings", fmt.Errorf("%d embeddings for %d inputs", len(out.Data), len(req.Inputs)))
	}
	vecs := make([][]float32, len(req.Inputs))
	for _, d := range out.Data {
		if d.Index < 0 || d.Index >= len(vecs) || vecs[d.Index] != nil || len(d.Embedding.Values) == 0 {
			return nil, p.badResponse(call, "bad embedding index or vector", fmt.Errorf("index %d", d.Index))
		}
		vecs[d.Index] = d.Embedding.Values
		if req.Normalize {
			provider.NormalizeVector(d.Embedding.Values)
		}
	}
	return &provider.EmbedResponse{Embeddings: vecs, InputTokens: out.Usage.PromptTokens}, nil
}

// isJSON reports whether a Content-Type is JSON.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
