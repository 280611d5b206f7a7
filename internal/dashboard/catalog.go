package dashboard

import (
	"slices"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/cost"
)

// Models describes catalog models for Build, with their list prices: a
// text or embedding model is priced when the price list has its input
// price, an image or video model when it has any price (per image, by
// image tier, per second of video).
func Models(models []*catalog.Model, prices *cost.PriceList) []ModelInfo {
	out := make([]ModelInfo, 0, len(models))
	for _, m := range models {
		mi := ModelInfo{ID: m.ID, Name: m.Name, ImageOutput: slices.Contains(m.OutputModalities, "IMAGE"),
			VideoOutput: slices.Contains(m.OutputModalities, "VIDEO")}
		if prices != nil {
			e, ok := prices.Lookup(m.ID)
			switch {
			case ok && (mi.ImageOutput || mi.VideoOutput):
				mi.Priced = e.HasPrice()
				if e.Image != nil {
					mi.ImagePrice = *e.Image
				}
			case ok && e.Input != nil:
				mi.Priced, mi.InputPrice = true, *e.Input
				if e.Output != nil {
					mi.OutputPrice = *e.Output
				}
			}
		}
		out = append(out, mi)
	}
	return out
}

// ForConfig builds the dashboard of a configuration's catalog with its
// spec and price list.
func ForConfig(spec Spec, models []*catalog.Model, prices *cost.PriceList) (*Dashboard, error) {
	return Build(spec, Models(models, prices))
}
