package cloudtrail

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// sdkClient returns the unmodified CloudTrail client pointed at h.
func sdkClient(t *testing.T, h http.Handler) *cloudtrail.Client {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return cloudtrail.New(cloudtrail.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:   srv.Client(),
	})
}

// lookupTrail records 7 InvokeModel (read-only, alice) and 5
// PutModelInvocationLoggingConfiguration (bob, an assumed role) events.
func lookupTrail(t *testing.T) *Trail {
	tr := openTrail(t, testOptions(t, t.TempDir(), localStore(t)))
	tr.Start()
	t.Cleanup(func() { closeTrail(t, tr) })
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range 12 {
		c := Call{Operation: "InvokeModel", ReadOnly: true, Time: base.Add(time.Duration(i) * time.Minute), RequestID: "r",
			Principal: Principal{ARN: "arn:aws:iam::" + testAccount + ":user/alice", AccessKeyID: "AKIAALICE"},
			Resources: []Resource{{ARN: "arn:aws:bedrock:us-east-1::foundation-model/m", AccountID: testAccount, Type: "AWS::Bedrock::FoundationModel"}}}
		if i%12 >= 7 {
			c.Operation, c.ReadOnly, c.Resources = "PutModelInvocationLoggingConfiguration", false, nil
			c.Principal = Principal{ARN: "arn:aws:sts::" + testAccount + ":assumed-role/Admin/bob", AccessKeyID: "ASIABOB"}
		}
		tr.Record(NewEvent(c))
	}
	return tr
}

func TestLookupEventsWithTheSDK(t *testing.T) {
	tr := lookupTrail(t)
	client := sdkClient(t, tr.Handler(nil))
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		attr      *types.LookupAttribute
		pageSize  int32
		want      int
		wantPages int
		check     func(types.Event) bool
	}{
		{"all events, newest first, in pages of 5", nil, 5, 12, 3, func(types.Event) bool { return true }},
		{"by event name", &types.LookupAttribute{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("InvokeModel")}, 3, 7, 3,
			func(e types.Event) bool {
				return aws.ToString(e.EventName) == "InvokeModel" && aws.ToString(e.ReadOnly) == "true"
			}},
		{"by user name of an assumed role", &types.LookupAttribute{AttributeKey: types.LookupAttributeKeyUsername, AttributeValue: aws.String("bob")}, 50, 5, 1,
			func(e types.Event) bool {
				return aws.ToString(e.Username) == "bob" && aws.ToString(e.AccessKeyId) == "ASIABOB"
			}},
		{"read-only false", &types.LookupAttribute{AttributeKey: types.LookupAttributeKeyReadOnly, AttributeValue: aws.String("false")}, 2, 5, 3,
			func(e types.Event) bool { return aws.ToString(e.ReadOnly) == "false" }},
		{"by resource type", &types.LookupAttribute{AttributeKey: types.LookupAttributeKeyResourceType, AttributeValue: aws.String("AWS::Bedrock::FoundationModel")}, 50, 7, 1,
			func(e types.Event) bool {
				return len(e.Resources) == 1 && aws.ToString(e.Resources[0].ResourceName) == "arn:aws:bedrock:us-east-1::foundation-model/m"
			}},
		{"no match", &types.LookupAttribute{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("Nope")}, 50, 0, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(tc.pageSize)}
			if tc.attr != nil {
				in.LookupAttributes = []types.LookupAttribute{*tc.attr}
			}
			p := cloudtrail.NewLookupEventsPaginator(client, in)
			var evs []types.Event
			pages := 0
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				evs = append(evs, out.Events...)
			}
			if len(evs) != tc.want || pages != tc.wantPages {
				t.Fatalf("%d events in %d pages, want %d in %d", len(evs), pages, tc.want, tc.wantPages)
			}
			seen := map[string]bool{}
			for i, e := range evs {
				if tc.check != nil && !tc.check(e) {
					t.Errorf("event %d does not match: %+v", i, e)
				}
				if seen[aws.ToString(e.EventId)] {
					t.Errorf("event %s returned twice", aws.ToString(e.EventId))
				}
				seen[aws.ToString(e.EventId)] = true
				if i > 0 && e.EventTime.After(*evs[i-1].EventTime) {
					t.Errorf("event %d newer than event %d", i, i-1)
				}
				var rec map[string]any
				if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec); err != nil || rec["eventID"] != aws.ToString(e.EventId) ||
					rec["eventSource"] != "bedrock.amazonaws.com" || aws.ToString(e.EventSource) != "bedrock.amazonaws.com" {
					t.Errorf("CloudTrailEvent %q: %v", aws.ToString(e.CloudTrailEvent), err)
				}
			}
		})
	}

	t.Run("by event id", func(t *testing.T) {
		all, err := client.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(1)})
		if err != nil || len(all.Events) != 1 {
			t.Fatal(err)
		}
		id := all.Events[0].EventId
		out, err := client.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventId, AttributeValue: id}}})
		if err != nil || len(out.Events) != 1 || aws.ToString(out.Events[0].EventId) != aws.ToString(id) {
			t.Fatalf("by id: %+v, %v", out, err)
		}
	})

	t.Run("time range", func(t *testing.T) {
		from := time.Now().Add(-time.Hour).Add(90 * time.Second)
		out, err := client.LookupEvents(ctx, &cloudtrail.LookupEventsInput{StartTime: aws.Time(from), EndTime: aws.Time(from.Add(3 * time.Minute))})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) != 3 {
			t.Fatalf("3-minute window: %d events", len(out.Events))
		}
	})

	t.Run("events survive a restart", func(t *testing.T) {
		// The index lives in Dir: a fresh index on the same directory
		// (as after a restart) finds every event.
		ix, err := openIndex(tr.index.dir, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := ix.scan(time.Now().Add(-2*time.Hour), time.Now(), func(*Event) bool { return true })
		if err != nil || len(evs) != 12 {
			t.Fatalf("reopened index: %d events, %v", len(evs), err)
		}
	})
}

