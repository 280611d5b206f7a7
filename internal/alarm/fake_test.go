package alarm

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/modelwatch/modelwatch/internal/history"
)

// fakeQuerier answers every query with value(t) at each step.
type fakeQuerier struct {
	mu      sync.Mutex
	value   func(t time.Time) (float64, bool)
	fail    bool
	queries int
}

func (q *fakeQuerier) QueryRange(_ context.Context, _ string, start, end time.Time, step time.Duration) ([]history.Series, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queries++
	if q.fail {
		return nil, errors.New("query failed")
	}
	s := history.Series{Labels: map[string]string{}}
	for t := start; !t.After(end); t = t.Add(step) {
		if v, ok := q.value(t); ok {
			s.Points = append(s.Points, history.Point{Time: t, Value: v})
		}
	}
	if len(s.Points) == 0 {
		return nil, nil
	}
	return []history.Series{s}, nil
}

func (q *fakeQuerier) Queries() int { q.mu.Lock(); defer q.mu.Unlock(); return q.queries }
