package cwlogs

import (
	"fmt"
	"strings"
	"time"
)

// Reason says why an event was not stored.
type Reason string

// Reasons for rejected events. ReasonTooLarge, ReasonEmpty and a negative
// timestamp (reported as ReasonTooOld) are detected by the Writer before
// sending; the others are reported by the service in rejectedLogEventsInfo.
const (
	// ReasonTooLarge: the message is longer than the event size limit.
	ReasonTooLarge Reason = "tooLarge"
	// ReasonEmpty: the message is empty (the API requires at least 1 byte).
	ReasonEmpty Reason = "empty"
	// ReasonTooOld: more than 14 days old (tooOldLogEventEndIndex), or before
	// the Unix epoch.
	ReasonTooOld Reason = "tooOld"
	// ReasonTooNew: more than 2 hours in the future (tooNewLogEventStartIndex).
	ReasonTooNew Reason = "tooNew"
	// ReasonExpired: older than the log group's retention
	// (expiredLogEventEndIndex).
	ReasonExpired Reason = "expired"
)

// Rejection is one event that was not stored.
type Rejection struct {
	// Index is the event's index in the slice passed to Put.
	Index int
	// Timestamp is the event's timestamp.
	Timestamp time.Time
	// Reason says why it was rejected.
	Reason Reason
}

// RejectedError reports events that were not stored while the others were.
// Put returns it (possibly joined with a delivery error; use errors.As).
type RejectedError struct {
	// Rejections lists the rejected events, in no particular order.
	Rejections []Rejection
}

// Count returns how many events were rejected for the reason.
func (e *RejectedError) Count(r Reason) int {
	n := 0
	for _, x := range e.Rejections {
		if x.Reason == r {
			n++
		}
	}
	return n
}

// Error summarises the rejections by reason.
func (e *RejectedError) Error() string {
	var parts []string
	for _, r := range []Reason{ReasonTooLarge, ReasonEmpty, ReasonTooOld, ReasonTooNew, ReasonExpired} {
		if n := e.Count(r); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	return fmt.Sprintf("cwlogs: %d log events rejected (%s)", len(e.Rejections), strings.Join(parts, ", "))
}
