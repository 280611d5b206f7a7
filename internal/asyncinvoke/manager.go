package asyncinvoke

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// Dir is where the job records live, relative to the data directory.
const Dir = "async-invoke"

// DefaultMaxInProgress is the number of jobs that may run at once when
// Options.MaxInProgress is 0.
const DefaultMaxInProgress = 10

// Generator runs a job's model: it decodes the job's modelInput for its
// catalog model and generates the video. Errors are *apierror.Error; their
// message becomes the job's failureMessage.
type Generator func(ctx context.Context, j *Job) (*provider.VideoResponse, error)

// Options configure a Manager.
type Options struct {
	// DataDir is the server's data directory; records go under Dir.
	DataDir string
	// Region and AccountID make the ARNs.
	Region, AccountID string
	// MaxInProgress bounds the jobs running at once (0: the default).
	MaxInProgress int
	// Generate runs a job; Store receives its output.
	Generate Generator
	Store    objectstore.Store
	// Record receives the Invocation of every job that ends (nil: none).
	Record func(*invocation.Invocation)
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Shared, in a cluster, receives every job's record and answers Get
	// and List for the jobs other replicas started (nil: this replica's
	// jobs only).
	Shared SharedJobs
}

// Manager keeps the jobs and runs them. It is safe for concurrent use.
type Manager struct {
	opts Options
	dir  string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	jobs    map[string]*Job
	byToken map[string]string
	running int

	// pubMu guards unpublished: jobs whose record the shared store has
	// not taken yet (Options.Shared).
	pubMu       sync.Mutex
	unpublished map[string]bool
}

