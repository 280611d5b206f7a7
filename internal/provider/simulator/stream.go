package simulator

import (
	"context"
	"io"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// ConverseStream answers a chat request as a stream with the plan's timing:
// the first piece after TimeToFirstToken and each next one
// TimePerOutputToken later. Pieces that are already due when the consumer
// asks (a slow reader, or sub-millisecond settings) are merged into one
// delta, so a slow client costs no extra timers. Injected throttles and
// errors are returned before the stream starts; with StreamErrorRate a
// stream fails halfway through its pieces with ModelStreamErrorException.
func (s *Simulator) ConverseStream(ctx context.Context, call provider.Call, req *converse.Request) (provider.Stream, error) {
	p, err := s.start(call, req)
	if err != nil {
		return nil, err
	}
	m := s.model(call.ModelID)
	st := &stream{ctx: ctx, plan: p, start: time.Now(), model: call.ModelID, failAt: -1}
	for i := range p.blocks {
		st.total += len(p.blocks[i].ends) + p.blocks[i].hidden
	}
	if m.streamErrorRate > 0 {
		s.mu.Lock()
		fail := s.rng.Float64() < m.streamErrorRate
		s.mu.Unlock()
		if fail {
			st.failAt = st.total / 2
		}
	}
	return st, nil
}

// stream emits a plan as Converse events.
type stream struct {
	ctx   context.Context
	plan  *plan
	start time.Time
	model string

	state  int // 0 start, 1 blocks, 2 stop, 3 metadata, 4 done
	block  int // current block
	piece  int // next piece within the block
	opened bool
	signed bool // the block's signature delta is out
	sent   int  // pieces emitted so far, over all blocks
	total  int
	failAt int // fail when sent reaches it (-1: never)
}

// due is when piece number n (0-based, over all blocks) is produced.
func (st *stream) due(n int) time.Time {
	return st.start.Add(st.plan.timeToFirstToken + time.Duration(n)*st.plan.timePerOutputToken)
}

func (st *stream) Next() (*converse.StreamEvent, error) {
	if err := st.ctx.Err(); err != nil {
		return nil, ctxError(err)
	}
	p := st.plan
	switch st.state {
	case 0:
		st.state = 1
		return &converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant, InputTokens: p.inputTokens,
			CacheRead: p.cacheRead, CacheWrite: p.cacheWrite, CacheDetails: p.cacheDetails}}, nil
	case 1:
		for st.block < len(p.blocks) {
			b := &p.blocks[st.block]
			if !st.opened {
				st.opened = true
				// Hidden reasoning comes out when it is done.
				st.sent += b.hidden
				if b.toolUse != nil {
					return &converse.StreamEvent{ContentBlockStart: &converse.ContentBlockStartEvent{
						ContentBlockIndex: st.block,
						Start:             converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: b.toolUse.ToolUseID, Name: b.toolUse.Name}},
					}}, nil
				}
			}
			if st.piece < len(b.ends) {
				return st.delta(b)
			}
			if b.signature != "" && !st.signed {
				// Claude's signature is one delta at the block's end.
				st.signed = true
				sig := b.signature
				return &converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: st.block,
					Delta: converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Signature: &sig}}}}, nil
			}
			idx := st.block
			st.block++
			st.piece = 0
			st.opened = false
			st.signed = false
			return &converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: idx}}, nil
		}
		st.state = 2
		fallthrough
	case 2:
		// The stop comes when the last token would have been produced.
		if err := wait(st.ctx, time.Until(st.due(max(st.total-1, 0)))); err != nil {
			return nil, err
		}
		st.state = 3
		return &converse.StreamEvent{MessageStop: &converse.MessageStopEvent{StopReason: p.stopReason, StopSequence: p.stopSequence}}, nil
	case 3:
		st.state = 4
		return &converse.StreamEvent{Metadata: &converse.MetadataEvent{
			Usage:             p.usage(),
			Metrics:           converse.Metrics{LatencyMs: time.Since(st.start).Milliseconds()},
			PerformanceConfig: p.performance,
			ServiceTier:       p.tier,
		}}, nil
	}
	return nil, io.EOF
}

// delta waits for the block's next piece and returns it merged with every
// further piece of the block that is due by then.
func (st *stream) delta(b *planBlock) (*converse.StreamEvent, error) {
	if st.failAt >= 0 && st.sent >= st.failAt {
		return nil, &apierror.Error{
			Code:               apierror.ModelStreamError,
			Message:            "The model's response stream failed: simulated failure in the middle of the stream.",
			OriginalStatusCode: 500,
			OriginalMessage:    "simulated failure in the middle of the stream",
			ResourceName:       st.model,
		}
	}
	if err := wait(st.ctx, time.Until(st.due(st.sent))); err != nil {
		return nil, err
	}
	now := time.Now()
	from := 0
	if st.piece > 0 {
		from = int(b.ends[st.piece-1])
	}
	st.piece++
	st.sent++
	for st.piece < len(b.ends) && (st.failAt < 0 || st.sent < st.failAt) && !st.due(st.sent).After(now) {
		st.piece++
		st.sent++
	}
	text := b.text[from:b.ends[st.piece-1]]
	d := converse.ContentBlockDelta{}
	switch {
	case b.reasoning:
		d.ReasoningContent = &converse.ReasoningContentDelta{Text: &text}
	case b.toolUse != nil:
		d.ToolUse = &converse.ToolUseBlockDelta{Input: text}
	default:
		d.Text = &text
	}
	return &converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: st.block, Delta: d}}, nil
}

func (st *stream) Close() error { return nil }
