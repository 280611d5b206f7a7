package asyncinvoke

import (
	"encoding/json"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// VideoOutput is the output body of a job's Invocation: the fields of
// Bedrock's records of asynchronous invocations (output.outputVideoS3Path
// and the video's shape), so that invocation logging can lift them into the
// record's output. The video itself is never in the record: it is in the
// caller's bucket.
type VideoOutput struct {
	InvocationARN              string `json:"invocationArn"`
	Status                     string `json:"status"`
	FailureMessage             string `json:"failureMessage,omitempty"`
	OutputVideoS3Path          string `json:"outputVideoS3Path,omitempty"`
	OutputVideoDurationSeconds int    `json:"outputVideoDurationSeconds,omitempty"`
	OutputVideoFramesPerSecond int    `json:"outputVideoFramesPerSecond,omitempty"`
	OutputVideoWidth           int    `json:"outputVideoWidth,omitempty"`
	OutputVideoHeight          int    `json:"outputVideoHeight,omitempty"`
}

// Invocation is the record of an ended job: one per job, written when it
// ends (Bedrock's records of Nova Reel jobs carry the output video, known
// only then). Start is the submit time and End the end time, so latency is
// the job's whole run; Usage.OutputVideoSeconds is the video's length,
// for cost. A failed job carries its error code and failureMessage.
func (j *Job) Invocation() *invocation.Invocation {
	inv := &invocation.Invocation{
		RequestID: j.RequestID, API: invocation.APIBedrock, Operation: invocation.StartAsyncInvoke,
		ModelID: j.ModelID, CatalogModelID: j.CatalogModelID, ServedModelID: j.CatalogModelID,
		Provider: j.Provider, UpstreamModel: j.UpstreamModel, OutputModality: "VIDEO",
		PrincipalName: j.Caller.PrincipalName, PrincipalARN: j.Caller.PrincipalARN, AuthMethod: j.Caller.AuthMethod,
		AccessKeyID: j.Caller.AccessKeyID, SourceIP: j.Caller.SourceIP, UserAgent: j.Caller.UserAgent,
		Input: invocation.Body{ContentType: "application/json", Data: j.ModelInput},
		Start: j.SubmitTime, End: j.LastModified, Status: http.StatusOK,
	}
	if j.EndTime != nil {
		inv.End = *j.EndTime
	}
	out := VideoOutput{InvocationARN: j.ARN, Status: j.Status, FailureMessage: j.FailureMessage}
	if j.Status == Completed {
		out.OutputVideoS3Path = j.OutputS3Path
		out.OutputVideoDurationSeconds, out.OutputVideoFramesPerSecond = j.VideoSeconds, j.VideoFPS
		out.OutputVideoWidth, out.OutputVideoHeight = j.VideoWidth, j.VideoHeight
		inv.Usage.OutputVideoSeconds = j.VideoSeconds
	} else {
		inv.ErrorCode, inv.ErrorMessage = j.ErrorCode, j.FailureMessage
		inv.Status = j.ErrorHTTPStatus
		if inv.Status == 0 {
			inv.Status = http.StatusInternalServerError
		}
	}
	body, _ := json.Marshal(out)
	inv.Output = invocation.Body{ContentType: "application/json", Data: body}
	return inv
}