// Open loads the job records under opts.DataDir and resumes the jobs that
// were in progress.
func Open(opts Options) (*Manager, error) {
	if opts.MaxInProgress <= 0 {
		opts.MaxInProgress = DefaultMaxInProgress
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Generate == nil || opts.Store == nil {
		return nil, errors.New("asyncinvoke: Generate and Store are required")
	}
	dir := filepath.Join(opts.DataDir, Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	jobs, err := load(dir)
	if err != nil {
		return nil, err
	}
	m := &Manager{opts: opts, dir: dir, jobs: map[string]*Job{}, byToken: map[string]string{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	for _, j := range jobs {
		m.jobs[j.ID] = j
		if j.ClientRequestToken != "" {
			m.byToken[j.ClientRequestToken] = j.ID
		}
	}
	if opts.Shared != nil {
		// Every record this replica holds, published again at start: a
		// job that ended while the shared store was down, or before this
		// replica joined a cluster.
		m.unpublished = map[string]bool{}
		for _, j := range jobs {
			m.unpublished[j.ID] = true
		}
		m.wg.Add(1)
		go m.republish()
	}
	for _, j := range jobs {
		if j.Status == InProgress {
			opts.Logger.Info("resuming asynchronous invocation", "invocation_arn", j.ARN, "model_id", j.CatalogModelID)
			m.launch(j)
		}
	}
	return m, nil
}

// Close stops the running jobs and waits for them. A stopped job stays
// InProgress on disk and resumes at the next Open.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
}

// Request is a validated StartAsyncInvoke.
type Request struct {
	RequestID          string
	ModelID            string
	CatalogModelID     string
	ModelARN           string
	Provider           string
	UpstreamModel      string
	ClientRequestToken string
	ModelInput         json.RawMessage
	S3URI              string
	KMSKeyID           string
	BucketOwner        string
	Tags               []Tag
	Caller             Caller
}

// fingerprint identifies what a request asks for, for the idempotency
// check: the model, the input (compacted JSON), the output location and
// the tags.
func (r *Request) fingerprint() string {
	var in bytes.Buffer
	if err := json.Compact(&in, r.ModelInput); err != nil {
		in.Write(r.ModelInput)
	}
	tags, _ := json.Marshal(r.Tags)
	b, _ := json.Marshal([]string{r.ModelID, in.String(), r.S3URI, r.KMSKeyID, r.BucketOwner, string(tags)})
	return string(b)
}

// Start submits a job, or returns the job its clientRequestToken started
// (created false). The same token with another request is a
// ConflictException; too many jobs running a ServiceQuotaExceededException.
func (m *Manager) Start(r *Request) (job Job, created bool, err error) {
	fp := r.fingerprint()
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.ClientRequestToken != "" {
		if id, ok := m.byToken[r.ClientRequestToken]; ok {
			j := m.jobs[id]
			if j.Fingerprint != fp {
				return Job{}, false, apierror.New(apierror.Conflict, "The request with clientRequestToken %s is already in use with different parameters. Use a new clientRequestToken for a new request.", r.ClientRequestToken)
			}
			return *j, false, nil
		}
	}
	if m.running >= m.opts.MaxInProgress {
		return Job{}, false, apierror.New(apierror.ServiceQuotaExceeded, "You have reached the maximum number of asynchronous invocations in progress (%d). Wait for one to end and try again.", m.opts.MaxInProgress)
	}
	// Times are kept as the API shows them (milliseconds), so that a
	// submitTimeAfter taken from a response excludes that job.
	now := m.opts.Now().UTC().Truncate(time.Millisecond)
	id := newID()
	for m.jobs[id] != nil {
		id = newID()
	}
	j := &Job{
		ID: id, ARN: fmt.Sprintf("arn:aws:bedrock:%s:%s:async-invoke/%s", m.opts.Region, m.opts.AccountID, id),
		RequestID: r.RequestID, ModelID: r.ModelID, CatalogModelID: r.CatalogModelID, ModelARN: r.ModelARN,
		Provider: r.Provider, UpstreamModel: r.UpstreamModel,
		ClientRequestToken: r.ClientRequestToken, Fingerprint: fp,
		Status: InProgress, SubmitTime: now, LastModified: now,
		S3URI: r.S3URI, KMSKeyID: r.KMSKeyID, BucketOwner: r.BucketOwner, Tags: r.Tags,
		ModelInput: r.ModelInput, Caller: r.Caller,
	}
	if err := save(m.dir, j); err != nil {
		return Job{}, false, &apierror.Error{Code: apierror.InternalServer, Message: "The asynchronous invocation could not be recorded.", Cause: err}
	}
	m.jobs[id] = j
	if j.ClientRequestToken != "" {
		m.byToken[j.ClientRequestToken] = id
	}
	m.launchLocked(j)
	snapshot := *j
	go m.publish(snapshot)
	return *j, true, nil
}

// Get returns the job with the ID.
func (m *Manager) Get(id string) (Job, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok {
		m.mu.Unlock()
		defer m.mu.Lock()
		return m.sharedGet(id)
	}
	return *j, true
}

// Filter selects and orders ListAsyncInvokes's jobs.
type Filter struct {
	// SubmitAfter and SubmitBefore bound submitTime (exclusive; zero: no
	// bound); Status "" matches every status.
	SubmitAfter, SubmitBefore time.Time
	Status                    string
	// Ascending sorts by submitTime oldest first (Bedrock's default is
	// Descending).
	Ascending bool
	// MaxResults is the page size; NextToken continues a listing.
	MaxResults int
	NextToken  string
}

// ErrBadToken is returned by List for a nextToken it did not issue.
var ErrBadToken = errors.New("invalid nextToken")

// List returns a page of jobs and the token of the next page ("" at the
// end). Jobs are ordered by submitTime, then ID, so pages neither skip nor
// repeat jobs while others are submitted.
func (m *Manager) List(f Filter) ([]Job, string, error) {
	var after *cursor
	if f.NextToken != "" {
		c, err := parseCursor(f.NextToken)
		if err != nil {
			return nil, "", ErrBadToken
		}
		after = &c
	}
	shared := m.sharedList()
	m.mu.Lock()
	all := make([]Job, 0, len(m.jobs)+len(shared))
	candidates := make([]*Job, 0, len(m.jobs)+len(shared))
	for _, j := range m.jobs {
		candidates = append(candidates, j)
	}
	for i := range shared {
		if m.jobs[shared[i].ID] == nil { // this replica's own record is the latest
			candidates = append(candidates, &shared[i])
		}
	}
	for _, j := range candidates {
		switch {
		case f.Status != "" && j.Status != f.Status:
		case !f.SubmitAfter.IsZero() && !j.SubmitTime.After(f.SubmitAfter):
		case !f.SubmitBefore.IsZero() && !j.SubmitTime.Before(f.SubmitBefore):
		default:
			all = append(all, *j)
		}
	}
	m.mu.Unlock()
	less := func(a, b Job) int {
		if c := a.SubmitTime.Compare(b.SubmitTime); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}
	slices.SortFunc(all, func(a, b Job) int {
		if f.Ascending {
			return less(a, b)
		}
		return less(b, a)
	})
	start := 0
	if after != nil {
		start = len(all)
		for i, j := range all {
			c := less(j, Job{SubmitTime: after.t, ID: after.id})
			if (f.Ascending && c > 0) || (!f.Ascending && c < 0) {
				start = i
				break
			}
		}
	}
	page := all[start:]
	next := ""
	if f.MaxResults > 0 && len(page) > f.MaxResults {
		page = page[:f.MaxResults]
		last := page[len(page)-1]
		next = cursor{t: last.SubmitTime, id: last.ID}.String()
	}
	return page, next, nil
}

// cursor is the position after which a listing continues.
type cursor struct {
	t  time.Time
	id string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.t.UnixNano(), 10) + ":" + c.id))
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, err
	}
	ns, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || !ValidID(id) {
		return cursor{}, ErrBadToken
	}
	return cursor{t: time.Unix(0, n).UTC(), id: id}, nil
}

