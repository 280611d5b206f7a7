package cwlogsfake

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// Service limits enforced by the fake (PutLogEvents API reference).
const (
	// MaxBatchBytes is the PutLogEvents batch size limit: the sum over events
	// of the UTF-8 message size plus EventOverhead.
	MaxBatchBytes = 1_048_576
	// EventOverhead is the per-event overhead counted against the limits.
	EventOverhead = 26
	// MaxBatchEvents is the maximum number of events in one PutLogEvents call.
	MaxBatchEvents = 10_000
	// DefaultEventSizeLimit is the current per-event limit (1 MB, message plus
	// EventOverhead), in force since April 2025.
	DefaultEventSizeLimit = 1_048_576
	// LegacyEventSizeLimit is the per-event limit before April 2025 (256 KB,
	// message plus EventOverhead).
	LegacyEventSizeLimit = 256 * 1024
	// MaxBatchSpan is the longest time span the valid events of one batch may
	// cover.
	MaxBatchSpan = 24 * time.Hour
	// MaxPast is how old an event may be before it is rejected as too old.
	MaxPast = 14 * 24 * time.Hour
	// MaxFuture is how far in the future an event may be before it is rejected
	// as too new.
	MaxFuture = 2 * time.Hour
)

// Fake credentials and coordinates used by [Server.Env] and [Server.Client].
const (
	// AccessKeyID is the dummy access key of Env and Client.
	AccessKeyID = "AKIDCWLOGSFAKE"
	// SecretAccessKey is the dummy secret key of Env and Client.
	SecretAccessKey = "cwlogsfake-secret"
	// Region is the region of Env and Client (any region is accepted).
	Region = "us-east-1"
	// AccountID is the account used in ARNs the fake returns.
	AccountID = "123456789012"
)

const targetPrefix = "Logs_20140328."

// Event is one stored log event.
type Event struct {
	// Timestamp is the event time in milliseconds since the Unix epoch.
	Timestamp int64
	// Message is the event message.
	Message string
	// IngestionTime is when the fake stored the event, in milliseconds.
	IngestionTime int64
}

type stream struct {
	name    string
	created int64
	events  []storedEvent
}

type storedEvent struct {
	Event
	id string
}

type group struct {
	name    string
	created int64
	streams map[string]*stream
}

type fault struct {
	n       int
	code    string
	status  int
	message string
}

// Server is a fake CloudWatch Logs endpoint backed by httptest.Server. It is
// safe for concurrent use.
type Server struct {
	// URL is the endpoint, e.g. http://127.0.0.1:12345.
	URL string

	srv       *httptest.Server
	closeOnce sync.Once

	mu         sync.Mutex
	groups     map[string]*group
	calls      map[string]int
	violations []string
	faults     []fault
	down       bool
	now        func() time.Time
	eventLimit int
	nextID     uint64
}

// New starts a fake server; it is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		groups:     map[string]*group{},
		calls:      map[string]int{},
		now:        time.Now,
		eventLimit: DefaultEventSizeLimit,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.SetDown(false)
		s.srv.Close()
	})
}

// Client returns an official SDK client configured directly (not through the
// environment) for this server: static fake credentials, region us-east-1 and
// RetryMaxAttempts 1, so injected faults reach the caller instead of being
// retried by the SDK.
func (s *Server) Client(t testing.TB) *cloudwatchlogs.Client {
	t.Helper()
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:           Region,
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:       s.srv.Client(),
		RetryMaxAttempts: 1,
	})
}

// Env returns environment assignments (KEY=value) that point the SDK's
// standard configuration chain at this server: the service-specific endpoint
// AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, dummy static credentials, AWS_REGION
// us-east-1, no IMDS, no shared config or credentials files and no profile.
func (s *Server) Env() []string {
	none := filepath.Join(os.TempDir(), "cwlogsfake-no-such-file")
	return []string{
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + s.URL,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=",
		"AWS_PROFILE=",
		"AWS_DEFAULT_PROFILE=",
		"AWS_CONFIG_FILE=" + none,
		"AWS_SHARED_CREDENTIALS_FILE=" + none,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=",
	}
}

