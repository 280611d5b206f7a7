package quota

import (
	"math"
	"math/bits"
	"time"
)

const minuteNs = uint64(time.Minute)

// bucket is a per-minute limit as a token bucket kept as its consumption:
// used units are drained continuously at limit per minute. Capacity is the
// limit: a call is admitted while used+n ≤ limit. Refill is exact integer
// arithmetic (128-bit products, remainder carried in frac), so that with
// a frozen clock the admitted total is exactly bounded by the limit.
type bucket struct {
	used int64  // units counted now; may exceed the limit after an overrun
	frac uint64 // refill carried over, in unit·ns (< minuteNs)
	last int64  // clock of the last refill, unix ns
}

// refill drains the bucket up to now.
func (b *bucket) refill(now, limit int64) {
	if b.used <= 0 {
		// Nothing to drain: a full bucket does not bank refill.
		b.used, b.frac, b.last = 0, 0, now
		return
	}
	if now <= b.last {
		return // the clock did not move (or went back): no refill
	}
	dt := uint64(now - b.last)
	b.last = now
	hi, lo := bits.Mul64(uint64(limit), dt)
	var c uint64
	lo, c = bits.Add64(lo, b.frac, 0)
	hi += c
	if hi >= minuteNs { // more than 2^64 units: certainly empty
		b.used, b.frac = 0, 0
		return
	}
	q, r := bits.Div64(hi, lo, minuteNs)
	if q >= uint64(b.used) {
		b.used, b.frac = 0, 0
		return
	}
	b.used -= int64(q)
	b.frac = r
}

// wait is how long until n more units fit under limit, given the bucket
// was just refilled; 0 if they fit now.
func (b *bucket) wait(n, limit int64) time.Duration {
	need := b.used + n - limit
	if need <= 0 {
		return 0
	}
	// Smallest t with frac + limit·t ≥ need·minute.
	if need <= math.MaxInt64/int64(minuteNs) {
		num := need*int64(minuteNs) - int64(b.frac)
		return time.Duration((num + limit - 1) / limit)
	}
	return time.Duration(math.Ceil((float64(need)*float64(minuteNs) - float64(b.frac)) / float64(limit)))
}

// add changes the consumption by delta, never below empty (a refund never
// raises a bucket above its capacity).
func (b *bucket) add(delta int64) {
	b.used = satAdd(b.used, delta)
	if b.used <= 0 {
		b.used, b.frac = 0, 0
	}
}

// satAdd adds without overflowing.
func satAdd(a, b int64) int64 {
	s := a + b
	if (s > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

// wholeSeconds rounds d up to whole seconds, at least one.
func wholeSeconds(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	return max(s, 1) * time.Second
}
