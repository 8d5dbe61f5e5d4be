package scenarios_test

// What the link proxies of faults.network cost: the runner's produce and
// consume paths against one embedded cluster reached directly and another
// whose brokers are each fronted by a passing netproxy (advertised in
// their metadata, as a spawned node advertises {{.ClientAddr "kafka"}}).
// Each reports the proxied rate divided by the direct one as "ratio": 1.00
// is no cost.

import (
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/netproxy"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// proxied is an embedded cluster whose clients reach every broker through a proxy.
type proxied struct {
	*cluster.Embedded
	addrs []string
}

// Bootstrap returns the proxies' addresses.
func (p *proxied) Bootstrap() []string { return p.addrs }

// proxiedCluster starts an embedded cluster with a passing proxy in front of
// every broker, closed when the benchmark ends.
func proxiedCluster(b *testing.B) *proxied {
	b.Helper()
	c := benchCluster(b)
	pc := &proxied{Embedded: c}
	for i, addr := range c.Bootstrap() {
		px, err := netproxy.Listen("127.0.0.1:0", addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = px.Close() })
		if err := c.Advertise(int32(i), px.Addr()); err != nil {
			b.Fatal(err)
		}
		pc.addrs = append(pc.addrs, px.Addr())
	}
	return pc
}

// BenchmarkProduceThroughProxy produces b.N messages directly and b.N
// through the proxies with the runner's produce scenario; ns/op is the
// proxied time per message.
func BenchmarkProduceThroughProxy(b *testing.B) {
	direct, viaProxy := benchCluster(b), proxiedCluster(b)
	b.StopTimer()
	var d, p time.Duration
	for i, n := range chunks(b.N) {
		de, pe := benchEnv(b, direct, benchTopic(b, direct), n), benchEnv(b, viaProxy, benchTopic(b, viaProxy), n)
		inTurn(i,
			func() { d += timed(b, func() { runnerProduce(b, de) }) },
			func() { p += timed(b, func() { runnerProduce(b, pe) }) })
	}
	reportProxyRatio(b, d, p)
}

// BenchmarkConsumeThroughProxy reads the same b.N messages directly and
// through the proxies with the runner's consume scenario; ns/op is the
// proxied time per message.
func BenchmarkConsumeThroughProxy(b *testing.B) {
	direct, viaProxy := benchCluster(b), proxiedCluster(b)
	b.StopTimer()
	var envs [][2]*scenarios.Env
	for _, n := range chunks(b.N) {
		de, pe := benchEnv(b, direct, benchTopic(b, direct), n), benchEnv(b, viaProxy, benchTopic(b, viaProxy), n)
		runnerProduce(b, de)
		runnerProduce(b, pe)
		envs = append(envs, [2]*scenarios.Env{de, pe})
	}
	var d, p time.Duration
	for i, e := range envs {
		inTurn(i,
			func() { d += timed(b, func() { runnerConsume(b, e[0]) }) },
			func() { p += timed(b, func() { runnerConsume(b, e[1]) }) })
	}
	reportProxyRatio(b, d, p)
}

// reportProxyRatio records both rates and the proxied one over the direct one.
func reportProxyRatio(b *testing.B, direct, proxied time.Duration) {
	b.ReportMetric(float64(b.N)/direct.Seconds(), "direct-msg/s")
	b.ReportMetric(float64(b.N)/proxied.Seconds(), "proxied-msg/s")
	b.ReportMetric(direct.Seconds()/proxied.Seconds(), "ratio")
}
