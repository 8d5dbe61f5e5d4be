package cluster

import "runtime"

// launcher starts processes from one goroutine locked to its OS thread for
// as long as the cluster lives. On Linux a node's parent-death signal fires
// when the *thread* that forked it exits, not the process: Go may run a
// goroutine on any thread and ends threads whose goroutines exit while
// locked, so a node started from an ordinary goroutine could be killed at
// a random moment, or never. The launcher's thread outlives every node it
// started; when the cluster is closed the goroutine returns still locked,
// the runtime ends the thread, and any node left is killed with it.
type launcher struct {
	reqs chan func()
}

func newLauncher() *launcher {
	l := &launcher{reqs: make(chan func())}
	go func() {
		runtime.LockOSThread() // never unlocked: see the type's comment
		for fn := range l.reqs {
			fn()
		}
	}()
	return l
}

// do runs fn on the launcher's thread and waits for it.
func (l *launcher) do(fn func()) {
	done := make(chan struct{})
	l.reqs <- func() { fn(); close(done) }
	<-done
}

// close ends the launcher's goroutine and thread; call it once every node has exited.
func (l *launcher) close() { close(l.reqs) }
