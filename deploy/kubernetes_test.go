package deploy

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/modelwatch/modelwatch/internal/config"
)

// manifest is one Kubernetes object, as far as the checks below read it.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string
	Metadata   struct {
		Name, Namespace string
		Labels          map[string]string
	}
	Spec       map[string]any
	Data       map[string]string
	StringData map[string]string `yaml:"stringData"`
	Resources  []string
	file       string
}

// manifests parses every YAML document of kubernetes/.
func manifests(t *testing.T) []manifest {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var out []manifest
	for _, f := range files {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(read(t, f))))
		for {
			var m manifest
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if m.Kind == "" {
				t.Fatalf("%s: a document without a kind", f)
			}
			m.file = filepath.Base(f)
			out = append(out, m)
		}
	}
	return out
}

func one(t *testing.T, ms []manifest, kind, name string) manifest {
	t.Helper()
	var found []manifest
	for _, m := range ms {
		if m.Kind == kind && (name == "" || m.Metadata.Name == name) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s %q manifests, want 1", len(found), kind, name)
	}
	return found[0]
}

// get walks a parsed document by map keys and list indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, p := range path {
		if v == nil {
			return nil // absent
		}
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a mapping at %v", path, path[:i])
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d at %v", path, k, path[:i])
			}
			v = l[k]
		}
	}
	return v
}

func str(t *testing.T, v any, path ...any) string {
	t.Helper()
	s, _ := get(t, v, path...).(string)
	return s
}

func num(t *testing.T, v any, path ...any) int {
	t.Helper()
	n, ok := get(t, v, path...).(int)
	if !ok {
		t.Fatalf("%v is %v, not a number", path, get(t, v, path...))
	}
	return n
}

func labels(v any) map[string]string {
	out := map[string]string{}
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			out[k], _ = x.(string)
		}
	}
	return out
}

// selects reports whether selector's labels are all among the pod's.
func selects(selector, pod map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if pod[k] != v {
			return false
		}
	}
	return true
}

type service struct{ name, port string }

// headlessService is the headless Service's name and port name.
func headlessService(t *testing.T) service {
	t.Helper()
	for _, m := range manifests(t) {
		if m.Kind == "Service" && m.Spec["clusterIP"] == "None" {
			return service{m.Metadata.Name, str(t, m.Spec, "ports", 0, "name")}
		}
	}
	t.Fatal("no headless Service")
	return service{}
}

