package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/modelwatch/modelwatch/internal/alarm"
	"github.com/modelwatch/modelwatch/internal/budget"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/cost"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/webui/webuitest"
)

// claude35Haiku is Claude 3 Haiku's fallback in the alarm test: the model
// that serves Claude 3 Haiku's calls while the alarm rolls it back.
const claude35Haiku = "anthropic.claude-3-5-haiku-20241022-v1:0"

// snsHook is an httptest server standing for an SNS subscription: it
// answers 200 and keeps every POST, in arrival order.
type snsHook struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts []snsPost
}

// snsPost is one notification a snsHook received.
type snsPost struct {
	header http.Header
	body   []byte
}

// newSNSHook starts a snsHook, closed when the test ends.
func newSNSHook(t *testing.T) *snsHook {
	t.Helper()
	h := &snsHook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "want a POST", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.posts = append(h.posts, snsPost{header: r.Header.Clone(), body: b})
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// URL is the webhook's address.
func (h *snsHook) URL() string { return h.srv.URL + "/sns" }

// received returns the posts received so far.
func (h *snsHook) received() []snsPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.posts)
}

// waitFor polls until at least n posts have arrived or deadline passes,
// and returns what arrived (the caller checks how many).
func (h *snsHook) waitFor(n int, deadline time.Time) []snsPost {
	for {
		got := h.received()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkSNSHeaders checks the headers SNS sends with a Notification whose
// MessageId is id.
func checkSNSHeaders(t *testing.T, what string, h http.Header, id string) {
	t.Helper()
	if got := h.Get("Content-Type"); got != "text/plain; charset=UTF-8" {
		t.Errorf("%s: Content-Type %q, want SNS's text/plain; charset=UTF-8", what, got)
	}
	if got := h.Get("x-amz-sns-message-type"); got != "Notification" {
		t.Errorf("%s: x-amz-sns-message-type %q, want Notification", what, got)
	}
	if got := h.Get("x-amz-sns-message-id"); got != id {
		t.Errorf("%s: x-amz-sns-message-id %q, want the envelope's MessageId %q", what, got, id)
	}
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// govView is the part of GET /api/governance these tests read.
type govView struct {
	Budgets []govBudget `json:"budgets"`
	Alarms  []govAlarm  `json:"alarms"`
}

// govBudget is one budget of GET /api/governance.
type govBudget struct {
	Name          string     `json:"name"`
	Type          string     `json:"type"`
	Unit          string     `json:"unit"`
	Limit         float64    `json:"limit"`
	Actual        float64    `json:"actual"`
	Held          float64    `json:"held"`
	Forecast      *float64   `json:"forecast"`
	UnpricedCalls int64      `json:"unpricedCalls"`
	PeriodStart   time.Time  `json:"periodStart"`
	PeriodEnd     time.Time  `json:"periodEnd"`
	HardLimit     bool       `json:"hardLimit"`
	Notifications []govNotif `json:"notifications"`
}

// govNotif is one notification of a govBudget.
type govNotif struct {
	Type          string     `json:"type"`
	Comparison    string     `json:"comparison"`
	Threshold     float64    `json:"threshold"`
	ThresholdType string     `json:"thresholdType"`
	State         string     `json:"state"`
	FiredAt       *time.Time `json:"firedAt"`
}

// govAlarm is one alarm of GET /api/governance.
type govAlarm struct {
	Name              string    `json:"name"`
	Description       string    `json:"description"`
	State             string    `json:"state"`
	StateReason       string    `json:"stateReason"`
	StateTime         time.Time `json:"stateTime"`
	Comparison        string    `json:"comparison"`
	Threshold         *float64  `json:"threshold"`
	PeriodSeconds     int64     `json:"periodSeconds"`
	EvaluationPeriods int       `json:"evaluationPeriods"`
	DatapointsToAlarm int       `json:"datapointsToAlarm"`
	TreatMissingData  string    `json:"treatMissingData"`
	Query             string    `json:"query"`
	Datapoints        []struct {
		T time.Time `json:"t"`
		V *float64  `json:"v"`
	} `json:"datapoints"`
	History []struct {
		Time     time.Time `json:"time"`
		OldState string    `json:"oldState"`
		NewState string    `json:"newState"`
		Reason   string    `json:"reason"`
	} `json:"history"`
	Rollback   string `json:"rollback"`
	RolledBack bool   `json:"rolledBack"`
}

// fetchGovernance reads GET /api/governance (the servers of these tests
// have no principals: every section is readable).
func fetchGovernance(t *testing.T, base string) govView {
	t.Helper()
	resp, err := http.Get(base + "/api/governance")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/governance: %d %s", resp.StatusCode, body)
	}
	var v govView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET /api/governance: %v\n%s", err, body)
	}
	return v
}

// sdkRequestID is the request ID of an SDK call's answer: from its
// result metadata on success, from the error's response otherwise. It
// fails the test (t.Errorf: it may run on any goroutine) and returns ""
// when there is none.
func sdkRequestID(t *testing.T, md *middleware.Metadata, err error) string {
	t.Helper()
	var id string
	if err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			id = re.ServiceRequestID()
		}
	} else if md != nil {
		id, _ = awsmiddleware.GetRequestIDMetadata(*md)
	}
	if len(id) != 36 {
		t.Errorf("no request ID in the answer (err %v)", err)
		return ""
	}
	return id
}

// budgetCall is the outcome of one call of the budget test.
type budgetCall struct {
	requestID string
	stream    bool
	// refusal is the ServiceQuotaExceededException's message, "" when the
	// call was admitted.
	refusal string
}