func TestLookupEventsErrorsAreTheSDKsExceptions(t *testing.T) {
	tr := lookupTrail(t)
	client := sdkClient(t, tr.Handler(nil))
	ctx := context.Background()
	page1, err := client.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(2)})
	if err != nil || page1.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	attr := func(k types.LookupAttributeKey, v string) types.LookupAttribute {
		return types.LookupAttribute{AttributeKey: k, AttributeValue: aws.String(v)}
	}
	for _, tc := range []struct {
		name string
		in   *cloudtrail.LookupEventsInput
		want any
	}{
		{"two attributes", &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{attr("EventName", "a"), attr("Username", "b")}}, &types.InvalidLookupAttributesException{}},
		{"unknown attribute", &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{attr("Color", "a")}}, &types.InvalidLookupAttributesException{}},
		{"start after end", &cloudtrail.LookupEventsInput{StartTime: aws.Time(time.Now()), EndTime: aws.Time(time.Now().Add(-time.Hour))}, &types.InvalidTimeRangeException{}},
		{"max results 51", &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)}, &types.InvalidMaxResultsException{}},
		{"token with other parameters", &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(3), NextToken: page1.NextToken}, &types.InvalidNextTokenException{}},
		{"garbage token", &cloudtrail.LookupEventsInput{NextToken: aws.String("!!")}, &types.InvalidNextTokenException{}},
		{"event category", &cloudtrail.LookupEventsInput{EventCategory: "management"}, &types.InvalidEventCategoryException{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.LookupEvents(ctx, tc.in)
			var ok bool
			switch tc.want.(type) {
			case *types.InvalidLookupAttributesException:
				var e *types.InvalidLookupAttributesException
				ok = errors.As(err, &e)
			case *types.InvalidTimeRangeException:
				var e *types.InvalidTimeRangeException
				ok = errors.As(err, &e)
			case *types.InvalidMaxResultsException:
				var e *types.InvalidMaxResultsException
				ok = errors.As(err, &e)
			case *types.InvalidNextTokenException:
				var e *types.InvalidNextTokenException
				ok = errors.As(err, &e)
			case *types.InvalidEventCategoryException:
				var e *types.InvalidEventCategoryException
				ok = errors.As(err, &e)
			}
			if !ok {
				t.Errorf("error %v (%T), want %T", err, err, tc.want)
			}
		})
	}
	out, err := client.LookupEvents(ctx, &cloudtrail.LookupEventsInput{EventCategory: types.EventCategoryInsight})
	if err != nil || len(out.Events) != 0 {
		t.Errorf("insight events: %v, %v", out, err)
	}
}

