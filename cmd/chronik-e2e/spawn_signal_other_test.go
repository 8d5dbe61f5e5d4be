//go:build !unix

package main

import "errors"

// sendSignal is Unix only: spawn mode needs Unix signals.
func sendSignal(int, string) error { return errors.New("signals need Unix") }
