package quota

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// This file exports what a limiter keeping its counters elsewhere (package
// sharedlimit, in Redis) needs to apply the same rules as Limiter. It does
// not change Limiter's behaviour.

// Matches reports whether the rule's scope covers a call made under k,
// exactly as Limiter.Reserve decides it.
func (r *Rule) Matches(k Key) bool { return r.matches(k) }

// Project returns k reduced to the dimensions the rule counts per (Per):
// the others are blanked, so every call of the scope equal on them shares
// a counter. Per must be valid (ValidateRules); unknown names are ignored.
func (r *Rule) Project(k Key) Key {
	m, _ := parsePer(r.Per)
	return m.key(k)
}

// Fingerprint identifies the rule's definition: two rules have the same
// fingerprint when their scope, Per and limits are equal, in which case
// Limiter.Replace keeps their counters. It is 16 hex digits.
func (r *Rule) Fingerprint() string {
	m, _ := parsePer(r.Per)
	h := sha256.New()
	for _, s := range []string{r.Name, r.Model, r.Principal, r.Profile,
		strconv.Itoa(int(m)), strconv.FormatInt(r.RequestsPerMinute, 10),
		strconv.FormatInt(r.TokensPerMinute, 10), strconv.FormatInt(r.TokensPerDay, 10)} {
		h.Write([]byte(strconv.Quote(s)))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// RetryAfter rounds a wait up to whole seconds, at least one, as
// Exceeded.RetryAfter is.
func RetryAfter(d time.Duration) time.Duration { return wholeSeconds(d) }
