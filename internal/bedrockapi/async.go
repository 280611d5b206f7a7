package bedrockapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/asyncinvoke"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invokebody"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// asyncPath is the path of StartAsyncInvoke and ListAsyncInvokes;
// GetAsyncInvoke appends the URL-encoded invocation ARN.
const asyncPath = "/async-invoke"

// StartAsyncInvoke's constraints, from the service model.
var (
	s3URIPattern       = regexp.MustCompile(`^s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?$`)
	tokenPattern       = regexp.MustCompile(`^[!-~]*$`)
	bucketOwnerPattern = regexp.MustCompile(`^[0-9]{12}$`)
	modelIDPattern     = regexp.MustCompile(`^[a-zA-Z_\.\-/0-9:]+$`)
	asyncARNPattern    = regexp.MustCompile(`^arn:[a-z0-9\-]+:bedrock:[a-z0-9\-]*:[0-9]*:async-invoke/([a-z0-9]{12})$`)
)

// Limits of a StartAsyncInvoke request.
const (
	maxTags              = 200
	maxClientTokenLength = 256
	maxS3URILength       = 1024
	maxListResults       = 1000
)

// asyncStatuses are the values of status and statusEquals.
var asyncStatuses = []string{asyncinvoke.InProgress, asyncinvoke.Completed, asyncinvoke.Failed}

// startAsyncRequest is StartAsyncInvoke's body.
type startAsyncRequest struct {
	ClientRequestToken *string         `json:"clientRequestToken"`
	ModelID            *string         `json:"modelId"`
	ModelInput         json.RawMessage `json:"modelInput"`
	OutputDataConfig   *struct {
		S3OutputDataConfig *struct {
			S3URI       *string `json:"s3Uri"`
			KMSKeyID    *string `json:"kmsKeyId"`
			BucketOwner *string `json:"bucketOwner"`
		} `json:"s3OutputDataConfig"`
	} `json:"outputDataConfig"`
	Tags []asyncinvoke.Tag `json:"tags"`
}

// s3Output is outputDataConfig in responses.
type s3Output struct {
	S3URI       string `json:"s3Uri"`
	KMSKeyID    string `json:"kmsKeyId,omitempty"`
	BucketOwner string `json:"bucketOwner,omitempty"`
}

// asyncSummary is GetAsyncInvoke's response and one entry of
// ListAsyncInvokes's.
type asyncSummary struct {
	InvocationARN      string `json:"invocationArn"`
	ModelARN           string `json:"modelArn"`
	ClientRequestToken string `json:"clientRequestToken,omitempty"`
	Status             string `json:"status"`
	FailureMessage     string `json:"failureMessage,omitempty"`
	SubmitTime         string `json:"submitTime"`
	LastModifiedTime   string `json:"lastModifiedTime,omitempty"`
	EndTime            string `json:"endTime,omitempty"`
	OutputDataConfig   struct {
		S3OutputDataConfig s3Output `json:"s3OutputDataConfig"`
	} `json:"outputDataConfig"`
}

// isoTime is the service's timestamp format (ISO-8601, UTC, milliseconds).
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func summarize(j asyncinvoke.Job) asyncSummary {
	s := asyncSummary{InvocationARN: j.ARN, ModelARN: j.ModelARN, ClientRequestToken: j.ClientRequestToken,
		Status: j.Status, FailureMessage: j.FailureMessage, SubmitTime: isoTime(j.SubmitTime),
		LastModifiedTime: isoTime(j.LastModified)}
	if j.EndTime != nil {
		s.EndTime = isoTime(*j.EndTime)
	}
	s.OutputDataConfig.S3OutputDataConfig = s3Output{S3URI: j.S3URI, KMSKeyID: j.KMSKeyID, BucketOwner: j.BucketOwner}
	return s
}

// serveAsync routes the three async-invoke operations; it reports false
// for a path that is none of them.
func (h *Handler) serveAsync(w http.ResponseWriter, r *http.Request, path string) bool {
	switch {
	case path == asyncPath && r.Method == http.MethodPost:
		h.startAsyncInvoke(w, r)
	case path == asyncPath && r.Method == http.MethodGet:
		h.listAsyncInvokes(w, r)
	case strings.HasPrefix(path, asyncPath+"/") && r.Method == http.MethodGet:
		h.getAsyncInvoke(w, r, path[len(asyncPath)+1:])
	default:
		return false
	}
	return true
}

