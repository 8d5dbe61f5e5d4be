//go:build unix

package testbroker

import (
	"os"
	"os/signal"
	"syscall"
)

func notify(c chan<- os.Signal) {
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2)
}

func isTerm(s os.Signal) bool { return s == syscall.SIGTERM || s == syscall.SIGINT }
func isUsr1(s os.Signal) bool { return s == syscall.SIGUSR1 }
func isUsr2(s os.Signal) bool { return s == syscall.SIGUSR2 }
