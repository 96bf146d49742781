package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// accessLog writes one line per request, as gunicorn's access log does for pygeoapi (which,
// behind the front, sees only the front's address): who asked (address, and the tenant once
// its token is accepted), what, the status, the bytes, how long, and who answered.
type accessLog struct {
	next http.Handler
	out  io.Writer // one Write per line, safe for concurrent use (bufferedLog's)
	now  func() time.Time
}

// bufferedLog is out behind a buffer written at least every second and when ctx ends (not a
// system call per request, as nginx's buffered access log); flush writes what is left.
func bufferedLog(ctx context.Context, out io.Writer) (w io.Writer, flush func()) {
	buffered := &lockedWriter{w: bufio.NewWriterSize(out, 64<<10)}
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				buffered.Flush()
				return
			case <-tick.C:
				buffered.Flush()
			}
		}
	}()
	return buffered, buffered.Flush
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (l *lockedWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.w.Flush()
}

// recorded is a ResponseWriter that keeps what the access log reports.
type recorded struct {
	http.ResponseWriter
	status, bytes int
	tenant        string
	answered      string // "front" or "pygeoapi"
}

func (r *recorded) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorded) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (l *accessLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	started := l.now()
	rec := &recorded{ResponseWriter: w, answered: "pygeoapi"}
	l.next.ServeHTTP(rec, r)
	tenant := rec.tenant
	if tenant == "" {
		tenant = "-"
	}
	line := make([]byte, 0, 256)
	line = append(line, r.RemoteAddr...)
	line = append(line, ' ')
	line = append(line, tenant...)
	line = append(line, ' ')
	line = started.UTC().AppendFormat(line, "[02/Jan/2006:15:04:05 -0700]")
	line = append(line, ' ')
	line = strconv.AppendQuote(line, r.Method+" "+r.URL.RequestURI()+" "+r.Proto)
	line = append(line, ' ')
	line = strconv.AppendInt(line, int64(rec.status), 10)
	line = append(line, ' ')
	line = strconv.AppendInt(line, int64(rec.bytes), 10)
	line = append(line, ' ')
	line = strconv.AppendFloat(line, l.now().Sub(started).Seconds(), 'f', 4, 64)
	line = append(line, ' ')
	line = append(line, rec.answered...)
	line = append(line, '\n')
	_, _ = l.out.Write(line)
}
