package webui

import (
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/modelwatch/modelwatch/internal/webui/webuitest"
)

// findBudget, findAlarm and findQuota pick one item of a governance view.
func findBudget(v webuitest.GovernanceView, name string) (webuitest.BudgetView, bool) {
	for _, b := range v.Budgets {
		if b.Name == name {
			return b, true
		}
	}
	return webuitest.BudgetView{}, false
}

func findAlarm(v webuitest.GovernanceView, name string) (webuitest.AlarmView, bool) {
	for _, a := range v.Alarms {
		if a.Name == name {
			return a, true
		}
	}
	return webuitest.AlarmView{}, false
}

func findQuota(v webuitest.GovernanceView, rule string) (webuitest.QuotaView, bool) {
	for _, q := range v.Quotas {
		if q.Rule == rule {
			return q, true
		}
	}
	return webuitest.QuotaView{}, false
}

func containsAll(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not show %q:\n%s", what, w, text)
		}
	}
}

// TestBrowserGovernance opens #/governance against the fixture's
// /api/governance and /api/audit through webuitest.Governance (the helper
// the server's full-stack test uses) and checks every section's exact
// numbers and states, the alarm charts (threshold line, anomaly band),
// that policy documents and descriptions are shown as text, never markup,
// and that the page fits 1280 pixels. A refresh shows new numbers and
// keeps an opened history open; a caller allowed less sees notes naming
// the actions it lacks (and the audit trail's AccessDenied message); a
// 401 asks for the API key.
func TestBrowserGovernance(t *testing.T) {
	f := newFakeAPI()
	f.apiKey = "gov-key"
	srv := newFixtureServer(t, f)
	ctx := newBrowser(t)
	// The 403 and 401 of the last steps are the point.
	console := &webuitest.ConsoleLog{Expected: []string{"/api/audit", "/api/governance"}}
	console.Watch(ctx)

	v, err := webuitest.Governance(ctx, srv.URL, f.apiKey)
	if err != nil {
		t.Fatal(err)
	}
	webuitest.CheckGovernance(t, "governance", v)
	screenshot(t, ctx, screenshotDir(t), "governance")
	page := readPage(t, ctx)
	webuitest.CheckFits(t, "governance", page)
	if page.Title != "Governance" {
		t.Errorf("title %q, want Governance", page.Title)
	}
	for _, s := range webuitest.GovernanceSections {
		if !v.Permitted[s] {
			t.Errorf("section %s not shown to a caller allowed everything (note %q)", s, v.Notes[s])
		}
	}
	if cur, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#nav a[href="#/governance"]')?.getAttribute('aria-current') || ''`)); err != nil || cur != "page" {
		t.Errorf("the nav's Governance link: aria-current %q (err %v), want page", cur, err)
	}

	t.Run("budgets", func(t *testing.T) {
		if len(v.Budgets) != 2 {
			t.Fatalf("%d budget cards, want 2", len(v.Budgets))
		}
		b, _ := findBudget(v, "team-a-monthly")
		forecast, pct := 40.1, 12.34
		want := webuitest.BudgetView{Name: "team-a-monthly", Type: "COST", Unit: "USD", Actual: 12.34, Limit: 100, Held: 0.5,
			Forecast: &forecast, Percent: &pct, UnpricedCalls: 3, HardLimit: true}
		got := b
		got.Notifications, got.Text = nil, ""
		if !reflect.DeepEqual(got, want) {
			t.Errorf("team-a-monthly reads %+v, want %+v", got, want)
		}
		containsAll(t, "team-a-monthly", b.Text, "$12.34", "of $100.00", "12.3%", "3 unpriced calls not included",
			"Hard limit", "$40.10", "$0.50", "Dec 1 – Dec 31, 2026", "Actual > 80% ($80.00)", "Forecasted > $35.00")
		if len(b.Notifications) != 2 || b.Notifications[0].State != "OK" || b.Notifications[1].State != "ALARM" || b.Notifications[0].Threshold != 80 {
			t.Errorf("notifications read %+v", b.Notifications)
		}
		tok, _ := findBudget(v, "tokens-daily")
		if tok.Forecast != nil || tok.Actual != 1250000 || tok.Limit != 1e6 || tok.HardLimit {
			t.Errorf("tokens-daily reads %+v", tok)
		}
		containsAll(t, "tokens-daily", tok.Text, "1,250,000 tokens", "of 1,000,000 tokens", "125%", "no forecast yet", "Soft limit", "Dec 7, 2026")
		if strings.Contains(tok.Text, "$") || strings.Contains(tok.Text, "unpriced") {
			t.Errorf("a token budget shows money or unpriced calls:\n%s", tok.Text)
		}
	})

	t.Run("alarms", func(t *testing.T) {
		var names []string
		for _, a := range v.Alarms {
			names = append(names, a.Name)
		}
		// Firing first.
		if want := []string{"haiku-throttles", "nova-errors", "latency-anomaly"}; !reflect.DeepEqual(names, want) {
			t.Errorf("alarms listed %v, want %v", names, want)
		}
		a, _ := findAlarm(v, "haiku-throttles")
		if a.State != "ALARM" || !a.RolledBack || a.ChartPoints != 12 || a.History != 2 ||
			!reflect.DeepEqual(a.ChartLines, []string{"Value", "Threshold"}) || a.Chart[0] <= 0 {
			t.Errorf("haiku-throttles reads %+v", a)
		}
		if len(a.Row) != 6 || a.Row[1] != "Alarm" || a.Row[2] != "> 10 for 2 of 3 datapoints of 1 minute" || a.Row[5] != "Rolled back to fallback" {
			t.Errorf("haiku-throttles row %q", a.Row)
		}
		band, _ := findAlarm(v, "latency-anomaly")
		if band.State != "OK" || band.RolledBack || band.ChartPoints != 8 || !reflect.DeepEqual(band.ChartLines, []string{"Value", "Upper band", "Lower band"}) || band.Chart[0] <= 0 {
			t.Errorf("latency-anomaly reads %+v", band)
		}
		if len(band.Row) != 6 || band.Row[2] != "outside the band (2 standard deviations) for 1 of 1 datapoint of 5 minutes" {
			t.Errorf("latency-anomaly row %q", band.Row)
		}
		none, _ := findAlarm(v, "nova-errors")
		if none.State != "INSUFFICIENT_DATA" || none.ChartPoints != 0 || len(none.Row) < 2 || none.Row[1] != "Insufficient data" {
			t.Errorf("nova-errors reads %+v", none)
		}
		containsAll(t, "alarms", v.Text, "No datapoints yet", "Throttles of Claude 3 Haiku <img src=x onerror=alert(1)>")
	})

	t.Run("quotas", func(t *testing.T) {
		q, ok := findQuota(v, "per-principal-tpm")
		want := webuitest.QuotaView{Rule: "per-principal-tpm", Model: "anthropic.claude-*", Principal: "alice",
			RequestsPerMinute: 60, RequestsUsed: 12, TokensPerMinute: 100000, TokensUsed: 34000, TokensReserved: 4096, TokensToday: 50000}
		got := q
		got.Cells = nil
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("per-principal-tpm reads %+v, want %+v", got, want)
		}
		if want := []string{"per-principal-tpm", "anthropic.claude-*", "alice", "12 / 60", "34,000 / 100,000 +4,096 reserved", "50,000 · no limit"}; !reflect.DeepEqual(q.Cells, want) {
			t.Errorf("per-principal-tpm row %q, want %q", q.Cells, want)
		}
		n, _ := findQuota(v, "nova-daily")
		if n.Profile != "batch" || n.TokensToday != 1900000 || n.TokensPerDay != 2e6 || len(n.Cells) != 6 || n.Cells[2] != "profile batch" || n.Cells[5] != "1,900,000 / 2,000,000" {
			t.Errorf("nova-daily reads %+v", n)
		}
	})

	t.Run("policies", func(t *testing.T) {
		if len(v.Policies) != 2 {
			t.Fatalf("%d principals, want 2", len(v.Policies))
		}
		p := v.Policies[0]
		if p.Principal != "alice" || p.ARN != "arn:aws:iam::123456789012:user/alice" || !reflect.DeepEqual(p.Groups, []string{"analysts"}) ||
			!reflect.DeepEqual(p.Tags, []string{"cost-center=42", "team=a"}) || !reflect.DeepEqual(p.Policies, []string{"InvokeHaiku", "ReadDashboards"}) {
			t.Errorf("alice reads %+v", p)
		}
		containsAll(t, "InvokeHaiku", p.Documents["InvokeHaiku"], `"Version": "2012-10-17"`, `"Sid": "<script>alert('x')</script>"`, `"bedrock:Converse"`)
		// Markup in the data stays text.
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#main script, #main img').length`)); err != nil || n != 0 {
			t.Errorf("%d script or img elements in the page (err %v): data was rendered as markup", n, err)
		}
		if len(v.Policies[1].Policies) != 0 || !strings.Contains(v.Text, "No policies: every call is denied.") {
			t.Errorf("bob reads %+v", v.Policies[1])
		}
	})

	t.Run("audit", func(t *testing.T) {
		if len(v.Audit) != 3 {
			t.Fatalf("%d audit rows, want 3", len(v.Audit))
		}
		d := v.Audit[0]
		if d.EventName != "UpdateBudget" || d.ErrorCode != "AccessDenied" || !d.Denied || d.Principal != "bob" || d.EventID != "ev-3" ||
			len(d.Cells) != 6 || d.Cells[3] != "10.0.0.7" || d.Cells[4] != "write" || d.Cells[5] != "AccessDenied" {
			t.Errorf("the refused event reads %+v", d)
		}
		for _, r := range v.Audit[1:] {
			if r.Denied || r.ErrorCode != "" || r.Cells[5] != "OK" {
				t.Errorf("event %s reads %+v", r.EventName, r)
			}
		}
		if v.Audit[2].Principal != "carol" || v.Audit[2].Cells[4] != "read" {
			t.Errorf("the assumed role's event reads %+v", v.Audit[2])
		}
	})

	t.Run("refresh", func(t *testing.T) {
		// Open a history, then the data change: a refresh shows the new
		// numbers and leaves the history open.
		open := `document.querySelector('[data-alarm-chart="haiku-throttles"] details.history').open = true;
		  document.querySelectorAll('#audit-table th button')[1].click(); true`
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](open)); err != nil {
			t.Fatal(err)
		}
		g := fixtureGovernance()
		g["budgets"].([]any)[0].(map[string]any)["actual"] = 20.5
		g["alarms"].([]any)[0].(map[string]any)["state"] = "OK"
		f.setGovernance(g)
		if err := webuitest.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := webuitest.ReadGovernance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := findBudget(v, "team-a-monthly"); b.Actual != 20.5 || !strings.Contains(b.Text, "$20.50") {
			t.Errorf("after the refresh team-a-monthly reads %v:\n%s", b.Actual, b.Text)
		}
		if a, _ := findAlarm(v, "haiku-throttles"); a.State != "OK" || a.Chart[0] <= 0 {
			t.Errorf("after the refresh haiku-throttles reads %+v", a)
		}
		if isOpen, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-alarm-chart="haiku-throttles"] details.history').open`)); err != nil || !isOpen {
			t.Errorf("the opened history closed on refresh (err %v)", err)
		}
		// The order chosen (by event name) survives the refresh.
		var events []string
		for _, r := range v.Audit {
			events = append(events, r.EventName)
		}
		if want := []string{"CreateBudget", "DescribeAlarms", "UpdateBudget"}; !reflect.DeepEqual(events, want) {
			t.Errorf("after the refresh the audit trail sorted by event reads %v, want %v", events, want)
		}
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#main .uplot').length`)); err != nil || n != 2 {
			t.Errorf("%d charts after the refresh (err %v), want 2: old charts must be replaced, not added", n, err)
		}
	})

	t.Run("not permitted", func(t *testing.T) {
		g := fixtureGovernance()
		f.setGovernance(map[string]any{"quotas": g["quotas"]})
		f.auditDenied.Store(true)
		if err := webuitest.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := webuitest.ReadGovernance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		webuitest.CheckGovernance(t, "restricted", v)
		want := map[string]string{
			"budgets":  "Your principal may not read budgets (budgets:ViewBudget)",
			"alarms":   "Your principal may not read alarms (cloudwatch:DescribeAlarms)",
			"policies": "Your principal may not read policies (iam:GetPolicy)",
			"audit":    "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: cloudtrail:LookupEvents",
		}
		if !reflect.DeepEqual(v.Notes, want) {
			t.Errorf("notes %q, want %q", v.Notes, want)
		}
		if !v.Permitted["quotas"] || len(v.Quotas) != 2 || len(v.Budgets)+len(v.Alarms)+len(v.Policies)+len(v.Audit) != 0 {
			t.Errorf("a caller allowed only quotas sees %+v", v)
		}
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#main .uplot').length`)); err != nil || n != 0 {
			t.Errorf("%d charts left over (err %v)", n, err)
		}
		screenshot(t, ctx, screenshotDir(t), "governance-restricted")
	})

	t.Run("API key", func(t *testing.T) {
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{}}); err != nil {
			t.Fatal(err)
		}
		if err := webuitest.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := webuitest.ReadGovernance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(v.Errors["page"], "API key required") {
			t.Fatalf("without a key the page shows %q:\n%s", v.Errors, v.Text)
		}
		enter := `document.getElementById('main').dataset.state = 'navigating';
		  document.querySelector('#main .widget-error button').click();
		  document.getElementById('key-input').value = ` + "`" + f.apiKey + "`" + `;
		  document.getElementById('key-form').requestSubmit(); true`
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](enter)); err != nil {
			t.Fatal(err)
		}
		if err := waitReady(ctx); err != nil {
			t.Fatal(err)
		}
		v, err = webuitest.ReadGovernance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Errors) != 0 || len(v.Quotas) != 2 {
			t.Errorf("with the key entered the page shows errors %q and %d quotas", v.Errors, len(v.Quotas))
		}
	})

	if errs, err := console.Errors(ctx); err != nil || len(errs) > 0 {
		t.Errorf("console errors (%v):\n%s", err, strings.Join(errs, "\n"))
	}
}
