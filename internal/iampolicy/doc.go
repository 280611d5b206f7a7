// Package iampolicy parses and evaluates AWS IAM identity-based policy
// documents the way IAM does, for the Bedrock actions modelwatch authorizes
// (spec: /work/shared/spec/iam-policies.md).
//
// Decisions:
//
//   - Parsing goes through yaml.v3 nodes (JSON is YAML) so every error and
//     every statement carries a line and column; ParseNode does the same for a
//     policy embedded in the server's YAML configuration. Tabs outside JSON
//     strings are turned into spaces first, because YAML forbids tab
//     indentation while JSON allows it. The Version is read from Node.Value
//     (yaml.v3 would tag 2012-10-17 as a timestamp).
//   - The grammar is strict, as IAM's validator: unknown or duplicate
//     elements, Principal/NotPrincipal/Id, Action with NotAction, bad Sids,
//     unknown condition operators and malformed values (CIDR, date, number,
//     Bool, base64) are errors that name the policy, line, column and the
//     problem in plain words. Element names are case-sensitive; condition
//     operator and key names are not.
//   - Every pattern is compiled once into tokens (literal bytes, or * and ? as
//     negative values), actions pre-lower-cased. Matching uses the greedy
//     last-star backtracking algorithm: O(len(pattern)·len(input)) at worst,
//     never exponential. ? matches one character (rune).
//   - Resources are matched per ARN segment; the resource part (after the
//     fifth colon) is matched as a whole so * crosses "/" and ":" there, and a
//   - ending a segment may swallow following segments ("arn:aws:bedrock:*").
//     Arn* condition operators match all six segments strictly.
//   - Policy variables (${key}, ${key, 'default'}, ${*}, ${?}, ${$}) are only
//     recognized under Version 2012-10-17, in the resource part of Resource
//     ARNs and in String*/Arn* condition values. They are resolved per
//     request into a pooled scratch buffer; a substituted value is always
//     literal (its * is not a wildcard). A variable needs a single-valued key;
//     an absent key makes that value match nothing, and a Resource that
//     needs it keeps its statement from taking effect.
//   - Conditions follow IAM: AND across operators and keys, OR across values,
//     NOR for negated operators; a missing key makes the condition false
//     except for negated operators, …IfExists and ForAllValues (true) and
//     Null (which tests presence); IfExists also
//     overrides ForAnyValue's "false when absent". Without a set operator a multi-valued key
//     behaves like ForAnyValue (NOR for negated operators).
//   - Evaluation pools all statements of a Set: an applicable Deny wins
//     (explicitDeny), else an applicable Allow (allowed), else implicitDeny.
//     Deny statements are checked first so the answer is known as early as
//     possible. Evaluate allocates nothing; Explain and Simulate allocate and
//     report matched statements, missing context keys and the denying policy.
//   - Context keys keep their spelling and are compared ASCII-case-
//     insensitively against the policy's pre-lower-cased keys; a single value
//     is stored inline, so filling a pre-sized Context does not allocate.
//     Values of aws:SourceIp, aws:CurrentTime and aws:EpochTime are parsed
//     once at Set; other keys are parsed when a typed operator needs them.
//   - Parse refuses documents over MaxDocumentSize (1 MiB) to bound its cost.
//   - Statement end positions are the closing brace when the JSON text is
//     known (Parse), else the end of the statement's last value (ParseNode).
package iampolicy
