package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed assets
var assetFS embed.FS

// Options configure the dashboard handler.
type Options struct {
	// Title is the product name in the header and the window title
	// (default "modelwatch").
	Title string
	// Authenticate, when set, guards the page and its assets: a non-nil
	// error answers 401. Nil allows everyone — the page is static and holds
	// no data; the data APIs it calls are protected where they are mounted.
	Authenticate func(*http.Request) error
	// HistoryInterval is the resolution of the metric history (default
	// 15s, the history's own default). Charts never ask for a finer step,
	// and rate windows span at least four history intervals. The page prefers the
	// interval /api/history reports, when it answers.
	HistoryInterval time.Duration
}

// asset is one file, ready to serve.
type asset struct {
	body        []byte
	gz          []byte // nil when compressing does not pay
	contentType string
	hash        string // content hash: the ETag and the ?v= of versioned URLs
}

// handler serves the index page at / and the assets under /ui/.
type handler struct {
	opts   Options
	index  *asset
	assets map[string]*asset // by path under assets/, e.g. "app.js"
	csp    string
}

// contentTypes are set explicitly rather than from the system MIME table,
// which differs between hosts (and a wrong type for a module script is a
// hard error in browsers).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".txt":  "text/plain; charset=utf-8",
}

// notServed are files of the assets directory that are not assets: the
// index template (served at / after rendering) and the provenance notes.
var notServed = map[string]bool{"index.html": true, "README.md": true}

// Handler returns the dashboard's handler. It answers GET and HEAD of "/"
// (the page) and "/ui/<asset>", and 404 for anything else, so it is mounted
// on the exact paths: mux.Handle("GET /{$}", h) and mux.Handle("GET /ui/", h).
// The page loads its data from /api/dashboard, /api/v1/query(_range),
// /api/history, /api/invocations, /api/governance and /api/audit on the
// same origin.
func Handler(opts Options) http.Handler {
	if strings.TrimSpace(opts.Title) == "" {
		opts.Title = "modelwatch"
	}
	if opts.HistoryInterval <= 0 {
		opts.HistoryInterval = 15 * time.Second
	}
	h, err := build(opts)
	if err != nil {
		// The assets are embedded and covered by tests, so this is a build
		// defect; answer it clearly rather than panic.
		msg := "dashboard unavailable: " + err.Error()
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, msg, http.StatusInternalServerError)
		})
	}
	return h
}

func build(opts Options) (*handler, error) {
	h := &handler{opts: opts, assets: map[string]*asset{}}
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || notServed[p] {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		h.assets[p] = newAsset(b, ct)
		return nil
	})
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("index.html").Funcs(template.FuncMap{
		// asset gives an asset's versioned URL, which may be cached for
		// good: a new build changes the version.
		"asset": func(name string) (string, error) {
			a, ok := h.assets[name]
			if !ok {
				return "", fmt.Errorf("index.html refers to missing asset %q", name)
			}
			return "/ui/" + name + "?v=" + a.hash, nil
		},
	}).ParseFS(sub, "index.html")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, map[string]any{
		"Title":             opts.Title,
		"ResolutionSeconds": strconv.Itoa(max(1, int(opts.HistoryInterval/time.Second))),
	})
	if err != nil {
		return nil, err
	}
	h.index = newAsset(buf.Bytes(), contentTypes[".html"])
	// Everything is same-origin; styles set by script through the CSSOM
	// (uPlot's sizing, grid spans) are not inline styles under CSP.
	h.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return h, nil
}

func newAsset(b []byte, contentType string) *asset {
	sum := sha256.Sum256(b)
	a := &asset{body: b, contentType: contentType, hash: hex.EncodeToString(sum[:8])}
	if !strings.HasPrefix(contentType, "image/png") {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		if zw.Close() == nil && buf.Len() < len(b)*9/10 {
			a.gz = buf.Bytes()
		}
	}
	return a
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.Authenticate != nil {
		if err := h.opts.Authenticate(r); err != nil {
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
	}
	var a *asset
	switch p := r.URL.Path; {
	case p == "/":
		a = h.index
	case strings.HasPrefix(p, "/ui/"):
		a = h.assets[strings.TrimPrefix(p, "/ui/")]
	}
	if a == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if a == h.index {
		hd.Set("Content-Security-Policy", h.csp)
		hd.Set("X-Frame-Options", "DENY")
	}
	// A versioned URL names exactly these bytes, so it is immutable; any
	// other request (the page itself, module imports) revalidates with the
	// ETag and costs a 304.
	if a != h.index && r.URL.Query().Get("v") == a.hash {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	body, etag := a.body, `"`+a.hash+`"`
	if a.gz != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, `"`+a.hash+`-gz"`
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("ETag", etag)
	// ServeContent answers If-None-Match (304), HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (and
// does not refuse it with q=0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}
