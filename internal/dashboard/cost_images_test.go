package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/cost"
)

// TestImageAndVideoCostViews: image and video models show their cost as
// image or video cost (never as a token cost of $0), CloudWatch derives a
// flat per-image price from OutputImageCount, and the cost tables count
// images.
func TestImageAndVideoCostViews(t *testing.T) {
	prices, err := cost.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	models := Models([]*catalog.Model{
		{ID: "amazon.nova-canvas-v1:0", Name: "Nova Canvas", OutputModalities: []string{"IMAGE"}},
		{ID: "stability.sd3-5-large-v1:0", Name: "SD 3.5", OutputModalities: []string{"IMAGE"}},
		{ID: "amazon.nova-reel-v1:1", Name: "Nova Reel", OutputModalities: []string{"VIDEO"}},
		{ID: "acme.image-v1", Name: "Unpriced", OutputModalities: []string{"IMAGE"}},
	}, prices)
	want := []ModelInfo{
		{ID: "amazon.nova-canvas-v1:0", Name: "Nova Canvas", Priced: true, ImageOutput: true},
		{ID: "stability.sd3-5-large-v1:0", Name: "SD 3.5", Priced: true, ImageOutput: true, ImagePrice: 0.08},
		{ID: "amazon.nova-reel-v1:1", Name: "Nova Reel", Priced: true, VideoOutput: true},
		{ID: "acme.image-v1", Name: "Unpriced", ImageOutput: true},
	}
	for i := range want {
		if models[i] != want[i] {
			t.Errorf("model %d = %+v, want %+v", i, models[i], want[i])
		}
	}
	d, err := Build(Spec{}, models)
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string][]Widget{}
	for _, s := range d.Sections {
		for _, w := range s.Widgets {
			titles[s.ModelID+"|"+w.Title] = append(titles[s.ModelID+"|"+w.Title], w)
		}
		if s.ID == costSectionID {
			for _, w := range s.Widgets {
				if w.Kind == KindTable && strings.HasPrefix(w.Title, "Cost per Model") &&
					(len(w.Series) != 4 || w.Series[3].Label != "Images" || !strings.Contains(w.Series[3].PromQL, mImages)) {
					t.Errorf("%s series %+v", w.Title, w.Series)
				}
			}
		}
	}
	for _, c := range []struct{ key, promql string }{
		{"amazon.nova-canvas-v1:0|Image Cost (USD)", `sum(increase(` + mCost + `{model_id="amazon.nova-canvas-v1:0"}`},
		{"stability.sd3-5-large-v1:0|Image Cost (USD)", mCost},
		{"amazon.nova-reel-v1:1|Video Cost (USD)", `{model_id="amazon.nova-reel-v1:1"}`},
	} {
		ws := titles[c.key]
		if len(ws) != 1 || !strings.Contains(ws[0].Series[len(ws[0].Series)-1].PromQL, c.promql) {
			t.Errorf("%s: %+v", c.key, ws)
		}
	}
	for _, key := range []string{"amazon.nova-canvas-v1:0|Token Cost (USD)", "amazon.nova-reel-v1:1|Token Cost (USD)", "acme.image-v1|Image Cost (USD)"} {
		if len(titles[key]) != 0 {
			t.Errorf("%s shown", key)
		}
	}
	if ws := titles["acme.image-v1|Token Cost (USD)"]; len(ws) != 1 || !strings.Contains(ws[0].Text, "Unpriced") {
		t.Errorf("unpriced image model: %+v", ws)
	}

	body, err := CloudWatch(d, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	var cw struct {
		Widgets []struct {
			Properties struct {
				Title   string  `json:"title"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal(body, &cw); err != nil {
		t.Fatal(err)
	}
	var imageCost []string
	for _, w := range cw.Widgets {
		if w.Properties.Title != "Image Cost (USD)" && w.Properties.Title != "Video Cost (USD)" {
			continue
		}
		b, _ := json.Marshal(w.Properties.Metrics)
		imageCost = append(imageCost, string(b))
	}
	// Only the flat-priced model: tiered prices and video seconds have no
	// CloudWatch metric to derive them from.
	if len(imageCost) != 1 || !strings.Contains(imageCost[0], `"expression":"images * 0.08"`) ||
		!strings.Contains(imageCost[0], `"OutputImageCount","ModelId","stability.sd3-5-large-v1:0"`) {
		t.Errorf("CloudWatch image cost widgets %v", imageCost)
	}
}

// A default dashboard of more models than CloudWatch's 500 widgets hold is
// exported with the last model views left out and named; one that fits is
// exported whole.
func TestCloudWatchFittingDropsTheLastModelViews(t *testing.T) {
	var models []ModelInfo
	for i := range 60 {
		models = append(models, ModelInfo{ID: fmt.Sprintf("acme.model-%02d-v1", i), Priced: true, InputPrice: 1, OutputPrice: 1})
	}
	d, err := Build(Spec{}, models)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CloudWatch(d, "us-east-1"); !errors.Is(err, ErrTooManyWidgets) {
		t.Fatalf("CloudWatch of 60 model views: %v, want ErrTooManyWidgets", err)
	}
	out, dropped, err := CloudWatchFitting(d, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Widgets []json.RawMessage `json:"widgets"`
	}
	if err := json.Unmarshal(out, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Widgets) > 500 || len(dropped) == 0 || dropped[len(dropped)-1] != "acme.model-59-v1" {
		t.Fatalf("%d widgets, dropped %v; want at most 500, the last models dropped", len(body.Widgets), dropped)
	}
	// One more model view would not have fitted.
	keep := 60 - len(dropped)
	d2, _ := Build(Spec{}, models[:keep+1])
	if _, err := CloudWatch(d2, "us-east-1"); !errors.Is(err, ErrTooManyWidgets) {
		t.Errorf("%d models fit, but %d did too: more were dropped than needed", keep, keep+1)
	}
	small, _ := Build(Spec{}, models[:3])
	if _, dropped, err := CloudWatchFitting(small, "us-east-1"); err != nil || len(dropped) != 0 {
		t.Errorf("3 models: dropped %v, %v", dropped, err)
	}
}
