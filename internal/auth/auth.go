package auth

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// Pending is a request that passed every check that needs no body. Call
// Verify with the full body to finish authentication.
//
// A Pending keeps a reference to the request given to Check; the request's
// method, host, URL and headers must not be changed before Verify.
type Pending struct {
	id Identity

	// The fields below are set for SigV4 only; key == nil means the identity
	// is already established (bearer, anonymous).
	a             *Authenticator
	key           *accessKey
	r             *http.Request
	t             time.Time // signing time
	signedHeaders string    // as sent, e.g. "content-type;host;x-amz-date"
	signature     [32]byte
	contentSHA    string // X-Amz-Content-Sha256, if sent
	presign       bool
	query         string // presign: raw query without X-Amz-Signature
}

// Caller-facing messages, in AWS's wording.
const (
	msgMissingToken     = "Missing Authentication Token"
	msgBadAPIKey        = "The API key included in the request is invalid."
	msgBadAccessKey     = "The security token included in the request is invalid."
	msgMismatch         = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgNoDate           = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	msgBadDate          = "Date must be in ISO-8601 'basic format'. See http://en.wikipedia.org/wiki/ISO_8601"
	msgHostUnsigned     = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgContentSHA       = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgBadRegion        = "Credential should be scoped to a valid region. "
	msgBadTerminator    = "Credential should be scoped with a valid terminator: 'aws4_request'. "
	msgCredentialShape  = "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term."
	msgTwoMechanisms    = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified."
	msgReexamineQuery   = "Re-examine the query-string parameters."
	msgExpiresNotNumber = "X-Amz-Expires should be a number."
	msgExpiresNegative  = "X-Amz-Expires must be non-negative."
	msgExpiresTooLong   = "X-Amz-Expires must be less than a week (in seconds) that is 604800."
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	amzDateLayout   = "20060102T150405Z"
	scopeDateLayout = "20060102"
	terminator      = "aws4_request"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	maxPresignTTL   = 604800 // seconds: one week, as in AWS
)

// Check authenticates everything that does not need the body: the bearer key,
// or the SigV4 header or presigned query (syntax, algorithm, access key,
// credential scope, date and clock skew, presign expiry, that host is
// signed). Call it before reading the body, so that unauthenticated clients
// cannot make us read a large one.
//
// In anonymous mode it always succeeds with AnonymousIdentity. Errors are
// *apierror.Error.
func (a *Authenticator) Check(r *http.Request) (*Pending, error) {
	if a.anonymous {
		return a.anon, nil
	}
	authz := strings.TrimSpace(firstValue(r.Header, "Authorization"))
	query := presignQuery(r.URL.RawQuery)
	if authz == "" && query == nil {
		// Anthropic's clients send their key as x-api-key; it is the
		// same API key a bearer token carries.
		if key := strings.TrimSpace(firstValue(r.Header, "X-Api-Key")); key != "" {
			return a.checkBearer(key)
		}
	}
	if authz == "" {
		if query == nil {
			return nil, newErr(apierror.MissingAuthenticationToken, msgMissingToken)
		}
		return a.checkPresigned(r, query)
	}
	if query != nil {
		return nil, newErr(apierror.IncompleteSignature, msgTwoMechanisms)
	}
	scheme, rest, _ := strings.Cut(authz, " ")
	if strings.EqualFold(scheme, "Bearer") {
		return a.checkBearer(strings.TrimSpace(rest))
	}
	return a.checkHeader(r, authz)
}

// Verify finishes authentication with the full request body, whose SHA-256
// is part of a SigV4 signature. For bearer and anonymous requests it just
// returns the identity. Errors are *apierror.Error.
func (p *Pending) Verify(body []byte) (Identity, error) {
	if p == nil {
		return Identity{}, newErr(apierror.MissingAuthenticationToken, msgMissingToken)
	}
	if p.key == nil {
		return p.id, nil
	}
	if err := p.verifySignature(body); err != nil {
		return Identity{}, err
	}
	return p.id, nil
}

func (a *Authenticator) checkBearer(key string) (*Pending, error) {
	if key == "" {
		return nil, newErr(apierror.MissingAuthenticationToken, msgMissingToken)
	}
	// Looking up the digest, not the key, keeps timing independent of how
	// much of a guessed key is right.
	if p, ok := a.apiKeys[sha256.Sum256([]byte(key))]; ok {
		return p, nil
	}
	return nil, newErr(apierror.UnrecognizedClient, msgBadAPIKey)
}

// sigv4Request is what the header and presigned forms have in common once
// parsed.
type sigv4Request struct {
	scope         credentialScope
	signedHeaders string
	signature     string
	t             time.Time
	expires       time.Duration // presign only; -1 if X-Amz-Expires is absent
	presign       bool
	contentSHA    string
}

