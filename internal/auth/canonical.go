package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash/maphash"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The canonical request is built here from the request as it arrived and the
// client's own SignedHeaders list, instead of re-signing a rebuilt request
// with aws-sdk-go-v2's signer. That signer decides itself which headers to
// sign: it always signs "host" from Request.Host, signs Content-Length only
// when positive, and never signs a header named ":authority". The AWS SDK for
// JavaScript v3 over HTTP/2 (NodeHttp2Handler, the default since 3.798)
// signs ":authority" instead of "host", and signs "content-length: 0" for an
// empty body; neither can be reproduced through that signer. Taking every
// signed name from SignedHeaders reproduces them all, with one code path for
// header and presigned signatures, and no allocation. The SDK signer stays
// as the tests' oracle (FuzzCanonicalMatchesSDK), and the JS signer's own
// output is the test data (testdata/sigv4_js_vectors.json).

// canonicalForm is one of the two ways SDKs canonicalise the parts of a
// request that SigV4 leaves open. They agree on every request the Bedrock
// SDKs send; a request that differs between them is tried in both.
type canonicalForm uint8

const (
	// formAsSent is aws-sdk-go-v2's: the path as sent, header values trimmed
	// with runs of spaces folded, and a query key without '=' signed with an
	// empty value.
	formAsSent canonicalForm = iota
	// formNormalised is @smithy/signature-v4's (the AWS SDK for JavaScript
	// v3): empty, "." and ".." path segments resolved away; runs of spaces,
	// tabs, CR and LF in header values folded into one space; and a query
	// key without '=' left out.
	formNormalised
)

// maxQueryParams is net/url's default limit. The SDK signer parses the query
// with url.ParseQuery, which past it signs an empty query; refusing such a
// request keeps a signature over no parameters from covering 10,001.
const maxQueryParams = 10000

// canonicalRequest builds canonical requests and strings to sign in reused
// buffers, so that verifying a signature allocates nothing.
type canonicalRequest struct {
	buf   []byte      // canonical request being tried
	prev  []byte      // the previous form's, up to the payload hash
	sts   []byte      // string to sign
	query []byte      // encoded query pairs, indexed by pairs
	pairs []queryPair // query pairs in query, sorted before writing
	names []string    // signed header names, lower-case
	segs  []int       // path normalisation: where each segment starts in buf
	mac   hmacBuffer
}

// queryPair is an encoded key=value in canonicalRequest.query.
type queryPair struct{ start, eq, end int }

var canonicalPool = sync.Pool{New: func() any { return new(canonicalRequest) }}

// maxPooledBuffer is the largest buffer kept for reuse: one unusually large
// request should not pin its buffers in the pool.
const maxPooledBuffer = 64 << 10

func (c *canonicalRequest) release() {
	// Names are substrings of a request header; drop them with the request.
	clear(c.names)
	c.names = c.names[:0]
	if cap(c.buf) > maxPooledBuffer || cap(c.prev) > maxPooledBuffer || cap(c.query) > maxPooledBuffer || cap(c.pairs) > maxPooledBuffer/16 ||
		cap(c.names) > maxPooledBuffer/16 || cap(c.segs) > maxPooledBuffer/8 {
		return // left to the garbage collector
	}
	canonicalPool.Put(c)
}

// signedRequest is what a SigV4 signature covers, as received.
type signedRequest struct {
	r             *http.Request
	query         string // raw query the signature covers
	signedHeaders string // SignedHeaders as sent
}

