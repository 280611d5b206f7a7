package bedrock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/encoding/httpbinding"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// signingName is the SigV4 service name of the Bedrock runtime (the
// endpoint is bedrock-runtime, the signing name is not).
const signingName = "bedrock"

// sdkID is the runtime's SDK service ID: the SDKs read its endpoint
// override from AWS_ENDPOINT_URL_BEDROCK_RUNTIME or a profile's
// services section under this name.
const sdkID = "Bedrock Runtime"

// maxBody bounds what is read of a non-streaming response: far above any
// real answer (InvokeModel bodies are at most 25 MB), it only stops a
// broken upstream from exhausting memory.
const maxBody = 64 << 20

// maxErrorBody bounds what is read of an error response.
const maxErrorBody = 64 << 10

// Options configure a Bedrock provider.
type Options struct {
	// Name is the provider's configured name, used in server-side error
	// causes; default "Bedrock".
	Name string
	// Region is the AWS region to call; empty means the AWS configuration's
	// region (AWS_REGION, the profile's region). New fails when neither
	// names one.
	Region string
	// BaseURL overrides the endpoint, e.g. a VPC endpoint or a local fake.
	// Empty means AWS_ENDPOINT_URL_BEDROCK_RUNTIME (or the profile's
	// services endpoint, or AWS_ENDPOINT_URL) when set, else
	// https://bedrock-runtime.{region}.amazonaws.com.
	BaseURL string
	// Credentials sign the requests; nil means the SDK's default chain
	// (environment, shared config and credentials files, SSO, web
	// identity, container and instance metadata). They are retrieved per
	// request through a cache, so rotation needs no restart.
	Credentials aws.CredentialsProvider
	// Client sends the requests; nil means a client with connect and TLS
	// timeouts but no overall timeout (a long generation must not be cut
	// off; callers bound calls with their context).
	Client *http.Client
}

// Provider calls Amazon Bedrock's runtime API with SigV4, passing Converse
// and native InvokeModel bodies through unchanged. It implements
// provider.Provider and provider.NativeInvoker and is safe for concurrent
// use.
type Provider struct {
	name     string
	region   string
	endpoint *url.URL
	creds    aws.CredentialsProvider
	client   *http.Client
	signer   *v4.Signer
}

var (
	_ provider.Provider      = (*Provider)(nil)
	_ provider.NativeInvoker = (*Provider)(nil)
)

// New returns a Bedrock provider. It loads the AWS configuration (only
// the parts Options leave open) but contacts no AWS service: credentials
// are fetched on the first call.
func New(ctx context.Context, opts Options) (*Provider, error) {
	p := &Provider{name: opts.Name, region: opts.Region, client: opts.Client, signer: v4.NewSigner()}
	if p.name == "" {
		p.name = "Bedrock"
	}
	if p.client == nil {
		p.client = defaultClient()
	}
	endpoint := opts.BaseURL
	if opts.Credentials == nil || opts.Region == "" || opts.BaseURL == "" {
		var loadOpts []func(*config.LoadOptions) error
		if opts.Region != "" {
			loadOpts = append(loadOpts, config.WithRegion(opts.Region))
		}
		cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
		if err != nil {
			return nil, fmt.Errorf("bedrock provider %s: loading the AWS configuration: %w", p.name, err)
		}
		if p.region == "" {
			p.region = cfg.Region
		}
		if opts.Credentials == nil {
			// LoadDefaultConfig already wraps the chain in a CredentialsCache.
			p.creds = cfg.Credentials
		}
		if endpoint == "" {
			endpoint, err = configuredEndpoint(ctx, cfg)
			if err != nil {
				return nil, fmt.Errorf("bedrock provider %s: %w", p.name, err)
			}
		}
	}
	if opts.Credentials != nil {
		p.creds = opts.Credentials
		if _, cached := p.creds.(*aws.CredentialsCache); !cached {
			p.creds = aws.NewCredentialsCache(p.creds)
		}
	}
	if p.region == "" {
		return nil, fmt.Errorf("bedrock provider %s: no AWS region: set the provider's region, AWS_REGION or a profile region", p.name)
	}
	if !validRegion(p.region) {
		return nil, fmt.Errorf("bedrock provider %s: invalid AWS region %q", p.name, p.region)
	}
	if p.creds == nil {
		return nil, fmt.Errorf("bedrock provider %s: no AWS credentials provider", p.name)
	}
	if endpoint == "" {
		endpoint = defaultEndpoint(p.region)
	}
	// Errors name the endpoint only in its redacted form: a URL with
	// user info must not put a password in a log.
	u, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil {
		return nil, fmt.Errorf("bedrock provider %s: the endpoint is not a valid URL", p.name)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("bedrock provider %s: endpoint %s must not carry credentials, a query or a fragment", p.name, u.Redacted())
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bedrock provider %s: endpoint %q must be an http or https URL", p.name, u.Redacted())
	}
	p.endpoint = u
	return p, nil
}

