//go:build !linux

package minio

import "os/exec"

// setProcAttr does nothing outside Linux, which alone has a parent-death
// signal.
func setProcAttr(*exec.Cmd) {}
