package budget

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// stateVersion is the version of the state file format.
const stateVersion = 1

// saveInterval is how often a changed state is written.
const saveInterval = time.Second

// maxStateSize bounds the state file read at New.
const maxStateSize = 64 << 20

// stateFile is the persisted spend of every budget.
type stateFile struct {
	Version int                     `json:"version"`
	Saved   time.Time               `json:"saved"`
	Budgets map[string]budgetRecord `json:"budgets"`
}

// budgetRecord is one budget's persisted state. Actual is in internal
// units (nano-dollars for COST, tokens for USAGE) so it round-trips
// exactly.
type budgetRecord struct {
	Key         string               `json:"key"`
	Type        string               `json:"type"`
	PeriodStart time.Time            `json:"periodStart"`
	PeriodEnd   time.Time            `json:"periodEnd"`
	Actual      int64                `json:"actual"`
	Unpriced    int64                `json:"unpriced"`
	Calls       int64                `json:"calls"`
	Fired       map[string]time.Time `json:"fired,omitempty"`
	Previous    *PeriodTotals        `json:"previous,omitempty"`
}

// readState reads path; a missing file is an empty state.
func readState(path string) (*stateFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("budget state: %w", err)
	}
	st, err := parseState(b)
	if err != nil {
		return nil, fmt.Errorf("budget state %s: %w", path, err)
	}
	return st, nil
}

// parseState decodes and checks a state file.
func parseState(b []byte) (*stateFile, error) {
	if len(b) > maxStateSize {
		return nil, fmt.Errorf("%d bytes, at most %d", len(b), maxStateSize)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	}
	for name, r := range st.Budgets {
		if r.Actual < 0 || r.Unpriced < 0 || r.Calls < 0 {
			return nil, fmt.Errorf("budget %q: negative amount", name)
		}
	}
	return &st, nil
}

// restore applies st to the budgets with the same name and spend key:
// the current period's numbers and notification states when the record
// is of the current period, else the record becomes the previous period.
func (t *Tracker) restore(st *stateFile, now time.Time) {
	if st == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range t.budgets {
		r, ok := st.Budgets[b.def.Name]
		if !ok || r.Key != b.key || r.Type != b.def.Type {
			continue
		}
		b.previous = r.Previous
		switch {
		case r.PeriodStart.Equal(b.start) && r.PeriodEnd.Equal(b.end):
			b.actual, b.unpriced, b.calls = r.Actual, r.Unpriced, r.Calls
			for i := range b.def.Notifications {
				b.fired[i] = r.Fired[b.def.Notifications[i].key()]
			}
		case r.PeriodStart.Before(b.start) && r.Calls > 0:
			b.previous = &PeriodTotals{Start: r.PeriodStart, End: r.PeriodEnd, Actual: fromUnits(r.Type, r.Actual), Unpriced: r.Unpriced, Calls: r.Calls}
		}
		b.roll(t, now)
	}
	t.pending = nil // a restart does not re-evaluate closed periods
}

// snapshotState renders the state; called with t.mu held.
func (t *Tracker) snapshotState(now time.Time) ([]byte, error) {
	st := stateFile{Version: stateVersion, Saved: now.UTC(), Budgets: make(map[string]budgetRecord, len(t.budgets))}
	for _, b := range t.budgets {
		r := budgetRecord{
			Key: b.key, Type: b.def.Type, PeriodStart: b.start, PeriodEnd: b.end,
			Actual: b.actual, Unpriced: b.unpriced, Calls: b.calls, Previous: b.previous,
		}
		for i, f := range b.fired {
			if !f.IsZero() {
				if r.Fired == nil {
					r.Fired = map[string]time.Time{}
				}
				r.Fired[b.def.Notifications[i].key()] = f
			}
		}
		st.Budgets[b.def.Name] = r
	}
	return json.MarshalIndent(st, "", "  ")
}

// writeFile replaces path atomically: a temporary file in the same
// directory, synced, then renamed over it.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".budget-state-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// save writes the state when it changed (or always when force).
func (t *Tracker) save(force bool) error {
	now := t.now()
	t.mu.Lock()
	for _, b := range t.budgets {
		b.roll(t, now) // periods roll (and notify) even without traffic
	}
	msgs := t.takePending()
	if t.opts.StatePath == "" || (!t.dirty && !force) {
		t.mu.Unlock()
		t.dispatch(msgs)
		return nil
	}
	data, err := t.snapshotState(now)
	t.dirty = false
	t.writeMu.Lock() // keep write order equal to snapshot order
	t.mu.Unlock()
	t.dispatch(msgs)
	if err == nil {
		err = writeFile(t.opts.StatePath, data)
	}
	t.writeMu.Unlock()
	if err != nil {
		t.mu.Lock()
		t.dirty = true
		t.mu.Unlock()
		t.log.Error("budget: saving state", "path", t.opts.StatePath, "err", err)
	}
	return err
}

// loop saves the state about once a second while the tracker is open.
func (t *Tracker) loop() {
	defer close(t.done)
	tick := time.NewTicker(saveInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			_ = t.save(false)
		}
	}
}

// Close stops the background saver and writes the state. Later calls
// return nil. The tracker still admits and settles calls after Close,
// without persisting them.
func (t *Tracker) Close() error {
	err := error(nil)
	t.closed.Do(func() {
		close(t.stop)
		<-t.done
		err = t.save(true)
	})
	return err
}
