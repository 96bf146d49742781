package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TenantClaim names the tenant a tenant's SSO client acts for (pdn.sso.tenants.TENANT_CLAIM).
const TenantClaim = "pdn_tenant"

const (
	keysRefetchAfter = 10 * time.Second // a token signed by a key not seen yet: the realm rotated
	acceptedKept     = 4096             // tokens verified and kept until they expire
)

// Tokens checks access tokens of the civil servants' realm for one audience, as
// pdn.sso.tokens.Tokens does: signed by a key of the realm's JWKS (RS256, ES256, PS256), issued
// by the realm, for the audience, with an expiry; the tenant is the pdn_tenant claim.
type Tokens struct {
	issuer, audience string
	fetch            func(context.Context) (map[string]any, error)
	parser           *jwt.Parser

	mu       sync.Mutex
	keys     map[string]any
	fetched  time.Time
	accepted map[string]accepted
	now      func() time.Time
}

type accepted struct {
	tenant  string
	expires time.Time
}

// ErrToken is a token that is not accepted: 401, never taken as anonymous.
var ErrToken = errors.New("token")

// NewTokens checks tokens of issuer for audience, its keys from the realm's JWKS over TLS
// verified with the CA in caPEM.
func NewTokens(issuer, audience string, caPEM []byte) (*Tokens, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("PDN_GIS_SSO_CA holds no PEM certificate")
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
	}
	certs := issuer + "/protocol/openid-connect/certs"
	return newTokens(issuer, audience, func(ctx context.Context) (map[string]any, error) {
		return fetchKeys(ctx, client, certs)
	}), nil
}

func newTokens(issuer, audience string, fetch func(context.Context) (map[string]any, error)) *Tokens {
	t := &Tokens{issuer: issuer, audience: audience, fetch: fetch, accepted: map[string]accepted{}, now: time.Now}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256", "ES256", "PS256"}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return t.now() }),
	)
	return t
}

// TenantOf is the tenant of an Authorization header's bearer token; ErrToken (wrapped, with
// what is wrong) when it is not accepted.
func (t *Tokens) TenantOf(ctx context.Context, authorization string) (string, error) {
	token, ok := strings.CutPrefix(authorization, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return "", fmt.Errorf("%w: a bearer token of the tenant's SSO client is required", ErrToken)
	}
	t.mu.Lock()
	seen, hit := t.accepted[token]
	t.mu.Unlock()
	if hit && t.now().Before(seen.expires) {
		return seen.tenant, nil
	}
	claims := jwt.MapClaims{}
	if _, err := t.parser.ParseWithClaims(token, claims, t.keyFor(ctx)); err != nil {
		return "", fmt.Errorf("%w: the token is not accepted: %v", ErrToken, err)
	}
	tenant, _ := claims[TenantClaim].(string)
	if tenant == "" {
		return "", fmt.Errorf("%w: the token names no tenant (%s)", ErrToken, TenantClaim)
	}
	expires, err := claims.GetExpirationTime()
	if err != nil || expires == nil {
		return "", fmt.Errorf("%w: the token is not accepted: no expiry", ErrToken)
	}
	t.mu.Lock()
	if len(t.accepted) >= acceptedKept {
		clear(t.accepted)
	}
	t.accepted[token] = accepted{tenant, expires.Time}
	t.mu.Unlock()
	return tenant, nil
}

func (t *Tokens) keyFor(ctx context.Context) jwt.Keyfunc {
	return func(token *jwt.Token) (any, error) {
		kid, _ := token.Header["kid"].(string)
		t.mu.Lock()
		key, known := t.keys[kid]
		stale := t.keys == nil || t.now().Sub(t.fetched) >= keysRefetchAfter
		t.mu.Unlock()
		if known {
			return key, nil
		}
		if !stale {
			return nil, fmt.Errorf("no key %q in the realm's JWKS", kid)
		}
		keys, err := t.fetch(ctx)
		if err != nil {
			return nil, fmt.Errorf("the realm's keys cannot be read: %w", err)
		}
		t.mu.Lock()
		t.keys, t.fetched = keys, t.now()
		t.mu.Unlock()
		if key, known = keys[kid]; !known {
			return nil, fmt.Errorf("no key %q in the realm's JWKS", kid)
		}
		return key, nil
	}
}

type jwk struct {
	Kid, Kty, Use, Crv string
	N, E, X, Y         string
}

func fetchKeys(ctx context.Context, client *http.Client, url string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	var set struct{ Keys []jwk }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return parseKeys(set.Keys), nil
}

// parseKeys keeps the signing keys (RSA, EC P-256) of a JWKS by kid; others are skipped.
func parseKeys(keys []jwk) map[string]any {
	found := map[string]any{}
	for _, k := range keys {
		if k.Use == "enc" {
			continue
		}
		switch k.Kty {
		case "RSA":
			n, errN := base64.RawURLEncoding.DecodeString(k.N)
			e, errE := base64.RawURLEncoding.DecodeString(k.E)
			if errN != nil || errE != nil || len(e) > 4 {
				continue
			}
			found[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		case "EC":
			x, errX := base64.RawURLEncoding.DecodeString(k.X)
			y, errY := base64.RawURLEncoding.DecodeString(k.Y)
			if k.Crv != "P-256" || errX != nil || errY != nil {
				continue
			}
			key := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
			if !key.Curve.IsOnCurve(key.X, key.Y) {
				continue
			}
			found[k.Kid] = key
		}
	}
	return found
}
