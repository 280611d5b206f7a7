package cloudtrail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// JSON 1.1 targets of the CloudTrail API served by Handler. Handler also
// accepts them without the "com.amazonaws.cloudtrail.v20131101." part,
// which is what the AWS SDK for Go v2 sends.
const (
	TargetPrefix         = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
	TargetLookupEvents   = TargetPrefix + "LookupEvents"
	TargetListPublicKeys = TargetPrefix + "ListPublicKeys"
	// ActionLookupEvents and ActionListPublicKeys are the IAM actions
	// passed to authorize.
	ActionLookupEvents   = "cloudtrail:LookupEvents"
	ActionListPublicKeys = "cloudtrail:ListPublicKeys"
)

// CloudTrail exception names.
const (
	ErrInvalidLookupAttributes = "InvalidLookupAttributesException"
	ErrInvalidTimeRange        = "InvalidTimeRangeException"
	ErrInvalidMaxResults       = "InvalidMaxResultsException"
	ErrInvalidNextToken        = "InvalidNextTokenException"
	ErrInvalidEventCategory    = "InvalidEventCategoryException"
	ErrUnsupportedOperation    = "UnsupportedOperationException"
	ErrOperationNotPermitted   = "OperationNotPermittedException"
)

// lookupAttributeKeys are LookupEvents' attribute keys.
var lookupAttributeKeys = map[string]bool{
	"EventId": true, "EventName": true, "ReadOnly": true, "Username": true,
	"ResourceType": true, "ResourceName": true, "EventSource": true, "AccessKeyId": true,
}

// LookupAttribute is one LookupEvents filter.
type LookupAttribute struct {
	AttributeKey   string
	AttributeValue string
}

// LookupRequest is LookupEvents' input.
type LookupRequest struct {
	LookupAttributes []LookupAttribute
	StartTime        *EpochTime
	EndTime          *EpochTime
	EventCategory    *string
	MaxResults       *int
	NextToken        *string
}

// EpochTime is a timestamp as JSON 1.1 sends it: epoch seconds, possibly
// fractional.
type EpochTime struct{ time.Time }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t EpochTime) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON reads epoch seconds (a number).
func (t *EpochTime) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return fmt.Errorf("not epoch seconds: %s", b)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

// lookupToken is what a NextToken carries: the parameters it is bound to
// and the position after the last event returned.
type lookupToken struct {
	Params string `json:"p"`
	Time   int64  `json:"t"`
	Day    string `json:"d"`
	Line   int    `json:"l"`
}

// parseLookupRequest decodes and checks a LookupEvents body. It returns
// the request, its defaulted time range, its page size and the position a
// NextToken continues after (nil for the first page), or a CloudTrail
// exception name and message.
func parseLookupRequest(body []byte, now time.Time) (req LookupRequest, start, end time.Time, limit int, after *lookupToken, code, msg string) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return req, start, end, 0, nil, "SerializationException", "cannot read the request: " + err.Error()
	}
	if len(req.LookupAttributes) > 1 {
		return req, start, end, 0, nil, ErrInvalidLookupAttributes, "You cannot specify more than one lookup attribute."
	}
	for _, a := range req.LookupAttributes {
		if !lookupAttributeKeys[a.AttributeKey] {
			return req, start, end, 0, nil, ErrInvalidLookupAttributes, fmt.Sprintf("Invalid attribute key: %q.", a.AttributeKey)
		}
		if n := len(a.AttributeValue); n < 1 || n > 2000 {
			return req, start, end, 0, nil, ErrInvalidLookupAttributes, "The attribute value must be 1 to 2000 characters."
		}
	}
	if req.EventCategory != nil && *req.EventCategory != "insight" {
		return req, start, end, 0, nil, ErrInvalidEventCategory, fmt.Sprintf("Invalid event category: %q.", *req.EventCategory)
	}
	end, start = now.UTC(), now.UTC().Add(-Retention)
	if req.EndTime != nil {
		end = req.EndTime.Time
	}
	if req.StartTime != nil {
		start = req.StartTime.Time
	}
	if start.After(end) {
		return req, start, end, 0, nil, ErrInvalidTimeRange, "The start time must not be after the end time."
	}
	limit = 50
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > 50 {
			return req, start, end, 0, nil, ErrInvalidMaxResults, "MaxResults must be from 1 to 50."
		}
		limit = *req.MaxResults
	}
	if req.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*req.NextToken)
		var tok lookupToken
		if err != nil || json.Unmarshal(b, &tok) != nil || tok.Params != req.paramsHash() {
			return req, start, end, 0, nil, ErrInvalidNextToken, "The NextToken is invalid or was issued for other parameters."
		}
		after = &tok
	}
	return req, start, end, limit, after, "", ""
}

