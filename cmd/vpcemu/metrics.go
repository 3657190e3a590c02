package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/metrics"
)

// DefaultMetricsPort is where `vpcemu up` serves /metrics (9466, next to
// the ports of other exporters, unclaimed in Prometheus's list of default
// ports at the time of writing).
const DefaultMetricsPort = 9466

// metricsPort is the /metrics endpoint.
var metricsPort = daemonPort{flag: "--metrics", port: DefaultMetricsPort, tried: 16,
	exposes: "reads the topology's counters, names and addresses"}

const metricsFlagHelp = "address /metrics is served on (HOST:PORT), or off; when another topology's daemon holds the default port %d, the next free one up to %d is used (then any free one; status shows it); any address but loopback makes it reachable from other machines"

// serveMetrics serves l's counters (and opts' sources) at /metrics on ln
// until the returned function.
func serveMetrics(l *lab.Lab, ln net.Listener, opts metrics.Options, log *slog.Logger) (stop func()) {
	opts.Version = version
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(metrics.Registry(l, opts)))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics", "err", err)
		}
	}()
	return func() { _ = srv.Close() }
}

// metricsURL is the address a scraper on this machine uses.
func metricsURL(addr string) string {
	return uiURL(addr) + "metrics"
}
