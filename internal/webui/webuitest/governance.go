package webuitest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// GovernanceSections are the sections of the governance page, in order,
// as its data-section attributes name them.
var GovernanceSections = []string{"budgets", "alarms", "quotas", "policies", "audit"}

// GovernanceView is what the governance page (#/governance) shows, read
// from the data attributes it writes for tests: exact numbers, not the
// rounded text.
type GovernanceView struct {
	// Permitted says, per section ("budgets", "alarms", "quotas",
	// "policies", "audit"), whether the page shows its data; false when the
	// caller may not read it (the API left the key out, or /api/audit
	// answered 403) and the section shows a note instead.
	Permitted map[string]bool `json:"permitted"`
	// Notes are the notes of sections not permitted: section → the text,
	// e.g. "Your principal may not read budgets (budgets:ViewBudget)".
	Notes map[string]string `json:"notes"`
	// Errors are inline errors: "page" (the governance API failed; a 401
	// reads "API key required …") or a section → the error's text.
	Errors   map[string]string `json:"errors"`
	Budgets  []BudgetView      `json:"budgets"`
	Alarms   []AlarmView       `json:"alarms"`
	Quotas   []QuotaView       `json:"quotas"`
	Policies []PrincipalView   `json:"policies"`
	// Audit are the audit trail's rows in their displayed order (newest
	// first).
	Audit []AuditRow `json:"audit"`
	// Text is the page's visible text.
	Text string `json:"text"`
}

// BudgetView is one budget card.
type BudgetView struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Unit string `json:"unit"`
	// Actual, Limit and Held are the numbers of the API, unrounded.
	Actual float64 `json:"actual"`
	Limit  float64 `json:"limit"`
	Held   float64 `json:"held"`
	// Forecast is nil when the card says "no forecast yet".
	Forecast *float64 `json:"forecast"`
	// Percent is Actual as a percentage of Limit (nil without a limit).
	Percent       *float64 `json:"percent"`
	UnpricedCalls int64    `json:"unpricedCalls"`
	HardLimit     bool     `json:"hardLimit"`
	// Notifications are the thresholds listed on the card.
	Notifications []BudgetNotification `json:"notifications"`
	// Text is the card's visible text ("$12.34 of $100.00", "3 unpriced
	// calls not included", …).
	Text string `json:"text"`
}

// BudgetNotification is one notification threshold of a budget card.
type BudgetNotification struct {
	Type          string  `json:"type"`
	ThresholdType string  `json:"thresholdType"`
	Threshold     float64 `json:"threshold"`
	State         string  `json:"state"`
	// Text is what the card says, e.g. "Actual > 80% ($80.00) OK".
	Text string `json:"text"`
}

// AlarmView is one alarm: its row of the alarms table and its card.
type AlarmView struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	RolledBack bool   `json:"rolledBack"`
	// Row are the texts of the table row's cells: name, state, condition,
	// reason, since, remediation.
	Row []string `json:"row"`
	// ChartPoints are the datapoints with a value the card charts.
	ChartPoints int `json:"chartPoints"`
	// Chart is the drawn canvas's [width, height], zero when no chart.
	Chart [2]float64 `json:"chart"`
	// ChartLines are the chart's lines: "Value", then "Threshold", or
	// "Upper band" and "Lower band" for an anomaly detection alarm.
	ChartLines []string `json:"chartLines"`
	// History is the number of state transitions listed.
	History int `json:"history"`
}

// QuotaView is one row of the quotas table.
type QuotaView struct {
	Rule              string  `json:"rule"`
	Model             string  `json:"model"`
	Principal         string  `json:"principal"`
	Profile           string  `json:"profile"`
	RequestsPerMinute float64 `json:"requestsPerMinute"`
	RequestsUsed      float64 `json:"requestsUsed"`
	TokensPerMinute   float64 `json:"tokensPerMinute"`
	TokensUsed        float64 `json:"tokensUsed"`
	TokensReserved    float64 `json:"tokensReserved"`
	TokensPerDay      float64 `json:"tokensPerDay"`
	TokensToday       float64 `json:"tokensToday"`
	// Cells are the texts of the row's cells.
	Cells []string `json:"cells"`
}

