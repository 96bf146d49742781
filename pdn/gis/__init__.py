"""The DC's GIS platform: PostGIS on the data services' PostgreSQL (one database for every
agency's layers, a schema and roles per tenant) and the national reference layer of
administrative regions."""
