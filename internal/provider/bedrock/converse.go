package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// converseBody encodes a Converse request: converse.Request already is
// Bedrock's Converse JSON, so it goes upstream as is, outputConfig (the
// schema a JSON string) and cache points with their TTLs included.
func converseBody(req *converse.Request) ([]byte, error) {
	if req == nil {
		return nil, apierror.New(apierror.Validation, "The request body is missing.")
	}
	body, err := json.Marshal(req)
	if err != nil {
		// Only raw JSON members that are not valid JSON get here.
		return nil, &apierror.Error{Code: apierror.Validation, Message: "Malformed input request: the request contains invalid JSON.", Cause: err}
	}
	return body, nil
}

var jsonHeaders = http.Header{"Content-Type": {"application/json"}}

var _ provider.TierCarrier = (*Provider)(nil)

// CarriesServiceTier marks the provider as sending serviceTier and
// performanceConfig (and InvokeModel's tier headers) on to Bedrock.
func (p *Provider) CarriesServiceTier() {}

// Converse sends the request to Bedrock's Converse operation and returns
// its answer, usage included, as Bedrock sent it.
func (p *Provider) Converse(ctx context.Context, call provider.Call, req *converse.Request) (*converse.Response, error) {
	body, err := converseBody(req)
	if err != nil {
		return nil, err
	}
	model := upstreamModel(call)
	resp, err := p.do(ctx, request{model: model, op: "converse", body: body, headers: jsonHeaders.Clone()})
	if err != nil {
		return nil, err
	}
	data, err := p.readBody(ctx, model, resp)
	if err != nil {
		return nil, err
	}
	var out converse.Response
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, p.badResponse(model, fmt.Errorf("decoding the Converse response: %w", err))
	}
	if out.Output.Message == nil {
		return nil, p.badResponse(model, fmt.Errorf("the Converse response has no output message"))
	}
	if out.Usage.TotalTokens == 0 {
		out.Usage.TotalTokens = totalTokens(out.Usage)
	}
	return &out, nil
}

// ConverseStream sends the request to Bedrock's ConverseStream operation.
// It waits for the first event, so that an upstream that fails at once
// (an HTTP error, or an exception as the first frame) fails here, where
// the gateway can still retry or fall back.
func (p *Provider) ConverseStream(ctx context.Context, call provider.Call, req *converse.Request) (provider.Stream, error) {
	body, err := converseBody(req)
	if err != nil {
		return nil, err
	}
	model := upstreamModel(call)
	resp, err := p.do(ctx, request{model: model, op: "converse-stream", body: body, headers: jsonHeaders.Clone()})
	if err != nil {
		return nil, err
	}
	s := &converseStream{streamBase: newStreamBase(ctx, p, model, resp)}
	first, err := s.next()
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.pending = first
	return s, nil
}

// converseStream decodes ConverseStream frames into Converse events.
type converseStream struct {
	streamBase
	pending  *converse.StreamEvent
	metadata bool // the final metadata event arrived
}

// Next returns the next event, io.EOF after the metadata event.
func (s *converseStream) Next() (*converse.StreamEvent, error) {
	if s.pending != nil && !s.closed {
		ev := s.pending
		s.pending = nil
		return ev, nil
	}
	return s.next()
}

func (s *converseStream) next() (*converse.StreamEvent, error) {
	if s.err != nil {
		return nil, s.err
	}
	for {
		name, payload, err := s.event()
		if err == io.EOF {
			if s.metadata {
				return nil, s.fail(io.EOF)
			}
			// A stream that stops before its metadata event was cut
			// short; passing it off as complete would lose the usage.
			return nil, s.fail(provider.StreamError(s.p.name, s.model, http.StatusBadGateway, "the stream ended before the model finished"))
		}
		if err != nil {
			return nil, s.fail(err)
		}
		ev, err := decodeConverseEvent(name, payload)
		if err != nil {
			return nil, s.fail(s.malformed(fmt.Errorf("%w: %s event: %v", errMalformed, name, err)))
		}
		if ev == nil {
			continue // an event type this version does not know
		}
		if ev.Metadata != nil {
			s.metadata = true
		}
		return ev, nil
	}
}

// decodeConverseEvent decodes one ConverseStream event payload; nil for
// an unknown event type. Bedrock always sends totalTokens; an upstream that
// does not gets it computed. The usage (cacheDetails included) is kept as
// Bedrock sent it.
func decodeConverseEvent(name string, payload []byte) (*converse.StreamEvent, error) {
	ev, err := converse.DecodeStreamEvent(name, payload)
	if ev != nil && ev.Metadata != nil && ev.Metadata.Usage.TotalTokens == 0 {
		ev.Metadata.Usage.TotalTokens = totalTokens(ev.Metadata.Usage)
	}
	return ev, err
}

// totalTokens is Bedrock's totalTokens: every input token, cached or not,
// plus the output.
func totalTokens(u converse.Usage) int {
	return u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens + u.OutputTokens
}
