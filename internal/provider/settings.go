package provider

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
)

// envName is what an environment variable name may look like.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckAPIKeyEnv checks an apiKeyEnv setting: the name of an environment
// variable (example is the one to suggest, such as OPENAI_API_KEY), never
// the key itself, whose value the error does not repeat.
func CheckAPIKeyEnv(name, example string) error {
	if envName.MatchString(name) {
		return nil
	}
	// The value is not quoted: it may be the key itself (apiKeyEnv:
	// ${MY_KEY} expands to it).
	return fmt.Errorf("apiKeyEnv must be the name of an environment variable, such as %s, not the key itself (write apiKeyEnv: %s, not ${%s}); the value given is not shown", example, example, example)
}

// CheckBaseURL checks a baseURL setting: an http or https URL without
// credentials (they would end up in logs; keys go in apiKeyEnv).
func CheckBaseURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("baseURL %q must be an http or https URL", raw)
	case u.User != nil:
		return errors.New("baseURL must not carry credentials")
	}
	return nil
}