// PrincipalView is one principal of the policies section.
type PrincipalView struct {
	Principal string   `json:"principal"`
	ARN       string   `json:"arn"`
	Groups    []string `json:"groups"`
	// Tags are "key=value".
	Tags []string `json:"tags"`
	// Policies are the IDs of the policy documents listed.
	Policies []string `json:"policies"`
	// Documents are the documents' texts as shown (pretty-printed JSON),
	// by policy ID.
	Documents map[string]string `json:"documents"`
}

// AuditRow is one event of the audit trail.
type AuditRow struct {
	EventName string `json:"eventName"`
	ErrorCode string `json:"errorCode"`
	EventID   string `json:"eventId"`
	RequestID string `json:"requestId"`
	Principal string `json:"principal"`
	// Denied says the row is highlighted as refused (AccessDenied).
	Denied bool `json:"denied"`
	// Cells are the texts of the row's cells: time, event, principal,
	// source IP, kind, outcome.
	Cells []string `json:"cells"`
}

const readGovernanceJS = `(() => {
  const main = document.getElementById('main');
  const num = (v) => (v === undefined || v === '' ? null : Number(v));
  const cells = (tr) => [...tr.cells].map((c) => c.textContent.trim());
  const out = {permitted: {}, notes: {}, errors: {}, budgets: [], alarms: [], quotas: [], policies: [], audit: [], text: main.innerText};
  const banner = main.querySelector(':scope > div > .banner .widget-error');
  if (banner) out.errors.page = banner.innerText;
  for (const s of main.querySelectorAll('section.gov-section')) {
    const key = s.dataset.section;
    out.permitted[key] = s.dataset.permitted === 'true';
    const note = s.querySelector('.gov-note');
    if (note) out.notes[key] = note.textContent;
    const err = s.querySelector('.widget-error');
    if (err) out.errors[key] = err.innerText;
  }
  for (const c of main.querySelectorAll('[data-budget]')) {
    const d = c.dataset;
    out.budgets.push({name: d.budget, type: d.type, unit: d.unit, actual: Number(d.actual), limit: num(d.limit) ?? 0, held: Number(d.held),
      forecast: num(d.forecast), percent: num(d.percent), unpricedCalls: Number(d.unpricedCalls), hardLimit: d.hardLimit === 'true',
      notifications: [...c.querySelectorAll('.notifications li')].map((li) => ({type: li.dataset.notificationType, thresholdType: li.dataset.thresholdType,
        threshold: Number(li.dataset.threshold), state: li.dataset.state, text: li.textContent.trim()})),
      text: c.innerText});
  }
  for (const tr of main.querySelectorAll('#alarms-table tbody tr[data-alarm]')) {
    const card = [...main.querySelectorAll('[data-alarm-chart]')].find((x) => x.dataset.alarmChart === tr.dataset.alarm);
    const canvas = card?.querySelector('canvas');
    const r = canvas ? canvas.getBoundingClientRect() : null;
    const lines = card?.querySelector('.alarm-chart')?.dataset.lines;
    out.alarms.push({name: tr.dataset.alarm, state: tr.dataset.state, rolledBack: tr.dataset.rolledBack === 'true', row: cells(tr),
      chartPoints: Number(card?.dataset.points || 0), chart: r ? [Math.min(r.width, canvas.width), Math.min(r.height, canvas.height)] : [0, 0],
      chartLines: lines ? lines.split(',') : [], history: card ? card.querySelectorAll('details.history li').length : 0});
  }
  for (const tr of main.querySelectorAll('#quotas-table tbody tr[data-quota-rule]')) {
    const d = tr.dataset;
    out.quotas.push({rule: d.quotaRule, model: d.model, principal: d.principal, profile: d.profile,
      requestsPerMinute: Number(d.requestsPerMinute), requestsUsed: Number(d.requestsUsed),
      tokensPerMinute: Number(d.tokensPerMinute), tokensUsed: Number(d.tokensUsed), tokensReserved: Number(d.tokensReserved),
      tokensPerDay: Number(d.tokensPerDay), tokensToday: Number(d.tokensToday), cells: cells(tr)});
  }
  for (const c of main.querySelectorAll('[data-principal].principal-card')) {
    const chips = (f) => [...c.querySelectorAll('[data-field="' + f + '"] .chip')].map((x) => x.textContent);
    const docs = {};
    for (const p of c.querySelectorAll('details.policy')) docs[p.dataset.policyId] = p.querySelector('pre')?.textContent || '';
    out.policies.push({principal: c.dataset.principal, arn: c.dataset.arn, groups: chips('groups'), tags: chips('tags'),
      policies: [...c.querySelectorAll('details.policy')].map((p) => p.dataset.policyId), documents: docs});
  }
  for (const tr of main.querySelectorAll('#audit-table tbody tr[data-event-name]')) {
    const d = tr.dataset;
    out.audit.push({eventName: d.eventName, errorCode: d.errorCode, eventId: d.eventId, requestId: d.requestId, principal: d.principal,
      denied: tr.classList.contains('denied'), cells: cells(tr)});
  }
  return out;
})()`

