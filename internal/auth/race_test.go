//go:build race

package auth

// raceEnabled is set under the race detector, where sync.Pool drops items
// at random and allocation counts mean nothing.
const raceEnabled = true
