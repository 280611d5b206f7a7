package asyncinvoke

import (
	"context"
	"time"
)

// SharedJobs is where the replicas of a cluster publish their jobs'
// records, so that GetAsyncInvoke and ListAsyncInvokes answer the same on
// every replica whichever one started the job. A job runs on the replica
// that accepted it (its record on that replica's disk stays the one it
// resumes from); the shared copy is what the others read.
type SharedJobs interface {
	// PutJob publishes a job's current record.
	PutJob(ctx context.Context, j Job) error
	// GetJob returns a job's record (false: no such job).
	GetJob(ctx context.Context, id string) (Job, bool, error)
	// ListJobs returns every job's record.
	ListJobs(ctx context.Context) ([]Job, error)
}

// sharedTimeout bounds a call to SharedJobs.
const sharedTimeout = 5 * time.Second

// republishEvery is how often records that could not be published are
// tried again.
const republishEvery = 5 * time.Second

// publish mirrors j to Options.Shared. A failure (the shared store is
// down) is logged and the job's ID kept: republish sends its latest record
// once the store answers again, so the other replicas catch up with what
// this one did meanwhile. The job goes on either way, and its record on
// this replica's disk stays authoritative.
func (m *Manager) publish(j Job) {
	if m.opts.Shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	if err := m.opts.Shared.PutJob(ctx, j); err != nil {
		m.opts.Logger.Warn("asynchronous invocation not published to the other replicas yet; it is sent again when the shared store answers",
			"invocation_arn", j.ARN, "status", j.Status, "error", err)
		m.pubMu.Lock()
		if m.unpublished == nil {
			m.unpublished = map[string]bool{}
		}
		m.unpublished[j.ID] = true
		m.pubMu.Unlock()
	}
}

// republish runs until Close, sending again the records publish could
// not.
func (m *Manager) republish() {
	defer m.wg.Done()
	t := time.NewTicker(republishEvery)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		m.pubMu.Lock()
		ids := make([]string, 0, len(m.unpublished))
		for id := range m.unpublished {
			ids = append(ids, id)
		}
		m.pubMu.Unlock()
		for _, id := range ids {
			m.mu.Lock()
			j, ok := m.jobs[id]
			var rec Job
			if ok {
				rec = *j
			}
			m.mu.Unlock()
			ctx, cancel := context.WithTimeout(m.ctx, sharedTimeout)
			err := error(nil)
			if ok {
				err = m.opts.Shared.PutJob(ctx, rec)
			}
			cancel()
			if err != nil {
				break // still down: try again later
			}
			m.pubMu.Lock()
			delete(m.unpublished, id)
			m.pubMu.Unlock()
			if ok {
				m.opts.Logger.Info("asynchronous invocation published to the other replicas", "invocation_arn", rec.ARN, "status", rec.Status)
			}
		}
	}
}

// sharedGet looks a job up among the other replicas' (false: unknown or
// no shared store).
func (m *Manager) sharedGet(id string) (Job, bool) {
	if m.opts.Shared == nil {
		return Job{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	j, ok, err := m.opts.Shared.GetJob(ctx, id)
	if err != nil {
		m.opts.Logger.Warn("asynchronous invocation: the other replicas' jobs could not be read", "error", err)
		return Job{}, false
	}
	return j, ok
}

// sharedList returns the other replicas' jobs (nil without a shared
// store, or when it cannot be read: the listing then holds this
// replica's jobs only, and the log says so).
func (m *Manager) sharedList() []Job {
	if m.opts.Shared == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	jobs, err := m.opts.Shared.ListJobs(ctx)
	if err != nil {
		m.opts.Logger.Warn("asynchronous invocation: the other replicas' jobs could not be listed; listing this replica's only", "error", err)
		return nil
	}
	return jobs
}
