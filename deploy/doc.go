// Package deploy holds no code: its tests check the deployment files next
// to it — the Prometheus scrape configuration and recording rules
// (prometheus/), the Kubernetes manifests (kubernetes/) and the systemd
// unit (systemd/) — with promtool, a real Prometheus, modelwatch's own
// configuration loader and metric registry, and the manifests' invariants.
package deploy
