package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// credentialScope is the parsed Credential: keyid/date/region/service/term.
type credentialScope struct {
	accessKeyID, date, region, service, terminator string
}

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	algorithm     string
	credential    string
	scope         credentialScope
	signedHeaders string
	signature     string
	// missing is set when the error is about missing parameters, so that a
	// missing date can be added to the same message.
	missing bool
}

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=<hex>
//
// checking, in AWS's order, that the three parameters are there, the
// algorithm, and the shape of the credential. Scope values, the date and the
// signature itself are checked by the caller. Error messages never quote the
// header, which may hold a key pasted in the wrong place.
func parseAuthorization(h string) (authorization, *apierror.Error) {
	var a authorization
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	a.algorithm = alg
	var haveCred, haveSigned, haveSig bool
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, hasEq := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		v = strings.TrimSpace(v)
		var dst *string
		var seen *bool
		switch k {
		case "Credential":
			dst, seen = &a.credential, &haveCred
		case "SignedHeaders":
			dst, seen = &a.signedHeaders, &haveSigned
		case "Signature":
			dst, seen = &a.signature, &haveSig
		default:
			continue // unknown components are ignored, as by AWS
		}
		if !hasEq {
			return a, newErr(apierror.IncompleteSignature, "'"+k+"' not a valid key=value pair (missing equal-sign) in Authorization header.")
		}
		if *seen {
			return a, newErr(apierror.IncompleteSignature, "Authorization header has more than one '"+k+"' parameter.")
		}
		*dst, *seen = v, true
	}

	var missing []string
	if !haveCred || a.credential == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if !haveSig || a.signature == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if !haveSigned { // an empty list is "present"; the host check rejects it
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if len(missing) > 0 {
		a.missing = true
		return a, newErr(apierror.IncompleteSignature, strings.Join(missing, " "))
	}
	if alg != algorithm {
		return a, unsupportedAlgorithm(alg)
	}
	scope, ok := splitCredential(a.credential)
	if !ok {
		return a, newErr(apierror.IncompleteSignature, msgCredentialShape)
	}
	a.scope = scope
	return a, nil
}

// splitCredential splits keyid/date/region/service/term.
func splitCredential(c string) (credentialScope, bool) {
	var s credentialScope
	if strings.Count(c, "/") != 4 {
		return s, false
	}
	var rest string
	s.accessKeyID, rest, _ = strings.Cut(c, "/")
	s.date, rest, _ = strings.Cut(rest, "/")
	s.region, rest, _ = strings.Cut(rest, "/")
	s.service, s.terminator, _ = strings.Cut(rest, "/")
	return s, true
}

// verifySignature computes the signature the client should have sent from
// the request as received (see canonical.go) and compares it in constant
// time.
//
// Where SDKs differ, each way is tried, and every try covers the key,
// method, authority, path, query and signed headers:
//   - a request whose canonical request differs between the two
//     canonicalForms is tried in both;
//   - a presigned URL that claims no payload hash is signed by
//     aws-sdk-go-v2 over UNSIGNED-PAYLOAD and by @smithy/signature-v4 over
//     the body's SHA-256, so both are tried.
func (p *Pending) verifySignature(body []byte) error {
	var sum [sha256.Size]byte
	hashes, n, err := p.payloadHashes(body, &sum)
	if err != nil {
		return err
	}
	c := canonicalPool.Get().(*canonicalRequest)
	defer c.release()
	s := signedRequest{r: p.r, query: p.r.URL.RawQuery, signedHeaders: p.signedHeaders}
	if p.presign {
		s.query = p.query
	}
	key := c.signingKeyFor(p.key, p.t, p.a.region, p.a.service)
	for _, form := range [...]canonicalForm{formAsSent, formNormalised} {
		prefix, ok := c.appendPrefix(c.buf[:0], &s, form)
		c.buf = prefix
		if !ok || form != formAsSent && bytes.Equal(prefix, c.prev) {
			// A missing header is missing in every form, and a form that
			// builds the same canonical request needs no second try.
			break
		}
		for _, h := range hashes[:n] {
			canonical := h.appendTo(prefix)
			c.buf = canonical[:len(prefix)] // keep a grown buffer
			sig := c.signature(canonical, key, p.t, p.a.region, p.a.service)
			if subtle.ConstantTimeCompare(sig[:], p.signature[:]) == 1 {
				return nil
			}
		}
		c.prev = append(c.prev[:0], prefix...)
	}
	return mismatch()
}

// payloadHash is one candidate for the last line of the canonical request.
type payloadHash struct {
	claimed string             // as sent, or UNSIGNED-PAYLOAD
	sum     *[sha256.Size]byte // if set instead: the body's SHA-256
}

func (h payloadHash) appendTo(b []byte) []byte {
	if h.sum != nil {
		return hex.AppendEncode(b, h.sum[:])
	}
	return append(b, h.claimed...)
}

// payloadHashes returns the payload hashes the signature may cover, using
// sum for the body's SHA-256.
//
// UNSIGNED-PAYLOAD is accepted: SDKs send it for bodies they do not hash
// (streaming, presigned URLs), and it still proves possession of the key
// for everything else in the request. A claimed hash must be the body's.
func (p *Pending) payloadHashes(body []byte, sum *[sha256.Size]byte) ([2]payloadHash, int, error) {
	var h [2]payloadHash
	if p.contentSHA == unsignedPayload {
		h[0].claimed = unsignedPayload
		return h, 1, nil
	}
	*sum = sha256.Sum256(body)
	if p.contentSHA != "" {
		var claimed [32]byte
		if !decodeHex32(&claimed, p.contentSHA) || claimed != *sum {
			return h, 0, newErr(apierror.InvalidSignature, msgContentSHA)
		}
		h[0].claimed = p.contentSHA // as sent: its case is part of the signature
		return h, 1, nil
	}
	if p.presign {
		h[0].claimed, h[1].sum = unsignedPayload, sum
		return h, 2, nil
	}
	h[0].sum = sum
	return h, 1, nil
}