// appendPrefix appends the canonical request of s in the given form up to
// and including the newline after the SignedHeaders line; the payload hash
// completes it. It reports false when a signed header is absent or the
// query cannot be signed.
func (c *canonicalRequest) appendPrefix(b []byte, s *signedRequest, form canonicalForm) ([]byte, bool) {
	b = append(b, s.r.Method...)
	b = append(b, '\n')
	b = c.appendPath(b, rawPath(s.r.URL), form)
	b = append(b, '\n')
	b, ok := c.appendQuery(b, s.query, form)
	if !ok {
		return b, false
	}
	b = append(b, '\n')
	if !c.parseSignedHeaders(s.signedHeaders) {
		return b, false
	}
	for _, name := range c.names {
		b = append(b, name...)
		b = append(b, ':')
		if b, ok = appendHeaderValue(b, s.r, name, form); !ok {
			return b, false
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, name := range c.names {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, name...)
	}
	return append(b, '\n'), true
}

// rawPath is the path exactly as received. URL.EscapedPath would re-escape
// a RawPath it considers invalid, and model IDs arrive percent-encoded
// (%3A, %2F); when RawPath is empty the received path is the default
// encoding of Path, which EscapedPath returns.
func rawPath(u *url.URL) string {
	if u.RawPath != "" {
		return u.RawPath
	}
	return u.EscapedPath()
}

// appendPath appends the canonical URI: the path escaped once more (SigV4
// encodes twice for every service but S3), normalised in formNormalised.
func (c *canonicalRequest) appendPath(b []byte, path string, form canonicalForm) []byte {
	if path == "" {
		return append(b, '/')
	}
	if form == formAsSent {
		return appendEscaped(b, path, true)
	}
	// RFC 3986 "remove dot segments", also dropping empty segments, as
	// @smithy/signature-v4 getCanonicalPath does: a leading '/' is kept,
	// and a trailing one when any segment is left.
	leading := path[0] == '/'
	segs := c.segs[:0]
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "", ".":
			continue
		case "..":
			if n := len(segs); n > 0 {
				b = b[:segs[n-1]]
				segs = segs[:n-1]
			}
			continue
		}
		segs = append(segs, len(b))
		if leading || len(segs) > 1 {
			b = append(b, '/')
		}
		b = appendEscaped(b, seg, false)
	}
	c.segs = segs
	switch {
	case len(segs) == 0 && leading:
		b = append(b, '/')
	case len(segs) > 0 && path[len(path)-1] == '/':
		b = append(b, '/')
	}
	return b
}

// appendQuery appends the canonical query: each pair decoded as
// url.ParseQuery does (pairs it rejects are dropped), encoded again with
// only unreserved characters left as they are, and sorted by key, then value.
func (c *canonicalRequest) appendQuery(b []byte, raw string, form canonicalForm) ([]byte, bool) {
	if raw == "" {
		return b, true
	}
	if strings.Count(raw, "&") >= maxQueryParams {
		return b, false
	}
	q, pairs := c.query[:0], c.pairs[:0]
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" || strings.Contains(part, ";") {
			continue
		}
		k, v, hasEq := strings.Cut(part, "=")
		if !hasEq && form == formNormalised {
			continue // a key with a null value, which the JS signer skips
		}
		start := len(q)
		var ok bool
		if q, ok = appendQueryComponent(q, k); !ok {
			q = q[:start]
			continue
		}
		eq := len(q)
		if q, ok = appendQueryComponent(q, v); !ok {
			q = q[:start]
			continue
		}
		pairs = append(pairs, queryPair{start, eq, len(q)})
	}
	slices.SortFunc(pairs, func(x, y queryPair) int {
		if d := bytes.Compare(q[x.start:x.eq], q[y.start:y.eq]); d != 0 {
			return d
		}
		return bytes.Compare(q[x.eq:x.end], q[y.eq:y.end])
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, q[p.start:p.eq]...)
		b = append(b, '=')
		b = append(b, q[p.eq:p.end]...)
	}
	c.query, c.pairs = q, pairs
	return b, true
}

// appendQueryComponent decodes a query key or value ('+' is a space) and
// appends it encoded for the canonical query. It reports false for a
// malformed escape, which url.ParseQuery rejects.
func appendQueryComponent(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '%':
			if i+2 >= len(s) {
				return b, false
			}
			hi, ok1 := fromHex(s[i+1])
			lo, ok2 := fromHex(s[i+2])
			if !ok1 || !ok2 {
				return b, false
			}
			c = hi<<4 | lo
			i += 2
		case '+':
			c = ' '
		}
		b = appendEscapedByte(b, c)
	}
	return b, true
}