// SetEnv applies [Server.Env] with t.Setenv (restored when the test ends; the
// test must not be parallel).
func (s *Server) SetEnv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// FailNext makes the next n requests (of any operation, after the
// authentication check) fail with the given error code and HTTP status, e.g.
// FailNext(2, "ThrottlingException", 400) or
// FailNext(1, "ServiceUnavailableException", 500). A status of 0 means 400.
// Calls queue: each FailNext is served after the earlier ones.
func (s *Server) FailNext(n int, errorType string, status int) {
	if n <= 0 {
		return
	}
	if status == 0 {
		status = http.StatusBadRequest
	}
	msg := "Injected fault."
	switch errorType {
	case "ThrottlingException":
		msg = "Rate exceeded"
	case "ServiceUnavailableException":
		msg = "The server failed to fulfill the request. Please try again."
	case "InvalidParameterException":
		msg = "Injected invalid parameter."
	case "AccessDeniedException":
		msg = "User is not authorized to perform this action."
	}
	s.mu.Lock()
	s.faults = append(s.faults, fault{n: n, code: errorType, status: status, message: msg})
	s.mu.Unlock()
}

// SetDown simulates an outage: while down, every connection is closed without
// a response (the SDK sees a transport error, not an API error).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// SetClock replaces the clock used for ingestion times and for the 14-day /
// 2-hour acceptance window.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// SetEventSizeLimit sets the per-event limit in bytes, counting the message
// plus the 26-byte overhead (default DefaultEventSizeLimit; use
// LegacyEventSizeLimit to emulate the pre-2025 256 KB limit).
func (s *Server) SetEventSizeLimit(limit int) {
	s.mu.Lock()
	s.eventLimit = limit
	s.mu.Unlock()
}

// Events returns the events stored in group/stream ordered by timestamp (ties
// in ingestion order), or nil if the stream does not exist.
func (s *Server) Events(groupName, streamName string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupName]
	if g == nil {
		return nil
	}
	st := g.streams[streamName]
	if st == nil {
		return nil
	}
	out := make([]Event, 0, len(st.events))
	for _, e := range sortedEvents(st.events) {
		out = append(out, e.Event)
	}
	return out
}

// HasStream reports whether group/stream exists.
func (s *Server) HasStream(groupName, streamName string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupName]
	return g != nil && g.streams[streamName] != nil
}

// HasGroup reports whether the log group exists.
func (s *Server) HasGroup(groupName string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.groups[groupName] != nil
}

// Calls returns how many requests for the operation (e.g. "PutLogEvents")
// passed the authentication check, including ones answered with an injected
// fault or an error. Requests dropped by SetDown are not counted.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Violations returns, in order, every request the real service would have
// rejected as malformed (limit violations, bad protocol, missing signature),
// plus advisory notes such as a sequence token being sent.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// apiError is an error response to send.
type apiError struct {
	status  int
	code    string
	message string
}

func invalidParam(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

func notFound(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "ResourceNotFoundException", msg}
}

func alreadyExists(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "ResourceAlreadyExistsException", msg}
}

const (
	msgGroupMissing  = "The specified log group does not exist."
	msgStreamMissing = "The specified log stream does not exist."
)