// callHaikuForBudget makes one Converse (or ConverseStream, reading the
// stream to its end) to Claude 3 Haiku with maxTokens and classifies the
// answer: admitted, or refused with ServiceQuotaExceededException (HTTP
// 400). Any other outcome fails the test.
func callHaikuForBudget(t *testing.T, client *bedrockruntime.Client, stream bool, prompt string, maxTokens int32) budgetCall {
	msgs := []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: prompt}}}}
	ic := &rttypes.InferenceConfiguration{MaxTokens: aws.Int32(maxTokens)}
	var md *middleware.Metadata
	var err error
	if stream {
		var out *bedrockruntime.ConverseStreamOutput
		out, err = client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku), Messages: msgs, InferenceConfig: ic})
		if err == nil {
			md = &out.ResultMetadata
			st := out.GetStream()
			var sawMetadata bool
			for ev := range st.Events() {
				if _, ok := ev.(*rttypes.ConverseStreamOutputMemberMetadata); ok {
					sawMetadata = true
				}
			}
			if err := st.Err(); err != nil {
				t.Errorf("ConverseStream %q: stream failed: %v", prompt, err)
			}
			st.Close()
			if !sawMetadata {
				t.Errorf("ConverseStream %q: the stream ended without its metadata event", prompt)
			}
		}
	} else {
		var out *bedrockruntime.ConverseOutput
		out, err = client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: msgs, InferenceConfig: ic})
		if err == nil {
			md = &out.ResultMetadata
		}
	}
	c := budgetCall{requestID: sdkRequestID(t, md, err), stream: stream}
	if err == nil {
		return c
	}
	var sq *rttypes.ServiceQuotaExceededException
	var re *awshttp.ResponseError
	if !errors.As(err, &sq) || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
		t.Errorf("call %q (stream %v): %v, want success or a 400 ServiceQuotaExceededException", prompt, stream, err)
		c.refusal = "(not a ServiceQuotaExceededException)"
		return c
	}
	c.refusal = aws.ToString(sq.Message)
	return c
}

// toNano is a dollar amount in the budgets' unit, nano-dollars.
func toNano(usd float64) int64 { return int64(math.Round(usd * 1e9)) }

// budgetYAML is a MONTHLY COST budget with a hard limit on Claude 3 Haiku
// and ACTUAL notifications at 50 % and 80 % of it: fill in the limit and
// the webhook twice.
const budgetYAML = `
budgets:
  - name: haiku-monthly
    type: COST
    limit: %s
    timeUnit: MONTHLY
    hardLimit: true
    filter:
      models: [anthropic.claude-3-haiku-20240307-v1:0]
    notifications:
      - type: ACTUAL
        comparisonOperator: GREATER_THAN
        threshold: 50
        subscribers: {webhooks: [%q]}
      - type: ACTUAL
        comparisonOperator: GREATER_THAN
        threshold: 80
        subscribers: {webhooks: [%q]}
`

