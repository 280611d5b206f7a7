package deploy

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/cost"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/metrics"
	"github.com/modelwatch/modelwatch/internal/promremote"
	"github.com/modelwatch/modelwatch/internal/servicetest"
)

// tool finds one of Debian's prometheus package's binaries; the test is
// skipped without it, except in CI (which installs the package).
func tool(t *testing.T, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed: apt-get install prometheus (.ci/run does)", name)
		}
		t.Skipf("%s not installed (apt-get install prometheus)", name)
	}
	return bin
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// shippedConfig is prometheus/prometheus.yml with only its credentials
// file pointed at a key in dir, and rules.yml beside it, as promtool's
// full check needs every file the configuration names to exist.
func shippedConfig(t *testing.T, dir, promYAML string) string {
	t.Helper()
	key := filepath.Join(dir, "modelwatch.key")
	write(t, key, "mw-scrape-key\n")
	const shippedKey = "/etc/prometheus/modelwatch.key"
	if !strings.Contains(promYAML, shippedKey) {
		t.Fatalf("the configuration no longer names %s", shippedKey)
	}
	write(t, filepath.Join(dir, "rules.yml"), read(t, "prometheus/rules.yml"))
	cfg := filepath.Join(dir, "prometheus.yml")
	write(t, cfg, strings.ReplaceAll(promYAML, shippedKey, key))
	return cfg
}

func promtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(tool(t, "promtool"), args...).CombinedOutput()
	if err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestPromtoolAcceptsTheShippedFiles runs promtool check config (the file
// as shipped for its syntax, then in full with its credentials file
// present, which also checks rules.yml through rule_files) and check rules;
// and the same for the commented kubernetes_sd example, as far as
// Debian's promtool can.
func TestPromtoolAcceptsTheShippedFiles(t *testing.T) {
	tool(t, "promtool")
	promtool(t, "check", "config", "--syntax-only", "prometheus/prometheus.yml")
	promtool(t, "check", "rules", "prometheus/rules.yml")
	shipped := read(t, "prometheus/prometheus.yml")
	promtool(t, "check", "config", shippedConfig(t, t.TempDir(), shipped))

	// The commented Kubernetes job, uncommented in place of the static one.
	lines := strings.Split(shipped, "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "# - job_name: modelwatch" })
	if start < 0 {
		t.Fatal("no commented kubernetes_sd job in prometheus.yml")
	}
	var job []string
	for _, l := range lines[start:] {
		if !strings.HasPrefix(l, "  # ") && l != "  #" {
			break
		}
		job = append(job, "  "+strings.TrimPrefix(strings.TrimPrefix(l, "  #"), " "))
	}
	head := shipped[:strings.Index(shipped, "scrape_configs:")]
	k8s := head + "scrape_configs:\n" + strings.Join(job, "\n") + "\n"
	if !strings.Contains(k8s, "kubernetes_sd_configs") || !strings.Contains(k8s, "modelwatch-headless") {
		t.Fatalf("the uncommented Kubernetes job is not the kubernetes_sd one:\n%s", k8s)
	}
	// Debian's Prometheus is built without Kubernetes discovery, so its
	// promtool refuses kubernetes_sd_configs: check the rest of the job
	// (authorization, relabelling) with promtool, the discovery in place
	// of static targets, and the discovery's own settings against the
	// headless Service here.
	var doc struct {
		ScrapeConfigs []struct {
			KubernetesSDConfigs []struct {
				Role       string
				Namespaces struct{ Names []string }
			} `yaml:"kubernetes_sd_configs"`
			RelabelConfigs []struct {
				SourceLabels []string `yaml:"source_labels"`
				Regex        string
				Action       string
			} `yaml:"relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(k8s), &doc); err != nil {
		t.Fatalf("the kubernetes_sd example is not YAML: %v\n%s", err, k8s)
	}
	if len(doc.ScrapeConfigs) != 1 || len(doc.ScrapeConfigs[0].KubernetesSDConfigs) != 1 {
		t.Fatalf("the kubernetes_sd example: %+v", doc)
	}
	sd := doc.ScrapeConfigs[0].KubernetesSDConfigs[0]
	if sd.Role != "endpoints" || !slices.Equal(sd.Namespaces.Names, []string{"modelwatch"}) {
		t.Errorf("kubernetes_sd_configs: %+v, want role endpoints in namespace modelwatch", sd)
	}
	keeps := map[string]string{}
	for _, rc := range doc.ScrapeConfigs[0].RelabelConfigs {
		if rc.Action == "keep" && len(rc.SourceLabels) == 1 {
			keeps[rc.SourceLabels[0]] = rc.Regex
		}
	}
	headless := headlessService(t)
	if keeps["__meta_kubernetes_service_name"] != headless.name || keeps["__meta_kubernetes_endpoint_port_name"] != headless.port {
		t.Errorf("the kubernetes_sd example keeps %v, want the Service %s's port %s", keeps, headless.name, headless.port)
	}
	static := regexp.MustCompile(`(?m)^( +)kubernetes_sd_configs:\n(?s:.*?)\n( +)relabel_configs:`).ReplaceAllString(k8s,
		"${1}static_configs: [{targets: [\"modelwatch-0:4600\"]}]\n${2}relabel_configs:")
	if static == k8s {
		t.Fatalf("could not replace the discovery in:\n%s", k8s)
	}
	promtool(t, "check", "config", shippedConfig(t, t.TempDir(), static))
}

// rulesFile is prometheus/rules.yml's shape.
type rulesFile struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Record, Alert, Expr string
		}
	}
}

func loadRules(t *testing.T) rulesFile {
	t.Helper()
	var rf rulesFile
	if err := yaml.Unmarshal([]byte(read(t, "prometheus/rules.yml")), &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

// ourFamilies are the metric families modelwatch's /metrics serves for
// calls (package metrics and the cost recorder), from their descriptors:
// every family, whether or not a call created a series yet.
func ourFamilies(t *testing.T) map[string]bool {
	t.Helper()
	rec := &describer{names: map[string]bool{}}
	metrics.New(rec, metrics.Options{})
	prices, err := cost.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	cost.NewRecorder(rec, prices, nil)
	if len(rec.names) < 10 {
		t.Fatalf("only %d families described: %v", len(rec.names), rec.names)
	}
	return rec.names
}

// describer is a Registerer that only records the names of the families
// registered with it.
type describer struct{ names map[string]bool }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names[m[1]] = true
		}
	}
	return nil
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d *describer) Unregister(prometheus.Collector) bool { return true }

// TestRulesUseOurMetrics checks that every metric a rule reads is one
// modelwatch serves (or a rule records, or Prometheus's own up), that
// every recorded name is in the modelwatch: namespace, and that every sum
// over the replicas drops the replica and instance labels.
func TestRulesUseOurMetrics(t *testing.T) {
	ours := ourFamilies(t)
	rf := loadRules(t)
	recorded := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	used := map[string]bool{}
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			n++
			if r.Record != "" && !strings.HasPrefix(r.Record, "modelwatch:") {
				t.Errorf("recorded name %q is not in the modelwatch: namespace", r.Record)
			}
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("%s%s: %v", r.Record, r.Alert, err)
				continue
			}
			parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
				switch n := node.(type) {
				case *parser.VectorSelector:
					name := n.Name
					used[name] = true
					base := name
					for _, suffix := range []string{"_bucket", "_sum", "_count"} {
						if b, ok := strings.CutSuffix(name, suffix); ok && ours[b] {
							base = b
						}
					}
					if !ours[base] && !recorded[name] && name != "up" {
						t.Errorf("%s%s reads %s, which modelwatch's /metrics does not serve", r.Record, r.Alert, name)
					}
				case *parser.AggregateExpr:
					if n.Op == parser.SUM && n.Without && (!slices.Contains(n.Grouping, "replica") || !slices.Contains(n.Grouping, "instance")) {
						t.Errorf("%s: sum without %v keeps replica or instance", r.Record, n.Grouping)
					}
				}
				return nil
			})
		}
	}
	// The dashboard's and the alarms' own counters are all summed.
	for _, m := range []string{"bedrock_invocations_total", "bedrock_invocation_client_errors_total", "bedrock_invocation_server_errors_total",
		"bedrock_invocation_throttles_total", "bedrock_input_tokens_total", "bedrock_output_tokens_total", "modelwatch_cost_dollars_total",
		"bedrock_invocation_latency_seconds_bucket", "bedrock_time_to_first_token_seconds_bucket"} {
		if !used[m] {
			t.Errorf("no rule reads %s", m)
		}
	}
	if n < 20 {
		t.Errorf("only %d rules", n)
	}
}

// TestRulesOnPrometheus runs Debian's Prometheus with the shipped
// rules.yml scraping two replicas' real /metrics (package metrics' and
// the cost recorder's families, labelled with their replica), and checks
// that the recording rules produce one cluster-wide series per model and
// operation, without replica or instance labels.
func TestRulesOnPrometheus(t *testing.T) {
	var targets []string
	for i, calls := range []int{3, 4} {
		reg := prometheus.NewRegistry()
		rec := metrics.New(reg, metrics.Options{})
		for range calls {
			end := time.Now()
			rec.Observe(&invocation.Invocation{CatalogModelID: "amazon.nova-lite-v1:0", ServedModelID: "amazon.nova-lite-v1:0",
				Operation: invocation.Converse, Status: 200, Usage: invocation.Usage{InputTokens: 10, OutputTokens: 5},
				Provider: "simulator", Start: end.Add(-100 * time.Millisecond), End: end})
		}
		srv := httptest.NewServer(promhttp.HandlerFor(metrics.WithReplicaLabel(reg, metrics.ReplicaLabel, fmt.Sprintf("modelwatch-%d", i)), promhttp.HandlerOpts{}))
		t.Cleanup(srv.Close)
		targets = append(targets, fmt.Sprintf("%q", srv.Listener.Addr().String()))
	}
	rules, err := filepath.Abs("prometheus/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	base := servicetest.StartPrometheus(t, `global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}
rule_files: [`+strconv.Quote(rules)+`]
scrape_configs:
  - job_name: modelwatch
    static_configs: [{targets: [`+strings.Join(targets, ", ")+`]}]
`)
	c, err := promremote.New(base, promremote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wait := func(q string, ok func(n int, v float64, labels map[string]string) bool) {
		t.Helper()
		deadline := time.Now().Add(40 * time.Second)
		for {
			s, err := c.Query(ctx, q, time.Time{})
			if err == nil && len(s) > 0 && ok(len(s), s[0].Value, s[0].Labels) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %+v, %v", q, s, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	wait(`modelwatch:up:sum`, func(n int, v float64, _ map[string]string) bool { return n == 1 && v == 2 })
	wantLabels := map[string]string{"__name__": "modelwatch:bedrock_invocations:sum_rate1m", "job": "modelwatch", "model_id": "amazon.nova-lite-v1:0", "operation": "Converse"}
	wait(`modelwatch:bedrock_invocations:sum_rate1m`, func(n int, v float64, l map[string]string) bool {
		return n == 1 && fmt.Sprint(l) == fmt.Sprint(wantLabels) && v == 0 // constant counters
	})
	for _, q := range []string{`modelwatch:bedrock_invocation_latency_seconds_bucket:sum_rate1m{le="+Inf"}`, `modelwatch:bedrock_input_tokens:sum_rate1m`,
		`modelwatch:bedrock_invocation_errors:ratio_rate1m`, `modelwatch:bedrock_invocation_latency_seconds:p90_rate1m`} {
		wait(q, func(n int, _ float64, l map[string]string) bool {
			_, hasReplica := l["replica"]
			_, hasInstance := l["instance"]
			return n == 1 && !hasReplica && !hasInstance && l["model_id"] == "amazon.nova-lite-v1:0"
		})
	}
	// The raw series keep the replicas apart.
	wait(`count(count by (replica) (bedrock_invocations_total))`, func(n int, v float64, _ map[string]string) bool { return v == 2 })
	wait(`sum(bedrock_invocations_total)`, func(n int, v float64, _ map[string]string) bool { return v == 7 })
}

func execLookPath(name string) (string, error) { return exec.LookPath(name) }

func execCommand(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