// asyncManager returns the job manager, or answers
// ServiceUnavailableException when the server runs none.
func (h *Handler) asyncManager(w http.ResponseWriter) (*asyncinvoke.Manager, bool) {
	if h.opts.Async == nil {
		w.Header()[headerRequestID] = []string{newRequestID()}
		writeError(w, apierror.New(apierror.ServiceUnavailable, "Asynchronous invocations are not available on this server."))
		return nil, false
	}
	return h.opts.Async, true
}

// startAsyncInvoke serves StartAsyncInvoke: it authenticates the caller,
// validates the request (the envelope with the service model's
// constraints, then modelInput with the model's codec), authorizes
// bedrock:InvokeModel on the model and submits the job.
func (h *Handler) startAsyncInvoke(w http.ResponseWriter, r *http.Request) {
	m, ok := h.asyncManager(w)
	if !ok {
		return
	}
	requestID := newRequestID()
	w.Header()[headerRequestID] = []string{requestID}
	body, id, err := h.gw.Control(w, r, h.opts.Bodies, h.opts.MaxRequestBytes, "", "")
	if err != nil {
		writeError(w, apierror.From(bodyError(err, h.opts.MaxRequestBytes)))
		return
	}
	var req startAsyncRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		writeError(w, apierror.New(apierror.Validation, "The request body is not a valid StartAsyncInvoke request: it must be a JSON object with modelId, modelInput and outputDataConfig."))
		return
	}
	if err := validateStart(&req); err != nil {
		writeError(w, err)
		return
	}
	cat := h.gw.Catalog()
	res, err := cat.Resolve(*req.ModelID)
	if err != nil {
		writeError(w, apierror.From(err))
		return
	}
	modelARN := cat.ModelARN(res)
	if err := h.gw.Authorize(r, id, auth.ActionInvokeModel, modelARN); err != nil {
		writeError(w, apierror.From(err))
		return
	}
	model := res.Model
	codec, _ := invokebody.Lookup(model.Family)
	vc, isVideo := codec.(invokebody.VideoCodec)
	if !isVideo {
		writeError(w, apierror.New(apierror.Validation, "This action doesn't support the model that you provided."))
		return
	}
	if _, err := vc.DecodeVideo(req.ModelInput, invokebody.Model{ID: model.ID}); err != nil {
		writeError(w, apierror.From(err))
		return
	}
	out := req.OutputDataConfig.S3OutputDataConfig
	ar := &asyncinvoke.Request{
		RequestID: requestID, ModelID: *req.ModelID, CatalogModelID: model.ID, ModelARN: model.ARN(cat.Region()),
		Provider: model.Provider, UpstreamModel: model.UpstreamModel,
		ModelInput: req.ModelInput, S3URI: *out.S3URI, Tags: req.Tags,
		Caller: asyncinvoke.Caller{PrincipalName: id.Name, PrincipalARN: id.ARN, AuthMethod: id.Method,
			AccessKeyID: id.AccessKeyID, SourceIP: gateway.SourceIP(r.RemoteAddr), UserAgent: r.UserAgent()},
	}
	if req.ClientRequestToken != nil {
		ar.ClientRequestToken = *req.ClientRequestToken
	}
	if out.KMSKeyID != nil {
		ar.KMSKeyID = *out.KMSKeyID
	}
	if out.BucketOwner != nil {
		ar.BucketOwner = *out.BucketOwner
	}
	job, _, err := m.Start(ar)
	if err != nil {
		writeError(w, apierror.From(err))
		return
	}
	writeJSON(w, map[string]string{"invocationArn": job.ARN})
}