// A COST budget with a hard limit worth 25 worst-case Claude 3 Haiku
// calls (about 45 real ones, the simulator answering 20 to 200 tokens) is
// raced by 120 calls from 12 goroutines, streams and not, then drained by
// sequential calls until one is refused with nothing in flight. The
// admitted calls' actual cost — recomputed from the records with the
// server's price list, and as the cost metric counts it — stays within
// the limit though it is exhausted; every refusal is a
// ServiceQuotaExceededException naming the budget and is counted; the
// webhook gets exactly the 50 % and 80 % notifications, SNS-shaped;
// GET /api/governance and the dashboard's Governance page show the same
// actual spend, the limit and nothing held.
func TestBudget_HardLimitHoldsUnderConcurrentCallsAndNotifies(t *testing.T) {
	const (
		name       = "haiku-monthly"
		goroutines = 12
		perG       = 10
		maxTokens  = 200
	)
	hook := newSNSHook(t)
	var prices *cost.PriceList
	var limit float64
	srv, rec := startServer(t, func(c *config.Config) {
		p, err := cost.Load(c.Prices)
		if err != nil {
			t.Fatal(err)
		}
		prices = p
		// One call's output at max_tokens, from the price list the server
		// loads from the same configuration.
		out, ok := p.CallCost(haiku, "", invocation.Usage{OutputTokens: maxTokens}, "", "")
		if !ok || out <= 0 {
			t.Fatalf("the price list has no price for %s", haiku)
		}
		limit = 25 * out
		applyYAML(t, c, fmt.Sprintf(budgetYAML, strconv.FormatFloat(limit, 'g', -1, 64), hook.URL(), hook.URL()))
	})
	limitNano := toNano(limit)
	t.Logf("limit $%v (%d nano-dollars)", limit, limitNano)
	client := runtimeClient(srv.URL(), "AKIDANYONE", "any-secret")

	// The race: 12 goroutines, 10 calls each, every third a stream.
	var mu sync.Mutex
	var calls []budgetCall
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			// A client per goroutine, as separate applications would have:
			// aws-sdk-go-v2's event-stream decoder (smithy-go v1.28.8)
			// shares one payload buffer between the concurrent streams of
			// one client, which the race detector reports.
			client := runtimeClient(srv.URL(), "AKIDANYONE", "any-secret")
			for i := range perG {
				c := callHaikuForBudget(t, client, (g+i)%3 == 0, fmt.Sprintf("Budget question %d-%d", g, i), maxTokens)
				mu.Lock()
				calls = append(calls, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	raced := len(calls)
	// The drain: with nothing in flight, a refusal means the budget has
	// no room for one more worst case.
	var last budgetCall
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("100 sequential calls after the race were all admitted: the hard limit does not hold")
		}
		last = callHaikuForBudget(t, client, false, fmt.Sprintf("Budget drain %d", i), maxTokens)
		calls = append(calls, last)
		if last.refusal != "" {
			break
		}
	}

	// Every call has been recorded and settled (a stream settles when the
	// server has finished it, just after the client read its end).
	var view govView
	deadline := time.Now().Add(5 * time.Second)
	for {
		view = fetchGovernance(t, srv.URL())
		if len(view.Budgets) != 1 {
			t.Fatalf("GET /api/governance lists %d budgets, want 1", len(view.Budgets))
		}
		if (view.Budgets[0].Held == 0 && rec.count() >= len(calls)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b := view.Budgets[0]
	if b.Held != 0 {
		t.Errorf("held = %v after every call ended, want 0", b.Held)
	}

	// Recompute the spend from the records with the server's price list.
	var admitted, refused, streams int
	var spentNano int64
	var spentUSD float64
	for _, c := range calls {
		inv := rec.byRequestID(t, c.requestID)
		if inv.CatalogModelID != haiku {
			t.Fatalf("request %s recorded for %q", c.requestID, inv.CatalogModelID)
		}
		worst, _ := prices.CallCost(haiku, "", invocation.Usage{InputTokens: (len(inv.Input.Data) + 3) / 4, OutputTokens: maxTokens}, "", "")
		if c.refusal != "" {
			refused++
			if inv.Status != http.StatusBadRequest || inv.ErrorCode != "ServiceQuotaExceededException" || inv.ErrorMessage != c.refusal {
				t.Errorf("refused call %s recorded as %d %s %q, want 400 ServiceQuotaExceededException %q",
					c.requestID, inv.Status, inv.ErrorCode, inv.ErrorMessage, c.refusal)
			}
			if inv.Usage != (invocation.Usage{}) || len(inv.Attempts) != 0 {
				t.Errorf("refused call %s reached a model: usage %+v, attempts %v", c.requestID, inv.Usage, inv.Attempts)
			}
			continue
		}
		admitted++
		if c.stream {
			streams++
		}
		if inv.Status != http.StatusOK || inv.ServedModelID != haiku || inv.ErrorCode != "" {
			t.Errorf("admitted call %s recorded as %d %q served by %s", c.requestID, inv.Status, inv.ErrorCode, inv.ServedModelID)
		}
		if inv.Usage.OutputTokens < 1 || inv.Usage.OutputTokens > maxTokens || inv.Usage.InputTokens < 1 {
			t.Errorf("admitted call %s used %+v with max_tokens %d", c.requestID, inv.Usage, maxTokens)
		}
		usd, ok := prices.InvocationCost(inv)
		if !ok {
			t.Fatalf("admitted call %s is unpriced", c.requestID)
		}
		// The hold is an upper bound of what the call settles.
		if toNano(usd) > toNano(worst) {
			t.Errorf("call %s cost $%v, more than the $%v held for it at admission", c.requestID, usd, worst)
		}
		spentNano += toNano(usd)
		spentUSD += usd
	}
	t.Logf("%d raced + %d drained calls: %d admitted (%d streams), %d refused; spent %d of %d nano-dollars",
		raced, len(calls)-raced, admitted, streams, refused, spentNano, limitNano)
	if admitted+refused != len(calls) {
		t.Fatalf("%d admitted + %d refused != %d calls", admitted, refused, len(calls))
	}
	if spentNano > limitNano {
		t.Errorf("admitted calls cost %d nano-dollars, over the hard limit of %d", spentNano, limitNano)
	}
	// Exhausted, not merely respected: the drain's refusal came with
	// nothing held, so its worst case did not fit.
	lastInv := rec.byRequestID(t, last.requestID)
	lastWorst, _ := prices.CallCost(haiku, "", invocation.Usage{InputTokens: (len(lastInv.Input.Data) + 3) / 4, OutputTokens: maxTokens}, "", "")
	if spentNano+toNano(lastWorst) <= limitNano {
		t.Errorf("a call was refused with %d nano-dollars spent, nothing held and a worst case of %d: the limit %d had room for it",
			spentNano, toNano(lastWorst), limitNano)
	}
	if admitted < 25 || streams == 0 || refused < 2 {
		t.Errorf("%d admitted (%d streams), %d refused: the race did not exercise the limit", admitted, streams, refused)
	}

	// The budget counts in nano-dollars: its actual is exactly the sum of
	// the calls' costs in nano-dollars, over 1e9.
	wantActual := float64(spentNano) / 1e9
	if b.Actual != wantActual {
		t.Errorf("GET /api/governance actual = %v, want exactly %v (the records' %d nano-dollars)", b.Actual, wantActual, spentNano)
	}
	if got := metric(t, srv, "modelwatch_budget_spend", map[string]string{"budget": name}); got != b.Actual {
		t.Errorf("modelwatch_budget_spend = %v, want the API's %v", got, b.Actual)
	}
	// The cost metric adds the calls' float64 dollars in the order they
	// ended, the budget integer nano-dollars: Claude 3 Haiku's prices are
	// whole nano-dollars per token, so the two sums are the same number up
	// to float64 rounding (a few 1e-19 here), far below the 1e-9 of the
	// budget's unit; 1e-15 is the tolerance.
	costMetric := metric(t, srv, cost.MetricCost, map[string]string{"model_id": haiku})
	if math.Abs(costMetric-b.Actual) > 1e-15 {
		t.Errorf("%s = %v, GET /api/governance actual = %v: differ by %g", cost.MetricCost, costMetric, b.Actual, costMetric-b.Actual)
	}
	if math.Abs(spentUSD-costMetric) > 1e-15 {
		t.Errorf("%s = %v, the records priced with the price list sum to %v", cost.MetricCost, costMetric, spentUSD)
	}
	if b.Name != name || b.Type != "COST" || b.Unit != "USD" || b.Limit != limit || !b.HardLimit || b.UnpricedCalls != 0 {
		t.Errorf("budget %+v, want %s COST USD limit %v hard", b, name, limit)
	}
	now := time.Now().UTC()
	periodStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	periodEnd := periodStart.AddDate(0, 1, 0)
	if !b.PeriodStart.Equal(periodStart) || !b.PeriodEnd.Equal(periodEnd) {
		t.Errorf("period %v to %v, want %v to %v", b.PeriodStart, b.PeriodEnd, periodStart, periodEnd)
	}
	if got := metric(t, srv, "modelwatch_budget_refusals_total", map[string]string{"budget": name}); got != float64(refused) {
		t.Errorf("modelwatch_budget_refusals_total = %v, want %d", got, refused)
	}

	// Every refusal is a ServiceQuotaExceededException naming the budget,
	// its period and when calls are admitted again.
	period := periodStart.Format(time.DateOnly) + " to " + periodEnd.AddDate(0, 0, -1).Format(time.DateOnly)
	refusalRe := regexp.MustCompile(`^` + regexp.QuoteMeta(fmt.Sprintf("Budget %q has reached its limit of $%.2f for %s (spent ", name, limit, period)) +
		`\$\d+\.\d\d, \$\d+\.\d\d held by calls in progress; this call may cost up to \$\d+\.\d\d\)` +
		regexp.QuoteMeta(fmt.Sprintf("; calls to model %s are refused until %s.", haiku, periodEnd.Format(time.RFC3339))) + `$`)
	for _, c := range calls {
		if c.refusal != "" && !refusalRe.MatchString(c.refusal) {
			t.Errorf("refusal message %q does not match %s", c.refusal, refusalRe)
		}
	}

	// Notifications: exactly the 50 % and the 80 % one, each once.
	posts := hook.waitFor(2, time.Now().Add(10*time.Second))
	time.Sleep(300 * time.Millisecond) // a third would be a bug: give it the time to arrive
	posts = hook.received()
	if len(posts) != 2 {
		t.Fatalf("the webhook received %d notifications, want 2 (50 %% and 80 %%)", len(posts))
	}
	if got := metric(t, srv, "modelwatch_budget_notifications_total", map[string]string{"budget": name, "type": "ACTUAL"}); got != 2 {
		t.Errorf("modelwatch_budget_notifications_total = %v, want 2", got)
	}
	if len(b.Notifications) != 2 {
		t.Fatalf("GET /api/governance shows %d notifications, want 2", len(b.Notifications))
	}
	seen := map[float64]bool{}
	for i, p := range posts {
		var env budget.Envelope
		if err := json.Unmarshal(p.body, &env); err != nil {
			t.Fatalf("notification %d: %v\n%s", i, err, p.body)
		}
		checkSNSHeaders(t, fmt.Sprintf("notification %d", i), p.header, env.MessageID)
		var th float64
		switch {
		case strings.Contains(env.Message, "(50% of "):
			th = 50
		case strings.Contains(env.Message, "(80% of "):
			th = 80
		default:
			t.Fatalf("notification %d names neither threshold:\n%s", i, env.Message)
		}
		if seen[th] {
			t.Errorf("the %v %% notification was sent twice", th)
		}
		seen[th] = true
		n := b.Notifications[0]
		if th == 80 {
			n = b.Notifications[1]
		}
		if n.Type != "ACTUAL" || n.Comparison != "GREATER_THAN" || n.Threshold != th || n.ThresholdType != "PERCENTAGE" || n.State != "ALARM" || n.FiredAt == nil {
			t.Fatalf("GET /api/governance notification %+v, want ACTUAL GREATER_THAN %v PERCENTAGE in ALARM", n, th)
		}
		if env.Type != "Notification" || env.Subject != "AWS Budgets: "+name+" has exceeded your alert threshold" ||
			env.SignatureVersion != "1" || env.TopicArn != "" || !uuidRe.MatchString(env.MessageID) ||
			env.Timestamp != n.FiredAt.UTC().Format("2006-01-02T15:04:05.000Z") {
			t.Errorf("notification %v %%: envelope %+v", th, env)
		}
		// Crossing 50 % ($0.003125) the spend is at most one call ($0.00026)
		// above it, $0.00 in cents; crossing 80 % ($0.005) it is $0.01.
		actual := map[float64]string{50: "$0.00", 80: "$0.01"}[th]
		thText := fmt.Sprintf("$%.2f (%g%% of $%.2f)", limit*th/100, th, limit)
		want := fmt.Sprintf("AWS Budget Notification %s\n\n", n.FiredAt.UTC().Format("January 02, 2006")) +
			fmt.Sprintf("You requested that we alert you when the ACTUAL Cost associated with your %s budget is greater than %s for the period %s. ", name, thText, period) +
			fmt.Sprintf("The ACTUAL Cost associated with this budget is %s.\n\n", actual) +
			fmt.Sprintf("Budget Name: %s\nBudget Type: Cost\nBudgeted Amount: $%.2f\nAlert Type: ACTUAL\nAlert Threshold: > %s\nACTUAL Amount: %s\n", name, limit, thText, actual)
		forecastRe := regexp.MustCompile(`^FORECASTED Amount: \$\d+\.\d\d\n$`)
		if b.Forecast == nil {
			forecastRe = regexp.MustCompile(`^FORECASTED Amount: not available yet\n$`)
		}
		if !strings.HasPrefix(env.Message, want) || !forecastRe.MatchString(strings.TrimPrefix(env.Message, want)) {
			t.Errorf("notification %v %% says:\n%s\nwant:\n%s%s", th, env.Message, want, forecastRe)
		}
	}

	// The dashboard shows what the API says.
	t.Run("GovernancePageShowsTheSameSpend", func(t *testing.T) {
		ctx := webuitest.NewBrowser(t) // skips without Chromium (fails under CI)
		v, err := webuitest.Governance(ctx, srv.URL(), "")
		if err != nil {
			t.Fatal(err)
		}
		webuitest.CheckGovernance(t, "governance page", v)
		if len(v.Budgets) != 1 {
			t.Fatalf("the page shows %d budgets, want 1:\n%s", len(v.Budgets), v.Text)
		}
		pb := v.Budgets[0]
		if pb.Name != name || pb.Actual != b.Actual || pb.Limit != limit || pb.Held != 0 || !pb.HardLimit || pb.Type != "COST" || pb.Unit != "USD" {
			t.Errorf("the page shows %s actual %v limit %v held %v hard %v %s %s, want actual %v limit %v held 0 hard",
				pb.Name, pb.Actual, pb.Limit, pb.Held, pb.HardLimit, pb.Type, pb.Unit, b.Actual, limit)
		}
		if len(pb.Notifications) != 2 {
			t.Fatalf("the page lists %d notifications, want 2", len(pb.Notifications))
		}
		for i, n := range pb.Notifications {
			if n.State != "ALARM" || n.Threshold != b.Notifications[i].Threshold || n.Type != "ACTUAL" || n.ThresholdType != "PERCENTAGE" {
				t.Errorf("the page's notification %d: %+v, want ACTUAL PERCENTAGE %v in ALARM", i, n, b.Notifications[i].Threshold)
			}
		}
	})
}

// alarmYAML gives Claude 3 Haiku a fallback and puts an alarm on its
// client errors: 3 or more in 10 seconds roll it back to the fallback.
// Fill in the webhook twice.
const alarmYAML = `
models:
  - id: anthropic.claude-3-haiku-20240307-v1:0
    fallbacks: [anthropic.claude-3-5-haiku-20241022-v1:0]
alarms:
  - name: haiku-client-errors
    description: Client errors of Claude 3 Haiku
    metric:
      name: InvocationClientErrors
      dimensions: {ModelId: anthropic.claude-3-haiku-20240307-v1:0}
      statistic: Sum
    period: 10s
    evaluationPeriods: 1
    threshold: 3
    comparisonOperator: GreaterThanOrEqualToThreshold
    treatMissingData: notBreaching
    actions:
      alarmWebhooks: [%q]
      okWebhooks: [%q]
      rollback: anthropic.claude-3-haiku-20240307-v1:0
`

// converseHaiku makes one Converse to Claude 3 Haiku with maxTokens and
// returns its request ID and error.
func converseHaiku(t *testing.T, client *bedrockruntime.Client, prompt string, maxTokens int32) (string, error) {
	t.Helper()
	out, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(haiku),
		Messages:        []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: prompt}}}},
		InferenceConfig: &rttypes.InferenceConfiguration{MaxTokens: aws.Int32(maxTokens)}})
	var md *middleware.Metadata
	if err == nil {
		md = &out.ResultMetadata
	}
	return sdkRequestID(t, md, err), err
}