// parseSignedHeaders splits SignedHeaders into c.names: trimmed,
// lower-cased and sorted, as the canonical request lists them. It reports
// false for an empty name, which no request can carry, and for a name
// listed twice.
func (c *canonicalRequest) parseSignedHeaders(list string) bool {
	names := c.names[:0]
	for name := range strings.SplitSeq(list, ";") {
		name = strings.ToLower(strings.TrimSpace(name)) // no copy when already lower-case
		if name == "" {
			c.names = names
			return false
		}
		names = append(names, name)
	}
	if !slices.IsSorted(names) {
		slices.Sort(names)
	}
	c.names = names
	// No signer lists a name twice; refusing it keeps the canonical request
	// within the size of the headers sent.
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			return false
		}
	}
	return true
}

// appendHeaderValue appends the canonical value of one signed header.
// "host" and ":authority" are both the authority the request was sent to:
// HTTP/2's :authority, or HTTP/1.1's Host (also what an h2-to-h1 proxy
// forwards), which net/http puts in Request.Host, port included. Every
// other name comes from the header map; several values are joined by ','.
// A signed "content-length: 0" is reproduced like any other header.
func appendHeaderValue(b []byte, r *http.Request, name string, form canonicalForm) ([]byte, bool) {
	if name == "host" || name == ":authority" {
		return appendTrimmed(b, r.Host, form), true
	}
	values := headerValues(r, name)
	if values == nil {
		// net/http keeps Content-Length in the map (HTTP/1.1 and HTTP/2);
		// a request built in-process may carry it only as ContentLength.
		if name == "content-length" && r.ContentLength > 0 {
			return strconv.AppendInt(b, r.ContentLength, 10), true
		}
		return b, false
	}
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v, form)
	}
	return b, true
}

// headerValues finds a header by its lower-case name: first under the
// canonical key net/http stores it by, then by any spelling.
func headerValues(r *http.Request, lower string) []string {
	var buf [128]byte
	if len(lower) <= len(buf) {
		key := buf[:len(lower)]
		upper := true
		for i := 0; i < len(lower); i++ {
			c := lower[i]
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			key[i] = c
			upper = c == '-'
		}
		if v, ok := r.Header[string(key)]; ok { // no allocation for the lookup
			return v
		}
	}
	for k, v := range r.Header {
		if strings.EqualFold(k, lower) {
			return v
		}
	}
	// net/http moves Transfer-Encoding out of the header map.
	if lower == "transfer-encoding" && len(r.TransferEncoding) > 0 {
		return r.TransferEncoding
	}
	return nil
}

// appendTrimmed appends a header value with surrounding whitespace removed
// and inner runs folded as the form says.
func appendTrimmed(b []byte, v string, form canonicalForm) []byte {
	if form == formAsSent {
		// aws-sdk-go-v2: strings.TrimSpace(StripExcessSpaces(v)), which
		// folds runs of ' ' only.
		v = strings.TrimSpace(v)
		for i := 0; i < len(v); i++ {
			if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
				continue
			}
			b = append(b, v[i])
		}
		return b
	}
	// @smithy/signature-v4: CR and LF become spaces, runs of spaces and
	// tabs one space, and one space is cut from each end.
	wrote, space := false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ' ', '\t', '\r', '\n':
			space = true
		default:
			if space && wrote {
				b = append(b, ' ')
			}
			b = append(b, c)
			wrote, space = true, false
		}
	}
	return b
}

// appendEscaped appends s with every byte but the unreserved ones (and '/'
// when keepSlash) percent-encoded in upper case, as SigV4 requires.
func appendEscaped(b []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' && keepSlash {
			b = append(b, c)
		} else {
			b = appendEscapedByte(b, c)
		}
	}
	return b
}