// validateStart checks StartAsyncInvoke's envelope as the service model
// constrains it, reporting every violation in one message as Bedrock
// does.
func validateStart(req *startAsyncRequest) *apierror.Error {
	var v violations
	if req.ClientRequestToken != nil {
		t := *req.ClientRequestToken
		switch {
		case len(t) < 1 || len(t) > maxClientTokenLength:
			v.add(t, "clientRequestToken", fmt.Sprintf("Member must have length between 1 and %d", maxClientTokenLength))
		case !tokenPattern.MatchString(t):
			v.add(t, "clientRequestToken", "Member must satisfy regular expression pattern: [!-~]*")
		}
	}
	switch {
	case req.ModelID == nil:
		v = append(v, "Value null at 'modelId' failed to satisfy constraint: Member must not be null")
	case len(*req.ModelID) < 1 || len(*req.ModelID) > 256:
		v.add(*req.ModelID, "modelId", "Member must have length between 1 and 256")
	case !modelIDPattern.MatchString(*req.ModelID):
		v.add(*req.ModelID, "modelId", "Member must satisfy regular expression pattern: [a-zA-Z_\\.\\-/0-9:]+")
	}
	if in := bytes.TrimSpace(req.ModelInput); len(in) == 0 || bytes.Equal(in, []byte("null")) {
		v = append(v, "Value null at 'modelInput' failed to satisfy constraint: Member must not be null")
	}
	switch {
	case req.OutputDataConfig == nil:
		v = append(v, "Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null")
	case req.OutputDataConfig.S3OutputDataConfig == nil:
		v = append(v, "Value null at 'outputDataConfig.s3OutputDataConfig' failed to satisfy constraint: Member must not be null")
	default:
		out := req.OutputDataConfig.S3OutputDataConfig
		switch {
		case out.S3URI == nil:
			v = append(v, "Value null at 'outputDataConfig.s3OutputDataConfig.s3Uri' failed to satisfy constraint: Member must not be null")
		case len(*out.S3URI) < 1 || len(*out.S3URI) > maxS3URILength:
			v.add(*out.S3URI, "outputDataConfig.s3OutputDataConfig.s3Uri", fmt.Sprintf("Member must have length between 1 and %d", maxS3URILength))
		case !s3URIPattern.MatchString(*out.S3URI):
			v.add(*out.S3URI, "outputDataConfig.s3OutputDataConfig.s3Uri", "Member must satisfy regular expression pattern: s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?")
		}
		if out.KMSKeyID != nil && (len(*out.KMSKeyID) < 1 || len(*out.KMSKeyID) > 2048) {
			v.add(*out.KMSKeyID, "outputDataConfig.s3OutputDataConfig.kmsKeyId", "Member must have length between 1 and 2048")
		}
		if out.BucketOwner != nil && !bucketOwnerPattern.MatchString(*out.BucketOwner) {
			v.add(*out.BucketOwner, "outputDataConfig.s3OutputDataConfig.bucketOwner", "Member must satisfy regular expression pattern: [0-9]{12}")
		}
	}
	if len(req.Tags) > maxTags {
		v = append(v, fmt.Sprintf("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", maxTags))
	}
	for i, t := range req.Tags {
		if len(t.Key) < 1 || len(t.Key) > 128 {
			v.add(t.Key, fmt.Sprintf("tags.%d.member.key", i+1), "Member must have length between 1 and 128")
		}
		if len(t.Value) > 256 {
			v.add(t.Value, fmt.Sprintf("tags.%d.member.value", i+1), "Member must have length between 0 and 256")
		}
	}
	return v.err()
}

// getAsyncInvoke serves GetAsyncInvoke for a URL-encoded invocation ARN.
// The caller needs bedrock:InvokeModel on the job's model (modelwatch has
// no separate Get/List grants).
func (h *Handler) getAsyncInvoke(w http.ResponseWriter, r *http.Request, escapedARN string) {
	m, ok := h.asyncManager(w)
	if !ok {
		return
	}
	_, id, ok := h.authenticateControl(w, r, "", "")
	if !ok {
		return
	}
	arn, err := url.PathUnescape(escapedARN)
	if err != nil {
		arn = escapedARN
	}
	match := asyncARNPattern.FindStringSubmatch(arn)
	if match == nil || len(arn) > 2048 {
		writeError(w, apierror.ConstraintViolation(arn, "invocationArn", "Member must satisfy regular expression pattern: arn:[a-z0-9\\-]+:bedrock:[a-z0-9\\-]*:[0-9]*:async-invoke/[a-z0-9]{12}"))
		return
	}
	job, found := m.Get(match[1])
	if !found || job.ARN != arn {
		writeError(w, apierror.New(apierror.ResourceNotFound, "The specified invocation ARN was not found: %s", arn))
		return
	}
	if err := h.gw.Authorize(r, id, auth.ActionGetAsyncInvoke, job.ARN); err != nil {
		writeError(w, apierror.From(err))
		return
	}
	writeJSON(w, summarize(job))
}

