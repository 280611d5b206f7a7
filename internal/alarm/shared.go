package alarm

import (
	"context"
	"encoding/json"
	"fmt"
)

// State returns the alarms' states and transition histories as the JSON
// document the state file holds: what the replica that evaluates the
// alarms publishes for the others (see Adopt).
func (e *Evaluator) State() ([]byte, error) {
	e.mu.Lock()
	f := stateFile{Version: 1, Alarms: map[string]savedAlarm{}}
	for _, a := range e.alarms {
		f.Alarms[a.def.Name] = savedAlarm{a.fingerprint, a.configUpdated, a.state, a.reason, a.reasonData, a.stateTime, a.history}
	}
	e.mu.Unlock()
	return json.Marshal(f)
}

// CatchUp evaluates every alarm once at the last boundary that has
// passed (its own period's), as the replica that takes over evaluating a
// cluster's alarms does first: its predecessor may have died, or lost the
// database, before it evaluated that boundary, and the next one may
// already be too late to see a breach.
func (e *Evaluator) CatchUp(ctx context.Context) { e.evaluate(ctx, e.now(), true) }

// Adopt takes the states another evaluator published (State): on a
// replica that does not evaluate the alarms itself, each alarm with the
// same name and definition takes its state, reason and history, and a
// rollback is applied or undone as the alarm enters or leaves ALARM,
// so every replica routes a rolled-back model to its fallbacks. Alarms
// the document does not know, or knows with another definition, keep
// their state. The adopted states are saved as this evaluator's own, so
// that a replica taking over the evaluation goes on from them.
func (e *Evaluator) Adopt(doc []byte) error {
	var f stateFile
	if err := json.Unmarshal(doc, &f); err != nil {
		return fmt.Errorf("alarm: shared state: %w", err)
	}
	type flip struct {
		model, alarm string
		on           bool
	}
	var flips []flip
	e.remMu.Lock()
	defer e.remMu.Unlock()
	e.mu.Lock()
	for _, a := range e.alarms {
		s, ok := f.Alarms[a.def.Name]
		if !ok || s.Fingerprint != a.fingerprint || !s.StateTime.After(a.stateTime) && s.State == a.state {
			continue
		}
		old := a.state
		a.configUpdated, a.state, a.reason, a.reasonData, a.stateTime, a.history = s.ConfigUpdated, s.State, s.Reason, s.ReasonData, s.StateTime, s.History
		e.setStateMetric(a)
		if r := a.def.Actions.Rollback; r != "" && (old == StateAlarm) != (a.state == StateAlarm) {
			flips = append(flips, flip{r, a.def.Name, a.state == StateAlarm})
		}
	}
	e.mu.Unlock()
	if e.opts.Remediator != nil {
		for _, fl := range flips {
			e.opts.Remediator.Rollback(fl.model, fl.on, fl.alarm)
		}
	}
	return e.save()
}
