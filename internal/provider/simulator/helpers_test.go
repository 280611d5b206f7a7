package simulator

// appendPieces appends the pieces of text to dst.
func appendPieces(dst []string, text string) []string {
	b := planBlock{text: text, ends: appendEnds(nil, text)}
	return append(dst, b.pieces()...)
}