// listAsyncInvokes serves ListAsyncInvokes with its filters, sort and
// pagination. Without maxResults a page holds up to 1000 jobs; the
// default order is newest first (sortOrder Descending).
func (h *Handler) listAsyncInvokes(w http.ResponseWriter, r *http.Request) {
	m, ok := h.asyncManager(w)
	if !ok {
		return
	}
	if _, _, ok := h.authenticateControl(w, r, auth.ActionListAsyncInvokes, "*"); !ok {
		return
	}
	q := r.URL.Query()
	var v violations
	f := asyncinvoke.Filter{MaxResults: maxListResults}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"submitTimeAfter", &f.SubmitAfter}, {"submitTimeBefore", &f.SubmitBefore}} {
		if s := q.Get(t.name); s != "" {
			at, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				v.add(s, t.name, "Member must be an ISO-8601 timestamp")
				continue
			}
			*t.dst = at
		}
	}
	if s := q.Get("statusEquals"); s != "" {
		if !slices.Contains(asyncStatuses, s) {
			v.add(s, "statusEquals", enumConstraint(asyncStatuses))
		}
		f.Status = s
	}
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			v.add(s, "maxResults", "Member must be an integer")
		case n < 1:
			v.add(s, "maxResults", "Member must have value greater than or equal to 1")
		case n > maxListResults:
			v.add(s, "maxResults", "Member must have value less than or equal to 1000")
		default:
			f.MaxResults = n
		}
	}
	if s := q.Get("sortBy"); s != "" && s != "SubmissionTime" {
		v.add(s, "sortBy", enumConstraint([]string{"SubmissionTime"}))
	}
	switch s := q.Get("sortOrder"); s {
	case "", "Descending":
	case "Ascending":
		f.Ascending = true
	default:
		v.add(s, "sortOrder", enumConstraint([]string{"Ascending", "Descending"}))
	}
	f.NextToken = q.Get("nextToken")
	if err := v.err(); err != nil {
		writeError(w, err)
		return
	}
	jobs, next, err := m.List(f)
	if errors.Is(err, asyncinvoke.ErrBadToken) {
		writeError(w, apierror.New(apierror.Validation, "The provided nextToken is not valid. Use the nextToken from the previous ListAsyncInvokes response."))
		return
	}
	out := struct {
		Summaries []asyncSummary `json:"asyncInvokeSummaries"`
		NextToken string         `json:"nextToken,omitempty"`
	}{Summaries: make([]asyncSummary, 0, len(jobs)), NextToken: next}
	for _, j := range jobs {
		out.Summaries = append(out.Summaries, summarize(j))
	}
	writeJSON(w, out)
}

// VideoJobs returns the asyncinvoke.Generator that runs jobs through the
// gateway's catalog and providers: the job's modelInput is decoded again
// with its model's codec (it was checked at submission; a catalog changed
// by a restart may no longer serve it, which fails the job) and sent to
// the model's provider, which must be a provider.VideoGenerator.
func VideoJobs(gw *gateway.Gateway) asyncinvoke.Generator {
	return func(ctx context.Context, j *asyncinvoke.Job) (*provider.VideoResponse, error) {
		model, ok := gw.Catalog().Lookup(j.CatalogModelID)
		if !ok {
			return nil, apierror.New(apierror.Validation, "The model %s is no longer in this server's catalog.", j.CatalogModelID)
		}
		codec, _ := invokebody.Lookup(model.Family)
		vc, ok := codec.(invokebody.VideoCodec)
		if !ok {
			return nil, apierror.New(apierror.Validation, "This action doesn't support the model that you provided.")
		}
		req, err := vc.DecodeVideo(j.ModelInput, invokebody.Model{ID: model.ID})
		if err != nil {
			return nil, err
		}
		vg, ok := gw.Provider(model.Provider).(provider.VideoGenerator)
		if !ok {
			return nil, apierror.New(apierror.Validation, "The provider %s of model %s cannot generate videos.", model.Provider, model.ID)
		}
		return vg.GenerateVideo(ctx, provider.Call{RequestID: j.RequestID, ModelID: model.ID, UpstreamModel: model.UpstreamModel}, req)
	}
}
