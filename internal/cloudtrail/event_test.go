package cloudtrail

import (
	"crypto/tls"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEventMarshalsInCloudTrailFieldOrder(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		name string
		call Call
		want string
	}{
		{
			name: "access denied by an IAM user",
			call: Call{
				Operation: "InvokeModel", Time: at, SourceIP: "198.51.100.7", UserAgent: "Boto3/1.38.0",
				Principal:    Principal{ARN: "arn:aws:iam::123456789012:user/x", AccessKeyID: "AKIAEXAMPLE", PrincipalID: "AIDAEXAMPLE"},
				ErrorCode:    "AccessDenied",
				ErrorMessage: "User: arn:aws:iam::123456789012:user/x is not authorized",
				RequestID:    "r1", ReadOnly: true,
			},
			want: `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/x","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"x"},` +
				`"eventTime":"2025-06-01T12:00:00Z","eventSource":"bedrock.amazonaws.com","eventName":"InvokeModel","awsRegion":"us-east-1",` +
				`"sourceIPAddress":"198.51.100.7","userAgent":"Boto3/1.38.0","errorCode":"AccessDenied","errorMessage":"User: arn:aws:iam::123456789012:user/x is not authorized",` +
				`"requestParameters":null,"responseElements":null,"requestID":"r1","eventID":"e1","readOnly":true,"eventType":"AwsApiCall",` +
				`"managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`,
		},
		{
			name: "successful call by an assumed role over TLS",
			call: Call{
				Operation: "PutModelInvocationLoggingConfiguration", Time: at, SourceIP: "10.0.0.1", UserAgent: "aws-cli",
				Principal:         Principal{ARN: "arn:aws:sts::123456789012:assumed-role/Admin/sess", AccessKeyID: "ASIAEXAMPLE", SessionCreated: at.Add(-time.Hour)},
				RequestParameters: json.RawMessage(`{"loggingConfig":{"textDataDeliveryEnabled":true}}`),
				RequestID:         "r2",
				Resources:         []Resource{{ARN: "arn:aws:bedrock:us-east-1:123456789012:logging", AccountID: "123456789012", Type: "AWS::Bedrock::Logging"}},
				TLS:               &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256},
				Host:              "bedrock.us-east-1.amazonaws.com",
			},
			want: `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"` + uniqueID("AROA", "arn:aws:iam::123456789012:role/Admin") + `:sess",` +
				`"arn":"arn:aws:sts::123456789012:assumed-role/Admin/sess","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE",` +
				`"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"` + uniqueID("AROA", "arn:aws:iam::123456789012:role/Admin") + `","arn":"arn:aws:iam::123456789012:role/Admin","accountId":"123456789012","userName":"Admin"},` +
				`"attributes":{"creationDate":"2025-06-01T11:00:00Z","mfaAuthenticated":"false"}}},` +
				`"eventTime":"2025-06-01T12:00:00Z","eventSource":"bedrock.amazonaws.com","eventName":"PutModelInvocationLoggingConfiguration","awsRegion":"us-east-1",` +
				`"sourceIPAddress":"10.0.0.1","userAgent":"aws-cli","requestParameters":{"loggingConfig":{"textDataDeliveryEnabled":true}},"responseElements":null,` +
				`"requestID":"r2","eventID":"e1","readOnly":false,"resources":[{"ARN":"arn:aws:bedrock:us-east-1:123456789012:logging","accountId":"123456789012","type":"AWS::Bedrock::Logging"}],` +
				`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management",` +
				`"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"bedrock.us-east-1.amazonaws.com"}}`,
		},
		{
			name: "unauthenticated call",
			call: Call{Operation: "InvokeModel", Time: at, SourceIP: "203.0.113.9", ErrorCode: "UnrecognizedClientException", ErrorMessage: "no signature", RequestID: "r3", ReadOnly: true},
			want: `{"eventVersion":"1.09","userIdentity":{"type":"Unknown","principalId":"","accountId":"ANONYMOUS_PRINCIPAL"},` +
				`"eventTime":"2025-06-01T12:00:00Z","eventSource":"bedrock.amazonaws.com","eventName":"InvokeModel","awsRegion":"us-east-1",` +
				`"sourceIPAddress":"203.0.113.9","userAgent":"","errorCode":"UnrecognizedClientException","errorMessage":"no signature",` +
				`"requestParameters":null,"responseElements":null,"requestID":"r3","eventID":"e1","readOnly":true,"eventType":"AwsApiCall",` +
				`"managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEvent(tc.call)
			e.EventID = "e1"
			e.fill("us-east-1", "123456789012", at)
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b, tc.want)
			}
		})
	}
}

func TestRecordFillsEventIDAndDefaults(t *testing.T) {
	e := &Event{EventName: "ListFoundationModels"}
	e.fill(testRegion, testAccount, time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC))
	if len(e.EventID) != 36 || e.EventVersion != EventVersion || e.AWSRegion != testRegion || e.RecipientAccountID != testAccount ||
		e.EventTime.Format(TimeFormat) != "2025-01-02T03:04:05Z" || e.EventType != EventTypeAPICall || e.EventCategory != CategoryManagement {
		t.Errorf("fill left %+v", e)
	}
}

func TestNewEventTruncatesAndRejectsOversizedFields(t *testing.T) {
	long := strings.Repeat("é", 700) // 1400 bytes
	e := NewEvent(Call{UserAgent: long, ErrorMessage: long, RequestParameters: map[string]string{"x": strings.Repeat("a", MaxParameters)},
		ResponseElements: json.RawMessage(`[1,2]`)})
	for name, v := range map[string]string{"userAgent": e.UserAgent, "errorMessage": e.ErrorMessage} {
		if len(v) > MaxUserAgent || !utf8.ValidString(v) || len(v) < MaxUserAgent-1 {
			t.Errorf("%s: %d bytes, valid UTF-8 %v", name, len(v), utf8.ValidString(v))
		}
	}
	if e.RequestParameters != nil || e.ResponseElements != nil {
		t.Errorf("oversized / non-object parameters kept: %s / %s", e.RequestParameters, e.ResponseElements)
	}
}

func TestUsernameForLookup(t *testing.T) {
	for _, tc := range []struct{ arn, want string }{
		{"arn:aws:iam::1:user/alice", "alice"},
		{"arn:aws:iam::1:user/path/bob", "bob"},
		{"arn:aws:sts::1:assumed-role/R/sess", "sess"},
		{"", ""},
	} {
		id := IdentityOf(Principal{ARN: tc.arn}, time.Now())
		if got := id.Username(); got != tc.want {
			t.Errorf("Username(%q) = %q, want %q", tc.arn, got, tc.want)
		}
	}
}

// FuzzTimeUnmarshal: Time round-trips whatever it accepts.
func FuzzTimeUnmarshal(f *testing.F) {
	for _, s := range []string{`"2025-06-01T12:00:00Z"`, `null`, `"2025-06-01T12:00:00+02:00"`, `""`, `1`, `"x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var tm Time
		if err := json.Unmarshal([]byte(s), &tm); err != nil {
			return
		}
		b, err := json.Marshal(tm)
		if err != nil {
			t.Fatalf("marshal after accepting %q: %v", s, err)
		}
		var again Time
		if err := json.Unmarshal(b, &again); err != nil {
			if tm.Year() < 0 || tm.Year() > 9999 {
				return // RFC 3339 cannot write such years back
			}
			t.Fatalf("re-read %s: %v", b, err)
		}
		if !again.Equal(tm.Truncate(time.Second)) {
			t.Fatalf("round trip %q -> %s -> %v", s, b, again)
		}
	})
}
