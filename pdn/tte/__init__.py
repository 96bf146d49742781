"""The national e-signature (TTE, tanda tangan elektronik) PKI: an offline national root, an
online intermediate per PDN site, signing certificates per tenant and official, revocation
(CRL and OCSP) and the platform's time-stamping authority."""

SEAL = "seal"  # the holder key of a tenant's own signing certificate (officials have their id)
