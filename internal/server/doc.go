// Package server assembles a modelwatch server from a Config — providers,
// catalog, authenticator, gateway, front doors, observers — and runs it: it
// listens (refusing a non-loopback address without authentication), serves
// /healthz, and on shutdown drains in-flight calls and lets observers flush.
//
// It also wires governance (governance.go, audit.go, reload.go): the
// quotas and budgets as the gateway's Admission, the alarms' evaluation
// with model rollback as their remediation, the audit trail (control-plane
// calls through a wrapper of the Bedrock front door that reads who called
// from gateway.ControlRecord; refused model calls through an observer;
// CloudTrail's API beside Bedrock's on POST /, told apart by X-Amz-Target),
// the data APIs of the Governance page (/api/governance, /api/audit), and
// Reload, which swaps principals, policies, quotas, budgets and alarms at
// once or not at all.
package server
