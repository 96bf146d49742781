package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// frontFor serves a catalogue of a public and a private layer without a database: what it
// decides before reading one (who may read, what pygeoapi answers) is what is tested here.
func frontFor(t *testing.T, r *realm) (*Front, *[]string) {
	public, private := layer(), layer()
	public.ID, public.Public = "kab-bekasi.faskes", true
	private.ID, private.Table = "kab-bekasi.tanah", "tanah"
	private.Readers = map[string]bool{"kab-bekasi": true, "prov-jawa-barat": true}
	catalogue := &Catalogue{}
	all := map[string]*Collection{public.ID: public, private.ID: private}
	catalogue.current.Store(&all)
	handed := &[]string{}
	backend := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		*handed = append(*handed, req.URL.RequestURI()+" "+req.Header.Get("Authorization"))
		w.WriteHeader(http.StatusTeapot)
	})
	return &Front{settings: Settings{BaseURL: "https://gis.test"}, catalogue: catalogue, tokens: r.tokens(), backend: backend}, handed
}

func serve(f *Front, path, authorization string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	f.ServeHTTP(w, req)
	return w
}

func TestAPrivateLayerIsRefusedAsTheServiceRefusesIt(t *testing.T) {
	r := newRealm(t)
	f, handed := frontFor(t, r)
	other := "Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(map[string]any{TenantClaim: "kemendagri"}))
	cases := []struct {
		name, path, authorization string
		status                    int
		description               string
	}{
		{"anonymous", "/collections/kab-bekasi.tanah/items?f=json", "", 401, "kab-bekasi.tanah: a bearer token of a reader is required"},
		{"another tenant", "/collections/kab-bekasi.tanah/items", other, 403, "kab-bekasi.tanah: kemendagri may not read it"},
		{"a bad token, private", "/collections/kab-bekasi.tanah/items", "Bearer x", 401, ""},
		{"a bad token, public", "/collections/kab-bekasi.faskes/items", "Bearer x", 401, ""},
	}
	for _, c := range cases {
		w := serve(f, c.path, c.authorization)
		var body struct {
			Code        int
			Description string
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if w.Code != c.status || body.Code != c.status || (c.description != "" && body.Description != c.description) {
			t.Errorf("%s: %d %+v", c.name, w.Code, body)
		}
		if (c.status == 401) != (w.Header().Get("WWW-Authenticate") == `Bearer realm="pdn-gis"`) {
			t.Errorf("%s: WWW-Authenticate %q", c.name, w.Header().Get("WWW-Authenticate"))
		}
	}
	if len(*handed) != 0 {
		t.Errorf("refused requests reached pygeoapi: %v", *handed)
	}
}

func TestWhatTheFrontDoesNotAnswerReachesPygeoapiAsSent(t *testing.T) {
	r := newRealm(t)
	f, handed := frontFor(t, r)
	token := "Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(nil))
	for _, path := range []string{
		"/", "/collections", "/collections/kab-bekasi.tanah", "/collections/kab-bekasi.tanah/queryables",
		"/collections/kab-bekasi.tanah/items/3", "/collections/kab-bekasi.tanah/items?filter=x",
		"/collections/kab-bekasi.tanah/items?f=html", "/collections/not-catalogued/items",
		"/map/kab-bekasi.faskes", "/health",
	} {
		*handed = (*handed)[:0]
		if w := serve(f, path, token); w.Code != http.StatusTeapot || len(*handed) != 1 || (*handed)[0] != path+" "+token {
			t.Errorf("%s: %d, pygeoapi got %v", path, w.Code, *handed)
		}
	}
	// pygeoapi checks the token itself: an anonymous CQL2 query of the private layer is its to refuse.
	*handed = (*handed)[:0]
	if w := serve(f, "/collections/kab-bekasi.tanah/items?filter=x", ""); w.Code != http.StatusTeapot {
		t.Errorf("%d", w.Code)
	}
	req := httptest.NewRequest(http.MethodPost, "/collections/kab-bekasi.faskes/items", nil)
	w := httptest.NewRecorder()
	f.ServeHTTP(w, req)
	if w.Code != http.StatusTeapot {
		t.Errorf("POST: %d, want pygeoapi's answer", w.Code)
	}
}

func TestSettingsNameWhatIsMissing(t *testing.T) {
	_, err := settingsFromEnv(func(k string) string {
		if k == "PDN_GIS_URL" {
			return "https://gis.test"
		}
		return ""
	})
	if err == nil || err.Error() != "set PDN_GIS_LISTEN, PDN_GIS_TLS_CERT, PDN_GIS_TLS_KEY, PDN_GIS_BACKEND, "+
		"PDN_GIS_DB_HOST, PDN_GIS_DB_PORT, PDN_GIS_DB_USER, PDN_GIS_DB_PASSWORD, PDN_GIS_DB_CA, "+
		"PDN_GIS_ISSUER, PDN_GIS_SSO_CA" {
		t.Errorf("%v", err)
	}
	env := map[string]string{
		"PDN_GIS_LISTEN": "127.0.0.1:1", "PDN_GIS_TLS_CERT": "c", "PDN_GIS_TLS_KEY": "k",
		"PDN_GIS_URL": "https://gis.test/", "PDN_GIS_BACKEND": "http://127.0.0.1:2",
		"PDN_GIS_DB_HOST": "h", "PDN_GIS_DB_PORT": "5432", "PDN_GIS_DB_USER": "u",
		"PDN_GIS_DB_PASSWORD": "p'w\\", "PDN_GIS_DB_CA": "ca", "PDN_GIS_ISSUER": issuer, "PDN_GIS_SSO_CA": "ca",
	}
	s, err := settingsFromEnv(func(k string) string { return env[k] })
	if err != nil || s.BaseURL != "https://gis.test" || s.Audience != "pdn-gis" {
		t.Fatalf("%+v %v", s, err)
	}
	if dsn := s.Database.DSN(); dsn != `host='h' port=5432 user='u' password='p\'w\\' dbname=pdn_gis `+
		`sslmode=verify-full sslrootcert='ca' application_name=pdn-features` {
		t.Errorf("%s", dsn)
	}
	env["PDN_GIS_BACKEND"] = "127.0.0.1:2"
	if _, err := settingsFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("a backend without a scheme is refused")
	}
}

