// Package translate converts between the gateway's neutral chat form
// (package converse: a Bedrock Converse request, its response and its stream
// events) and each API wire format a front door speaks or a provider's
// upstream takes. Each pair has its own file, named for it and for its
// direction (anthropic_converse.go, responses_converse.go and
// openai_converse.go go from a front door's wire to Converse and render
// the answer back; converse_openai.go and converse_anthropic.go go from
// Converse to an OpenAI-compatible or Anthropic upstream and read its answer
// and stream back), with its test
// beside it; the wire types themselves live in internal/apischema, one
// package per format, and hold no translation.
//
// Translations are pure functions of their inputs: no I/O, no clocks, no
// globals. Request decoders return *apierror.Error ValidationExceptions with
// messages in the wording of the API being decoded.
package translate
