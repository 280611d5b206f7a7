// Package webhook delivers notifications the way Amazon SNS delivers them
// to an HTTP(S) subscription: a JSON Notification envelope POSTed with
// SNS's headers, retried a bounded number of times. Budgets and alarms
// send through it, so that one endpoint that already takes SNS messages
// (an incident tool, a chat bridge) takes modelwatch's too.
//
// Decisions:
//
//   - The envelope has SNS's fields and names (Type, MessageId, TopicArn,
//     Subject, Message, Timestamp, SignatureVersion, ...); it is not
//     signed (Signature empty): there is no SNS certificate to sign with.
//     Endpoints that verify SNS signatures must be told to skip it.
//   - Delivery is at most Attempts tries (1 s, then 2 s apart) with a
//     10-second timeout each, stopping at the first 2xx; 4xx answers other
//     than 408 and 429 are final. Callers run it off the request path.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Envelope is the SNS Notification a subscribed endpoint receives.
type Envelope struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	UnsubscribeURL   string `json:"UnsubscribeURL"`
}

// Notification returns the envelope of a message from topicArn (may be
// empty), with a fresh MessageId and SNS's timestamp format.
func Notification(topicArn, subject, message string, at time.Time) Envelope {
	return Envelope{
		Type:             "Notification",
		MessageID:        uuid.NewString(),
		TopicArn:         topicArn,
		Subject:          subject,
		Message:          message,
		Timestamp:        at.UTC().Format("2006-01-02T15:04:05.000Z"),
		SignatureVersion: "1",
	}
}

// Delivery policy of Post.
const (
	// Attempts is how many times Post tries one endpoint.
	Attempts = 3
	// Timeout bounds one attempt when Post makes its own client.
	Timeout = 10 * time.Second
)

// Backoff is the wait before retry i+1 (1 s, 2 s); tests shorten it.
var Backoff = func(i int) time.Duration { return time.Duration(1<<i) * time.Second }

// Post POSTs env to url with SNS's headers (x-amz-sns-message-type,
// -message-id, -topic-arn; Content-Type text/plain as SNS sends it), up
// to Attempts times until a 2xx answer. client nil means a client with
// Timeout.
func Post(ctx context.Context, client *http.Client, url string, env Envelope) error {
	if client == nil {
		client = &http.Client{Timeout: Timeout}
	}
	body, err := json.Marshal(env)
	if err != nil {
		return err
	}
	var last error
	for i := range Attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(Backoff(i - 1)):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
		req.Header.Set("x-amz-sns-message-type", "Notification")
		req.Header.Set("x-amz-sns-message-id", env.MessageID)
		if env.TopicArn != "" {
			req.Header.Set("x-amz-sns-topic-arn", env.TopicArn)
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("webhook %s answered %s", url, resp.Status)
		if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return last
		}
	}
	return last
}
