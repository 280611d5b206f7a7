package simulator

import (
	"slices"
	"strings"
)

// vword is a vocabulary entry with its token count (with a leading space;
// the count is the same without one and after capitalisation).
type vword struct {
	s string
	n int
}

// wordClass holds the words of one class; short holds those that are a
// single piece, which the generator needs to hit an exact length.
type wordClass struct {
	all, short []vword
}

func newClass(list []string) wordClass {
	var c wordClass
	for _, s := range list {
		w := vword{s: s, n: CountTokens(" " + s)}
		c.all = append(c.all, w)
		if w.n == 1 {
			c.short = append(c.short, w)
		}
	}
	return c
}

var (
	classDeterminers  = newClass(vocabDeterminers)
	classNouns        = newClass(vocabNouns)
	classAdjectives   = newClass(vocabAdjectives)
	classVerbs        = newClass(vocabVerbs)
	classIntransitive = newClass(vocabIntransitive)
	classAdverbs      = newClass(vocabAdverbs)
	// Only some adverbs read well before a verb ("often supports").
	classPreVerbAdverbs = newClass(slices.DeleteFunc(slices.Clone(vocabAdverbs), func(w string) bool {
		return !strings.HasSuffix(w, "ly") && w != "often"
	}))
	classPrepositions  = newClass(vocabPrepositions)
	classConjunctions  = newClass(vocabConjunctions)
	classOpeners       = newClass(vocabOpeners)
	classInterjections = newClass(vocabInterjections)

	wordThe = vword{s: "the", n: 1}
	wordIt  = vword{s: "it", n: 1}
	wordA   = vword{s: "a", n: 1}
	wordAn  = vword{s: "an", n: 1}
)

// item is one element of a sentence being assembled: a word, or a
// punctuation mark (which is written without a leading space).
type item struct {
	vword
	punct bool
}

var (
	itemComma  = item{vword{s: ",", n: 1}, true}
	itemPeriod = item{vword{s: ".", n: 1}, true}
)

// textGen writes English-like text of an exact token count.
type textGen struct {
	r   *prng
	buf []byte
	// items is the sentence being assembled.
	items []item
	// lineStart is set when the next word follows a newline (or nothing)
	// and so takes no leading space.
	lineStart bool
}

// generate appends sentences worth exactly target tokens to prefix, which
// must be empty or end in a sentence. The count is exact because every
// fragment is joined at a word or punctuation boundary, where token counts
// add up (see the tokenizer).
func generate(r *prng, prefix string, target int) string {
	g := textGen{r: r, lineStart: prefix == ""}
	g.buf = make([]byte, 0, len(prefix)+target*7)
	g.buf = append(g.buf, prefix...)
	g.items = make([]item, 0, 48)
	remaining := target
	inParagraph := 0
	for remaining > 0 {
		if remaining == 1 {
			// Only a one-token reply (or a prefix that left one token) gets
			// here; a lone word without a period is the best fit.
			g.items = append(g.items[:0], item{vword: g.pick(classInterjections.short)})
			g.write()
			break
		}
		if inParagraph >= 3 && remaining >= 8 && g.r.chance(1, 2) {
			g.buf = append(g.buf, '\n', '\n')
			g.lineStart = true
			remaining -= 2
			inParagraph = 0
		}
		fitted := false
		for range 4 {
			c := g.sentence()
			if c <= remaining && (c == remaining || remaining-c >= 2) {
				remaining -= c
				fitted = true
				break
			}
		}
		if !fitted {
			g.filler(remaining)
			remaining = 0
		}
		g.write()
		inParagraph++
	}
	return string(g.buf)
}

func (g *textGen) pick(ws []vword) vword { return ws[g.r.intn(len(ws))] }

func (g *textGen) add(w vword) { g.items = append(g.items, item{vword: w}) }

