package cloudtrail

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base32"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Fixed values of the records this package writes.
const (
	// EventVersion is the record format version (what Bedrock writes).
	EventVersion = "1.09"
	// EventSource is Bedrock's event source, for the runtime and the
	// control plane alike.
	EventSource = "bedrock.amazonaws.com"
	// EventTypeAPICall is the eventType of an API call.
	EventTypeAPICall = "AwsApiCall"
	// CategoryManagement is the eventCategory of management events.
	CategoryManagement = "Management"
	// AnonymousAccount is the accountId of the identity of an
	// unauthenticated call.
	AnonymousAccount = "ANONYMOUS_PRINCIPAL"
)

// Size limits CloudTrail applies to a record's fields.
const (
	// MaxUserAgent bounds userAgent, errorCode and errorMessage (bytes).
	MaxUserAgent = 1 << 10
	// MaxParameters bounds requestParameters and responseElements (bytes
	// of JSON); larger values are replaced by null.
	MaxParameters = 100 << 10
)

// Event is one CloudTrail record. Its fields marshal in the order
// CloudTrail writes them; requestParameters and responseElements are always
// present (null when empty), the error fields only on failure.
type Event struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       UserIdentity    `json:"userIdentity"`
	EventTime          Time            `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	Resources          []Resource      `json:"resources,omitempty"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	EventCategory      string          `json:"eventCategory"`
	TLSDetails         *TLSDetails     `json:"tlsDetails,omitempty"`
}

// UserIdentity is the caller (record field userIdentity).
type UserIdentity struct {
	// Type is IAMUser, AssumedRole or Unknown.
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext describes the session of an AssumedRole identity.
type SessionContext struct {
	SessionIssuer SessionIssuer     `json:"sessionIssuer"`
	Attributes    SessionAttributes `json:"attributes"`
}

// SessionIssuer is the role a session was issued for.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttributes are a session's creation date and MFA state (strings,
// as CloudTrail writes them).
type SessionAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// Resource is one entry of a record's resources.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
}

// TLSDetails describes the caller's TLS connection.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// Time is a UTC time marshalled as CloudTrail writes it:
// "2006-01-02T15:04:05Z" (second precision).
type Time struct{ time.Time }

// TimeFormat is CloudTrail's time layout.
const TimeFormat = "2006-01-02T15:04:05Z"

// MarshalJSON writes t in TimeFormat, or null when zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(TimeFormat) + `"`), nil
}

// UnmarshalJSON reads TimeFormat (or any RFC 3339 time) or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// Principal is the authenticated caller of a call, as the server knows it.
// A zero Principal (no ARN) is an unauthenticated caller.
type Principal struct {
	// Name is the user or session name.
	Name string
	// ARN is arn:aws:iam::ACCT:user/NAME or
	// arn:aws:sts::ACCT:assumed-role/ROLE/SESSION.
	ARN string
	// AccessKeyID is the key the request was signed with.
	AccessKeyID string
	// AccountID is the principal's account (taken from the ARN when empty).
	AccountID string
	// PrincipalID overrides the derived unique ID (AIDA…, AROA…:SESSION).
	PrincipalID string
	// SessionCreated is when an assumed-role session was created (zero:
	// the event time).
	SessionCreated time.Time
}

// Call is what the server knows of a finished call; NewEvent turns it into
// a record.
type Call struct {
	Operation string
	Principal Principal
	SourceIP  string
	UserAgent string
	RequestID string
	// Time is when the call completed.
	Time time.Time
	// RequestParameters and ResponseElements are marshalled to JSON
	// (a json.RawMessage or []byte is used as is); nil is null.
	RequestParameters any
	ResponseElements  any
	ErrorCode         string
	ErrorMessage      string
	ReadOnly          bool
	Resources         []Resource
	// TLS is the connection state of an HTTPS call (nil for plain HTTP);
	// Host is the Host header the client sent.
	TLS  *tls.ConnectionState
	Host string
}

// NewEvent builds the record of c. awsRegion and recipientAccountId are
// left empty for Trail.Record to fill; eventID is left empty too.
func NewEvent(c Call) *Event {
	e := &Event{
		EventVersion:      EventVersion,
		UserIdentity:      IdentityOf(c.Principal, c.Time),
		EventTime:         Time{c.Time.UTC().Truncate(time.Second)},
		EventSource:       EventSource,
		EventName:         c.Operation,
		SourceIPAddress:   c.SourceIP,
		UserAgent:         truncate(c.UserAgent, MaxUserAgent),
		ErrorCode:         truncate(c.ErrorCode, MaxUserAgent),
		ErrorMessage:      truncate(c.ErrorMessage, MaxUserAgent),
		RequestParameters: rawJSON(c.RequestParameters),
		ResponseElements:  rawJSON(c.ResponseElements),
		RequestID:         c.RequestID,
		ReadOnly:          c.ReadOnly,
		Resources:         c.Resources,
		EventType:         EventTypeAPICall,
		ManagementEvent:   true,
		EventCategory:     CategoryManagement,
	}
	if c.TLS != nil {
		e.TLSDetails = &TLSDetails{
			TLSVersion:               tlsVersionName(c.TLS.Version),
			CipherSuite:              tls.CipherSuiteName(c.TLS.CipherSuite),
			ClientProvidedHostHeader: c.Host,
		}
	}
	return e
}