func TestPygeoapisAnswersSayViaTheFrontAndItsAbsenceIs502(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Powered-By", "pygeoapi 0.21.0")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	address, _ := url.Parse(backend.URL)
	proxy := newProxy(address)
	w := httptest.NewRecorder()
	proxy.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/health", nil))
	if w.Code != 200 || w.Header().Get("Via") != "1.1 pdn-features" || w.Header().Get("X-Powered-By") != "pygeoapi 0.21.0" {
		t.Errorf("%d %v", w.Code, w.Header())
	}
	backend.Close()
	w = httptest.NewRecorder()
	proxy.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/collections", nil))
	if w.Code != http.StatusBadGateway || w.Body.String() != `{"code":502,"description":"the feature service's pygeoapi does not answer"}` {
		t.Errorf("%d %s", w.Code, w.Body.String())
	}
}

func TestEveryRequestIsLoggedWithWhoAskedAndWhoAnswered(t *testing.T) {
	r := newRealm(t)
	f, _ := frontFor(t, r)
	var out strings.Builder
	at := time.Date(2026, 12, 7, 20, 40, 0, 0, time.UTC)
	logged := &accessLog{next: f, out: &out, now: func() time.Time { return at }}
	other := "Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(map[string]any{TenantClaim: "kemendagri"}))
	for _, c := range []struct{ path, authorization string }{
		{"/collections/kab-bekasi.tanah/items?f=json", other},
		{"/collections", ""},
	} {
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		req.RemoteAddr = "198.18.0.10:40000"
		if c.authorization != "" {
			req.Header.Set("Authorization", c.authorization)
		}
		logged.ServeHTTP(httptest.NewRecorder(), req)
	}
	want := `198.18.0.10:40000 kemendagri [07/Dec/2026:20:40:00 +0000] "GET /collections/kab-bekasi.tanah/items?f=json HTTP/1.1" 403 73 0.0000 front` + "\n" +
		`198.18.0.10:40000 - [07/Dec/2026:20:40:00 +0000] "GET /collections HTTP/1.1" 418 0 0.0000 pygeoapi` + "\n"
	if out.String() != want {
		t.Errorf("%s\nwant\n%s", out.String(), want)
	}
}

func TestTheBufferedLogIsWrittenWithinASecondAndAtTheEnd(t *testing.T) {
	var out syncBuilder
	ctx, cancel := context.WithCancel(context.Background())
	w, flush := bufferedLog(ctx, &out)
	_, _ = w.Write([]byte("one\n"))
	deadline := time.Now().Add(3 * time.Second)
	for out.String() != "one\n" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if out.String() != "one\n" {
		t.Fatalf("not written within a second: %q", out.String())
	}
	_, _ = w.Write([]byte("two\n"))
	cancel()
	flush()
	if out.String() != "one\ntwo\n" {
		t.Errorf("%q", out.String())
	}
}

type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
