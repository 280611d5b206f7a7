// Package dashboard defines modelwatch's dashboards as code — the model the
// built-in web UI draws and the CloudWatch and Grafana exports render — and
// builds the default one: the widgets of AWS's BedrockCwDashboard construct
// for all models and for each monitored model, plus what operators ask for
// on top (latency percentiles, error rates, time to first token, cost).
package dashboard
