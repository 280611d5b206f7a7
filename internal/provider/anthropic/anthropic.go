package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	wire "github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// Defaults for Options.
const (
	DefaultBaseURL = "https://api.anthropic.com"
	DefaultVersion = "2023-06-01"
)

// displayName names the upstream in errors.
const displayName = "Anthropic"

// Size limits on what is read from the upstream, so a misbehaving server
// cannot exhaust memory.
const (
	maxResponseBytes = 64 << 20 // a complete Message
	maxErrorBytes    = 64 << 10 // an error body
)

// Options configure a Provider.
type Options struct {
	// Name is the configured provider's name, for logs (default
	// "anthropic").
	Name string
	// BaseURL is the API root; requests go to {BaseURL}/v1/messages
	// (default https://api.anthropic.com).
	BaseURL string
	// APIKey is sent as x-api-key. Required. It is never included in
	// errors.
	APIKey string
	// Version is the anthropic-version header (default 2023-06-01).
	Version string
	// Headers are extra headers sent with every request, e.g.
	// anthropic-beta. They cannot replace x-api-key, anthropic-version or
	// content-type.
	Headers map[string]string
	// Client sends the requests. nil means a client with connection,
	// TLS-handshake and idle timeouts but no overall timeout: each call's
	// context bounds it, and a long generation must not be cut short.
	Client *http.Client
}

// Provider calls Anthropic's Messages API. It is safe for concurrent use.
type Provider struct {
	name     string
	endpoint string
	apiKey   string
	version  string
	headers  http.Header
	client   *http.Client
}

var _ provider.Provider = (*Provider)(nil)

// New checks opts and returns a Provider.
func New(opts Options) (*Provider, error) {
	if strings.TrimSpace(opts.APIKey) == "" {
		return nil, errors.New("anthropic: an API key is required")
	}
	if strings.ContainsAny(opts.APIKey, "\r\n") {
		return nil, errors.New("anthropic: the API key must be a single line")
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("anthropic: base URL %q must be an http or https URL", opts.BaseURL)
	}
	if u.User != nil {
		return nil, errors.New("anthropic: the base URL must not carry credentials")
	}
	p := &Provider{
		name:     opts.Name,
		endpoint: base + "/v1/messages",
		apiKey:   opts.APIKey,
		version:  opts.Version,
		headers:  http.Header{},
		client:   opts.Client,
	}
	if p.name == "" {
		p.name = "anthropic"
	}
	if p.version == "" {
		p.version = DefaultVersion
	}
	for k, v := range opts.Headers {
		if !validHeaderName(k) || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("anthropic: header %q is not a valid HTTP header", k)
		}
		switch http.CanonicalHeaderKey(k) {
		case "X-Api-Key", "Anthropic-Version", "Content-Type":
			return nil, fmt.Errorf("anthropic: header %q is set by the provider and cannot be configured", k)
		case "Authorization":
			return nil, errors.New("anthropic: credentials belong in the API key, not in the headers")
		}
		p.headers.Set(k, v)
	}
	if p.client == nil {
		p.client = defaultClient()
	}
	return p, nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// defaultClient bounds connecting and handshaking, not the response: a
// non-streamed answer arrives only when the whole generation is done.
func defaultClient() *http.Client {
	t, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		t = t.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.IdleConnTimeout = 90 * time.Second
	// A gateway sends all its traffic to one host; the default of 2 idle
	// connections per host would reconnect constantly under load.
	t.MaxIdleConnsPerHost = 1024
	return &http.Client{Transport: t}
}

// Name returns the configured provider name.
func (p *Provider) Name() string { return p.name }

// upstreamModel is the model to ask for.
func upstreamModel(call provider.Call) string {
	if call.UpstreamModel != "" {
		return call.UpstreamModel
	}
	return call.ModelID
}

// Converse sends the request as one Messages API call.
func (p *Provider) Converse(ctx context.Context, call provider.Call, req *converse.Request) (*converse.Response, error) {
	model := upstreamModel(call)
	enc, err := encodeRequest(req, model, false)
	if err != nil {
		return nil, err
	}
	_, out, err := p.message(ctx, model, enc)
	return out, err
}

