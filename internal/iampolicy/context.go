package iampolicy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Context holds a request's condition keys. Key names are case-insensitive;
// each key has one or more string values. A Context belongs to one request:
// fill it, then evaluate it (concurrent Evaluate calls that share a Context
// are fine as long as nobody calls Set meanwhile).
type Context struct {
	entries []ctxEntry
}

type ctxEntry struct {
	key string // as given; compared ASCII-case-insensitively, so Set need not lower-case (allocate)
	// A single value is stored inline (the common case) so Set does not
	// allocate; several values are copied into more.
	one  string
	more []string
	n    int
	// Typed forms of a single value, parsed once at Set for keys whose type
	// is known (aws:SourceIp, aws:CurrentTime, aws:EpochTime, …) so the hot
	// path neither parses nor allocates error values.
	addr   netip.Addr
	when   time.Time
	num    float64
	hasIP  bool
	hasT   bool
	hasNum bool
}

// NewContext returns an empty Context with room for n keys.
func NewContext(n int) *Context {
	return &Context{entries: make([]ctxEntry, 0, n)}
}

// Set stores values under key, replacing earlier values of that key. Setting
// no values removes the key. Set returns c so calls can be chained; with a
// pre-sized Context and single values it does not allocate.
func (c *Context) Set(key string, values ...string) *Context {
	for i := range c.entries {
		if ek := c.entries[i].key; len(ek) == len(key) && strings.EqualFold(ek, key) {
			if len(values) == 0 {
				c.entries = append(c.entries[:i], c.entries[i+1:]...)
				return c
			}
			c.entries[i] = newEntry(key, values)
			return c
		}
	}
	if len(values) > 0 {
		c.entries = append(c.entries, newEntry(key, values))
	}
	return c
}

// Get returns the values of key (case-insensitive) and whether it is present.
func (c *Context) Get(key string) ([]string, bool) {
	e := c.lookup(lowerKey(key))
	if e == nil {
		return nil, false
	}
	if e.more != nil {
		return append([]string(nil), e.more...), true
	}
	return []string{e.one}, true
}

// at returns value i of the entry.
func (e *ctxEntry) at(i int) string {
	if e.more != nil {
		return e.more[i]
	}
	return e.one
}

// Len returns the number of keys present.
func (c *Context) Len() int {
	if c == nil {
		return 0
	}
	return len(c.entries)
}

// Reset empties c, keeping its storage for reuse.
func (c *Context) Reset() { c.entries = c.entries[:0] }

// lookup finds a key already lower-cased at compile time; no allocation.
func (c *Context) lookup(lk string) *ctxEntry {
	if c == nil {
		return nil
	}
	for i := range c.entries {
		if ek := c.entries[i].key; len(ek) == len(lk) && foldedEqual(ek, lk) {
			return &c.entries[i]
		}
	}
	return nil
}

// single returns the value of a single-valued key, for policy variables.
func (c *Context) single(lk string) (string, bool) {
	e := c.lookup(lk)
	if e == nil || e.n != 1 {
		return "", false
	}
	return e.one, true
}

func lowerKey(k string) string {
	for i := 0; i < len(k); i++ {
		if c := k[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(k)
		}
	}
	return k
}

func newEntry(key string, values []string) ctxEntry {
	e := ctxEntry{key: key, n: len(values)}
	if len(values) != 1 {
		e.more = append([]string(nil), values...)
		return e
	}
	e.one = values[0]
	v := values[0]
	switch {
	case strings.EqualFold(key, "aws:SourceIp"), strings.EqualFold(key, "aws:VpcSourceIp"):
		if a, err := netip.ParseAddr(v); err == nil {
			e.addr, e.hasIP = a.Unmap(), true
		}
	case strings.EqualFold(key, "aws:CurrentTime"), strings.EqualFold(key, "aws:TokenIssueTime"), strings.EqualFold(key, "aws:EpochTime"):
		if t, ok := parseDate(v); ok {
			e.when, e.hasT = t, true
			// Epoch seconds also compare as numbers; only try digit strings,
			// since a failed ParseFloat allocates its error.
			if strings.Trim(v, "0123456789") == "" {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					e.num, e.hasNum = f, true
				}
			}
		}
	case strings.EqualFold(key, "aws:MultiFactorAuthAge"):
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			e.num, e.hasNum = f, true
		}
	}
	return e
}

func (e *ctxEntry) addrAt(i int) (netip.Addr, bool) {
	if e.hasIP {
		return e.addr, true
	}
	a, err := netip.ParseAddr(strings.TrimSpace(e.at(i)))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func (e *ctxEntry) timeAt(i int) (time.Time, bool) {
	if e.hasT {
		return e.when, true
	}
	return parseDate(e.at(i))
}

func (e *ctxEntry) numAt(i int) (float64, bool) {
	if e.hasNum {
		return e.num, true
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(e.at(i)), 64)
	return f, err == nil
}

// parseDate accepts the W3C profile of ISO 8601 (YYYY, YYYY-MM, YYYY-MM-DD,
// with THH:MM[:SS[.fff]] and Z or ±HH:MM; a missing zone means UTC) and epoch
// seconds, like IAM's Date operators.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	digits := true
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			digits = false
			break
		}
	}
	if digits && len(s) != 4 { // "2026" is a year, longer digit runs are epoch seconds
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > 1<<40 {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	var layouts []string
	if strings.IndexByte(s, 'T') < 0 {
		layouts = dateOnlyLayouts
	} else {
		layouts = dateTimeLayouts
	}
	for _, l := range layouts {
		if len(s) < len("2006") {
			break
		}
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var (
	dateOnlyLayouts = []string{"2006-01-02", "2006-01", "2006"}
	dateTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"}
)