func (a *Authenticator) checkHeader(r *http.Request, authz string) (*Pending, error) {
	au, perr := parseAuthorization(authz)
	date := firstValue(r.Header, "X-Amz-Date")
	useDateHeader := false
	if date == "" {
		date = firstValue(r.Header, "Date")
		useDateHeader = true
	}
	if date == "" {
		if perr == nil {
			return nil, newErr(apierror.IncompleteSignature, msgNoDate)
		}
		if au.missing {
			// AWS lists every missing piece in one message.
			perr.Message += " " + msgNoDate
		}
	}
	if perr != nil {
		return nil, perr
	}

	// A Date header is accepted here as AWS does (no AWS SDK signs with Date
	// alone).
	var t time.Time
	var err error
	if useDateHeader {
		t, err = http.ParseTime(date)
	} else {
		t, err = parseAmzDate(date)
	}
	if err != nil {
		return nil, newErr(apierror.IncompleteSignature, msgBadDate)
	}

	req := sigv4Request{
		scope:         au.scope,
		signedHeaders: au.signedHeaders,
		signature:     au.signature,
		t:             t.UTC(),
		expires:       -1,
		contentSHA:    firstValue(r.Header, "X-Amz-Content-Sha256"),
	}
	return a.checkSigV4(r, &req)
}