func (m *Manager) launch(j *Job) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.launchLocked(j)
}

func (m *Manager) launchLocked(j *Job) {
	m.running++
	m.wg.Add(1)
	snapshot := *j
	go func() {
		defer m.wg.Done()
		m.run(&snapshot)
	}()
}

// run generates a job's output, writes it and records the end.
func (m *Manager) run(j *Job) {
	resp, err := m.generate(j)
	if err == nil {
		err = m.writeOutput(j, resp)
	}
	if m.ctx.Err() != nil {
		// Stopping: the job stays InProgress and resumes at next Open
		// (its output, if partly written, is written again).
		m.mu.Lock()
		m.running--
		m.mu.Unlock()
		return
	}
	now := m.opts.Now().UTC().Truncate(time.Millisecond)
	m.mu.Lock()
	cur := m.jobs[j.ID]
	cur.LastModified, cur.EndTime = now, &now
	if err != nil {
		e := apierror.From(err)
		cur.Status, cur.FailureMessage = Failed, e.Message
		cur.ErrorCode, cur.ErrorHTTPStatus = string(e.Code), e.Status()
	} else {
		cur.Status = Completed
		cur.OutputS3Path = "s3://" + j.Bucket() + "/" + j.OutputKey("output.mp4")
		cur.VideoSeconds, cur.VideoFPS = resp.DurationSeconds, resp.FPS
		cur.VideoWidth, cur.VideoHeight = resp.Width, resp.Height
	}
	m.running--
	if serr := save(m.dir, cur); serr != nil {
		m.opts.Logger.Error("asynchronous invocation: the job's end could not be recorded", "invocation_arn", cur.ARN, "error", serr)
	}
	done := *cur
	m.mu.Unlock()
	m.publish(done)
	if m.opts.Record != nil {
		m.opts.Record(done.Invocation())
	}
}

// generate runs the Generator; a panic fails the job instead of the
// server.
func (m *Manager) generate(j *Job) (resp *provider.VideoResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			m.opts.Logger.Error("asynchronous invocation panicked", "invocation_arn", j.ARN, "panic", r)
			resp, err = nil, apierror.New(apierror.InternalServer, "The video could not be generated because of an internal error.")
		}
	}()
	return m.opts.Generate(m.ctx, j)
}

// writeOutput writes the job's files to its output folder.
func (m *Manager) writeOutput(j *Job, resp *provider.VideoResponse) error {
	bucket := j.Bucket()
	uri := func(name string) string { return "s3://" + bucket + "/" + j.OutputKey(name) }
	type file struct {
		name, contentType string
		body              []byte
	}
	files := []file{{"output.mp4", "video/mp4", resp.MP4}}
	if strings.HasSuffix(j.CatalogModelID, "v1:0") {
		manifest, _ := json.Marshal(map[string]any{
			"schemaVersion": "1.0", "invocationArn": j.ARN, "modelId": j.CatalogModelID,
			"outputVideo": uri("output.mp4"), "durationSeconds": resp.DurationSeconds,
			"fps": resp.FPS, "dimension": fmt.Sprintf("%dx%d", resp.Width, resp.Height),
		})
		files = append(files, file{"manifest.json", "application/json", manifest})
	} else {
		type shotStatus struct {
			Status   string `json:"status"`
			Location string `json:"location"`
		}
		status := struct {
			SchemaVersion string       `json:"schemaVersion"`
			Shots         []shotStatus `json:"shots"`
			FullVideo     shotStatus   `json:"fullVideo"`
		}{SchemaVersion: "1.0", Shots: []shotStatus{}, FullVideo: shotStatus{"SUCCESS", uri("output.mp4")}}
		for i, clip := range resp.ShotClips {
			name := fmt.Sprintf("shot_%04d.mp4", i+1)
			files = append(files, file{name, "video/mp4", clip})
			status.Shots = append(status.Shots, shotStatus{"SUCCESS", uri(name)})
		}
		b, _ := json.Marshal(status)
		files = append(files, file{"generation-status.json", "application/json", b})
	}
	for _, f := range files {
		if err := m.opts.Store.Put(m.ctx, bucket, j.OutputKey(f.name), f.body, objectstore.Meta{ContentType: f.contentType}); err != nil {
			code, _ := objectstore.Classify(err)
			return &apierror.Error{Code: apierror.InternalServer, Cause: err,
				Message: fmt.Sprintf("Failed to write the output to %s: %s.", uri(f.name), code)}
		}
	}
	return nil
}
