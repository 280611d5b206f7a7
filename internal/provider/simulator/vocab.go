package simulator

import "strings"

// The embedded vocabulary, by word class. Sentences are assembled from a
// tiny grammar over these classes, which reads as plausible (if vacuous)
// English. A few words are longer than maxWordBytes, so replies exercise
// multi-piece words too.
var (
	vocabDeterminers = words(`the the the a a this each every our its that one another any`)

	vocabNouns = words(`system model service team project result process value approach
		method question answer problem solution idea example request response user
		customer product feature change version design network server client record
		report document message signal pattern structure function module layer option
		setting policy rule limit budget plan goal task step stage phase cycle window
		session account region cluster node queue stream table index query cache
		buffer file folder path route gateway endpoint interface contract schema field
		format output input source target metric alert event trace log sample batch
		dataset benchmark baseline estimate forecast trend signal choice tradeoff risk
		cost price demand market partner vendor supplier community audience reader
		writer engineer manager leader student teacher library garden river city
		journey story chapter lesson habit routine morning evening season weather
		information performance application experience development environment
		architecture configuration understanding organization requirement opportunity
		relationship perspective infrastructure`)

	vocabAdjectives = words(`simple clear useful small large new modern reliable careful
		strong common specific general early recent stable robust flexible complete
		accurate practical secure open local global shared basic main typical natural
		quick steady direct single complex visible hidden minor major better broader
		deeper faster lighter safer quiet bright fresh solid gentle honest formal
		important different efficient consistent reasonable significant additional
		available particular independent`)

	vocabVerbs = words(`supports improves requires provides creates builds explains
		describes follows changes handles includes reduces shapes defines tracks
		measures captures connects extends reflects drives guides protects balances
		combines delivers enables informs limits organizes prepares replaces reviews
		uses needs shows meets finds keeps makes sets takes brings offers produces
		simplifies strengthens transforms highlights coordinates demonstrates`)

	vocabIntransitive = words(`works helps matters changes grows improves succeeds fails
		runs holds scales adapts evolves responds settles recovers continues`)

	vocabAdverbs = words(`quickly clearly usually often rarely carefully slowly directly
		easily reliably naturally quietly simply steadily mostly well again today
		together gradually`)

	vocabPrepositions = words(`in on with for across through within around under over
		into from beyond behind without alongside`)

	vocabConjunctions = words(`and but so while because although since yet`)

	vocabOpeners = []string{"However", "In practice", "For example", "As a result",
		"In general", "Overall", "Meanwhile", "Of course", "In short", "Similarly",
		"Therefore", "Still", "At first", "Over time", "In most cases"}

	vocabInterjections = words(`Indeed Exactly Right Sure Agreed Noted Yes Certainly`)
)

// words splits a whitespace-separated list.
func words(s string) []string { return strings.Fields(s) }