func TestHandlerWritesRefusalsInJSON11Shape(t *testing.T) {
	tr := lookupTrail(t)
	var actions []string
	client := sdkClient(t, tr.Handler(func(r *http.Request, body []byte, action string) error {
		actions = append(actions, action)
		if !strings.Contains(r.Header.Get("Authorization"), "/cloudtrail/aws4_request") {
			return apierror.New(apierror.InvalidSignature, "wrong service")
		}
		return apierror.New(apierror.AccessDenied, "User: x is not authorized to perform: %s", action)
	}))
	_, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || !strings.Contains(ae.ErrorMessage(), "cloudtrail:LookupEvents") {
		t.Errorf("refused LookupEvents: %v", err)
	}
	_, err = client.ListPublicKeys(context.Background(), &cloudtrail.ListPublicKeysInput{})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Errorf("refused ListPublicKeys: %v", err)
	}
	if strings.Join(actions, ",") != "cloudtrail:LookupEvents,cloudtrail:ListPublicKeys" {
		t.Errorf("actions authorized: %q", actions)
	}
}

func TestListPublicKeysWithTheSDK(t *testing.T) {
	tr := lookupTrail(t)
	client := sdkClient(t, tr.Handler(nil))
	out, err := client.ListPublicKeys(context.Background(), &cloudtrail.ListPublicKeysInput{})
	if err != nil || len(out.PublicKeyList) != 1 {
		t.Fatalf("ListPublicKeys: %+v, %v", out, err)
	}
	k := out.PublicKeyList[0]
	if _, err := x509.ParsePKCS1PublicKey(k.Value); err != nil {
		t.Errorf("Value is not a DER PKCS#1 key: %v", err)
	}
	if aws.ToString(k.Fingerprint) != tr.sig.fingerprint || len(tr.sig.fingerprint) != 32 || Fingerprint(k.Value) != tr.sig.fingerprint {
		t.Errorf("fingerprint %q, want %q", aws.ToString(k.Fingerprint), tr.sig.fingerprint)
	}
	if k.ValidityStartTime == nil || k.ValidityEndTime == nil || k.ValidityStartTime.After(*k.ValidityEndTime) {
		t.Errorf("validity %v .. %v", k.ValidityStartTime, k.ValidityEndTime)
	}
	// The keys the SDK returns validate the trail's digests.
	keys := []PublicKey{{Value: k.Value, Fingerprint: aws.ToString(k.Fingerprint)}}
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr.mu.Lock()
	err = tr.writeDigest(closeCtx, true)
	tr.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	ok, err := Validate(context.Background(), tr.opts.Store, testBucket, "", testAccount, testRegion, time.Now().Add(-time.Hour), time.Now().Add(time.Minute), keys, &sb)
	if err != nil || !ok {
		t.Errorf("Validate with the SDK's keys = %v, %v\n%s", ok, err, sb.String())
	}
}

// FuzzParseLookupRequest: the parser never panics; an accepted request
// has 0 or 1 valid attributes, a page size in 1..50 and start <= end.
func FuzzParseLookupRequest(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"MaxResults":5}`, `{"MaxResults":0}`, `{"StartTime":1.7e9,"EndTime":1.6e9}`,
		`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"InvokeModel"}]}`,
		`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"a"},{"AttributeKey":"Username","AttributeValue":"b"}]}`,
		`{"NextToken":"eyJwIjoiIn0"}`, `{"EventCategory":"insight"}`, `{"StartTime":"x"}`, `[1]`, `{"EndTime":1e300}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Unix(1_750_000_000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, start, end, limit, _, code, _ := parseLookupRequest(body, now)
		if code != "" {
			return
		}
		if len(req.LookupAttributes) > 1 || limit < 1 || limit > 50 || start.After(end) {
			t.Fatalf("accepted %q: %d attributes, limit %d, %v..%v", body, len(req.LookupAttributes), limit, start, end)
		}
		for _, a := range req.LookupAttributes {
			if !lookupAttributeKeys[a.AttributeKey] || a.AttributeValue == "" || len(a.AttributeValue) > 2000 {
				t.Fatalf("accepted attribute %+v", a)
			}
		}
		_ = req.matches(&Event{})
	})
}