// TestKubernetesManifests checks the manifests' invariants: a three-replica
// StatefulSet of non-root, read-only pods with a data claim each, probing
// /readyz and /healthz, draining within its grace period; Services and the
// PodDisruptionBudget selecting its pods; its configuration loading with
// modelwatch's own loader from the env the pods get.
func TestKubernetesManifests(t *testing.T) {
	ms := manifests(t)
	sts := one(t, ms, "StatefulSet", "modelwatch")
	spec := sts.Spec
	if n := num(t, spec, "replicas"); n != 3 {
		t.Errorf("replicas = %d, want 3", n)
	}
	pod := labels(get(t, spec, "template", "metadata", "labels"))
	if sel := labels(get(t, spec, "selector", "matchLabels")); !selects(sel, pod) {
		t.Errorf("StatefulSet selector %v does not select its pods %v", sel, pod)
	}
	podSpec := get(t, spec, "template", "spec")
	ctr := get(t, podSpec, "containers", 0)

	// Probes on the named port the container exposes.
	port := str(t, ctr, "ports", 0, "name")
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		if got := str(t, ctr, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path = %q, want %s", probe, got, path)
		}
		if got := str(t, ctr, probe, "httpGet", "port"); got != port {
			t.Errorf("%s port = %q, want %s", probe, got, port)
		}
	}

	// Environment: the replica's name from the pod's, every secret from the
	// Secret.
	secret := one(t, ms, "Secret", "modelwatch")
	env := map[string]string{}
	for _, e := range get(t, ctr, "env").([]any) {
		name := str(t, e, "name")
		switch {
		case str(t, e, "valueFrom", "fieldRef", "fieldPath") != "":
			env[name] = "pod:" + str(t, e, "valueFrom", "fieldRef", "fieldPath")
		case str(t, e, "valueFrom", "secretKeyRef", "name") != "":
			ref := get(t, e, "valueFrom", "secretKeyRef")
			v, ok := secret.StringData[str(t, ref, "key")]
			if str(t, ref, "name") != secret.Metadata.Name || !ok {
				t.Errorf("%s: secretKeyRef %v is not in the Secret", name, ref)
			}
			env[name] = v
		default:
			env[name] = str(t, e, "value")
		}
	}
	if env["MODELWATCH_REPLICA"] != "pod:metadata.name" {
		t.Errorf("MODELWATCH_REPLICA = %q, want the pod's metadata.name", env["MODELWATCH_REPLICA"])
	}

	// The data directory is the claim's mount, and the configuration file
	// the ConfigMap's.
	claims := get(t, spec, "volumeClaimTemplates").([]any)
	if len(claims) != 1 || str(t, claims[0], "metadata", "name") != "data" ||
		!slices.Contains(get(t, claims[0], "spec", "accessModes").([]any), any("ReadWriteOnce")) ||
		str(t, claims[0], "spec", "resources", "requests", "storage") == "" {
		t.Errorf("volumeClaimTemplates = %v, want one ReadWriteOnce claim named data", claims)
	}
	mounts := map[string]string{}
	for _, m := range get(t, ctr, "volumeMounts").([]any) {
		mounts[str(t, m, "name")] = str(t, m, "mountPath")
	}
	dataDir := mounts["data"]
	if dataDir == "" || env["MODELWATCH_DATA_DIR"] != dataDir {
		t.Errorf("data mounted at %q, MODELWATCH_DATA_DIR %q: want the same", dataDir, env["MODELWATCH_DATA_DIR"])
	}
	cm := one(t, ms, "ConfigMap", "modelwatch")
	cfgFile := env["MODELWATCH_CONFIG"]
	if filepath.Dir(cfgFile) != mounts["config"] || cm.Data[filepath.Base(cfgFile)] == "" {
		t.Errorf("MODELWATCH_CONFIG %q is not the ConfigMap's file mounted at %q", cfgFile, mounts["config"])
	}
	for _, v := range get(t, podSpec, "volumes").([]any) {
		if str(t, v, "name") == "config" && str(t, v, "configMap", "name") != cm.Metadata.Name {
			t.Errorf("config volume %v is not the ConfigMap", v)
		}
	}

	// Security: non-root, read-only root, nothing to escalate to.
	if get(t, podSpec, "securityContext", "runAsNonRoot") != true || get(t, ctr, "securityContext", "readOnlyRootFilesystem") != true ||
		get(t, ctr, "securityContext", "allowPrivilegeEscalation") != false ||
		!slices.Equal(get(t, ctr, "securityContext", "capabilities", "drop").([]any), []any{"ALL"}) {
		t.Errorf("securityContext: pod %v, container %v", get(t, podSpec, "securityContext"), get(t, ctr, "securityContext"))
	}

	// The configuration: modelwatch's loader, with the env the pod gets.
	yml := cm.Data[filepath.Base(cfgFile)]
	for _, ref := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(yml, -1) {
		v, ok := env[ref[1]]
		if !ok {
			t.Errorf("modelwatch.yaml refers to ${%s}, which the container's env lacks", ref[1])
		}
		if strings.HasPrefix(v, "pod:") {
			v = "modelwatch-0" // the first pod's metadata.name
		}
		t.Setenv(ref[1], v)
	}
	path := filepath.Join(t.TempDir(), "modelwatch.yaml")
	write(t, path, yml)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("the ConfigMap's modelwatch.yaml does not load: %v", err)
	}
	cfg.DataDir = env["MODELWATCH_DATA_DIR"]
	if err := cfg.Validate(); err != nil {
		t.Errorf("the ConfigMap's modelwatch.yaml is invalid: %v", err)
	}
	if cfg.DataDir != dataDir || cfg.Cluster.Replica != "modelwatch-0" || !cfg.Cluster.Shared() || !cfg.Metrics.ReplicaLabel || cfg.Metrics.PrometheusURL == "" {
		t.Errorf("config: dataDir %q, cluster %+v, metrics %+v", cfg.DataDir, cfg.Cluster.Replica, cfg.Metrics)
	}

	// SIGTERM: preStop, then the drain delay, then in-flight calls get the
	// shutdown timeout; the grace period must cover them all.
	preStop := num(t, ctr, "lifecycle", "preStop", "sleep", "seconds")
	grace := time.Duration(num(t, podSpec, "terminationGracePeriodSeconds")) * time.Second
	need := time.Duration(preStop)*time.Second + cfg.Limits.DrainDelayFor(cfg.Listen) + cfg.Limits.ShutdownTimeout
	if preStop < 2 || grace < need+5*time.Second {
		t.Errorf("terminationGracePeriodSeconds %s: want at least preStop %ds + drain %s + shutdown %s + 5s", grace, preStop,
			cfg.Limits.DrainDelayFor(cfg.Listen), cfg.Limits.ShutdownTimeout)
	}

	// Services: a headless one for the StatefulSet (and Prometheus), that
	// also lists not-ready pods, and a ClusterIP one for clients.
	headless := one(t, ms, "Service", str(t, spec, "serviceName"))
	if headless.Spec["clusterIP"] != "None" || headless.Spec["publishNotReadyAddresses"] != true {
		t.Errorf("the StatefulSet's serviceName %s is not headless with publishNotReadyAddresses", headless.Metadata.Name)
	}
	for _, svc := range []manifest{headless, one(t, ms, "Service", "modelwatch")} {
		if !selects(labels(svc.Spec["selector"]), pod) || str(t, svc.Spec, "ports", 0, "targetPort") != port {
			t.Errorf("Service %s selects %v on %s, want the pods %v on %s", svc.Metadata.Name, svc.Spec["selector"], str(t, svc.Spec, "ports", 0, "targetPort"), pod, port)
		}
	}
	if typ, _ := one(t, ms, "Service", "modelwatch").Spec["type"].(string); typ != "ClusterIP" {
		t.Errorf("Service modelwatch type %q, want ClusterIP", typ)
	}

	// The disruption budget.
	pdb := one(t, ms, "PodDisruptionBudget", "")
	if pdb.APIVersion != "policy/v1" || pdb.Spec["maxUnavailable"] != 1 || !selects(labels(get(t, pdb.Spec, "selector", "matchLabels")), pod) {
		t.Errorf("PodDisruptionBudget %v", pdb.Spec)
	}

	// One namespace, and kustomization.yaml lists every file.
	kust := one(t, ms, "Kustomization", "")
	files := map[string]bool{}
	for _, m := range ms {
		if m.Kind != "Kustomization" {
			files[m.file] = true
			if m.Metadata.Namespace != "modelwatch" && m.Kind != "Namespace" {
				t.Errorf("%s %s is in namespace %q", m.Kind, m.Metadata.Name, m.Metadata.Namespace)
			}
		}
	}
	listed := slices.Clone(kust.Resources)
	sort.Strings(listed)
	if want := slices.Sorted(maps.Keys(files)); !slices.Equal(listed, want) {
		t.Errorf("kustomization.yaml lists %v, want %v", listed, want)
	}
}

