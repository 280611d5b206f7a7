package anthropic

import (
	"strings"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// encoded is a request ready to send: the JSON body and the beta features
// to announce in the anthropic-beta header.
type encoded struct {
	body  []byte
	betas []string
}

// invalid is a ValidationException for a request the provider cannot send.
func invalid(format string, args ...any) *apierror.Error {
	return apierror.New(apierror.Validation, format, args...)
}

// encodeRequest translates a Converse request into a Messages API body for
// model (translate.ConverseToMessagesRequest).
func encodeRequest(req *converse.Request, model string, stream bool) (*encoded, error) {
	body, betas, err := translate.ConverseToMessagesRequest(req, model, stream)
	if err != nil {
		return nil, err
	}
	return &encoded{body: body, betas: betas}, nil
}

// joinBetas merges beta feature names, keeping the first occurrence of each.
func joinBetas(lists ...[]string) string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, b := range l {
			for _, part := range strings.Split(b, ",") {
				if part = strings.TrimSpace(part); part != "" && !seen[part] {
					seen[part] = true
					out = append(out, part)
				}
			}
		}
	}
	return strings.Join(out, ",")
}
