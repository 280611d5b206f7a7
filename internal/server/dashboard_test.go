package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/server"
	"github.com/modelwatch/modelwatch/internal/webui/webuitest"
)

// TestDashboardInChromium is the long-history view: known traffic through
// a real server with invocation logging on, laid out over half an hour by
// the history's test clock, then the built-in dashboard in headless
// Chromium: the overview's numbers and charts, a model's page, cost and
// the recent invocations render; screenshots go to $MODELWATCH_SCREENSHOTS.
// It does not stand in for a new user's first minute, on the real clock:
// TestDashboardTellsTheTruthFromTheFirstCall is that.
func TestDashboardInChromium(t *testing.T) {
	// The history's clock lays the traffic out over the last half hour, so
	// the charts have points to draw.
	var clock atomic.Int64
	srv, _ := startServerWith(t, nil, server.Options{HistoryClock: func() time.Time { return time.Unix(0, clock.Load()) }})
	enableLocalLogging(t, srv, "dashboard-logs")
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	call := func(model string, i int) {
		_, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(model),
			Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text(fmt.Sprintf("Dashboard question %d", i))}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A batch of calls, then a sample, every minute (the history's
	// resolution) over the last half hour.
	start := time.Now().Add(-30 * time.Minute)
	for batch := range 29 {
		for i := range batch%3 + 1 {
			call(haiku, batch*10+i)
			call("amazon.nova-lite-v1:0", batch*10+i)
		}
		clock.Store(start.Add(time.Duration(batch) * time.Minute).UnixNano())
		if err := srv.History().SampleNow(); err != nil {
			t.Fatal(err)
		}
	}
	webuitest.Check(t, webuitest.Checks{
		BaseURL: srv.URL(),
		Values: map[string]string{
			"Client Errors (All Models)":     "0",
			"Server Errors (All Models)":     "0",
			"Throttling Errors (All Models)": "0",
		},
		NonZero:      []string{"Invocations (All Models)", "Average Latency (All Models)"},
		MinCharts:    2,
		ModelSection: "model-anthropic-claude-3-haiku-20240307-v1-0",
		ModelValues:  map[string]string{"Client Errors": "0"},
		CostTexts:    []string{"anonymous"},
		Invocations:  true,
	})
}