func appendEscapedByte(b []byte, c byte) []byte {
	if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
		return append(b, c)
	}
	const upperHex = "0123456789ABCDEF"
	return append(b, '%', upperHex[c>>4], upperHex[c&15])
}

// signature returns the SigV4 signature of a canonical request:
// HMAC-SHA256 under the derived signing key of the string to sign.
func (c *canonicalRequest) signature(canonical []byte, key *[32]byte, t time.Time, region, service string) [32]byte {
	sum := sha256.Sum256(canonical)
	s := append(c.sts[:0], algorithm+"\n"...)
	s = t.AppendFormat(s, amzDateLayout)
	s = append(s, '\n')
	s = t.AppendFormat(s, scopeDateLayout)
	s = append(s, '/')
	s = append(s, region...)
	s = append(s, '/')
	s = append(s, service...)
	s = append(s, "/"+terminator+"\n"...)
	s = hex.AppendEncode(s, sum[:])
	c.sts = s
	return c.mac.sum(key[:], s)
}

// hmacBuffer computes HMAC-SHA256 (RFC 2104) in a reused buffer, so that it
// allocates nothing: crypto/hmac allocates two hash states per key.
type hmacBuffer struct{ buf []byte }

func (h *hmacBuffer) sum(key, msg []byte) [32]byte {
	const blockSize = 64
	var k [blockSize]byte
	if len(key) > blockSize {
		d := sha256.Sum256(key)
		copy(k[:], d[:])
	} else {
		copy(k[:], key)
	}
	b := slices.Grow(h.buf[:0], blockSize+len(msg))[:blockSize]
	for i := range k {
		b[i] = k[i] ^ 0x36
	}
	b = append(b, msg...)
	inner := sha256.Sum256(b)
	clear(b[:blockSize]) // key material need not linger in a pooled buffer
	h.buf = b
	var outer [blockSize + sha256.Size]byte
	for i := range k {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[blockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

// signingKey is a derived SigV4 signing key and what it was derived for.
type signingKey struct {
	owner           *accessKey
	date            [len(scopeDateLayout)]byte
	region, service string
	key             [32]byte
}

// signingKeys caches derived keys, which change once a day, so that a
// request costs one HMAC rather than five. It is a small direct-mapped
// table indexed by access key ID: bounded whatever the configuration, and
// lock-free. Entries are matched by the *accessKey itself, so a reloaded
// configuration, even one reusing an ID with a new secret, never gets a key
// derived from an old secret; a collision only costs a derivation. (The
// table may keep up to 256 keys of a replaced configuration alive.)
var (
	signingKeys    [256]atomic.Pointer[signingKey]
	signingKeySeed = maphash.MakeSeed()
)

// signingKeyFor returns the signing key of k for the date of t.
func (c *canonicalRequest) signingKeyFor(k *accessKey, t time.Time, region, service string) *[32]byte {
	var date [len(scopeDateLayout)]byte
	t.AppendFormat(date[:0], scopeDateLayout)
	slot := &signingKeys[maphash.String(signingKeySeed, k.id.AccessKeyID)%uint64(len(signingKeys))]
	if e := slot.Load(); e != nil && e.owner == k && e.date == date && e.region == region && e.service == service {
		return &e.key
	}
	e := &signingKey{owner: k, date: date, region: region, service: service}
	e.key = c.deriveKey(k.secret, date[:], region, service)
	slot.Store(e)
	return &e.key
}

// deriveKey is kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region),
// service), "aws4_request").
func (c *canonicalRequest) deriveKey(secret string, date []byte, region, service string) [32]byte {
	seed := append(append(c.sts[:0], "AWS4"...), secret...)
	k := c.mac.sum(seed, date)
	clear(seed) // the secret need not linger in a pooled buffer
	c.sts = seed[:0]
	k = c.mac.sum(k[:], []byte(region))
	k = c.mac.sum(k[:], []byte(service))
	k = c.mac.sum(k[:], []byte(terminator))
	return k
}