// configuredEndpoint resolves an endpoint override the way the SDK's
// bedrockruntime client does: the service-specific setting
// (AWS_ENDPOINT_URL_BEDROCK_RUNTIME, a profile's services section) wins
// over the global one (AWS_ENDPOINT_URL, endpoint_url), and
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns both off.
func configuredEndpoint(ctx context.Context, cfg aws.Config) (string, error) {
	if ignore, found, _ := config.GetIgnoreConfiguredEndpoints(ctx, cfg.ConfigSources); found && ignore {
		return "", nil
	}
	type serviceEndpoint interface {
		GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
	}
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(serviceEndpoint); ok {
			v, found, err := s.GetServiceBaseEndpoint(ctx, sdkID)
			if err != nil {
				return "", fmt.Errorf("reading the configured Bedrock Runtime endpoint: %w", err)
			}
			if found && v != "" {
				return v, nil
			}
		}
	}
	if cfg.BaseEndpoint != nil {
		return *cfg.BaseEndpoint, nil
	}
	return "", nil
}

// defaultEndpoint is the public runtime endpoint of a region.
func defaultEndpoint(region string) string {
	suffix := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return "https://bedrock-runtime." + region + "." + suffix
}

// validRegion keeps a region usable as a host name label.
func validRegion(r string) bool {
	if len(r) > 63 {
		return false
	}
	for _, c := range r {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// defaultClient is a client with connection timeouts only.
func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 1024
	t.TLSHandshakeTimeout = 10 * time.Second
	return &http.Client{Transport: t}
}

// upstreamModel is the model to call: the configured upstream name, or
// the catalog ID when the catalog ID already is a Bedrock model ID.
func upstreamModel(call provider.Call) string {
	if call.UpstreamModel != "" {
		return call.UpstreamModel
	}
	return call.ModelID
}

// operationURL builds {endpoint}/model/{modelId}/{op}. The model ID is
// escaped as a single path label exactly as the SDKs do (smithy's
// httpbinding.EscapePath: everything but unreserved characters, so ':'
// and '/' become %3A and %2F).
func (p *Provider) operationURL(model, op string) *url.URL {
	u := *p.endpoint
	u.Path = p.endpoint.Path + "/model/" + model + "/" + op
	u.RawPath = p.endpoint.EscapedPath() + "/model/" + httpbinding.EscapePath(model, true) + "/" + op
	return &u
}

// request describes one upstream call.
type request struct {
	model   string
	op      string // converse, converse-stream, invoke, invoke-with-response-stream
	body    []byte
	headers http.Header
}

// do signs and sends a request. A non-2xx answer is closed and mapped to
// a Bedrock exception; a 2xx response is returned open.
func (p *Provider) do(ctx context.Context, r request) (*http.Response, error) {
	if r.model == "" {
		return nil, apierror.New(apierror.Validation, "The provided model identifier is invalid.")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.operationURL(r.model, r.op).String(), bytes.NewReader(r.body))
	if err != nil {
		// Only an unparsable endpoint or model ID gets here; both are
		// configuration, not the caller.
		return nil, &apierror.Error{Code: apierror.Validation, Message: "The provided model identifier is invalid.", Cause: err}
	}
	// Keep the exact Path/RawPath pair: the signer and the wire must both
	// see the SDK's escaping, whatever re-parsing would make of it.
	req.URL = p.operationURL(r.model, r.op)
	for k, v := range r.headers {
		req.Header[k] = v
	}
	if err := p.sign(ctx, req, r.body); err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.transportError(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, p.httpError(r.model, resp, body)
	}
	return resp, nil
}

// sign adds the SigV4 Authorization of req, with fresh (cached)
// credentials.
func (p *Provider) sign(ctx context.Context, req *http.Request, body []byte) error {
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return provider.TransportError(p.name, ctx.Err())
		}
		// No credentials is the operator's problem, never the caller's;
		// the SDK's message names the sources tried, never a secret.
		return &apierror.Error{Code: apierror.ModelError,
			Message: "The model's provider has no usable AWS credentials. Ask the gateway's operator to check the provider's AWS credentials.",
			Cause:   fmt.Errorf("%s: retrieving AWS credentials: %w", p.name, err)}
	}
	sum := sha256.Sum256(body)
	if err := p.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingName, p.region, time.Now()); err != nil {
		return &apierror.Error{Code: apierror.InternalServer, Message: "The server encountered an internal error while processing the request.",
			Cause: fmt.Errorf("%s: signing the request: %w", p.name, err)}
	}
	return nil
}

// transportError maps a failure to reach Bedrock, preferring the
// context's own error so that a cancelled caller is reported as such.
func (p *Provider) transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return provider.TransportError(p.name, ctxErr)
	}
	return provider.TransportError(p.name, err)
}

// readBody reads a complete response body within maxBody.
func (p *Provider) readBody(ctx context.Context, model string, resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, p.transportError(ctx, err)
	}
	if len(body) > maxBody {
		return nil, p.badResponse(model, fmt.Errorf("response body exceeds %d bytes", maxBody))
	}
	return body, nil
}

// badResponse reports a 2xx answer modelwatch cannot use.
func (p *Provider) badResponse(model string, cause error) *apierror.Error {
	return &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: http.StatusOK, ResourceName: model,
		Message: "The model's provider returned an unexpected response.",
		Cause:   fmt.Errorf("%s upstream %s: %w", p.name, model, cause)}
}

// headerInt reads a token-count header; absent or malformed is 0.
func headerInt(h http.Header, key string) int {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(key)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// errStreamClosed is returned by Next after Close.
var errStreamClosed = errors.New("bedrock: stream closed")
