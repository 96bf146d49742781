package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const issuer = "https://sso.test/realms/pdn-asn"

type realm struct {
	rsaKey  *rsa.PrivateKey
	ecKey   *ecdsa.PrivateKey
	fetches int
	keys    map[string]any
}

func newRealm(t *testing.T) *realm {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &realm{rsaKey: r, ecKey: e, keys: map[string]any{"rsa-1": &r.PublicKey, "ec-1": &e.PublicKey}}
}

func (r *realm) tokens() *Tokens {
	return newTokens(issuer, "pdn-gis", func(context.Context) (map[string]any, error) {
		r.fetches++
		return r.keys, nil
	})
}

func (r *realm) sign(t *testing.T, method jwt.SigningMethod, kid string, claims jwt.MapClaims) string {
	token := jwt.NewWithClaims(method, claims)
	token.Header["kid"] = kid
	var key any = r.rsaKey
	if method == jwt.SigningMethodES256 {
		key = r.ecKey
	}
	signed, err := token.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func claims(changes map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": issuer, "aud": []string{"pdn-gis", "account"}, "exp": time.Now().Add(5 * time.Minute).Unix(),
		"iat": time.Now().Unix(), TenantClaim: "kab-bekasi",
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestATokenOfTheRealmNamesItsTenant(t *testing.T) {
	r := newRealm(t)
	tokens := r.tokens()
	for _, token := range []string{
		r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(nil)),
		r.sign(t, jwt.SigningMethodPS256, "rsa-1", claims(nil)),
		r.sign(t, jwt.SigningMethodES256, "ec-1", claims(nil)),
	} {
		tenant, err := tokens.TenantOf(context.Background(), "Bearer "+token)
		if err != nil || tenant != "kab-bekasi" {
			t.Errorf("%q, %v", tenant, err)
		}
	}
	if r.fetches != 1 {
		t.Errorf("the realm's keys were read %d times, want once", r.fetches)
	}
}

func TestATokenThatIsNotAcceptedSaysWhy(t *testing.T) {
	r := newRealm(t)
	tokens := r.tokens()
	hour := time.Hour
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged := jwt.NewWithClaims(jwt.SigningMethodRS256, claims(nil))
	forged.Header["kid"] = "rsa-1"
	forgedSigned, _ := forged.SignedString(other)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil)).SignedString([]byte("secret"))
	cases := map[string]struct{ header, why string }{
		"no bearer":        {"Basic dXNlcjpwYXNz", "a bearer token of the tenant's SSO client is required"},
		"empty":            {"Bearer ", "a bearer token of the tenant's SSO client is required"},
		"garbage":          {"Bearer not-a-token", "token is malformed"},
		"expired":          {"Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(map[string]any{"exp": time.Now().Add(-hour).Unix()})), "expired"},
		"no expiry":        {"Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(map[string]any{"exp": nil})), "exp claim is required"},
		"other audience":   {"Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(map[string]any{"aud": "pdn-tte"})), "audience"},
		"other issuer":     {"Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(map[string]any{"iss": "https://evil/realms/pdn-asn"})), "issuer"},
		"no tenant":        {"Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(map[string]any{TenantClaim: nil})), "names no tenant"},
		"forged signature": {"Bearer " + forgedSigned, "signature is invalid"},
		"alg none":         {"Bearer " + none, "signing method none is invalid"},
		"HMAC":             {"Bearer " + hs, "signing method HS256 is invalid"},
		"unknown key":      {"Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-9", claims(nil)), `no key "rsa-9"`},
	}
	for name, c := range cases {
		_, err := tokens.TenantOf(context.Background(), c.header)
		if !errors.Is(err, ErrToken) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: %v, want %q", name, err, c.why)
		}
	}
}

func TestARotatedKeyIsFetchedOnceItSigns(t *testing.T) {
	r := newRealm(t)
	tokens := r.tokens()
	now := time.Now()
	tokens.now = func() time.Time { return now }
	if _, err := tokens.TenantOf(context.Background(), "Bearer "+r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(nil))); err != nil {
		t.Fatal(err)
	}
	r.keys = map[string]any{"rsa-2": &r.rsaKey.PublicKey}
	rotated := "Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-2", claims(nil))
	if _, err := tokens.TenantOf(context.Background(), rotated); err == nil {
		t.Error("a key not seen is fetched at most every 10 s")
	}
	now = now.Add(keysRefetchAfter)
	if tenant, err := tokens.TenantOf(context.Background(), rotated); err != nil || tenant != "kab-bekasi" {
		t.Errorf("after 10 s the realm's keys are read again: %q %v", tenant, err)
	}
}

func TestAnAcceptedTokenIsKeptOnlyUntilItExpires(t *testing.T) {
	r := newRealm(t)
	tokens := r.tokens()
	now := time.Now()
	tokens.now = func() time.Time { return now }
	token := "Bearer " + r.sign(t, jwt.SigningMethodRS256, "rsa-1", claims(map[string]any{"exp": now.Add(time.Minute).Unix()}))
	if _, err := tokens.TenantOf(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := tokens.TenantOf(context.Background(), token); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired token kept: %v", err)
	}
}

func TestParseKeysKeepsSigningKeysOnly(t *testing.T) {
	keys := parseKeys([]jwk{
		{Kid: "sig", Kty: "RSA", Use: "sig", N: "sXch", E: "AQAB"},
		{Kid: "enc", Kty: "RSA", Use: "enc", N: "sXch", E: "AQAB"},
		{Kid: "p384", Kty: "EC", Crv: "P-384", X: "AA", Y: "AA"},
		{Kid: "off-curve", Kty: "EC", Crv: "P-256", X: "AQ", Y: "AQ"},
		{Kid: "bad", Kty: "RSA", N: "!!", E: "AQAB"},
	})
	if len(keys) != 1 || keys["sig"] == nil {
		t.Errorf("%v", keys)
	}
}
