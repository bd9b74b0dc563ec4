// Command tollgate-ferretdb runs FerretDB v1 embedded with its SQLite backend, so that
// `npm start` and the tests have a MongoDB wire-protocol server on a machine without MongoDB.
// FerretDB's own cmd/ferretdb cannot be `go install`ed: its version file is generated at release time.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux, served only with -debug-addr
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data", ".data/ferretdb", "directory for the SQLite databases")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	debugAddr := flag.String("debug-addr", "", "loopback address to serve Go's /debug/pprof on (off when empty)")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fail("bad -log-level: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	abs, err := filepath.Abs(*dataDir)
	if err != nil {
		fail("bad -data: %v", err)
	}
	if err = os.MkdirAll(abs, 0o700); err != nil {
		fail("cannot create data directory: %v", err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		fail("cannot start FerretDB: %v", err)
	}

	if *debugAddr != "" {
		// For profiling the data tier under load (npm run bench with BENCH_PROFILE_FERRETDB=1); loopback only, as
		// profiles show what the server is doing.
		host, _, splitErr := net.SplitHostPort(*debugAddr)
		if ip := net.ParseIP(host); splitErr != nil || ip == nil || !ip.IsLoopback() {
			fail("-debug-addr must be a loopback host:port, got %q", *debugAddr)
		}
		go func() {
			if serveErr := http.ListenAndServe(*debugAddr, nil); serveErr != nil {
				logger.Warn("debug listener stopped", "error", serveErr)
			}
		}()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// The line below is what the launcher waits for; MongoDBURI blocks until the listener is bound.
	fmt.Printf("ferretdb ready %s\n", f.MongoDBURI())

	if err = <-done; err != nil {
		fail("FerretDB stopped: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tollgate-ferretdb: "+format+"\n", args...)
	os.Exit(1)
}