// dumpAlarmState logs what the alarm and the history hold, for a failure:
// GET /api/governance and the raw samples of Claude 3 Haiku's client
// error counter since from.
func dumpAlarmState(t *testing.T, base string, from time.Time) {
	t.Helper()
	get := func(path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	t.Logf("GET /api/governance: %s", get("/api/governance"))
	// A range selector at an instant gives the raw samples, with their
	// millisecond timestamps.
	now := time.Now()
	q := "/api/v1/query?query=" + url.QueryEscape(`bedrock_invocation_client_errors_total{model_id="`+haiku+`"}[`+
		strconv.Itoa(int(now.Sub(from)/time.Second)+1)+`s]`) + "&time=" + strconv.FormatFloat(float64(now.UnixMilli())/1000, 'f', 3, 64)
	t.Logf("history samples: %s", get(q))
}

// alarmNotification decodes an alarm webhook post: the SNS envelope, its
// headers and the CloudWatch message it carries.
func alarmNotification(t *testing.T, what string, p snsPost) (alarm.Envelope, alarm.Message) {
	t.Helper()
	var env alarm.Envelope
	if err := json.Unmarshal(p.body, &env); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, p.body)
	}
	checkSNSHeaders(t, what, p.header, env.MessageID)
	var msg alarm.Message
	if err := json.Unmarshal([]byte(env.Message), &msg); err != nil {
		t.Fatalf("%s: Message is not CloudWatch's JSON: %v\n%s", what, err, env.Message)
	}
	if env.Type != "Notification" || env.SignatureVersion != "1" || !uuidRe.MatchString(env.MessageID) ||
		env.Subject != fmt.Sprintf("%s: %q in US East (N. Virginia)", msg.NewStateValue, msg.AlarmName) {
		t.Errorf("%s: envelope %+v", what, env)
	}
	return env, msg
}

