// Package webuitest drives the built-in dashboard in headless Chromium
// (Debian's chromium package, through chromedp) and checks what it shows:
// numbers, charts, pages, console errors. Tests of package webui run it
// against canned data, the server's tests against a real `serve` after
// known traffic. Without Chromium the checks skip, unless $CI is set.
package webuitest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium (package chromium).
const ChromiumPath = "/usr/bin/chromium"

// Checks is what Check expects of the dashboard.
type Checks struct {
	// BaseURL is the server's origin, e.g. http://127.0.0.1:4600.
	BaseURL string
	// APIKey, when set, is sent as "Authorization: Bearer" with every
	// request of the page.
	APIKey string
	// Values are the value widgets of the first section (the all-models
	// view): widget title → the text shown, number and unit ("235 ms").
	Values map[string]string
	// NonZero are value widgets of the first section that must show a
	// number other than zero (traffic whose exact count the test cannot
	// know, since PromQL's increase() extrapolates).
	NonZero []string
	// MinCharts is how many graphs of the first section must have drawn a
	// chart (a canvas of non-zero size).
	MinCharts int
	// ModelSection is a section ID whose page (#/model/<id>) must open and
	// show ModelValues and at least one chart.
	ModelSection string
	ModelValues  map[string]string
	// WidgetErrors are texts of widgets expected to show an error inline
	// (widget title → substring of the error), on the model page. Any other
	// widget error fails the check.
	WidgetErrors map[string]string
	// CostTexts must all appear on the cost page.
	CostTexts []string
	// Invocations says whether invocation logging is on: the list must have
	// rows and open a record; when off, the page must say how to turn it on.
	Invocations bool
	// ExpectedNetworkErrors are substrings of URLs whose HTTP errors are
	// part of the test (the browser logs them as console errors).
	ExpectedNetworkErrors []string
	// ScreenshotDir receives PNG screenshots of each page.
	ScreenshotDir string
}

// ScreenshotDir is $MODELWATCH_SCREENSHOTS, or a test temporary directory.
func ScreenshotDir(t *testing.T) string {
	if d := os.Getenv("MODELWATCH_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("Screenshot directory: %v", err)
		}
		return d
	}
	return t.TempDir()
}

// NewBrowser starts headless Chromium with a 1280×800 window. Without
// Chromium the test is skipped, unless $CI is set: CI must run it.
func NewBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing and CI is set: install Debian's chromium package", ChromiumPath)
		}
		t.Skipf("%s is missing (install Debian's chromium package to run the browser test)", ChromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser with the untimed context: it lives as long as it.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting %s: %v", ChromiumPath, err)
	}
	return ctx
}

// ConsoleLog collects the page's console errors and uncaught exceptions.
type ConsoleLog struct {
	mu       sync.Mutex
	errs     []string
	Expected []string
	marks    chan string // console.info messages, for flush
}

// flushMark is logged by flush; seeing it means every earlier message was
// read.
const flushMark = "modelwatch-check-flush"

// Watch starts collecting the console messages of the page in ctx.
func (c *ConsoleLog) Watch(ctx context.Context) {
	c.marks = make(chan string, 1)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleInfo && strings.HasPrefix(m.Text, flushMark) {
				c.marks <- m.Text
				continue
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			if m.Source == "network" && c.isExpected(m.URL) {
				continue
			}
			c.mu.Lock()
			c.errs = append(c.errs, fmt.Sprintf("%s (%s)", m.String(), m.URL))
			c.mu.Unlock()
		}
	}()
}

func (c *ConsoleLog) isExpected(url string) bool {
	for _, s := range c.Expected {
		if strings.Contains(url, s) {
			return true
		}
	}
	return false
}

// Errors returns the errors logged so far, after a round trip through the
// console so that none is still queued.
func (c *ConsoleLog) Errors(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`console.info('`+flushMark+`'); true`)); err != nil {
		return nil, err
	}
	select {
	case <-c.marks:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...), nil
}

