package budget

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/webhook"
)

// Message is what a budget notification says.
type Message struct {
	BudgetName string `json:"budgetName"`
	BudgetType string `json:"budgetType"`
	// Notification is the notification that fired (type, operator,
	// threshold, threshold type, subscribers).
	Notification Notification `json:"notification"`
	// ThresholdAmount is the threshold as an amount (USD or tokens).
	ThresholdAmount float64 `json:"thresholdAmount"`
	// Actual is the period's spend when it fired; Forecast the run-rate
	// forecast when ForecastAvailable.
	Actual            float64   `json:"actual"`
	Forecast          float64   `json:"forecast"`
	ForecastAvailable bool      `json:"forecastAvailable"`
	Limit             float64   `json:"limit"`
	TimeUnit          string    `json:"timeUnit"`
	PeriodStart       time.Time `json:"periodStart"`
	PeriodEnd         time.Time `json:"periodEnd"`
	// Time is when the threshold was crossed.
	Time time.Time `json:"time"`
}

// Envelope is the SNS Notification a webhook receives; Message holds
// Message.Text.
type Envelope = webhook.Envelope

func (m *Message) amount(v float64) string {
	if m.BudgetType == TypeCost {
		return fmt.Sprintf("$%.2f", v)
	}
	return fmt.Sprintf("%.0f tokens", v)
}

// Subject is the SNS subject, as AWS Budgets words it: `AWS Budgets:
// team-a-monthly has exceeded your alert threshold` (GREATER_THAN and
// EQUAL_TO), `... is forecasted to exceed your alert threshold`
// (FORECASTED), `... is below your alert threshold` (LESS_THAN); at most
// 100 characters, as SNS requires.
func (m *Message) Subject() string {
	verb := "has exceeded"
	switch {
	case m.Notification.ComparisonOperator == LessThan && m.Notification.Type == Forecasted:
		verb = "is forecasted to be below"
	case m.Notification.ComparisonOperator == LessThan:
		verb = "is below"
	case m.Notification.Type == Forecasted:
		verb = "is forecasted to exceed"
	}
	s := fmt.Sprintf("AWS Budgets: %s %s your alert threshold", m.BudgetName, verb)
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// Text is the notification body, after AWS Budgets' alert text.
func (m *Message) Text() string {
	n := &m.Notification
	op := map[string]string{GreaterThan: "greater than", LessThan: "less than", EqualTo: "equal to"}[n.ComparisonOperator]
	sym := map[string]string{GreaterThan: ">", LessThan: "<", EqualTo: "="}[n.ComparisonOperator]
	kind := "Cost"
	if m.BudgetType == TypeUsage {
		kind = "Usage (tokens)"
	}
	value := m.Actual
	if n.Type == Forecasted {
		value = m.Forecast
	}
	th := m.amount(m.ThresholdAmount)
	if n.thresholdType() == Percentage {
		th = fmt.Sprintf("%s (%g%% of %s)", th, n.Threshold, m.amount(m.Limit))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "AWS Budget Notification %s\n\n", m.Time.UTC().Format("January 02, 2006"))
	fmt.Fprintf(&b, "You requested that we alert you when the %s %s associated with your %s budget is %s %s for the period %s. ",
		n.Type, kind, m.BudgetName, op, th, periodLabel(m.PeriodStart, m.PeriodEnd))
	fmt.Fprintf(&b, "The %s %s associated with this budget is %s.\n\n", n.Type, kind, m.amount(value))
	fmt.Fprintf(&b, "Budget Name: %s\nBudget Type: %s\nBudgeted Amount: %s\nAlert Type: %s\nAlert Threshold: %s %s\nACTUAL Amount: %s\n",
		m.BudgetName, kind, m.amount(m.Limit), n.Type, sym, th, m.amount(m.Actual))
	if m.ForecastAvailable {
		fmt.Fprintf(&b, "FORECASTED Amount: %s\n", m.amount(m.Forecast))
	} else {
		b.WriteString("FORECASTED Amount: not available yet\n")
	}
	return b.String()
}

// Envelope wraps m in an SNS Notification from topicArn (may be empty).
func (m *Message) Envelope(topicArn string) Envelope {
	return webhook.Notification(topicArn, m.Subject(), m.Text(), m.Time)
}

// WebhookAttempts is how many times each webhook is tried.
const WebhookAttempts = webhook.Attempts

// PostWebhooks POSTs m's SNS envelope to each of its notification's
// webhooks (package webhook: SNS's headers, up to WebhookAttempts tries,
// 1 s then 2 s apart, 10 s each when client is nil, 4xx other than 408
// and 429 final). It returns the joined errors of the URLs that failed.
// Use it in Options.Notify:
//
//	Notify: func(m budget.Message) { _ = budget.PostWebhooks(ctx, nil, "", m) }
func PostWebhooks(ctx context.Context, client *http.Client, topicArn string, m Message) error {
	env := m.Envelope(topicArn)
	var errs []error
	for _, u := range m.Notification.Subscribers.Webhooks {
		if err := webhook.Post(ctx, client, u, env); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