// TestSystemdUnit checks the unit's settings and, where systemd-analyze
// exists, has systemd verify it.
func TestSystemdUnit(t *testing.T) {
	unit := read(t, "systemd/modelwatch.service")
	keys := map[string][]string{}
	for _, l := range strings.Split(unit, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			keys[k] = append(keys[k], v)
		}
	}
	for k, want := range map[string]string{
		"Type": "simple", "KillSignal": "SIGTERM", "Restart": "always", "StateDirectory": "modelwatch", "DynamicUser": "yes",
		"ExecReload": "/bin/kill -HUP $MAINPID", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ExecStart": "/usr/local/bin/modelwatch serve",
	} {
		if got := keys[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", k, got, want)
		}
	}
	if !slices.Contains(keys["Environment"], "MODELWATCH_DATA_DIR=/var/lib/modelwatch") {
		t.Errorf("Environment = %v, want MODELWATCH_DATA_DIR=/var/lib/modelwatch (the StateDirectory)", keys["Environment"])
	}
	// The default shutdown (drain delay beyond loopback, then the shutdown
	// timeout) must fit in TimeoutStopSec.
	def := config.Default()
	stop, err := time.ParseDuration(strings.Join(keys["TimeoutStopSec"], "") + "s")
	if err != nil || stop < def.Limits.DrainDelayFor("0.0.0.0:4600")+def.Limits.ShutdownTimeout+5*time.Second {
		t.Errorf("TimeoutStopSec = %v, want at least drain %s + shutdown %s + 5s", keys["TimeoutStopSec"],
			def.Limits.DrainDelayFor("0.0.0.0:4600"), def.Limits.ShutdownTimeout)
	}

	analyze, err := execLookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: the unit is not verified by systemd")
		return
	}
	// Verified as shipped but for the binary, which is not installed here.
	dir := t.TempDir()
	bin := filepath.Join(dir, "modelwatch")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "modelwatch.service")
	write(t, path, strings.ReplaceAll(unit, "/usr/local/bin/modelwatch", bin))
	if out, err := execCommand(analyze, "verify", path); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
