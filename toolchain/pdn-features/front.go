package main

import (
	"context"
	"fmt"
	"log"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// collectionID is the service's pattern (pdn.gis.server.COLLECTION_ID).
var collectionID = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,90}$`)

// Front answers items requests it can and hands the rest to pygeoapi.
type Front struct {
	settings  Settings
	pool      *pgxpool.Pool
	catalogue *Catalogue
	tokens    *Tokens
	backend   http.Handler
	cancel    context.CancelFunc
}

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func newFront(ctx context.Context, s Settings) (*Front, error) {
	caPEM, err := os.ReadFile(s.SSOCA)
	if err != nil {
		return nil, fmt.Errorf("PDN_GIS_SSO_CA: %w", err)
	}
	tokens, err := NewTokens(s.Issuer, s.Audience, caPEM)
	if err != nil {
		return nil, err
	}
	config, err := pgxpool.ParseConfig(s.Database.DSN())
	if err != nil {
		return nil, fmt.Errorf("the GIS database's settings: %w", err)
	}
	config.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, config) // connects when first used
	if err != nil {
		return nil, err
	}
	keep, cancel := context.WithCancel(ctx)
	f := &Front{s, pool, &Catalogue{}, tokens, newProxy(s.Backend), cancel}
	go f.catalogue.Keep(keep, pool, s.Refresh)
	return f, nil
}

// newProxy hands requests to pygeoapi as sent (its answers say `Via: 1.1 pdn-features`: the
// DC's probe knows the front from pygeoapi by it); pygeoapi gone, a 502 that says so.
func newProxy(backend *url.URL) *httputil.ReverseProxy {
	proxy := httputil.NewSingleHostReverseProxy(backend)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 90 * time.Second}
	proxy.ModifyResponse = func(resp *http.Response) error {
		resp.Header.Add("Via", fmt.Sprintf("%d.%d pdn-features", resp.ProtoMajor, resp.ProtoMinor))
		return nil
	}
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		log.Printf("pdn-features: pygeoapi does not answer %s: %v", r.URL.Path, err)
		problem(w, http.StatusBadGateway, "the feature service's pygeoapi does not answer")
	}
	return proxy
}

// Close stops reading the catalogue and closes the database connections.
func (f *Front) Close() {
	f.cancel()
	f.pool.Close()
}

func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if id, ok := itemsOf(r.URL.Path); ok && r.Method == http.MethodGet && f.items(w, r, id) {
		return
	}
	f.backend.ServeHTTP(w, r)
}

// itemsOf is the collection of a `/collections/<id>/items` path.
func itemsOf(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/collections/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(strings.TrimSuffix(rest, "/"), "/items")
	return id, ok && collectionID.MatchString(id)
}

// items answers the request and is true, or is false and writes nothing (pygeoapi answers).
func (f *Front) items(w http.ResponseWriter, r *http.Request, id string) bool {
	c := f.catalogue.Get(id)
	if c == nil {
		return false // not read yet, or not a layer: pygeoapi says which
	}
	values := r.URL.Query() // parsed once: the query, then the page's links
	query, ok := ParseItems(c, values, r.Header.Get("Accept"))
	if !ok {
		return false
	}
	caller := ""
	if authorization, sent := r.Header["Authorization"]; sent {
		tenant, err := f.tokens.TenantOf(r.Context(), strings.Join(authorization, ","))
		if err != nil { // a token that is not accepted is never anonymous
			answeredHere(w)
			problem(w, http.StatusUnauthorized, strings.TrimPrefix(err.Error(), ErrToken.Error()+": "))
			return true
		}
		caller = tenant
		if rec, ok := w.(*recorded); ok {
			rec.tenant = tenant
		}
	}
	if !c.Public && caller == "" {
		answeredHere(w)
		problem(w, http.StatusUnauthorized, id+": a bearer token of a reader is required")
		return true
	}
	if !c.Public && !c.Readers[caller] {
		answeredHere(w)
		problem(w, http.StatusForbidden, id+": "+caller+" may not read it")
		return true
	}
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	body, err := f.page(r.Context(), c, query, r.URL.RawQuery, values, (*bp)[:0])
	*bp = body[:0]
	if err != nil {
		if r.Context().Err() == nil {
			log.Printf("pdn-features: %s: %v (pygeoapi answers)", id, err)
		}
		return false // a table replaced since the catalogue was read, the database gone: pygeoapi's
	}
	answeredHere(w)
	h := w.Header()
	h.Set("Content-Type", "application/geo+json")
	h.Set("X-Powered-By", "pdn-features "+Version)
	h.Set("Content-Crs", "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
	return true
}

// page is the items answer as pygeoapi writes it: the features, numberMatched, numberReturned,
// its links and a timestamp. numberMatched is counted only when the page does not tell it.
func (f *Front) page(ctx context.Context, c *Collection, q Query, raw string, values url.Values, out []byte) ([]byte, error) {
	pageSQL, countSQL, args := q.SQL(c)
	rows, err := f.pool.Query(ctx, pageSQL, args...)
	if err != nil {
		return out, err
	}
	out = append(out, `{"type":"FeatureCollection","features":[`...)
	returned := 0
	for rows.Next() {
		if returned > 0 {
			out = append(out, ',')
		}
		out = appendFeature(out, c, rows.RawValues())
		returned++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	matched := q.Offset + returned
	if returned == q.Limit || (returned == 0 && q.Offset > 0) {
		if err := f.pool.QueryRow(ctx, countSQL, args...).Scan(&matched); err != nil {
			return out, err
		}
	}
	out = append(out, `],"numberMatched":`...)
	out = strconv.AppendInt(out, int64(matched), 10)
	out = append(out, `,"numberReturned":`...)
	out = strconv.AppendInt(out, int64(returned), 10)
	out = appendLinks(out, f.settings.BaseURL, c, raw, values, q, matched > q.Offset+returned)
	out = append(out, `,"timeStamp":`...)
	out = appendString(out, time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"))
	return append(out, '}'), nil
}

func appendLinks(out []byte, base string, c *Collection, raw string, values url.Values, q Query, more bool) []byte {
	collection := base + "/collections/" + c.ID
	self := collection + "/items"
	with := func(f string) string {
		v := maps.Clone(values)
		v.Set("f", f)
		return self + "?" + v.Encode()
	}
	link := func(out []byte, rel, typ, title, href string) []byte {
		out = append(out, `{"type":`...)
		out = appendString(out, typ)
		out = append(out, `,"rel":`...)
		out = appendString(out, rel)
		out = append(out, `,"title":`...)
		out = appendString(out, title)
		out = append(out, `,"href":`...)
		out = appendString(out, href)
		return append(out, '}')
	}
	out = append(out, `,"links":[`...)
	selfHref := self
	if raw != "" {
		selfHref += "?" + raw
	}
	out = link(out, "self", "application/geo+json", "This document as GeoJSON", selfHref)
	out = append(out, ',')
	out = link(out, "alternate", "application/ld+json", "This document as RDF (JSON-LD)", with("jsonld"))
	out = append(out, ',')
	out = link(out, "alternate", "text/html", "This document as HTML", with("html"))
	page := func(rel, title string, offset int) {
		v := maps.Clone(values)
		v.Del("f")
		v.Set("offset", strconv.Itoa(offset))
		v.Set("limit", strconv.Itoa(q.Limit))
		out = append(out, ',')
		out = link(out, rel, "application/geo+json", title, self+"?"+v.Encode())
	}
	if q.Offset > 0 {
		page("prev", "Items (prev)", max(q.Offset-q.Limit, 0))
	}
	if more {
		page("next", "Items (next)", q.Offset+q.Limit)
	}
	out = append(out, ',')
	out = link(out, "collection", "application/json", c.Title, collection)
	return append(out, ']')
}

// answeredHere marks the request's access-log line as answered by the front.
func answeredHere(w http.ResponseWriter) {
	if rec, ok := w.(*recorded); ok {
		rec.answered = "front"
	}
}

// problem writes the service's error body (pdn.gis.server.FeatureService.problem).
func problem(w http.ResponseWriter, status int, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="pdn-gis"`)
	}
	w.WriteHeader(status)
	body := appendString([]byte(`{"code":`+strconv.Itoa(status)+`,"description":`), message)
	_, _ = w.Write(append(body, '}'))
}
