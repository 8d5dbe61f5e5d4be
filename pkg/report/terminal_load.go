package report

// loadItems are the header's words for the workload's load settings:
// producers, target rate and consuming while producing; none at their defaults.
func loadItems(cf Config) []string {
	var items []string
	if cf.Producers > 1 {
		items = append(items, countOf(cf.Producers, "producer"))
	}
	if cf.Rate > 0 {
		items = append(items, commas(int64(cf.Rate))+" msg/s")
	}
	if cf.ConcurrentConsume {
		items = append(items, "consume while producing")
	}
	return items
}

// produceLatencyTitle names the produce latency section; with a target rate
// the latency counts from each message's scheduled send time.
func produceLatencyTitle(cf Config) string {
	if cf.Rate > 0 {
		return "Latency (produce acknowledgement, from scheduled send)"
	}
	return "Latency (produce acknowledgement)"
}
