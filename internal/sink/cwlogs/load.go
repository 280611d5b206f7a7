package cwlogs

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// Load builds a CloudWatch Logs client from the standard AWS SDK configuration
// chain (config.LoadDefaultConfig: environment, shared config and credentials
// files, SSO, web identity, container and EC2 instance roles). Endpoint
// overrides (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL, endpoint_url
// in the shared config) are honoured by the SDK itself. region is used only
// when the chain yields none; with neither, Load fails.
//
// The client is built with RetryMaxAttempts 1 (no SDK-level retries), which is
// what a [Writer] expects; the Writer also forces this per call, so clients
// built elsewhere work too.
func Load(ctx context.Context, region string) (*cloudwatchlogs.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("cwlogs: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = region
	}
	if cfg.Region == "" {
		return nil, errors.New("cwlogs: no AWS region configured")
	}
	return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		o.RetryMaxAttempts = 1
	}), nil
}
