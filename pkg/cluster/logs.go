package cluster

// NodeLogs is a cluster whose nodes write log files (spawn mode): the
// artifacts of a run include them.
type NodeLogs interface {
	// CopyLogs copies every node's log file into dir.
	CopyLogs(dir string) error
}
