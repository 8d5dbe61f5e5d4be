package cluster

import (
	"net"
	"strings"
)

// loopback makes kfake listen on 127.0.0.1 only, never on every interface.
func loopback(network, address string) (net.Listener, error) {
	if strings.HasPrefix(address, ":") {
		address = "127.0.0.1" + address
	}
	return net.Listen(network, address)
}
