package quota

import (
	"testing"
	"time"
)

// FuzzReserveSettle runs a byte-coded sequence of Reserve, Settle and
// clock steps and checks the invariants after each: counters never go
// negative, the per-minute and per-day counters never exceed their limits
// unless a call settled above its reservation, and reserved equals the
// tokens of the unsettled reservations.
func FuzzReserveSettle(f *testing.F) {
	f.Add([]byte{0, 10, 0, 20, 1, 0, 5, 2, 30, 0, 200})
	f.Add([]byte{0, 255, 0, 255, 0, 255, 1, 1, 255, 2, 255, 2, 255})
	f.Fuzz(func(t *testing.T, ops []byte) {
		c := newClock()
		c.Advance(11*time.Hour + 58*time.Minute) // reach midnight quickly
		rules := []Rule{
			{Name: "tpm", TokensPerMinute: 600, RequestsPerMinute: 20},
			{Name: "each", Per: []string{PerPrincipal}, TokensPerMinute: 300, TokensPerDay: 2000},
		}
		l, err := New(rules, Options{Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		keys := []Key{{Principal: "a"}, {Principal: "b"}, {Principal: "c"}}
		var open []*Reservation
		overrun := false
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%3, int64(ops[i+1])
			switch op {
			case 0:
				if r, err := l.Reserve(keys[arg%3], arg*2); err == nil && r != nil {
					open = append(open, r)
				}
			case 1:
				if len(open) == 0 {
					continue
				}
				j := int(arg) % len(open)
				r := open[j]
				used := arg % (r.tokens + 1)
				if arg%7 == 0 {
					used = r.tokens + arg // a call that used more than it held
					overrun = true
				}
				r.Settle(used)
				r.Settle(used) // idempotent
				open = append(open[:j], open[j+1:]...)
			case 2:
				c.Advance(time.Duration(arg) * 100 * time.Millisecond)
			}
			var inflight int64
			for _, r := range open {
				inflight += r.tokens
			}
			for _, st := range l.Snapshot() {
				if st.TokensUsed < 0 || st.RequestsUsed < 0 || st.TokensReserved < 0 || st.TokensToday < 0 {
					t.Fatalf("negative counter: %+v", st)
				}
				if st.RequestsPerMinute > 0 && st.RequestsUsed > st.RequestsPerMinute {
					t.Fatalf("requests over the limit: %+v", st)
				}
				if !overrun && (st.TokensUsed > st.TokensPerMinute || (st.TokensPerDay > 0 && st.TokensToday > st.TokensPerDay)) {
					t.Fatalf("tokens over the limit without overrun: %+v", st)
				}
				if st.Rule == "tpm" && st.TokensReserved != inflight {
					t.Fatalf("reserved %d, in flight %d", st.TokensReserved, inflight)
				}
			}
		}
	})
}
