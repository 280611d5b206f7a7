package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

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

// ignoredBySigner lists the header names the SDK signer leaves out of the
// canonical request (internal/v4.IgnoredHeaders). It matches them by exact
// map key, so a client that did sign one of them is reproduced by passing it
// under its lower-case name.
var ignoredBySigner = map[string]bool{
	"Authorization":     true,
	"User-Agent":        true,
	"X-Amzn-Trace-Id":   true,
	"Expect":            true,
	"Transfer-Encoding": true,
}

func disableHoisting(o *v4.SignerOptions) {
	// The client already moved whatever it hoisted into the query we pass.
	o.DisableHeaderHoisting = true
}

// verifySignature rebuilds the request as the client signed it, signs it
// again with the SDK signer and compares signatures in constant time.
func (p *Pending) verifySignature(body []byte) error {
	payloadHash, err := p.payloadHash(body)
	if err != nil {
		return err
	}
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	req, ok := p.rebuild(sc)
	if !ok {
		return mismatch()
	}
	creds := aws.Credentials{AccessKeyID: p.key.id.AccessKeyID, SecretAccessKey: p.key.secret, SessionToken: p.token}
	ctx := context.Background()

	var computed string
	if p.presign {
		u, _, err := p.key.signer.PresignHTTP(ctx, creds, req, payloadHash, p.a.service, p.a.region, p.t, disableHoisting)
		if err != nil {
			return mismatch()
		}
		const param = "X-Amz-Signature="
		i := strings.LastIndex(u, param)
		if i < 0 {
			return mismatch()
		}
		computed = u[i+len(param):]
	} else {
		if err := p.key.signer.SignHTTP(ctx, creds, req, payloadHash, p.a.service, p.a.region, p.t); err != nil {
			return mismatch()
		}
		h := firstValue(req.Header, "Authorization")
		const param = "Signature="
		i := strings.LastIndex(h, param)
		if i < 0 {
			return mismatch()
		}
		computed = h[i+len(param):]
	}
	var want [32]byte
	if !decodeHex32(&want, computed) || subtle.ConstantTimeCompare(want[:], p.signature[:]) != 1 {
		return mismatch()
	}
	return nil
}

// payloadHash is the hash that went into the signature.
//
// UNSIGNED-PAYLOAD is accepted: SDKs send it for bodies they do not hash
// (streaming, presigned URLs), and it still proves possession of the key
// for everything else in the request.
func (p *Pending) payloadHash(body []byte) (string, error) {
	if p.contentSHA == unsignedPayload {
		return unsignedPayload, nil
	}
	sum := sha256.Sum256(body)
	if p.contentSHA != "" {
		var claimed [32]byte
		if !decodeHex32(&claimed, p.contentSHA) || claimed != sum {
			return "", newErr(apierror.InvalidSignature, msgContentSHA)
		}
		return p.contentSHA, nil // as sent: its case is part of the signature
	}
	if p.presign {
		return unsignedPayload, nil
	}
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return string(buf[:]), nil
}

// scratch is the rebuilt request, pooled: the signer keeps no reference to
// it, and reusing the header map saves most of our own allocations.
type scratch struct {
	req http.Request
	url url.URL
	hdr http.Header
}

var scratchPool = sync.Pool{New: func() any { return &scratch{hdr: make(http.Header, 16)} }}

func (s *scratch) release() {
	clear(s.hdr) // drops references to the caller's header values
	s.req = http.Request{}
	s.url = url.URL{}
	scratchPool.Put(s)
}

// rebuild makes a request carrying exactly what the client signed: method,
// host, escaped path, query, and only the signed headers. It reports false
// when a signed header cannot be reproduced.
func (p *Pending) rebuild(sc *scratch) (*http.Request, bool) {
	r := p.r
	sc.url = url.URL{Opaque: opaquePath(r.URL), RawQuery: r.URL.RawQuery}
	if p.presign {
		sc.url.RawQuery = p.query
	}
	sc.req = http.Request{Method: r.Method, Host: r.Host, URL: &sc.url, Header: sc.hdr}
	req := &sc.req
	for name := range strings.SplitSeq(p.signedHeaders, ";") {
		name = strings.TrimSpace(name)
		switch strings.ToLower(name) {
		case "host", ":authority":
			continue // the signer always signs req.Host
		case "content-length":
			// The signer signs req.ContentLength itself when positive and
			// skips any Content-Length header, so a signed
			// "content-length: 0" cannot be reproduced.
			if r.ContentLength <= 0 {
				return nil, false
			}
			req.ContentLength = r.ContentLength
			continue
		case "x-amz-date", "x-amz-security-token":
			if !p.presign {
				// The signer sets these itself (from the signing time and
				// the credentials); copying them too would sign them twice.
				continue
			}
		}
		key, values := lookupHeader(r, name)
		if values == nil {
			return nil, false
		}
		if ignoredBySigner[key] {
			key = strings.ToLower(name)
		}
		if prev, dup := req.Header[key]; dup {
			req.Header[key] = append(prev[:len(prev):len(prev)], values...)
		} else {
			// Shared, not copied. The signer writes only to the slices of
			// keys it sets itself (Authorization, X-Amz-Date,
			// X-Amz-Security-Token), which are never copied from r, and
			// appends only when two keys share a lower-case name, which
			// this loop never produces.
			req.Header[key] = values
		}
	}
	return req, true
}

// opaquePath returns the path exactly as received, as a URL.Opaque the
// signer uses verbatim. URL.EscapedPath would re-escape a RawPath it
// considers invalid, and model IDs arrive percent-encoded (%3A, %2F).
func opaquePath(u *url.URL) string {
	path := u.RawPath
	if path == "" {
		path = u.EscapedPath() // RawPath is empty when it equals this
	}
	// The signer strips a leading "//host" from Opaque; a path that itself
	// starts with "//" needs a dummy host in front.
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		return "//h" + path
	}
	return path
}

// lookupHeader finds a signed header in the request, ignoring case, without
// allocating a canonical key.
func lookupHeader(r *http.Request, name string) (string, []string) {
	for k, v := range r.Header {
		if strings.EqualFold(k, name) {
			return k, v
		}
	}
	// net/http moves Transfer-Encoding out of the header map.
	if strings.EqualFold(name, "transfer-encoding") && len(r.TransferEncoding) > 0 {
		return "Transfer-Encoding", r.TransferEncoding
	}
	return "", nil
}
