package dashboard

import (
	"strings"
	"testing"
)

func TestExactIncreaseRewritesCounterIncreases(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`sum(increase(bedrock_invocations_total[$range]))`,
			`sum(((last_over_time(bedrock_invocations_total[$range]) - last_over_time(bedrock_invocations_total[5m] offset $range) >= 0) or last_over_time(bedrock_invocations_total[$range])))`},
		{`sum by (model_id) (increase(x{model_id="a:b"}[1h]))`,
			`sum by (model_id) (((last_over_time(x{model_id="a:b"}[1h]) - last_over_time(x{model_id="a:b"}[5m] offset 1h) >= 0) or last_over_time(x{model_id="a:b"}[1h])))`},
		{`histogram_quantile(0.9, sum by (le) (rate(h_bucket[$range])))`, `histogram_quantile(0.9, sum by (le) (rate(h_bucket[$range])))`},
	} {
		if got := ExactIncrease(tc.in); got != tc.want {
			t.Errorf("ExactIncrease(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// TestExactCountsKeepsEveryQueryValid: the default dashboard's queries,
// rewritten and with their variables expanded, still parse, and no
// increase() of a counter is left.
func TestExactCountsKeepsEveryQueryValid(t *testing.T) {
	d, err := Build(Spec{}, testModels)
	if err != nil {
		t.Fatal(err)
	}
	exact := ExactCounts(d)
	n := 0
	for _, s := range exact.Sections {
		for _, w := range s.Widgets {
			for _, ser := range w.Series {
				if ser.PromQL == "" {
					continue
				}
				n++
				if err := CheckPromQL(ser.PromQL); err != nil {
					t.Errorf("%s / %s: %v", w.Title, ser.Label, err)
				}
				if strings.Contains(ser.PromQL, "increase(") {
					t.Errorf("%s / %s still has increase(): %s", w.Title, ser.Label, ser.PromQL)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no queries")
	}
	for _, s := range d.Sections {
		for _, w := range s.Widgets {
			for _, ser := range w.Series {
				if strings.Contains(ser.PromQL, "last_over_time") {
					t.Fatalf("ExactCounts changed the original: %s", ser.PromQL)
				}
			}
		}
	}
}