// message sends one non-streamed Messages API request and returns the
// answer as sent and in the neutral form.
func (p *Provider) message(ctx context.Context, model string, enc *encoded) ([]byte, *converse.Response, error) {
	start := time.Now()
	resp, err := p.post(ctx, model, enc, false)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, nil, provider.TransportError(displayName, err)
	}
	if len(body) > maxResponseBytes {
		return nil, nil, badResponse(model, resp, fmt.Errorf("response larger than %d bytes", maxResponseBytes))
	}
	var m wire.MessagesResponse
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, nil, badResponse(model, resp, err)
	}
	if m.Type != "" && m.Type != wire.MessageType {
		return nil, nil, badResponse(model, resp, fmt.Errorf("response type %q, want message", m.Type))
	}
	out := translate.MessagesResponseToConverse(&m)
	out.Metrics.LatencyMs = time.Since(start).Milliseconds()
	return body, out, nil
}

// stream sends one streamed Messages API request and waits for its first
// event; keepRaw keeps the upstream's bytes (a pass-through stream).
func (p *Provider) stream(ctx context.Context, model string, enc *encoded, keepRaw bool) (*stream, error) {
	start := time.Now()
	resp, err := p.post(ctx, model, enc, true)
	if err != nil {
		return nil, err
	}
	st := newStream(ctx, resp, model, start)
	st.keepRaw = keepRaw
	if err := st.prime(); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// ConverseStream sends the request with "stream": true and returns the
// response as Converse events. It waits for the stream's first event, so an
// upstream that accepts the request and then reports an error straight
// away (an overloaded_error event) fails here, where the gateway can still
// retry or fall back.
func (p *Provider) ConverseStream(ctx context.Context, call provider.Call, req *converse.Request) (provider.Stream, error) {
	model := upstreamModel(call)
	enc, err := encodeRequest(req, model, true)
	if err != nil {
		return nil, err
	}
	st, err := p.stream(ctx, model, enc, false)
	if err != nil {
		return nil, err // not a nil *stream in a non-nil interface
	}
	return st, nil
}

// Embed fails: Anthropic has no embeddings API.
func (p *Provider) Embed(_ context.Context, call provider.Call, _ *provider.EmbedRequest) (*provider.EmbedResponse, error) {
	return nil, apierror.New(apierror.Validation,
		"This model doesn't support embeddings: %s is served by Anthropic's Messages API, which has no embeddings endpoint. Use an embedding model instead.", call.ModelID)
}

// post sends one Messages API request and returns a 2xx response; any other
// status is read and returned as a Bedrock exception.
func (p *Provider) post(ctx context.Context, model string, enc *encoded, stream bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(enc.body))
	if err != nil {
		return nil, fmt.Errorf("anthropic: build request: %w", err)
	}
	req.Header = p.headers.Clone()
	if len(enc.betas) > 0 {
		req.Header.Set("Anthropic-Beta", joinBetas(req.Header.Values("Anthropic-Beta"), enc.betas))
	}
	req.Header.Set("X-Api-Key", p.apiKey)
	req.Header.Set("Anthropic-Version", p.version)
	req.Header.Set("Content-Type", "application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, provider.TransportError(displayName, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, httpError(model, resp)
	}
	return resp, nil
}

// httpError maps an error response to a Bedrock exception, keeping
// Anthropic's error type and request ID in the cause for the server log.
func httpError(model string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	var eb wire.ErrorResponse
	message, detail := "", ""
	if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
		message, detail = eb.Error.Message, eb.Error.Type
	} else {
		// Not Anthropic's envelope (a proxy's page?): keep a little of it
		// for the log, not for the caller.
		detail = "body: " + snippet(body)
	}
	err := provider.UpstreamError(displayName, model, resp.StatusCode, message)
	err.Cause = withRequestID(err.Cause, requestID(resp, eb.RequestID), detail)
	return err
}

// badResponse is a 2xx response that is not a readable Message.
func badResponse(model string, resp *http.Response, cause error) *apierror.Error {
	return &apierror.Error{
		Code:               apierror.ModelError,
		Message:            "The model's provider returned a response the gateway could not read. Try your request again.",
		OriginalStatusCode: resp.StatusCode,
		ResourceName:       model,
		Cause:              withRequestID(fmt.Errorf("%s upstream %s sent an unreadable response: %w", displayName, model, cause), requestID(resp, ""), ""),
	}
}

// requestID is Anthropic's ID for the request, from the request-id header
// (sent on every response) or the error body.
func requestID(resp *http.Response, fromBody string) string {
	if id := resp.Header.Get("Request-Id"); id != "" {
		return id
	}
	return fromBody
}

func withRequestID(cause error, id, detail string) error {
	var extra []string
	if detail != "" {
		extra = append(extra, detail)
	}
	if id != "" {
		extra = append(extra, "request-id "+id)
	}
	if len(extra) == 0 {
		return cause
	}
	return fmt.Errorf("%w [%s]", cause, strings.Join(extra, ", "))
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return fmt.Sprintf("%q", s)
}
