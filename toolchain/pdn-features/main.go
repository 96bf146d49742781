// pdn-features answers the GIS service's feature queries (OGC API Features items: a bounding
// box, a property such as a Kemendagri region code, paging) straight from PostGIS, under the
// same access rules as the service, and hands every other request to pygeoapi behind it.
//
// pygeoapi (Python) serves about 200 such queries a second on two cores where plain SQL of the
// same rows serves thousands; this front keeps pygeoapi's answers (the same features,
// numberMatched, links) for the queries that carry the load, and pygeoapi for the rest of the
// API (landing page, collections, queryables, CQL2 filters, HTML, single items).
//
// Settings come from the environment only (the database password among them):
//
//	PDN_GIS_LISTEN       host:port it serves HTTPS on
//	PDN_GIS_TLS_CERT/KEY its certificate and key (PEM files)
//	PDN_GIS_URL          the public base URL (links)
//	PDN_GIS_BACKEND      pygeoapi's URL (http://127.0.0.1:port, loopback or the pod's own)
//	PDN_GIS_DB_HOST, _PORT, _USER, _PASSWORD, _CA   the GIS database (verified TLS)
//	PDN_GIS_ISSUER, PDN_GIS_SSO_CA                  the realm whose tokens it accepts
//	PDN_GIS_AUDIENCE     (pdn-gis), PDN_GIS_REFRESH (seconds between catalogue reads, 2)
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// probesDropped writes the server's own log but for a TLS handshake that ends at once (EOF):
// a port probe (the DC's supervisor, a load balancer's TCP check) at every check.
type probesDropped struct{ out *os.File }

func (p probesDropped) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("TLS handshake error")) && bytes.HasSuffix(bytes.TrimSpace(b), []byte(": EOF")) {
		return len(b), nil
	}
	return p.out.Write(b)
}

// Version is stamped by the build (-X main.Version=...).
var Version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Printf("pdn-features %s\n", Version)
		return
	}
	if err := run(); err != nil {
		log.Printf("pdn-features: %v", err)
		os.Exit(1)
	}
}

func run() error {
	settings, err := settingsFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	front, err := newFront(ctx, settings)
	if err != nil {
		return err
	}
	defer front.Close()
	out, flush := bufferedLog(ctx, os.Stdout)
	defer flush()
	server := &http.Server{
		Addr:              settings.Listen,
		Handler:           &accessLog{next: front, out: out, now: time.Now},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(probesDropped{os.Stderr}, "", log.LstdFlags),
		IdleTimeout:       120 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- server.ListenAndServeTLS(settings.TLSCert, settings.TLSKey) }()
	log.Printf("pdn-features %s: https://%s (pygeoapi behind: %s)", Version, settings.Listen, settings.Backend)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
