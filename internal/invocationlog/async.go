package invocationlog

import (
	"encoding/json"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// asyncOutput is the output body of a StartAsyncInvoke Invocation
// (asyncinvoke.VideoOutput), read back for the record's own fields.
type asyncOutput struct {
	Status                     string `json:"status"`
	OutputVideoS3Path          string `json:"outputVideoS3Path"`
	OutputVideoDurationSeconds int    `json:"outputVideoDurationSeconds"`
	OutputVideoFramesPerSecond int    `json:"outputVideoFramesPerSecond"`
	OutputVideoWidth           int    `json:"outputVideoWidth"`
	OutputVideoHeight          int    `json:"outputVideoHeight"`
}

// setAsyncFields fills the fields Bedrock's records of asynchronous
// invocations carry (Panther's schema of real records): the top-level job
// status and output.outputVideoS3Path with the video's length, rate and
// size. They are metadata, written whatever the toggles say, like token
// counts; the output body itself follows videoDataDeliveryEnabled.
func setAsyncFields(m *Record, inv *invocation.Invocation) {
	if inv.Operation != invocation.StartAsyncInvoke {
		return
	}
	var o asyncOutput
	if json.Unmarshal(inv.Output.Data, &o) != nil {
		return
	}
	m.Status = o.Status
	m.Output.OutputVideoS3Path = o.OutputVideoS3Path
	m.Output.OutputVideoDurationSeconds = o.OutputVideoDurationSeconds
	m.Output.OutputVideoFramesPerSecond = o.OutputVideoFramesPerSecond
	m.Output.OutputVideoWidth = o.OutputVideoWidth
	m.Output.OutputVideoHeight = o.OutputVideoHeight
}