// paramsHash binds a NextToken to the request's other parameters.
func (r *LookupRequest) paramsHash() string {
	c := *r
	c.NextToken = nil
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// matches reports whether e matches the request's attribute.
func (r *LookupRequest) matches(e *Event) bool {
	if r.EventCategory != nil {
		return false // no Insights events
	}
	if len(r.LookupAttributes) == 0 {
		return true
	}
	a := r.LookupAttributes[0]
	v := a.AttributeValue
	switch a.AttributeKey {
	case "EventId":
		return e.EventID == v
	case "EventName":
		return e.EventName == v
	case "ReadOnly":
		return strconv.FormatBool(e.ReadOnly) == v
	case "Username":
		return e.UserIdentity.Username() == v
	case "EventSource":
		return e.EventSource == v
	case "AccessKeyId":
		return e.UserIdentity.AccessKeyID == v
	case "ResourceType", "ResourceName":
		for _, res := range e.Resources {
			if (a.AttributeKey == "ResourceType" && res.Type == v) || (a.AttributeKey == "ResourceName" && res.ARN == v) {
				return true
			}
		}
	}
	return false
}

type lookupResource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

type lookupEvent struct {
	EventID         string           `json:"EventId"`
	EventName       string           `json:"EventName"`
	ReadOnly        string           `json:"ReadOnly"`
	AccessKeyID     string           `json:"AccessKeyId,omitempty"`
	EventTime       EpochTime        `json:"EventTime"`
	EventSource     string           `json:"EventSource"`
	Username        string           `json:"Username,omitempty"`
	Resources       []lookupResource `json:"Resources,omitempty"`
	CloudTrailEvent string           `json:"CloudTrailEvent"`
}

type lookupResponse struct {
	Events    []lookupEvent `json:"Events"`
	NextToken string        `json:"NextToken,omitempty"`
}

type publicKeyJSON struct {
	Value             []byte    `json:"Value"`
	ValidityStartTime EpochTime `json:"ValidityStartTime"`
	ValidityEndTime   EpochTime `json:"ValidityEndTime"`
	Fingerprint       string    `json:"Fingerprint"`
}

// Handler serves CloudTrail's LookupEvents and ListPublicKeys (JSON 1.1,
// POST /, X-Amz-Target). authorize checks the caller (SigV4, service
// cloudtrail) for the action (ActionLookupEvents, ActionListPublicKeys);
// an *apierror.Error it returns is written as a JSON 1.1 error.
func (t *Trail) Handler(authorize func(r *http.Request, body []byte, action string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, "UnknownOperationException", "use POST")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeError(w, http.StatusBadRequest, "SerializationException", "cannot read the body")
			return
		}
		target := r.Header.Get("X-Amz-Target")
		var action string
		switch "com.amazonaws.cloudtrail.v20131101." + strings.TrimPrefix(target, "com.amazonaws.cloudtrail.v20131101.") {
		case TargetLookupEvents:
			action = ActionLookupEvents
		case TargetListPublicKeys:
			action = ActionListPublicKeys
		default:
			writeError(w, http.StatusBadRequest, "UnknownOperationException", "unknown operation "+target)
			return
		}
		if authorize != nil {
			if err := authorize(r, body, action); err != nil {
				var ae *apierror.Error
				if !errors.As(err, &ae) {
					ae = apierror.From(err)
				}
				writeError(w, ae.Status(), string(ae.Code), ae.Message)
				return
			}
		}
		if action == ActionListPublicKeys {
			t.serveListPublicKeys(w, body)
			return
		}
		t.serveLookup(w, r, body)
	})
}

