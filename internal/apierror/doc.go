// Package apierror defines the errors modelwatch returns to callers.
//
// The vocabulary is Amazon Bedrock's: every failure carries the name of the
// Bedrock (or generic AWS) exception it maps to, because that is what the
// Bedrock API puts on the wire and what invocation logs record as errorCode.
// Other front doors (the OpenAI-compatible API) translate these codes into
// their own error shapes. Messages are written for the caller: they never
// contain Go error strings, file paths or secrets.
package apierror
