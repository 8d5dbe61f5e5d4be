//go:build !unix

package testbroker

import (
	"os"
	"os/signal"
)

func notify(c chan<- os.Signal) { signal.Notify(c, os.Interrupt) }

func isTerm(s os.Signal) bool { return s == os.Interrupt }
func isUsr1(os.Signal) bool   { return false }
func isUsr2(os.Signal) bool   { return false }