// ReadGovernance reads the governance page the browser shows (after
// OpenGovernance or GoTo(ctx, "#/governance") has waited for it).
func ReadGovernance(ctx context.Context) (GovernanceView, error) {
	v, err := chromedp.Run(ctx, chromedp.Evaluate[GovernanceView](readGovernanceJS))
	if err != nil {
		return GovernanceView{}, fmt.Errorf("reading the governance page: %w", err)
	}
	return v, nil
}

// OpenGovernance switches the page already open in ctx to the governance
// page and waits for its data.
func OpenGovernance(ctx context.Context) error {
	return GoTo(ctx, "#/governance")
}

// Governance opens baseURL's governance page in the browser of ctx (from
// NewBrowser), sending apiKey, when set, as "Authorization: Bearer" with
// every request of the page from then on; it waits until the page has
// loaded its data and returns what it shows. The server's full-stack test
// calls it to compare the page with the budgets, quotas and alarms it
// knows.
func Governance(ctx context.Context, baseURL, apiKey string) (GovernanceView, error) {
	if apiKey != "" {
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Authorization": "Bearer " + apiKey},
		})
		if err != nil {
			return GovernanceView{}, fmt.Errorf("setting the API key header: %w", err)
		}
	}
	base := strings.TrimRight(baseURL, "/")
	here, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.origin + location.pathname`))
	if err == nil && here == base+"/" {
		// The dashboard is open: switch pages (a navigation to the same
		// document with another hash does not load the page again).
		if err := OpenGovernance(ctx); err != nil {
			return GovernanceView{}, err
		}
	} else {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/#/governance")); err != nil {
			return GovernanceView{}, fmt.Errorf("opening %s: %w", base, err)
		}
		if err := WaitReady(ctx); err != nil {
			return GovernanceView{}, err
		}
	}
	return ReadGovernance(ctx)
}

// CheckGovernance fails for what the governance page must never show: an
// inline error, a missing section or one not permitted without a note
// saying so, an alarm with datapoints but no chart (or no threshold
// or band on it), and a budget with unpriced calls that does not say they
// are not included.
func CheckGovernance(t *testing.T, what string, v GovernanceView) {
	t.Helper()
	for k, e := range v.Errors {
		t.Errorf("%s: %s shows an error: %s", what, k, e)
	}
	for _, s := range GovernanceSections {
		p, ok := v.Permitted[s]
		if !ok {
			t.Errorf("%s: no %s section", what, s)
		} else if !p && strings.TrimSpace(v.Notes[s]) == "" {
			t.Errorf("%s: the %s section is not permitted and says nothing about it", what, s)
		}
	}
	for _, a := range v.Alarms {
		if a.ChartPoints > 0 && (a.Chart[0] <= 0 || a.Chart[1] <= 0) {
			t.Errorf("%s: alarm %s has %d datapoints but no chart (%v)", what, a.Name, a.ChartPoints, a.Chart)
		}
		if a.ChartPoints > 0 && len(a.ChartLines) < 2 {
			t.Errorf("%s: alarm %s's chart draws %v: no threshold or band", what, a.Name, a.ChartLines)
		}
	}
	for _, b := range v.Budgets {
		if b.UnpricedCalls > 0 && !strings.Contains(b.Text, "unpriced call") {
			t.Errorf("%s: budget %s has %d unpriced calls the card does not mention:\n%s", what, b.Name, b.UnpricedCalls, b.Text)
		}
	}
}