func (t *Trail) serveLookup(w http.ResponseWriter, r *http.Request, body []byte) {
	req, start, end, limit, after, code, msg := parseLookupRequest(body, t.opts.Now())
	if code != "" {
		writeError(w, http.StatusBadRequest, code, msg)
		return
	}
	t.waitIndexed(r.Context(), time.Second)
	evs, err := t.index.scan(start, end, req.matches)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalFailure", "cannot read the event index")
		return
	}
	resp := lookupResponse{Events: []lookupEvent{}}
	var cur *indexed
	if after != nil {
		cur = &indexed{ev: Event{EventTime: Time{time.Unix(after.Time, 0).UTC()}}, day: after.Day, line: after.Line}
	}
	i := 0
	if cur != nil {
		for i < len(evs) && !cur.after(&evs[i]) {
			i++
		}
	}
	for ; i < len(evs) && len(resp.Events) < limit; i++ {
		e := &evs[i]
		le := lookupEvent{
			EventID: e.ev.EventID, EventName: e.ev.EventName, ReadOnly: strconv.FormatBool(e.ev.ReadOnly),
			AccessKeyID: e.ev.UserIdentity.AccessKeyID, EventTime: EpochTime{e.ev.EventTime.Time},
			EventSource: e.ev.EventSource, Username: e.ev.UserIdentity.Username(), CloudTrailEvent: string(e.raw),
		}
		for _, res := range e.ev.Resources {
			le.Resources = append(le.Resources, lookupResource{ResourceType: res.Type, ResourceName: res.ARN})
		}
		resp.Events = append(resp.Events, le)
	}
	if i < len(evs) && len(resp.Events) > 0 {
		last := &evs[i-1]
		b, _ := json.Marshal(lookupToken{Params: req.paramsHash(), Time: last.ev.EventTime.Unix(), Day: last.day, Line: last.line})
		resp.NextToken = base64.RawURLEncoding.EncodeToString(b)
	}
	writeJSON(w, resp)
}

func (t *Trail) serveListPublicKeys(w http.ResponseWriter, body []byte) {
	var req struct {
		StartTime *EpochTime
		EndTime   *EpochTime
		NextToken *string
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, "SerializationException", "cannot read the request: "+err.Error())
			return
		}
	}
	if req.StartTime != nil && req.EndTime != nil && req.StartTime.After(req.EndTime.Time) {
		writeError(w, http.StatusBadRequest, ErrInvalidTimeRange, "The start time must not be after the end time.")
		return
	}
	if req.NextToken != nil {
		writeError(w, http.StatusBadRequest, "InvalidTokenException", "The NextToken is invalid.")
		return
	}
	out := struct {
		PublicKeyList []publicKeyJSON
	}{PublicKeyList: []publicKeyJSON{}}
	for _, k := range t.PublicKeys() {
		if req.EndTime != nil && k.ValidityStartTime.After(req.EndTime.Time) {
			continue
		}
		if req.StartTime != nil && k.ValidityEndTime.Before(req.StartTime.Time) {
			continue
		}
		out.PublicKeyList = append(out.PublicKeyList, publicKeyJSON{Value: k.Value, ValidityStartTime: EpochTime{k.ValidityStartTime},
			ValidityEndTime: EpochTime{k.ValidityEndTime}, Fingerprint: k.Fingerprint})
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalFailure", "cannot encode the response")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// writeError writes a JSON 1.1 error: {"__type": code, "message": msg}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// Recent returns the newest events of the last 90 days, newest first, at
// most limit, as their CloudTrail records: what the dashboard's audit view
// shows. Like LookupEvents, it first waits (up to a second) for the index
// to hold what was recorded before the call.
func (t *Trail) Recent(ctx context.Context, limit int) ([]json.RawMessage, error) {
	t.waitIndexed(ctx, time.Second)
	now := t.opts.Now()
	evs, err := t.index.scan(now.Add(-Retention), now.Add(time.Minute), func(*Event) bool { return true })
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, min(limit, len(evs)))
	for _, e := range evs[:min(limit, len(evs))] {
		out = append(out, json.RawMessage(e.raw))
	}
	return out, nil
}