// sentence assembles a random sentence into g.items and returns its cost.
func (g *textGen) sentence() int {
	g.items = g.items[:0]
	if g.r.chance(1, 6) {
		g.add(g.pick(classOpeners.all))
		g.items = append(g.items, itemComma)
	}
	g.clause()
	for k := 0; k < 2 && g.r.chance(1, 3); k++ {
		g.items = append(g.items, itemComma)
		g.add(g.pick(classConjunctions.all))
		g.clause()
	}
	g.items = append(g.items, itemPeriod)
	n := 0
	for _, it := range g.items {
		n += it.n
	}
	return n
}

func (g *textGen) clause() {
	switch g.r.intn(5) {
	case 0, 1:
		g.nounPhrase()
		g.add(g.pick(classVerbs.all))
		g.nounPhrase()
	case 2:
		g.nounPhrase()
		g.add(g.pick(classIntransitive.all))
		if g.r.chance(1, 2) {
			g.add(g.pick(classAdverbs.all))
		}
	case 3:
		g.add(wordIt)
		g.add(g.pick(classVerbs.all))
		g.nounPhrase()
	default:
		g.nounPhrase()
		if g.r.chance(1, 3) {
			g.add(g.pick(classPreVerbAdverbs.all))
		}
		g.add(g.pick(classVerbs.all))
		g.nounPhrase()
	}
	if g.r.chance(1, 3) {
		g.add(g.pick(classPrepositions.all))
		g.nounPhrase()
	}
}

func (g *textGen) nounPhrase() {
	det := g.pick(classDeterminers.all)
	var adj vword
	if g.r.chance(2, 5) {
		adj = g.pick(classAdjectives.all)
	}
	noun := g.pick(classNouns.all)
	if det.s == "a" {
		next := noun.s
		if adj.s != "" {
			next = adj.s
		}
		if vowelSound(next) {
			det = wordAn
		} else {
			det = wordA
		}
	}
	g.add(det)
	if adj.s != "" {
		g.add(adj)
	}
	g.add(noun)
}

// vowelSound approximates whether a word takes "an".
func vowelSound(w string) bool {
	switch w[0] {
	case 'a', 'e', 'i', 'o':
		return true
	case 'u':
		// "a user", "a useful", "a unique" but "an update".
		return !(len(w) >= 3 && (w[:3] == "use" || w[:3] == "uni" || w[:3] == "usu"))
	}
	return false
}

// filler assembles a sentence of exactly n >= 2 tokens from single-piece
// words: "Indeed.", "It works.", "The model works.", "The clear model
// works well in the system."
func (g *textGen) filler(n int) {
	g.items = g.items[:0]
	w := n - 1
	switch w {
	case 1:
		g.add(g.pick(classInterjections.short))
	case 2:
		g.add(wordIt)
		g.add(g.pick(classIntransitive.short))
	default:
		extra := w - 3
		g.add(wordThe)
		if extra%3 >= 1 {
			g.add(g.pick(classAdjectives.short))
		}
		g.add(g.pick(classNouns.short))
		g.add(g.pick(classIntransitive.short))
		if extra%3 == 2 {
			g.add(g.pick(classAdverbs.short))
		}
		for range extra / 3 {
			g.add(g.pick(classPrepositions.short))
			g.add(wordThe)
			g.add(g.pick(classNouns.short))
		}
	}
	g.items = append(g.items, itemPeriod)
}

// write appends the assembled sentence to the text, capitalising its first
// word.
func (g *textGen) write() {
	for i, it := range g.items {
		if !it.punct && !g.lineStart {
			g.buf = append(g.buf, ' ')
		}
		g.lineStart = false
		if i == 0 {
			g.buf = appendCapitalized(g.buf, it.s)
		} else {
			g.buf = append(g.buf, it.s...)
		}
	}
}

func appendCapitalized(dst []byte, s string) []byte {
	if s != "" && 'a' <= s[0] && s[0] <= 'z' {
		dst = append(dst, s[0]-'a'+'A')
		s = s[1:]
	}
	return append(dst, s...)
}
