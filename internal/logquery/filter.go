package logquery

import (
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/invocationlog"
)

// Filter selects records. Zero fields select everything; set fields must
// all match.
type Filter struct {
	// Since (inclusive) and Until (exclusive) bound the record's timestamp.
	// Records carry whole seconds, so Since 12:00:00.5 selects from
	// 12:00:01. A record whose timestamp does not parse never matches a
	// time bound.
	Since, Until time.Time
	// ModelID matches the record's modelId exactly, or as the part after
	// the last "/" of an ARN: "amazon.nova-lite-v1:0" matches
	// "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
	// and "us.amazon.nova-lite-v1:0" matches the inference profile ARN
	// ".../inference-profile/us.amazon.nova-lite-v1:0". Case matters, as in
	// Bedrock's model IDs.
	ModelID string
	// Principal matches identity.arn exactly, or its last path element (the
	// user name of arn:...:user/path/name, the session name of
	// arn:...:assumed-role/role/session), or the role name of an
	// assumed-role ARN.
	Principal string
	// Operation matches the operation name, ignoring case.
	Operation string
	// RequestID matches requestId exactly.
	RequestID string
	// Errors selects failed calls only (a non-empty errorCode).
	Errors bool
	// ErrorCode matches errorCode exactly (for example ThrottlingException).
	ErrorCode string
}

// Match reports whether r passes f.
func (f Filter) Match(r *invocationlog.Record) bool {
	if f.RequestID != "" && r.RequestID != f.RequestID {
		return false
	}
	if f.Operation != "" && !strings.EqualFold(r.Operation, f.Operation) {
		return false
	}
	if f.Errors && r.ErrorCode == "" {
		return false
	}
	if f.ErrorCode != "" && r.ErrorCode != f.ErrorCode {
		return false
	}
	if f.ModelID != "" && r.ModelID != f.ModelID && !strings.HasSuffix(r.ModelID, "/"+f.ModelID) {
		return false
	}
	if f.Principal != "" && !matchPrincipal(r.Identity.ARN, f.Principal) {
		return false
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		t, err := time.Parse(time.RFC3339, r.Timestamp)
		if err != nil {
			return false
		}
		if !f.Since.IsZero() && t.Before(f.Since) {
			return false
		}
		if !f.Until.IsZero() && !t.Before(f.Until) {
			return false
		}
	}
	return true
}

// matchPrincipal matches a principal ARN against a filter value: the whole
// ARN, its last path element, or an assumed role's role name.
func matchPrincipal(arn, want string) bool {
	if arn == want {
		return true
	}
	i := strings.LastIndexByte(arn, ':')
	if i < 0 {
		return false
	}
	path := strings.Split(arn[i+1:], "/") // user/path/name, assumed-role/role/session
	if len(path) < 2 {
		return false
	}
	if path[len(path)-1] == want {
		return true
	}
	return path[0] == "assumed-role" && len(path) >= 3 && path[1] == want
}

// hourInRange reports whether the UTC hour starting at h can hold records
// that f's time bounds admit.
func (f Filter) hourInRange(h time.Time) bool {
	if !f.Since.IsZero() && !h.Add(time.Hour).After(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !h.Before(f.Until) {
		return false
	}
	return true
}
