// Package invocation defines Invocation, the one record of a model call that
// modelwatch produces for every request it serves, and Observer, the interface
// through which invocation logging, metrics and cost receive it.
//
// Data flows one way: an API adapter and the gateway core fill in an
// Invocation while serving a call; when the call is complete the gateway hands
// the finished value to every registered Observer. Observers never reach back
// into the request and must not modify the Invocation.
package invocation
