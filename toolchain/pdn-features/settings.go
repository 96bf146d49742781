package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Settings of the front, all from the environment.
type Settings struct {
	Listen, TLSCert, TLSKey string
	BaseURL                 string
	Backend                 *url.URL
	Database                Database
	Issuer, SSOCA, Audience string
	Refresh                 time.Duration
}

// Database is the service's login on the GIS database (verified TLS).
type Database struct {
	Host, User, Password, CA string
	Port                     int
}

// DSN is the libpq-style connection string (the password quoted, never logged).
func (d Database) DSN() string {
	q := func(v string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	return fmt.Sprintf(
		"host=%s port=%d user=%s password=%s dbname=pdn_gis sslmode=verify-full sslrootcert=%s "+
			"application_name=pdn-features",
		q(d.Host), d.Port, q(d.User), q(d.Password), q(d.CA))
}

func settingsFromEnv(get func(string) string) (Settings, error) {
	required := []string{
		"PDN_GIS_LISTEN", "PDN_GIS_TLS_CERT", "PDN_GIS_TLS_KEY", "PDN_GIS_URL", "PDN_GIS_BACKEND",
		"PDN_GIS_DB_HOST", "PDN_GIS_DB_PORT", "PDN_GIS_DB_USER", "PDN_GIS_DB_PASSWORD",
		"PDN_GIS_DB_CA", "PDN_GIS_ISSUER", "PDN_GIS_SSO_CA",
	}
	var missing []string
	for _, k := range required {
		if get(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Settings{}, fmt.Errorf("set %s", strings.Join(missing, ", "))
	}
	port, err := strconv.Atoi(get("PDN_GIS_DB_PORT"))
	if err != nil || port <= 0 || port > 65535 {
		return Settings{}, fmt.Errorf("PDN_GIS_DB_PORT: %q is not a port", get("PDN_GIS_DB_PORT"))
	}
	backend, err := url.Parse(get("PDN_GIS_BACKEND"))
	if err != nil || (backend.Scheme != "http" && backend.Scheme != "https") || backend.Host == "" {
		return Settings{}, fmt.Errorf("PDN_GIS_BACKEND: %q is not an http(s) URL", get("PDN_GIS_BACKEND"))
	}
	refresh := 2 * time.Second
	if v := get("PDN_GIS_REFRESH"); v != "" {
		seconds, err := strconv.ParseFloat(v, 64)
		if err != nil || seconds <= 0 {
			return Settings{}, fmt.Errorf("PDN_GIS_REFRESH: %q is not a number of seconds", v)
		}
		refresh = time.Duration(seconds * float64(time.Second))
	}
	audience := get("PDN_GIS_AUDIENCE")
	if audience == "" {
		audience = "pdn-gis"
	}
	return Settings{
		Listen:  get("PDN_GIS_LISTEN"),
		TLSCert: get("PDN_GIS_TLS_CERT"),
		TLSKey:  get("PDN_GIS_TLS_KEY"),
		BaseURL: strings.TrimRight(get("PDN_GIS_URL"), "/"),
		Backend: backend,
		Database: Database{
			Host: get("PDN_GIS_DB_HOST"), Port: port, User: get("PDN_GIS_DB_USER"),
			Password: get("PDN_GIS_DB_PASSWORD"), CA: get("PDN_GIS_DB_CA"),
		},
		Issuer:   strings.TrimRight(get("PDN_GIS_ISSUER"), "/"),
		SSOCA:    get("PDN_GIS_SSO_CA"),
		Audience: audience,
		Refresh:  refresh,
	}, nil
}