var (
	credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request`)
	groupNameRE  = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]+$`)
)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		dropConnection(w)
		return
	}

	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}

	if r.Method != http.MethodPost || r.URL.Path != "/" {
		s.violation("%s %s: awsJson1_1 requests are POST /", r.Method, r.URL.Path)
		writeError(w, &apiError{http.StatusNotFound, "UnknownOperationException", ""})
		return
	}
	if aerr := s.checkAuth(r); aerr != nil {
		writeError(w, aerr)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	if !ok || op == "" {
		s.violation("unknown X-Amz-Target %q", target)
		writeError(w, &apiError{http.StatusBadRequest, "UnknownOperationException", ""})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		s.violation("%s: Content-Type %q, want application/x-amz-json-1.1", op, ct)
		writeError(w, &apiError{http.StatusBadRequest, "SerializationException", "Unsupported Content-Type"})
		return
	}

	s.mu.Lock()
	s.calls[op]++
	var injected *apiError
	if len(s.faults) > 0 {
		f := &s.faults[0]
		injected = &apiError{f.status, f.code, f.message}
		if f.n--; f.n == 0 {
			s.faults = s.faults[1:]
		}
	}
	s.mu.Unlock()
	if injected != nil {
		writeError(w, injected)
		return
	}

	var (
		out  any
		aerr *apiError
	)
	switch op {
	case "CreateLogGroup":
		aerr = s.createLogGroup(body)
	case "CreateLogStream":
		aerr = s.createLogStream(body)
	case "DescribeLogStreams":
		out, aerr = s.describeLogStreams(body)
	case "PutLogEvents":
		out, aerr = s.putLogEvents(body)
	case "GetLogEvents":
		out, aerr = s.getLogEvents(body)
	case "FilterLogEvents":
		out, aerr = s.filterLogEvents(body)
	default:
		s.violation("operation %s is not implemented by the fake", op)
		aerr = &apiError{http.StatusBadRequest, "UnknownOperationException", ""}
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// checkAuth verifies the shape of a SigV4 Authorization header for the
// signing name "logs".
func (s *Server) checkAuth(r *http.Request) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		s.violation("unsigned request (no Authorization header)")
		return &apiError{http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	algo, rest, _ := strings.Cut(auth, " ")
	m := credentialRE.FindStringSubmatch(rest)
	switch {
	case algo != "AWS4-HMAC-SHA256":
		s.violation("Authorization algorithm %q, want AWS4-HMAC-SHA256", algo)
	case m == nil:
		s.violation("Authorization without a SigV4 credential scope: %q", auth)
	case m[4] != "logs":
		s.violation("SigV4 signing name %q, want logs", m[4])
	case !strings.Contains(rest, "SignedHeaders=") || !strings.Contains(rest, "Signature="):
		s.violation("Authorization without SignedHeaders/Signature: %q", auth)
	case r.Header.Get("X-Amz-Date") == "":
		s.violation("signed request without X-Amz-Date")
	default:
		return nil
	}
	return &apiError{http.StatusBadRequest, "IncompleteSignatureException", "Authorization header requires a valid AWS4-HMAC-SHA256 signature for service logs."}
}

func (s *Server) violation(format string, args ...any) {
	s.mu.Lock()
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// reject records an InvalidParameterException as a violation and returns it.
func (s *Server) reject(op string, e *apiError) *apiError {
	s.violation("%s: %s: %s", op, e.code, e.message)
	return e
}

func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	conn.Close()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			status, body = http.StatusInternalServerError, []byte(`{"__type":"InternalFailure","message":"fake: encode response"}`)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", requestID())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("X-Amzn-Errortype", e.code)
	body := map[string]string{"__type": e.code}
	if e.message != "" {
		body["message"] = e.message
	}
	writeJSON(w, e.status, body)
}

var (
	reqMu  sync.Mutex
	reqSeq uint64
)

func requestID() string {
	reqMu.Lock()
	reqSeq++
	n := reqSeq
	reqMu.Unlock()
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", n)
}

// decode parses a request body; malformed JSON is a SerializationException.
func (s *Server) decode(op string, body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		s.violation("%s: malformed JSON body: %v", op, err)
		return &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
	}
	return nil
}

// ---- CreateLogGroup / CreateLogStream / DescribeLogStreams ----

func (s *Server) checkGroupName(op, name string) *apiError {
	if len(name) < 1 || len(name) > 512 {
		return s.reject(op, invalidParam("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must have length between 1 and 512", name))
	}
	if !groupNameRE.MatchString(name) {
		return s.reject(op, invalidParam("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", name))
	}
	return nil
}

func (s *Server) checkStreamName(op, name string) *apiError {
	if len(name) < 1 || len(name) > 512 {
		return s.reject(op, invalidParam("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must have length between 1 and 512", name))
	}
	if strings.ContainsAny(name, ":*") {
		return s.reject(op, invalidParam("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name))
	}
	return nil
}

func (s *Server) createLogGroup(body []byte) *apiError {
	const op = "CreateLogGroup"
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if e := s.decode(op, body, &in); e != nil {
		return e
	}
	if e := s.checkGroupName(op, in.LogGroupName); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[in.LogGroupName] != nil {
		return alreadyExists("The specified log group already exists")
	}
	s.groups[in.LogGroupName] = &group{name: in.LogGroupName, created: s.now().UnixMilli(), streams: map[string]*stream{}}
	return nil
}

func (s *Server) createLogStream(body []byte) *apiError {
	const op = "CreateLogStream"
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
	}
	if e := s.decode(op, body, &in); e != nil {
		return e
	}
	if e := s.checkGroupName(op, in.LogGroupName); e != nil {
		return e
	}
	if e := s.checkStreamName(op, in.LogStreamName); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[in.LogGroupName]
	if g == nil {
		return notFound(msgGroupMissing)
	}
	if g.streams[in.LogStreamName] != nil {
		return alreadyExists("The specified log stream already exists")
	}
	g.streams[in.LogStreamName] = &stream{name: in.LogStreamName, created: s.now().UnixMilli()}
	return nil
}

// groupOf resolves logGroupName or logGroupIdentifier (a name or an ARN).
func groupOf(name, identifier string) string {
	if name != "" {
		return name
	}
	if rest, ok := strings.CutPrefix(identifier, "arn:"); ok {
		if _, after, ok := strings.Cut(rest, ":log-group:"); ok {
			return strings.TrimSuffix(after, ":*")
		}
	}
	return identifier
}

func streamARN(groupName, streamName string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", Region, AccountID, groupName, streamName)
}

type logStreamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func (s *Server) describeLogStreams(body []byte) (any, *apiError) {
	const op = "DescribeLogStreams"
	var in struct {
		LogGroupName        string `json:"logGroupName"`
		LogGroupIdentifier  string `json:"logGroupIdentifier"`
		LogStreamNamePrefix string `json:"logStreamNamePrefix"`
		Limit               int    `json:"limit"`
		NextToken           string `json:"nextToken"`
	}
	if e := s.decode(op, body, &in); e != nil {
		return nil, e
	}
	if in.Limit < 0 || in.Limit > 50 {
		return nil, s.reject(op, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50", in.Limit))
	}
	if in.Limit == 0 {
		in.Limit = 50
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupOf(in.LogGroupName, in.LogGroupIdentifier)]
	if g == nil {
		return nil, notFound(msgGroupMissing)
	}
	var names []string
	for name := range g.streams {
		if strings.HasPrefix(name, in.LogStreamNamePrefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	start, _ := strconv.Atoi(in.NextToken)
	start = min(max(start, 0), len(names))
	end := min(start+in.Limit, len(names))
	out := struct {
		LogStreams []logStreamOut `json:"logStreams"`
		NextToken  string         `json:"nextToken,omitempty"`
	}{LogStreams: []logStreamOut{}}
	for _, name := range names[start:end] {
		st := g.streams[name]
		ls := logStreamOut{LogStreamName: name, CreationTime: st.created, Arn: streamARN(g.name, name)}
		if len(st.events) > 0 {
			first, last, ingest := st.events[0].Timestamp, st.events[0].Timestamp, st.events[0].IngestionTime
			for _, e := range st.events {
				first, last, ingest = min(first, e.Timestamp), max(last, e.Timestamp), max(ingest, e.IngestionTime)
			}
			ls.FirstEventTimestamp, ls.LastEventTimestamp, ls.LastIngestionTime = &first, &last, &ingest
		}
		out.LogStreams = append(out.LogStreams, ls)
	}
	if end < len(names) {
		out.NextToken = strconv.Itoa(end)
	}
	return out, nil
}

// ---- PutLogEvents ----

type rejectedInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

func (s *Server) putLogEvents(body []byte) (any, *apiError) {
	const op = "PutLogEvents"
	var in struct {
		LogGroupName  string  `json:"logGroupName"`
		LogStreamName string  `json:"logStreamName"`
		SequenceToken *string `json:"sequenceToken"`
		LogEvents     []struct {
			Timestamp *int64  `json:"timestamp"`
			Message   *string `json:"message"`
		} `json:"logEvents"`
	}
	if e := s.decode(op, body, &in); e != nil {
		return nil, e
	}
	where := in.LogGroupName + "/" + in.LogStreamName
	if in.SequenceToken != nil {
		s.violation("%s %s: advisory: sequenceToken sent (ignored by the service since 2023)", op, where)
	}

	// Model constraints (validated before anything else).
	if e := s.checkGroupName(op, in.LogGroupName); e != nil {
		return nil, e
	}
	if e := s.checkStreamName(op, in.LogStreamName); e != nil {
		return nil, e
	}
	n := len(in.LogEvents)
	if n == 0 {
		return nil, s.reject(op+" "+where, invalidParam("1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1"))
	}
	if n > MaxBatchEvents {
		return nil, s.reject(op+" "+where, invalidParam("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to %d (got %d)", MaxBatchEvents, n))
	}
	for i, e := range in.LogEvents {
		switch {
		case e.Timestamp == nil:
			return nil, s.reject(op+" "+where, invalidParam("1 validation error detected: Value null at 'logEvents.%d.member.timestamp' failed to satisfy constraint: Member must not be null", i+1))
		case *e.Timestamp < 0:
			return nil, s.reject(op+" "+where, invalidParam("1 validation error detected: Value '%d' at 'logEvents.%d.member.timestamp' failed to satisfy constraint: Member must have value greater than or equal to 0", *e.Timestamp, i+1))
		case e.Message == nil:
			return nil, s.reject(op+" "+where, invalidParam("1 validation error detected: Value null at 'logEvents.%d.member.message' failed to satisfy constraint: Member must not be null", i+1))
		case *e.Message == "":
			return nil, s.reject(op+" "+where, invalidParam("1 validation error detected: Value '' at 'logEvents.%d.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1", i+1))
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[in.LogGroupName]
	if g == nil {
		return nil, notFound(msgGroupMissing)
	}
	st := g.streams[in.LogStreamName]
	if st == nil {
		return nil, notFound(msgStreamMissing)
	}

	rejectLocked := func(e *apiError) *apiError {
		s.violations = append(s.violations, fmt.Sprintf("%s %s: %s: %s", op, where, e.code, e.message))
		return e
	}
	total := 0
	for _, e := range in.LogEvents {
		size := len(*e.Message) + EventOverhead
		if size > s.eventLimit {
			return nil, rejectLocked(invalidParam("Log event too large: %d bytes exceeds limit of %d", size, s.eventLimit))
		}
		total += size
	}
	if total > MaxBatchBytes {
		return nil, rejectLocked(invalidParam("Upload too large: %d bytes exceeds limit of %d", total, MaxBatchBytes))
	}
	for i := 1; i < n; i++ {
		if *in.LogEvents[i].Timestamp < *in.LogEvents[i-1].Timestamp {
			return nil, rejectLocked(invalidParam("Log events in a single PutLogEvents request must be in chronological order."))
		}
	}

	now := s.now()
	oldest := now.Add(-MaxPast).UnixMilli()
	newest := now.Add(MaxFuture).UnixMilli()
	tooOldEnd, tooNewStart := 0, n
	for tooOldEnd < n && *in.LogEvents[tooOldEnd].Timestamp < oldest {
		tooOldEnd++
	}
	for tooNewStart > tooOldEnd && *in.LogEvents[tooNewStart-1].Timestamp > newest {
		tooNewStart--
	}
	if tooOldEnd < tooNewStart {
		span := *in.LogEvents[tooNewStart-1].Timestamp - *in.LogEvents[tooOldEnd].Timestamp
		if span > MaxBatchSpan.Milliseconds() {
			return nil, rejectLocked(invalidParam("The batch of log events in a single PutLogEvents request cannot span more than 24 hours."))
		}
	}

	ingest := now.UnixMilli()
	for _, e := range in.LogEvents[tooOldEnd:tooNewStart] {
		s.nextID++
		st.events = append(st.events, storedEvent{
			Event: Event{Timestamp: *e.Timestamp, Message: *e.Message, IngestionTime: ingest},
			id:    fmt.Sprintf("%056d", s.nextID),
		})
	}

	out := struct {
		RejectedLogEventsInfo *rejectedInfo `json:"rejectedLogEventsInfo,omitempty"`
	}{}
	if tooOldEnd > 0 || tooNewStart < n {
		ri := &rejectedInfo{}
		if tooOldEnd > 0 {
			ri.TooOldLogEventEndIndex = &tooOldEnd
		}
		if tooNewStart < n {
			ri.TooNewLogEventStartIndex = &tooNewStart
		}
		out.RejectedLogEventsInfo = ri
	}
	return out, nil
}

// ---- GetLogEvents / FilterLogEvents ----

func sortedEvents(evs []storedEvent) []storedEvent {
	out := slices.Clone(evs)
	slices.SortStableFunc(out, func(a, b storedEvent) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	return out
}

func inRange(ts int64, start, end *int64) bool {
	return (start == nil || ts >= *start) && (end == nil || ts < *end)
}

type outputEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

func (s *Server) getLogEvents(body []byte) (any, *apiError) {
	const op = "GetLogEvents"
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
		StartTime          *int64 `json:"startTime"`
		EndTime            *int64 `json:"endTime"`
		NextToken          string `json:"nextToken"`
		Limit              int    `json:"limit"`
		StartFromHead      bool   `json:"startFromHead"`
	}
	if e := s.decode(op, body, &in); e != nil {
		return nil, e
	}
	if in.Limit < 0 || in.Limit > 10_000 {
		return nil, s.reject(op, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000", in.Limit))
	}
	if in.Limit == 0 {
		in.Limit = 10_000
	}
	dir, pos, hasToken := strings.Cut(in.NextToken, "/")
	p, err := strconv.Atoi(pos)
	if in.NextToken != "" && (!hasToken || err != nil || (dir != "f" && dir != "b")) {
		return nil, s.reject(op, invalidParam("The specified nextToken is invalid."))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupOf(in.LogGroupName, in.LogGroupIdentifier)]
	if g == nil {
		return nil, notFound(msgGroupMissing)
	}
	st := g.streams[in.LogStreamName]
	if st == nil {
		return nil, notFound(msgStreamMissing)
	}
	var evs []storedEvent
	for _, e := range sortedEvents(st.events) {
		if inRange(e.Timestamp, in.StartTime, in.EndTime) {
			evs = append(evs, e)
		}
	}
	var start, end int
	switch {
	case in.NextToken != "" && dir == "f":
		start = min(max(p, 0), len(evs))
		end = min(start+in.Limit, len(evs))
	case in.NextToken != "" && dir == "b":
		end = min(max(p, 0), len(evs))
		start = max(end-in.Limit, 0)
	case in.StartFromHead:
		start, end = 0, min(in.Limit, len(evs))
	default:
		end = len(evs)
		start = max(end-in.Limit, 0)
	}
	out := struct {
		Events            []outputEvent `json:"events"`
		NextForwardToken  string        `json:"nextForwardToken"`
		NextBackwardToken string        `json:"nextBackwardToken"`
	}{Events: []outputEvent{}, NextForwardToken: fmt.Sprintf("f/%d", end), NextBackwardToken: fmt.Sprintf("b/%d", start)}
	for _, e := range evs[start:end] {
		out.Events = append(out.Events, outputEvent{e.Timestamp, e.Message, e.IngestionTime})
	}
	return out, nil
}

func matchesPattern(msg, pattern string) bool {
	for _, term := range strings.Fields(pattern) {
		if !strings.Contains(msg, strings.Trim(term, `"`)) {
			return false
		}
	}
	return true
}

func (s *Server) filterLogEvents(body []byte) (any, *apiError) {
	const op = "FilterLogEvents"
	var in struct {
		LogGroupName        string   `json:"logGroupName"`
		LogGroupIdentifier  string   `json:"logGroupIdentifier"`
		LogStreamNames      []string `json:"logStreamNames"`
		LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
		StartTime           *int64   `json:"startTime"`
		EndTime             *int64   `json:"endTime"`
		FilterPattern       string   `json:"filterPattern"`
		NextToken           string   `json:"nextToken"`
		Limit               int      `json:"limit"`
	}
	if e := s.decode(op, body, &in); e != nil {
		return nil, e
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, s.reject(op, invalidParam("You cannot specify both LogStreamNames and LogStreamNamePrefix."))
	}
	if in.Limit < 0 || in.Limit > 10_000 {
		return nil, s.reject(op, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000", in.Limit))
	}
	if in.Limit == 0 {
		in.Limit = 10_000
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupOf(in.LogGroupName, in.LogGroupIdentifier)]
	if g == nil {
		return nil, notFound(msgGroupMissing)
	}
	type hit struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
		EventID       string `json:"eventId"`
	}
	var hits []hit
	for name, st := range g.streams {
		if len(in.LogStreamNames) > 0 && !slices.Contains(in.LogStreamNames, name) {
			continue
		}
		if !strings.HasPrefix(name, in.LogStreamNamePrefix) {
			continue
		}
		for _, e := range st.events {
			if inRange(e.Timestamp, in.StartTime, in.EndTime) && matchesPattern(e.Message, in.FilterPattern) {
				hits = append(hits, hit{name, e.Timestamp, e.Message, e.IngestionTime, e.id})
			}
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.Timestamp, b.Timestamp), cmp.Compare(a.EventID, b.EventID))
	})
	start, _ := strconv.Atoi(in.NextToken)
	start = min(max(start, 0), len(hits))
	end := min(start+in.Limit, len(hits))
	out := struct {
		Events    []hit  `json:"events"`
		NextToken string `json:"nextToken,omitempty"`
	}{Events: append([]hit{}, hits[start:end]...)}
	if end < len(hits) {
		out.NextToken = strconv.Itoa(end)
	}
	return out, nil
}
