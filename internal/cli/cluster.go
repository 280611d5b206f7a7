package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/modelwatch/modelwatch/internal/clusterstate"
	"github.com/modelwatch/modelwatch/internal/config"
)

const clusterUsage = `usage: modelwatch cluster push|status [--config FILE]

Works on the configuration a cluster of replicas shares on PostgreSQL
(cluster.postgres in the configuration file):

  push     validates the file and publishes its governance sections (auth:
           principals, groups, policies; quotas; budgets; alarms) to every
           replica: they apply it within a second, all or nothing. API keys
           are stored as SHA-256 hashes and SigV4 secret keys sealed with
           cluster.secretsKey. Sending SIGHUP to any replica does the same
           with that replica's file.
  status   prints the replicas (and whether their heartbeat is fresh), the
           leader of each duty and the version of each shared document
`

// clusterMain runs "modelwatch cluster ...".
func clusterMain(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) int {
	if len(args) > 0 && slices.Contains([]string{"-h", "--help", "help"}, args[0]) {
		fmt.Fprint(stdout, clusterUsage)
		return 0
	}
	if len(args) == 0 || (args[0] != "push" && args[0] != "status") {
		fmt.Fprint(stderr, clusterUsage)
		return 2
	}
	fs := flag.NewFlagSet("modelwatch cluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	fs.StringVar(&s.config, "config", "", "YAML configuration file applied on top of the embedded defaults")
	if err := s.parse(fs, args[1:], env, func(name string) bool { return name == "config" }); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "modelwatch cluster: %v\n\n%s", err, clusterUsage)
		return 2
	}
	cfg, err := s.load(env)
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil && !cfg.Cluster.Shared() {
		err = errors.New("cluster.postgres is not set in the configuration: there is no shared configuration to work on")
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	store, err := clusterstate.Open(ctx, string(cfg.Cluster.Postgres), clusterstate.Options{Replica: "cli"})
	if err != nil {
		return exitCode(stderr, fmt.Errorf("cluster.postgres: %w", err))
	}
	defer store.Close()
	if args[0] == "push" {
		return exitCode(stderr, clusterPush(ctx, store, cfg, stdout))
	}
	return exitCode(stderr, clusterStatus(ctx, store, stdout))
}

func clusterPush(ctx context.Context, store *clusterstate.Store, cfg *config.Config, stdout io.Writer) error {
	if !cfg.HasGovernance() {
		return errors.New("the file has no auth, quotas, budgets or alarms section: pushing it would leave the cluster without principals; nothing was published")
	}
	y, err := cfg.SharedGovernance()
	if err != nil {
		return err
	}
	if _, err := cfg.WithSharedGovernance(y); err != nil {
		return err
	}
	body, err := json.Marshal(map[string]string{"yaml": string(y), "publishedBy": "modelwatch cluster push"})
	if err != nil {
		return err
	}
	doc, err := store.Put(ctx, "governance", body, -1)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "shared configuration version %d published: %d principals, %d quotas, %d budgets, %d alarms\n",
		doc.Version, len(cfg.Auth.Principals), len(cfg.Quotas), len(cfg.Budgets), len(cfg.Alarms))
	return nil
}

func clusterStatus(ctx context.Context, store *clusterstate.Store, stdout io.Writer) error {
	replicas, err := store.Replicas(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPLICA\tHOST\tSTARTED\tHEARTBEAT")
	for _, r := range replicas {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\n", r.Name, r.Host, r.StartedAt.UTC().Format(time.RFC3339), time.Since(r.HeartbeatAt).Round(time.Second))
	}
	fmt.Fprintln(tw, "\nDUTY\tLEADER\tSINCE")
	for _, duty := range []string{"alarms", "budget-notifications"} {
		name, since, err := store.Leader(ctx, duty)
		switch {
		case errors.Is(err, clusterstate.ErrNotFound):
			fmt.Fprintf(tw, "%s\t-\t-\n", duty)
		case err != nil:
			return err
		default:
			fmt.Fprintf(tw, "%s\t%s\t%s\n", duty, name, since.UTC().Format(time.RFC3339))
		}
	}
	fmt.Fprintln(tw, "\nDOCUMENT\tVERSION\tUPDATED\tBY")
	for _, name := range []string{"governance", "invocation-logging", "alarm-state"} {
		doc, err := store.Get(ctx, name)
		switch {
		case errors.Is(err, clusterstate.ErrNotFound):
			fmt.Fprintf(tw, "%s\t-\t-\t-\n", name)
		case err != nil:
			return err
		default:
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", name, doc.Version, doc.UpdatedAt.UTC().Format(time.RFC3339), doc.UpdatedBy)
		}
	}
	return tw.Flush()
}