// WaitReady waits for the page to say it has loaded its data (main's
// data-state). The step's context bounds it; nothing is timed.
func WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('main')?.dataset.state === 'ready'`, chromedp.WithPollingTimeout(0)))
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("the page did not finish loading its data")
	}
	return err
}

// GoTo switches the page to a route and waits for its data. Marking main
// first means a stale "ready" of the previous page is never mistaken.
func GoTo(ctx context.Context, hash string) error {
	js := fmt.Sprintf(`document.getElementById('main').dataset.state = 'navigating'; location.hash = %q; true`, hash)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
		return err
	}
	return WaitReady(ctx)
}

// Refresh clicks the page's "Refresh now" button, as a person does, and
// waits until the current page has reloaded its data. Main is marked first,
// as in GoTo, so the "ready" of the previous load is never mistaken for
// this one's; a click during an auto-refresh is queued by the page behind
// it, and the page is ready only when the clicked refresh has finished.
func Refresh(ctx context.Context) error {
	js := `(() => {
	  const b = document.getElementById('refresh-now');
	  if (!b) return false;
	  document.getElementById('main').dataset.state = 'navigating';
	  b.click();
	  return true;
	})()`
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the page has no Refresh now button")
	}
	return WaitReady(ctx)
}

// Screenshot saves a PNG of the whole page as dir/name.png; a failure is
// an error of the test, not fatal.
func Screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("Screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Errorf("Screenshot %s: %v", name, err)
		return
	}
	t.Logf("Screenshot %s", p)
}

// PageState is what the checks read from a page in one evaluation.
type PageState struct {
	Title  string            `json:"title"`
	Values map[string]string `json:"values"`
	// Numbers are the value widgets' unrounded numbers (the value's title
	// attribute, what a person sees on hovering it), for exact checks:
	// widget title → the number as the page holds it. A widget without a
	// finite number ("—", "unpriced") is absent.
	Numbers map[string]float64 `json:"numbers"`
	// Charts are the graph widgets' canvases: title → [width, height]
	// (absent: no chart drawn).
	Charts map[string][2]float64 `json:"charts"`
	// ChartPoints are the points each graph widget drew: title → the
	// number of non-null values over all its lines (the tile's data-points;
	// 0 when it has no data or an error, absent before it first loaded).
	ChartPoints map[string]int `json:"chartPoints"`
	// Tables are the table widgets: title → rows of cell texts, the first
	// row the column headers, then the body rows in their displayed order.
	// A widget that shows no table (no data, an error) is absent.
	Tables map[string][][]string `json:"tables"`
	Empty  []string              `json:"empty"`
	Errors map[string]string     `json:"errors"`
	Text   string                `json:"text"`
	Width  float64               `json:"width"`
	// Overflowing are tiles and tables whose content is wider than they are.
	Overflowing []string `json:"overflowing"`
	// Updated is the top bar's note of the last load ("Updated 12:01:05").
	Updated string `json:"updated"`
	// AutoRefresh is the selected auto-refresh choice ("off", "10s", ...).
	AutoRefresh string `json:"autoRefresh"`
}

const readPageJS = `(() => {
  const main = document.getElementById('main');
  const out = {title: main.querySelector('h1')?.textContent || '', values: {}, numbers: {}, charts: {}, chartPoints: {}, tables: {},
    empty: [], errors: {}, text: main.innerText, width: document.documentElement.scrollWidth, overflowing: [],
    updated: document.getElementById('updated')?.textContent || '', autoRefresh: document.getElementById('refresh')?.value || ''};
  const cells = (tr) => [...tr.cells].map((c) => c.textContent.trim());
  for (const e of main.querySelectorAll('.table-wrap, .widget-body')) {
    if (e.scrollWidth > e.clientWidth + 1) out.overflowing.push((e.closest('[data-title]')?.dataset.title || e.closest('section')?.getAttribute('aria-label') || e.className) + ' (' + e.scrollWidth + ' > ' + e.clientWidth + ')');
  }
  for (const w of main.querySelectorAll('.widget')) {
    const title = w.dataset.title;
    const err = w.querySelector('.widget-error');
    if (err) out.errors[title || w.dataset.kind] = err.innerText;
    if (w.dataset.kind === 'value') {
      const item = w.querySelector('.value');
      if (item) out.values[title] = [...item.children].map((e) => e.textContent).join(' ');
      const n = Number(item?.getAttribute('title') ?? NaN);
      if (Number.isFinite(n)) out.numbers[title] = n;
    }
    if (w.dataset.kind === 'graph') {
      const c = w.querySelector('canvas');
      if (c) { const r = c.getBoundingClientRect(); out.charts[title] = [Math.min(r.width, c.width), Math.min(r.height, c.height)]; }
      if (w.querySelector('.empty')) out.empty.push(title);
      if (w.dataset.points !== undefined) out.chartPoints[title] = Number(w.dataset.points);
    }
    if (w.dataset.kind === 'table') {
      const table = w.querySelector('table');
      if (table) out.tables[title] = [...(table.tHead ? table.tHead.rows : []), ...[...table.tBodies].flatMap((b) => [...b.rows])].map(cells);
    }
  }
  return out;
})()`

// ReadPage reads the current page's state in one evaluation; a failure to
// read fails the test.
func ReadPage(t *testing.T, ctx context.Context) PageState {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[PageState](readPageJS))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	return s
}

// CheckFits fails when the page or any tile is wider than a 1280-pixel
// window allows.
func CheckFits(t *testing.T, page string, s PageState) {
	t.Helper()
	if s.Width > 1280 {
		t.Errorf("%s: the page is %v pixels wide, more than the 1280-pixel window", page, s.Width)
	}
	for _, o := range s.Overflowing {
		t.Errorf("%s: content wider than its tile: %s", page, o)
	}
}

// CheckValues compares value widgets with the expected texts.
func CheckValues(t *testing.T, page string, got, want map[string]string) {
	t.Helper()
	for title, w := range want {
		if g, ok := got[title]; !ok {
			t.Errorf("%s: no value widget %q (have %v)", page, title, got)
		} else if g != w {
			t.Errorf("%s: value widget %q shows %q, want %q", page, title, g, w)
		}
	}
}

// CheckCharts requires at least min drawn charts of non-zero size.
func CheckCharts(t *testing.T, page string, s PageState, min int) {
	t.Helper()
	drawn := 0
	for title, size := range s.Charts {
		if size[0] <= 0 || size[1] <= 0 {
			t.Errorf("%s: chart %q has a zero-size canvas %v", page, title, size)
			continue
		}
		drawn++
	}
	if drawn < min {
		t.Errorf("%s: %d charts drawn (%v), want at least %d", page, drawn, s.Charts, min)
	}
}

// CheckWidgetErrors fails for every widget that shows an error other than
// the expected ones (title → substring), and for every expected error not
// shown.
func CheckWidgetErrors(t *testing.T, page string, got, want map[string]string) {
	t.Helper()
	for title, msg := range got {
		if w, ok := want[title]; !ok || !strings.Contains(msg, w) {
			t.Errorf("%s: widget %q shows an error: %s", page, title, msg)
		}
	}
	for title, w := range want {
		if _, ok := got[title]; !ok {
			t.Errorf("%s: widget %q shows no error, want one containing %q", page, title, w)
		}
	}
}

// Check drives the dashboard in headless Chromium at 1280×800:
// the all-models view, a model page, the cost page and the invocations
// pages, checking the numbers and charts and that nothing was logged to
// the console, and saves a screenshot of each page.
func Check(t *testing.T, c Checks) {
	ctx := NewBrowser(t)
	console := &ConsoleLog{Expected: c.ExpectedNetworkErrors}
	console.Watch(ctx)
	if c.APIKey != "" {
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Authorization": "Bearer " + c.APIKey},
		})
		if err != nil {
			t.Fatalf("setting the API key header: %v", err)
		}
	}
	dir := c.ScreenshotDir
	if dir == "" {
		dir = ScreenshotDir(t)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(strings.TrimRight(c.BaseURL, "/")+"/")); err != nil {
		t.Fatalf("opening %s: %v", c.BaseURL, err)
	}
	if err := WaitReady(ctx); err != nil {
		t.Fatalf("overview: %v", err)
	}

	t.Run("overview", func(t *testing.T) {
		s := ReadPage(t, ctx)
		Screenshot(t, ctx, dir, "overview")
		CheckValues(t, "overview", s.Values, c.Values)
		for _, title := range c.NonZero {
			if v := s.Values[title]; v == "" || v == "0" || v == "—" {
				t.Errorf("overview: %q shows %q, want a number other than zero", title, v)
			}
		}
		CheckCharts(t, "overview", s, c.MinCharts)
		CheckWidgetErrors(t, "overview", s.Errors, nil)
		CheckFits(t, "overview", s)
	})

	if c.ModelSection != "" {
		t.Run("model", func(t *testing.T) {
			if err := GoTo(ctx, "#/model/"+c.ModelSection); err != nil {
				t.Fatal(err)
			}
			s := ReadPage(t, ctx)
			Screenshot(t, ctx, dir, "model")
			if s.Title == "" || s.Title == "Not found" {
				t.Errorf("model page %q did not open (title %q)", c.ModelSection, s.Title)
			}
			CheckValues(t, "model page", s.Values, c.ModelValues)
			CheckCharts(t, "model page", s, 1)
			CheckWidgetErrors(t, "model page", s.Errors, c.WidgetErrors)
			CheckFits(t, "model page", s)
		})
	}

	t.Run("cost", func(t *testing.T) {
		if err := GoTo(ctx, "#/cost"); err != nil {
			t.Fatal(err)
		}
		s := ReadPage(t, ctx)
		Screenshot(t, ctx, dir, "cost")
		CheckWidgetErrors(t, "cost page", s.Errors, nil)
		CheckFits(t, "cost page", s)
		for _, want := range c.CostTexts {
			if !strings.Contains(s.Text, want) {
				t.Errorf("cost page does not show %q:\n%s", want, s.Text)
			}
		}
	})

	t.Run("invocations", func(t *testing.T) {
		if err := GoTo(ctx, "#/invocations"); err != nil {
			t.Fatal(err)
		}
		s := ReadPage(t, ctx)
		Screenshot(t, ctx, dir, "invocations")
		CheckFits(t, "invocations page", s)
		if !c.Invocations {
			if !strings.Contains(s.Text, "Invocation logging is off") || !strings.Contains(s.Text, "put-model-invocation-logging-configuration") {
				t.Errorf("with logging off the page does not say how to turn it on:\n%s", s.Text)
			}
			return
		}
		first, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`document.querySelector('#invocations-table tbody tr a[href^="#/invocations/"]')?.getAttribute('href') || ''`))
		if err != nil || first == "" {
			t.Fatalf("no invocation rows (err %v):\n%s", err, s.Text)
		}
		// Open it the way a person does: click the link.
		js := `document.getElementById('main').dataset.state = 'navigating';
		  document.querySelector('#invocations-table tbody tr a[href^="#/invocations/"]').click(); true`
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
			t.Fatal(err)
		}
		if err := WaitReady(ctx); err != nil {
			t.Fatalf("invocation record: %v", err)
		}
		rec := ReadPage(t, ctx)
		Screenshot(t, ctx, dir, "invocation")
		id := strings.TrimPrefix(first, "#/invocations/")
		if !strings.Contains(rec.Text, `"requestId": "`+id+`"`) {
			t.Errorf("the record of %s is not shown pretty-printed:\n%s", id, rec.Text)
		}
	})

	if errs, err := console.Errors(ctx); err != nil {
		t.Errorf("reading the console: %v", err)
	} else if len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// SetAPIKey makes the browser of ctx send apiKey as "Authorization:
// Bearer" with every request from then on, as a person signed in with a
// key does.
func SetAPIKey(t *testing.T, ctx context.Context, apiKey string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Bearer " + apiKey},
	}); err != nil {
		t.Fatalf("setting the API key header: %v", err)
	}
}

// Open loads the dashboard at baseURL on the page of hash ("#/model/…")
// and waits until it has loaded its data.
func Open(ctx context.Context, baseURL, hash string) error {
	if err := chromedp.Do(ctx, chromedp.Navigate(strings.TrimRight(baseURL, "/")+"/"+hash)); err != nil {
		return fmt.Errorf("opening %s: %w", baseURL, err)
	}
	return WaitReady(ctx)
}
