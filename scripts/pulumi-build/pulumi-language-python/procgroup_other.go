//go:build !linux

package main

import "os/exec"

// ownGroup does nothing where process groups (and parent-death signals) are not Linux's.
func ownGroup(*exec.Cmd) {}

// killGroup kills cmd's started process.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