// The alarm on Claude 3 Haiku's client errors, on the real clock and
// real traffic: OK with valid calls; four invalid calls (maxTokens above
// the model's limit, a 400 ValidationException counted as the model's
// client error) in one 10-second period put it in ALARM at the period's
// end, with CloudWatch's SNS message to the webhook and Claude 3 Haiku's
// calls served by its fallback, Claude 3.5 Haiku; the next period without
// errors puts it back to OK, with the OK webhook, and Claude 3 Haiku
// serves its calls again.
func TestAlarm_OKToAlarmToOKWithTheRealClockWebhookAndRollback(t *testing.T) {
	const (
		name   = "haiku-client-errors"
		desc   = "Client errors of Claude 3 Haiku"
		period = 10 * time.Second
	)
	hook := newSNSHook(t)
	var account, region string
	srv, rec := startServer(t, func(c *config.Config) {
		c.Metrics.HistoryInterval = time.Second
		applyYAML(t, c, fmt.Sprintf(alarmYAML, hook.URL(), hook.URL()))
		account, region = c.AccountID, c.Region
	})
	if region != "us-east-1" {
		t.Fatalf("the default region is %q; this test expects us-east-1", region)
	}
	client := runtimeClient(srv.URL(), "AKIDANYONE", "any-secret")
	served := func(what string) {
		t.Helper()
		id, err := converseHaiku(t, client, what, 100)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		inv := rec.byRequestID(t, id)
		if inv.CatalogModelID != haiku || inv.ServedModelID != haiku || len(inv.Attempts) != 1 || inv.Attempts[0].ModelID != haiku {
			t.Errorf("%s: asked for %s, served by %s after attempts %+v; want Claude 3 Haiku itself", what, inv.CatalogModelID, inv.ServedModelID, inv.Attempts)
		}
	}

	// Valid calls create the model's series, client errors at 0.
	for i := range 3 {
		served(fmt.Sprintf("Valid question %d", i))
	}
	// The first round (on the next 10-second boundary) leaves
	// INSUFFICIENT_DATA for OK: no client errors, missing data not
	// breaching.
	posts := hook.waitFor(1, time.Now().Add(15*time.Second))
	if len(posts) != 1 {
		t.Fatalf("%d notifications in the first 15 s, want the OK one", len(posts))
	}
	_, first := alarmNotification(t, "first notification", posts[0])
	if first.NewStateValue != "OK" || first.OldStateValue != "INSUFFICIENT_DATA" || first.AlarmName != name {
		t.Fatalf("first notification: %s %s -> %s, want %s INSUFFICIENT_DATA -> OK", first.AlarmName, first.OldStateValue, first.NewStateValue, name)
	}

	// Four client errors well inside one period: at least 1.5 s after its
	// start, so that a periodic history sample (every second) holding the
	// count before them is inside the period's increase() range, and 3 s
	// before its end. (Errors made between a period's start and the first
	// periodic sample after it are lost: see
	// TestAlarm_ClientErrorsRightAfterAPeriodBoundaryCountInThatPeriod.)
	switch off := time.Since(time.Now().Truncate(period)); {
	case off < 1500*time.Millisecond:
		time.Sleep(1500*time.Millisecond - off)
	case off > 7*time.Second:
		time.Sleep(period - off + 1500*time.Millisecond)
	}
	errorsAt := time.Now()
	boundary := errorsAt.Truncate(period).Add(period) // the round that sees them
	for i := range 4 {
		id, err := converseHaiku(t, client, fmt.Sprintf("Invalid question %d", i), 100000)
		var ve *rttypes.ValidationException
		if !errors.As(err, &ve) {
			t.Fatalf("Converse with maxTokens 100000: %v, want ValidationException", err)
		}
		inv := rec.byRequestID(t, id)
		if inv.CatalogModelID != haiku || inv.Status != http.StatusBadRequest || inv.Outcome() != invocation.ClientError {
			t.Fatalf("invalid call recorded for %q, %d %v; want a client error of %s", inv.CatalogModelID, inv.Status, inv.Outcome(), haiku)
		}
	}
	if time.Now().After(boundary) {
		t.Fatalf("the invalid calls took from %v to past %v: not one period", errorsAt, boundary)
	}
	if got := metric(t, srv, "bedrock_invocation_client_errors_total", map[string]string{"model_id": haiku}); got != 4 {
		t.Fatalf("bedrock_invocation_client_errors_total{model_id=%q} = %v, want 4", haiku, got)
	}

	// ALARM at the end of that period.
	posts = hook.waitFor(2, boundary.Add(10*time.Second))
	if len(posts) != 2 {
		dumpAlarmState(t, srv.URL(), errorsAt.Add(-30*time.Second))
		t.Fatalf("%d notifications by %v, want the ALARM one after the OK one", len(posts), boundary.Add(10*time.Second))
	}
	_, msg := alarmNotification(t, "ALARM notification", posts[1])
	// The datapoint is the counter at the period's end minus the counter at
	// its start, both sampled at the boundaries: exactly the 4 client
	// errors, no extrapolation.
	reasonRe := regexp.MustCompile(`^Threshold Crossed: 1 out of the last 1 datapoints \[([0-9.]+) \(` +
		regexp.QuoteMeta(boundary.Add(-period).UTC().Format("02/01/06 15:04:05")) +
		`\)\] was greater than or equal to the threshold \(3\.0\) \(minimum 1 datapoint for OK -> ALARM transition\)\.$`)
	m := reasonRe.FindStringSubmatch(msg.NewStateReason)
	if m == nil {
		t.Fatalf("NewStateReason %q does not match %s", msg.NewStateReason, reasonRe)
	}
	if m[1] != "4.0" {
		t.Errorf("the breaching datapoint is %s, want exactly 4.0 (the 4 client errors)", m[1])
	}
	if _, err := time.Parse(alarm.TimeFormat, msg.AlarmConfigurationUpdatedTimestamp); err != nil {
		t.Errorf("AlarmConfigurationUpdatedTimestamp %q: %v", msg.AlarmConfigurationUpdatedTimestamp, err)
	}
	three := 3.0
	want := alarm.Message{
		AlarmName:                          name,
		AlarmDescription:                   aws.String(desc),
		AWSAccountID:                       account,
		AlarmConfigurationUpdatedTimestamp: msg.AlarmConfigurationUpdatedTimestamp,
		NewStateValue:                      "ALARM",
		NewStateReason:                     msg.NewStateReason,
		StateChangeTime:                    boundary.UTC().Format(alarm.TimeFormat),
		Region:                             "US East (N. Virginia)",
		AlarmArn:                           "arn:aws:cloudwatch:us-east-1:" + account + ":alarm:" + name,
		OldStateValue:                      "OK",
		OKActions:                          []string{hook.URL()},
		AlarmActions:                       []string{hook.URL()},
		InsufficientDataActions:            []string{},
		Trigger: alarm.Trigger{
			MetricName: "InvocationClientErrors", Namespace: "AWS/Bedrock", StatisticType: "Statistic", Statistic: "SUM",
			Dimensions: []alarm.TriggerDimension{{Value: haiku, Name: "ModelId"}},
			Period:     10, EvaluationPeriods: 1, DatapointsToAlarm: 1,
			ComparisonOperator: "GreaterThanOrEqualToThreshold", Threshold: &three,
			TreatMissingData: "notBreaching", EvaluateLowSampleCountPercentile: "",
		},
	}
	gotJSON, _ := json.Marshal(msg)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("ALARM message:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	// The raw message spells the threshold 3.0's JSON number and the
	// dimension keys as CloudWatch does.
	if env, _ := alarmNotification(t, "ALARM notification", posts[1]); !strings.Contains(env.Message, `"Dimensions":[{"value":"`+haiku+`","name":"ModelId"}]`) ||
		!strings.Contains(env.Message, `"Threshold":3`) || !strings.Contains(env.Message, `"Unit":null`) {
		t.Errorf("ALARM message text: %s", env.Message)
	}

	// While in ALARM, Claude 3 Haiku's calls are served by its fallback.
	id, err := converseHaiku(t, client, "Question during the alarm", 100)
	if err != nil {
		t.Fatalf("Converse during the alarm: %v", err)
	}
	inv := rec.byRequestID(t, id)
	if inv.CatalogModelID != haiku || inv.ServedModelID != claude35Haiku || len(inv.Attempts) != 1 || inv.Attempts[0].ModelID != claude35Haiku || inv.Status != http.StatusOK {
		t.Errorf("during the alarm: asked for %s, served by %s (status %d) after attempts %+v; want %s only",
			inv.CatalogModelID, inv.ServedModelID, inv.Status, inv.Attempts, claude35Haiku)
	}
	if got := metric(t, srv, "modelwatch_fallbacks_total", map[string]string{"model_id": haiku, "served_model_id": claude35Haiku}); got != 1 {
		t.Errorf("modelwatch_fallbacks_total = %v, want 1", got)
	}
	gv := fetchGovernance(t, srv.URL())
	if len(gv.Alarms) != 1 {
		t.Fatalf("GET /api/governance lists %d alarms, want 1", len(gv.Alarms))
	}
	a := gv.Alarms[0]
	if a.Name != name || a.Description != desc || a.State != "ALARM" || a.StateReason != msg.NewStateReason || !a.StateTime.Equal(boundary) ||
		a.Rollback != haiku || !a.RolledBack || a.Comparison != "GreaterThanOrEqualToThreshold" || a.Threshold == nil || *a.Threshold != 3 ||
		a.PeriodSeconds != 10 || a.EvaluationPeriods != 1 || a.DatapointsToAlarm != 1 || a.TreatMissingData != "notBreaching" ||
		a.Query != `sum(bedrock_invocation_client_errors_total{model_id="`+haiku+`"} - bedrock_invocation_client_errors_total{model_id="`+haiku+`"} offset 10s >= 0 or bedrock_invocation_client_errors_total{model_id="`+haiku+`"} * 1)` {
		t.Errorf("GET /api/governance during the alarm: %+v", a)
	}
	if len(a.History) != 2 || a.History[0].OldState != "OK" || a.History[0].NewState != "ALARM" || a.History[0].Reason != msg.NewStateReason ||
		!a.History[0].Time.Equal(boundary) || a.History[1].OldState != "INSUFFICIENT_DATA" || a.History[1].NewState != "OK" ||
		a.History[1].Reason != first.NewStateReason {
		t.Errorf("history during the alarm: %+v, want ALARM at %v then the first OK (newest first)", a.History, boundary)
	}
	if n := len(a.Datapoints); n != 3 || !a.Datapoints[n-1].T.Equal(boundary.Add(-period)) || a.Datapoints[n-1].V == nil || *a.Datapoints[n-1].V != 4 {
		t.Errorf("datapoints during the alarm: %+v, want 3 ending with %v at %v", a.Datapoints, 4, boundary.Add(-period))
	}

	// The next period has no errors: OK at its end.
	okAt := boundary.Add(period)
	posts = hook.waitFor(3, okAt.Add(10*time.Second))
	if len(posts) != 3 {
		t.Fatalf("%d notifications by %v, want the OK one after the ALARM one", len(posts), okAt.Add(10*time.Second))
	}
	_, ok := alarmNotification(t, "OK notification", posts[2])
	wantReason := "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (" + boundary.UTC().Format("02/01/06 15:04:05") +
		")] was not greater than or equal to the threshold (3.0) (minimum 1 datapoint for ALARM -> OK transition)."
	want.NewStateValue, want.OldStateValue, want.NewStateReason = "OK", "ALARM", wantReason
	want.StateChangeTime = okAt.UTC().Format(alarm.TimeFormat)
	gotJSON, _ = json.Marshal(ok)
	wantJSON, _ = json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("OK message:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	// The rollback is released before the OK webhook is sent.
	served("Question after the alarm")
	gv = fetchGovernance(t, srv.URL())
	a = gv.Alarms[0]
	if a.State != "OK" || a.RolledBack || a.StateReason != wantReason || !a.StateTime.Equal(okAt) || len(a.History) != 3 ||
		a.History[0].OldState != "ALARM" || a.History[0].NewState != "OK" || !a.History[0].Time.Equal(okAt) {
		t.Errorf("GET /api/governance after the alarm: state %s rolledBack %v reason %q at %v, history %+v",
			a.State, a.RolledBack, a.StateReason, a.StateTime, a.History)
	}
	if got := len(hook.received()); got != 3 {
		t.Errorf("the webhook received %d notifications, want 3 (OK, ALARM, OK)", got)
	}
}

// Client errors made just after a period boundary — after the alarm's
// round at that boundary, before the history's next periodic sample —
// belong to the period that starts there, as in CloudWatch, and put the
// alarm in ALARM at its end. The round at the boundary took a live
// sample stamped exactly there, holding the count before the errors; the
// next period's datapoint, increase() over the left-open range
// (boundary, boundary+10s], must still count them.
func TestAlarm_ClientErrorsRightAfterAPeriodBoundaryCountInThatPeriod(t *testing.T) {
	const period = 10 * time.Second
	hook := newSNSHook(t)
	srv, _ := startServer(t, func(c *config.Config) {
		c.Metrics.HistoryInterval = time.Second
		applyYAML(t, c, fmt.Sprintf(alarmYAML, hook.URL(), hook.URL()))
	})
	client := runtimeClient(srv.URL(), "AKIDANYONE", "any-secret")
	for i := range 3 {
		if _, err := converseHaiku(t, client, fmt.Sprintf("Valid question %d", i), 100); err != nil {
			t.Fatal(err)
		}
	}
	// The first round's OK notification is sent right after the round
	// (and its live sample at the boundary).
	posts := hook.waitFor(1, time.Now().Add(15*time.Second))
	if len(posts) != 1 {
		t.Fatalf("%d notifications in the first 15 s, want the OK one", len(posts))
	}
	_, first := alarmNotification(t, "first notification", posts[0])
	boundary, err := time.Parse(alarm.TimeFormat, first.StateChangeTime)
	if err != nil || first.NewStateValue != "OK" {
		t.Fatalf("first notification: %s at %q (%v)", first.NewStateValue, first.StateChangeTime, err)
	}
	lastSample := func() time.Time {
		return time.UnixMilli(int64(math.Round(metric(t, srv, "modelwatch_history_last_sample_timestamp_seconds", nil) * 1000)))
	}
	if got := lastSample(); !got.Equal(boundary) {
		t.Skipf("the history's last sample is at %v, not the round's live sample at %v: its periodic phase leaves no room before the boundary's first sample (rerun)", got, boundary)
	}
	for i := range 4 {
		if _, err := converseHaiku(t, client, fmt.Sprintf("Invalid question %d", i), 100000); err == nil {
			t.Fatal("Converse with maxTokens 100000 succeeded")
		}
	}
	if got := lastSample(); !got.Equal(boundary) {
		t.Skipf("a periodic sample (%v) came before the errors ended: rerun", got)
	}
	errorsEnd := time.Now()
	if got := metric(t, srv, "bedrock_invocation_client_errors_total", map[string]string{"model_id": haiku}); got != 4 {
		t.Fatalf("bedrock_invocation_client_errors_total = %v, want 4", got)
	}
	t.Logf("4 client errors between %v (the round's sample) and %v, before the next periodic sample", boundary, errorsEnd)
	end := boundary.Add(period)
	posts = hook.waitFor(2, end.Add(5*time.Second))
	if len(posts) != 2 {
		dumpAlarmState(t, srv.URL(), boundary.Add(-5*time.Second))
		t.Fatalf("4 client errors made at %v-%v, in the period %v to %v, did not put the alarm in ALARM at %v: %d notifications",
			boundary.Add(time.Millisecond).Format("15:04:05.000"), errorsEnd.Format("15:04:05.000"), boundary.Format("15:04:05"), end.Format("15:04:05"),
			end.Format("15:04:05"), len(posts))
	}
	_, msg := alarmNotification(t, "second notification", posts[1])
	want := "Threshold Crossed: 1 out of the last 1 datapoints [4.0 (" + boundary.UTC().Format("02/01/06 15:04:05") +
		")] was greater than or equal to the threshold (3.0) (minimum 1 datapoint for OK -> ALARM transition)."
	if msg.NewStateValue != "ALARM" || msg.StateChangeTime != end.UTC().Format(alarm.TimeFormat) || msg.NewStateReason != want {
		t.Errorf("second notification: %s at %s: %q; want ALARM at %s: %q", msg.NewStateValue, msg.StateChangeTime, msg.NewStateReason,
			end.UTC().Format(alarm.TimeFormat), want)
	}
}