// IdentityOf returns the userIdentity of p: IAMUser for a user ARN,
// AssumedRole (with its session context) for an assumed-role ARN, and
// Unknown for anything else. An unauthenticated caller (no ARN) is
// {"type":"Unknown","principalId":"","accountId":"ANONYMOUS_PRINCIPAL"}.
func IdentityOf(p Principal, at time.Time) UserIdentity {
	if p.ARN == "" {
		return UserIdentity{Type: "Unknown", AccountID: AnonymousAccount, UserName: p.Name}
	}
	parts := strings.SplitN(p.ARN, ":", 6)
	acct := p.AccountID
	if acct == "" && len(parts) == 6 {
		acct = parts[4]
	}
	id := UserIdentity{Type: "Unknown", ARN: p.ARN, AccountID: acct, AccessKeyID: p.AccessKeyID, UserName: p.Name, PrincipalID: p.PrincipalID}
	if len(parts) != 6 || parts[0] != "arn" {
		return id
	}
	res := parts[5]
	switch {
	case parts[2] == "iam" && strings.HasPrefix(res, "user/"):
		id.Type = "IAMUser"
		name := res[strings.LastIndexByte(res, '/')+1:]
		id.UserName = name
		if id.PrincipalID == "" {
			id.PrincipalID = uniqueID("AIDA", p.ARN)
		}
	case parts[2] == "sts" && strings.HasPrefix(res, "assumed-role/"):
		rest := strings.TrimPrefix(res, "assumed-role/")
		role, session, _ := strings.Cut(rest, "/")
		id.Type = "AssumedRole"
		id.UserName = ""
		roleARN := "arn:" + parts[1] + ":iam::" + acct + ":role/" + role
		roleID := uniqueID("AROA", roleARN)
		if id.PrincipalID == "" {
			id.PrincipalID = roleID + ":" + session
		}
		created := p.SessionCreated
		if created.IsZero() {
			created = at
		}
		id.SessionContext = &SessionContext{
			SessionIssuer: SessionIssuer{Type: "Role", PrincipalID: roleID, ARN: roleARN, AccountID: acct, UserName: role},
			Attributes:    SessionAttributes{CreationDate: created.UTC().Format(TimeFormat), MFAAuthenticated: "false"},
		}
	}
	return id
}

// Username is what LookupEvents calls the event's user name: the IAM
// user's name, the session name of an assumed role, else the principal's
// name.
func (u *UserIdentity) Username() string {
	if u.Type == "AssumedRole" {
		if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 {
			return u.ARN[i+1:]
		}
	}
	return u.UserName
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// uniqueID derives a stable IAM-style unique ID (prefix + 17 characters)
// from an ARN: modelwatch has no IAM to assign one.
func uniqueID(prefix, arn string) string {
	h := sha256.Sum256([]byte(arn))
	return prefix + idEncoding.EncodeToString(h[:])[:17]
}

// rawJSON marshals v for requestParameters / responseElements: null for
// nil, for a value that is not a JSON object, or for one over
// MaxParameters.
func rawJSON(v any) json.RawMessage {
	var b []byte
	switch x := v.(type) {
	case nil:
		return nil
	case json.RawMessage:
		b = x
	case []byte:
		b = x
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil
		}
	}
	if len(b) == 0 || len(b) > MaxParameters || !json.Valid(b) {
		return nil
	}
	if t := strings.TrimSpace(string(b)); !strings.HasPrefix(t, "{") {
		return nil
	}
	return json.RawMessage(b)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	if !utf8.RuneStart(s[i]) {
		i = n // not UTF-8 there anyway
	}
	return s[:i]
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}

// fill sets the defaults Record adds to an event.
func (e *Event) fill(region, account string, now time.Time) {
	if e.EventVersion == "" {
		e.EventVersion = EventVersion
	}
	if e.EventID == "" {
		e.EventID = uuid.NewString()
	}
	if e.EventTime.IsZero() {
		e.EventTime = Time{now}
	}
	e.EventTime = Time{e.EventTime.UTC().Truncate(time.Second)}
	if e.EventSource == "" {
		e.EventSource = EventSource
	}
	if e.AWSRegion == "" {
		e.AWSRegion = region
	}
	if e.RecipientAccountID == "" {
		e.RecipientAccountID = account
	}
	if e.EventType == "" {
		e.EventType = EventTypeAPICall
	}
	if e.EventCategory == "" {
		e.EventCategory = CategoryManagement
	}
	e.UserAgent = truncate(e.UserAgent, MaxUserAgent)
}