func (a *Authenticator) checkPresigned(r *http.Request, q url.Values) (*Pending, error) {
	var missing strings.Builder
	for _, name := range [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders"} {
		if q.Get(name) == "" {
			missing.WriteString("AWS query-string parameters must include '" + name + "'. ")
		}
	}
	if missing.Len() > 0 {
		return nil, newErr(apierror.IncompleteSignature, missing.String()+msgReexamineQuery)
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != algorithm {
		return nil, unsupportedAlgorithm(alg)
	}
	scope, ok := splitCredential(q.Get("X-Amz-Credential"))
	if !ok {
		return nil, newErr(apierror.IncompleteSignature, msgCredentialShape)
	}
	t, err := parseAmzDate(q.Get("X-Amz-Date"))
	if err != nil {
		return nil, newErr(apierror.IncompleteSignature, msgBadDate)
	}

	req := sigv4Request{
		scope:         scope,
		signedHeaders: q.Get("X-Amz-SignedHeaders"),
		signature:     q.Get("X-Amz-Signature"),
		t:             t,
		expires:       -1,
		presign:       true,
		contentSHA:    firstValue(r.Header, "X-Amz-Content-Sha256"),
	}
	if req.contentSHA == "" {
		req.contentSHA = q.Get("X-Amz-Content-Sha256")
	}
	// Without X-Amz-Expires the request is held to the clock-skew window,
	// like a header-signed one.
	if s, ok := q["X-Amz-Expires"]; ok && len(s) > 0 {
		n, err := strconv.ParseInt(s[0], 10, 64)
		switch {
		case err != nil:
			return nil, newErr(apierror.IncompleteSignature, msgExpiresNotNumber)
		case n < 0:
			return nil, newErr(apierror.IncompleteSignature, msgExpiresNegative)
		case n > maxPresignTTL:
			return nil, newErr(apierror.IncompleteSignature, msgExpiresTooLong)
		}
		req.expires = time.Duration(n) * time.Second
	}
	return a.checkSigV4(r, &req)
}

// checkSigV4 runs the checks shared by both SigV4 forms, in AWS's order:
// date, host, scope, access key.
func (a *Authenticator) checkSigV4(r *http.Request, s *sigv4Request) (*Pending, error) {
	now := a.now().UTC()
	if err := a.checkTime(now, s); err != nil {
		return nil, err
	}
	if !signedHeaderListed(s.signedHeaders, "host") && !signedHeaderListed(s.signedHeaders, ":authority") {
		return nil, newErr(apierror.InvalidSignature, msgHostUnsigned)
	}
	if err := a.checkScope(s); err != nil {
		return nil, err
	}
	key, ok := a.keys[s.scope.accessKeyID]
	if !ok {
		return nil, newErr(apierror.UnrecognizedClient, msgBadAccessKey)
	}
	p := &Pending{
		id:            key.id,
		a:             a,
		key:           key,
		r:             r,
		t:             s.t,
		signedHeaders: s.signedHeaders,
		contentSHA:    s.contentSHA,
		presign:       s.presign,
	}
	// A malformed signature cannot match; say so before the body is read.
	if !decodeHex32(&p.signature, s.signature) {
		return nil, mismatch()
	}
	if p.contentSHA != "" && p.contentSHA != unsignedPayload {
		var d [32]byte
		if !decodeHex32(&d, p.contentSHA) {
			return nil, newErr(apierror.InvalidSignature, msgContentSHA)
		}
	}
	if s.presign {
		p.query = withoutSignature(r.URL.RawQuery)
	}
	return p, nil
}

func (a *Authenticator) checkTime(now time.Time, s *sigv4Request) error {
	t := s.t
	if latest := now.Add(a.maxSkew); t.After(latest) {
		return apierror.New(apierror.InvalidSignature, "Signature not yet current: %s is still later than %s (%s + %s)",
			t.Format(amzDateLayout), latest.Format(amzDateLayout), now.Format(amzDateLayout), window(a.maxSkew))
	}
	// A presigned URL is good for X-Amz-Expires; anything else for the skew.
	ttl := a.maxSkew
	if s.expires >= 0 {
		ttl = s.expires
	}
	if earliest := now.Add(-ttl); t.Before(earliest) {
		return apierror.New(apierror.InvalidSignature, "Signature expired: %s is now earlier than %s (%s - %s)",
			t.Format(amzDateLayout), earliest.Format(amzDateLayout), now.Format(amzDateLayout), window(ttl))
	}
	return nil
}

// checkScope reports every scope problem at once, as AWS does.
func (a *Authenticator) checkScope(s *sigv4Request) error {
	var msg strings.Builder
	if s.scope.region != a.region {
		msg.WriteString(msgBadRegion)
	}
	if s.scope.service != a.service {
		msg.WriteString("Credential should be scoped to correct service: '" + a.service + "'. ")
	}
	if s.scope.terminator != terminator {
		msg.WriteString(msgBadTerminator)
	}
	var buf [len(scopeDateLayout)]byte
	if date := s.t.AppendFormat(buf[:0], scopeDateLayout); s.scope.date != string(date) {
		want, got := string(date), s.scope.date
		if !isDigits(got, 8) {
			got = "<invalid>" // only a well-formed date is echoed back
		}
		msg.WriteString("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			got + "' != '" + want + "', from '" + s.t.Format(amzDateLayout) + "'.")
	}
	if msg.Len() > 0 {
		return newErr(apierror.InvalidSignature, msg.String())
	}
	return nil
}

func mismatch() *apierror.Error { return newErr(apierror.InvalidSignature, msgMismatch) }

func unsupportedAlgorithm(alg string) *apierror.Error {
	if !safeToken(alg) {
		return newErr(apierror.IncompleteSignature, "Unsupported AWS 'algorithm'.")
	}
	return newErr(apierror.IncompleteSignature, "Unsupported AWS 'algorithm': '"+alg+"'.")
}

// window renders a duration the way AWS does in skew messages ("5 min.").
func window(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min."
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec."
}

func parseAmzDate(s string) (time.Time, error) {
	if len(s) != len(amzDateLayout) {
		return time.Time{}, errBadDate
	}
	return time.Parse(amzDateLayout, s)
}

// errBadDate never reaches a caller; it only selects msgBadDate.
var errBadDate = errors.New("auth: malformed X-Amz-Date")

// firstValue reads a header by its canonical name without canonicalizing.
func firstValue(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// presignQuery returns the parsed query when it carries a presigned
// signature, and nil otherwise.
func presignQuery(raw string) url.Values {
	// Most requests carry no X-Amz- parameter; skip parsing for them.
	if !strings.Contains(raw, "X-Amz-") {
		return nil
	}
	q, _ := url.ParseQuery(raw) // malformed pairs are dropped, as the signer does
	if _, ok := q["X-Amz-Signature"]; ok {
		return q
	}
	if _, ok := q["X-Amz-Credential"]; ok {
		return q
	}
	return nil
}

// withoutSignature drops X-Amz-Signature from a raw query; the signer puts
// it back last.
func withoutSignature(raw string) string {
	var b strings.Builder
	b.Grow(len(raw))
	for part := range strings.SplitSeq(raw, "&") {
		k, _, _ := strings.Cut(part, "=")
		if k == "X-Amz-Signature" || part == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}

// signedHeaderListed reports whether name is in a ';'-separated SignedHeaders
// list, ignoring case.
func signedHeaderListed(list, name string) bool {
	for h := range strings.SplitSeq(list, ";") {
		if strings.EqualFold(strings.TrimSpace(h), name) {
			return true
		}
	}
	return false
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// safeToken reports whether an algorithm name may be echoed back. It must
// look like an AWS algorithm name (AWS4-ECDSA-P256-SHA256): short
// upper-case segments, which a pasted secret or API key cannot pass for.
func safeToken(s string) bool {
	if len(s) > 32 || !strings.HasPrefix(s, "AWS") {
		return false
	}
	for seg := range strings.SplitSeq(s, "-") {
		if len(seg) == 0 || len(seg) > 8 {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// decodeHex32 decodes 64 hex digits (either case) without allocating.
func decodeHex32(dst *[32]byte, s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < 32; i++ {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// newErr builds a caller-facing error with a literal message (apierror.New
// would treat '%' in it as a verb).
func newErr(code apierror.Code, msg string) *apierror.Error {
	return &apierror.Error{Code: code, Message: msg}
}
