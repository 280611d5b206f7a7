package dashboard

// gridWidth is the number of columns of CloudWatch's, Grafana's and the
// web UI's grid.
const gridWidth = 24

// position is a widget's place on the grid.
type position struct{ X, Y, W, H int }

// flow lays widgets out as the construct's CDK rows do, which the
// CloudWatch fixture shows: left to right from (0, top), wrapping to a new
// line when a widget would pass column 24; a line is as tall as its
// tallest widget. It returns the positions and the y below the last line.
// The same layout is used by both exports so that they look alike.
func flow(widgets []Widget, top int) ([]position, int) {
	out := make([]position, len(widgets))
	x, y, lineH := 0, top, 0
	for i, w := range widgets {
		if x > 0 && x+w.Width > gridWidth {
			x, y, lineH = 0, y+lineH, 0
		}
		out[i] = position{X: x, Y: y, W: w.Width, H: w.Height}
		x += w.Width
		lineH = max(lineH, w.Height)
	}
	return out, y + lineH
}
