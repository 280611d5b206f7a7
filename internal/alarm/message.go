package alarm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/webhook"
)

// TimeFormat is the timestamp layout of CloudWatch's alarm messages.
const TimeFormat = "2006-01-02T15:04:05.000+0000"

// Message is CloudWatch's alarm notification (the SNS message's JSON),
// field for field.
type Message struct {
	AlarmName                          string   `json:"AlarmName"`
	AlarmDescription                   *string  `json:"AlarmDescription"`
	AWSAccountID                       string   `json:"AWSAccountId"`
	AlarmConfigurationUpdatedTimestamp string   `json:"AlarmConfigurationUpdatedTimestamp"`
	NewStateValue                      string   `json:"NewStateValue"`
	NewStateReason                     string   `json:"NewStateReason"`
	StateChangeTime                    string   `json:"StateChangeTime"`
	Region                             string   `json:"Region"`
	AlarmArn                           string   `json:"AlarmArn"`
	OldStateValue                      string   `json:"OldStateValue"`
	OKActions                          []string `json:"OKActions"`
	AlarmActions                       []string `json:"AlarmActions"`
	InsufficientDataActions            []string `json:"InsufficientDataActions"`
	Trigger                            Trigger  `json:"Trigger"`
}

// Trigger describes the alarm's metric and condition in a Message. The
// single-metric fields are omitted for anomaly (metric math) alarms, which
// have Metrics and ThresholdMetricId instead.
type Trigger struct {
	MetricName                       string             `json:"MetricName,omitempty"`
	Namespace                        string             `json:"Namespace,omitempty"`
	StatisticType                    string             `json:"StatisticType,omitempty"`
	Statistic                        string             `json:"Statistic,omitempty"`
	ExtendedStatistic                string             `json:"ExtendedStatistic,omitempty"`
	Unit                             *string            `json:"Unit"`
	Dimensions                       []TriggerDimension `json:"Dimensions"`
	Metrics                          []TriggerMetric    `json:"Metrics,omitempty"`
	Expression                       string             `json:"Expression,omitempty"`
	Period                           int                `json:"Period"`
	EvaluationPeriods                int                `json:"EvaluationPeriods"`
	DatapointsToAlarm                int                `json:"DatapointsToAlarm"`
	ComparisonOperator               string             `json:"ComparisonOperator"`
	Threshold                        *float64           `json:"Threshold,omitempty"`
	ThresholdMetricID                string             `json:"ThresholdMetricId,omitempty"`
	TreatMissingData                 string             `json:"TreatMissingData"`
	EvaluateLowSampleCountPercentile string             `json:"EvaluateLowSampleCountPercentile"`
}

// TriggerDimension is a dimension as alarm messages spell it (lower-case
// keys, value first).
type TriggerDimension struct {
	Value string `json:"value"`
	Name  string `json:"name"`
}

// TriggerMetric is one entry of an anomaly alarm's Metrics.
type TriggerMetric struct {
	ID         string      `json:"Id"`
	MetricStat *MetricStat `json:"MetricStat,omitempty"`
	Expression string      `json:"Expression,omitempty"`
	Label      string      `json:"Label,omitempty"`
	ReturnData bool        `json:"ReturnData"`
}

// MetricStat is a metric and statistic in metric-math form.
type MetricStat struct {
	Metric MetricRef `json:"Metric"`
	Period int       `json:"Period"`
	Stat   string    `json:"Stat"`
	Unit   string    `json:"Unit,omitempty"`
}

// MetricRef names a CloudWatch metric.
type MetricRef struct {
	Dimensions []Dimension `json:"Dimensions,omitempty"`
	MetricName string      `json:"MetricName"`
	Namespace  string      `json:"Namespace"`
}

// Dimension is a CloudWatch dimension as the API spells it.
type Dimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// Envelope is the SNS Notification a webhook receives; Message holds the
// alarm Message as a JSON string.
type Envelope = webhook.Envelope

// regionNames are the long names CloudWatch puts in Message.Region.
var regionNames = map[string]string{
	"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)",
	"us-west-1": "US West (N. California)", "us-west-2": "US West (Oregon)",
	"af-south-1": "Africa (Cape Town)", "ap-east-1": "Asia Pacific (Hong Kong)",
	"ap-south-1": "Asia Pacific (Mumbai)", "ap-south-2": "Asia Pacific (Hyderabad)",
	"ap-northeast-1": "Asia Pacific (Tokyo)", "ap-northeast-2": "Asia Pacific (Seoul)",
	"ap-northeast-3": "Asia Pacific (Osaka)", "ap-southeast-1": "Asia Pacific (Singapore)",
	"ap-southeast-2": "Asia Pacific (Sydney)", "ap-southeast-3": "Asia Pacific (Jakarta)",
	"ap-southeast-4": "Asia Pacific (Melbourne)", "ca-central-1": "Canada (Central)",
	"eu-central-1": "EU (Frankfurt)", "eu-central-2": "EU (Zurich)",
	"eu-west-1": "EU (Ireland)", "eu-west-2": "EU (London)", "eu-west-3": "EU (Paris)",
	"eu-north-1": "EU (Stockholm)", "eu-south-1": "EU (Milan)", "eu-south-2": "EU (Spain)",
	"il-central-1": "Israel (Tel Aviv)", "me-south-1": "Middle East (Bahrain)",
	"me-central-1": "Middle East (UAE)", "sa-east-1": "South America (Sao Paulo)",
	"us-gov-west-1": "AWS GovCloud (US-West)", "us-gov-east-1": "AWS GovCloud (US-East)",
}

// RegionName returns the long name of an AWS region ("US East (N.
// Virginia)"), or the code itself when unknown.
func RegionName(code string) string {
	if n, ok := regionNames[code]; ok {
		return n
	}
	return code
}

// AlarmArn returns the ARN of the alarm named name.
func AlarmArn(region, account, name string) string {
	return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", region, account, name)
}

// Subject is the SNS subject of a notification of msg, e.g.
// `ALARM: "name" in US East (N. Virginia)`; SNS caps subjects at 100
// characters.
func (msg *Message) Subject() string {
	s := fmt.Sprintf("%s: %q in %s", msg.NewStateValue, msg.AlarmName, msg.Region)
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// Envelope wraps msg in an SNS Notification from the topic arn.
func (msg *Message) Envelope(topicArn string, at time.Time) (Envelope, error) {
	b, err := json.Marshal(msg)
	if err != nil {
		return Envelope{}, err
	}
	return webhook.Notification(topicArn, msg.Subject(), string(b), at), nil
}

// PostWebhook is the default Options.Notify: it POSTs the SNS envelope of
// msg to url with SNS's headers (package webhook: up to 3 tries, 10 s
// each, 1 s then 2 s apart; 4xx other than 408 and 429 is final).
func PostWebhook(client *http.Client, topicArn string) func(ctx context.Context, url string, msg Message) error {
	return func(ctx context.Context, url string, msg Message) error {
		env, err := msg.Envelope(topicArn, time.Now())
		if err != nil {
			return err
		}
		return webhook.Post(ctx, client, url, env)
	}
}

// trimDesc returns nil for an empty description (null in the message).
func trimDesc(s string) *string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return &s
}
