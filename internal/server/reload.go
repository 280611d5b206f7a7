package server

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/config"
)

// Reload applies a changed configuration without a restart: principals,
// keys, groups and policies, quotas, budgets and alarms. It is all or
// nothing: cfg is validated whole (with line numbers, as at start) and
// every part is built before any is swapped, so a bad policy document,
// budget or alarm leaves the server running on its previous
// configuration and the error says what is wrong. Calls in progress
// finish under the configuration they began with. Settings that need a
// restart (listen address, models, providers, logging, ...) are named in
// the log and not applied. serve calls Reload on SIGHUP.
//
// In a cluster sharing its configuration (cluster.postgres), Reload
// publishes cfg's governance sections to every replica: they apply it
// within a second, this one at once; if PostgreSQL cannot be reached
// nothing changes anywhere and the error says so.
func (s *Server) Reload(cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if s.cluster.shared() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.cluster.govMu.Lock()
		defer s.cluster.govMu.Unlock()
		if !cfg.HasGovernance() {
			// This replica's file holds only its own settings: apply the
			// shared governance on top of it, publish nothing.
			s.cluster.file.Store(cfg)
			doc, err := s.cluster.store.Get(ctx, docGovernance)
			if err != nil {
				return fmt.Errorf("reading the shared configuration: %w", err)
			}
			merged, err := s.cluster.governance(doc)
			if err != nil {
				return err
			}
			s.log.Info("configuration file reloaded; it has no auth, quotas, budgets or alarms, so the shared ones stay", "version", doc.Version)
			return s.reload(merged)
		}
		merged, version, err := s.cluster.publishGovernance(ctx, cfg)
		if err != nil {
			return err
		}
		s.cluster.file.Store(cfg)
		if err := s.reload(merged); err != nil {
			return err
		}
		s.cluster.govVersion.Store(version)
		s.cluster.versions.WithLabelValues(docGovernance).Set(float64(version))
		s.log.Info("configuration shared with every replica", "version", version)
		return nil
	}
	return s.reload(cfg)
}

// reload applies cfg (validated) on this server.
func (s *Server) reload(cfg *config.Config) error {
	authn, err := auth.New(cfg.Auth.Principals, cfg.AuthOptions())
	if err != nil {
		return err
	}
	old := s.currentConfig()
	if !old.Loopback() && authn.Anonymous() {
		return fmt.Errorf("refusing a configuration without principals while listening on %s", old.Listen)
	}
	if err := s.gov.replace(cfg); err != nil {
		return err
	}
	s.gw.SetAuth(authn)
	s.live.Store(cfg)
	if ignored := restartOnly(old, cfg); len(ignored) > 0 {
		s.log.Warn("configuration reloaded; these settings changed but apply only after a restart", "settings", strings.Join(ignored, ", "))
	} else {
		s.log.Info("configuration reloaded", "principals", len(cfg.Auth.Principals), "quotas", len(cfg.Quotas), "budgets", len(cfg.Budgets), "alarms", len(cfg.Alarms))
	}
	return nil
}

// currentConfig is the configuration in force: the one the server was
// built with, or the last one Reload applied.
func (s *Server) currentConfig() *config.Config {
	if c := s.live.Load(); c != nil {
		return c
	}
	return s.cfg
}

// restartOnly names the settings that differ between a and b and that
// Reload does not apply.
func restartOnly(a, b *config.Config) []string {
	var out []string
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"listen", a.Listen, b.Listen}, {"dataDir", a.DataDir, b.DataDir},
		{"accountId", a.AccountID, b.AccountID}, {"region", a.Region, b.Region},
		{"tls", a.TLS, b.TLS}, {"limits", a.Limits, b.Limits}, {"log", a.Log, b.Log},
		{"invocationLogging", a.InvocationLogging, b.InvocationLogging},
		{"asyncInvoke", a.AsyncInvoke, b.AsyncInvoke}, {"metrics", a.Metrics, b.Metrics},
		{"dashboard", a.Dashboard, b.Dashboard}, {"prices", a.Prices, b.Prices},
		{"audit", a.Audit, b.Audit}, {"providers", a.Providers, b.Providers}, {"models", a.Models, b.Models},
	} {
		if !reflect.DeepEqual(f.a, f.b) {
			out = append(out, f.name)
		}
	}
	return out
}
