package main

import (
	"context"
	"log"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ReferenceCollection is the national reference layer, public, keyed by Kemendagri code.
const ReferenceCollection = "regions"

// Column kinds, by how a value is written into a feature's properties.
const (
	kindNumber = iota // its text is a JSON number (NaN and infinities are null)
	kindBool          // true / false
	kindText          // a JSON string
	kindJSON          // PostgreSQL writes it (to_json): timestamps, dates, arrays, json
)

// Column is one attribute of a layer's table.
type Column struct {
	Name string
	Kind int
}

// Collection is one layer the service publishes (pdn.gis.features.Collection).
type Collection struct {
	ID, Title     string
	Public        bool
	Readers       map[string]bool
	Schema, Table string
	IDField       string
	IDKind        int
	Geometry      string
	Properties    []Column // every column but the id and the geometry, in table order
}

// Catalogue holds the collections, read again every refresh; nil until first read.
type Catalogue struct {
	current atomic.Pointer[map[string]*Collection]
}

// Get is the collection id, or nil when the catalogue does not hold it (yet).
func (c *Catalogue) Get(id string) *Collection {
	all := c.current.Load()
	if all == nil {
		return nil
	}
	return (*all)[id]
}

// Keep reads the catalogue now and every refresh until ctx ends; a failed read keeps the last.
func (c *Catalogue) Keep(ctx context.Context, pool *pgxpool.Pool, refresh time.Duration) {
	failing := false
	for {
		read, err := readCatalogue(ctx, pool)
		switch {
		case err == nil:
			c.current.Store(&read)
			if failing {
				log.Printf("pdn-features: the catalogue is read again (%d collections)", len(read))
			}
			failing = false
		case ctx.Err() == nil && !failing:
			log.Printf("pdn-features: cannot read the catalogue (pygeoapi answers meanwhile): %v", err)
			failing = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(refresh):
		}
	}
}

const catalogueQuery = `
SELECT l.collection, l.title, l.public, l.readers, l.table_schema, l.table_name, 'fid'
  FROM catalogue.layers l
 WHERE to_regclass(quote_ident(l.table_schema) || '.' || quote_ident(l.table_name)) IS NOT NULL
UNION ALL
SELECT 'regions', 'Wilayah administrasi Indonesia (Kemendagri)', true, '{}', 'reference', 'regions', 'code'`

const columnsQuery = `
SELECT c.table_schema, c.table_name, c.column_name, c.data_type
  FROM information_schema.columns c
 WHERE (c.table_schema, c.table_name) IN (
         SELECT table_schema, table_name FROM catalogue.layers
         UNION ALL SELECT 'reference', 'regions')
 ORDER BY c.table_schema, c.table_name, c.ordinal_position`

func readCatalogue(ctx context.Context, pool *pgxpool.Pool) (map[string]*Collection, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	found := map[string]*Collection{}
	byTable := map[[2]string]*Collection{}
	rows, err := pool.Query(ctx, catalogueQuery)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c Collection
		var readers []string
		if err := rows.Scan(&c.ID, &c.Title, &c.Public, &readers, &c.Schema, &c.Table, &c.IDField); err != nil {
			rows.Close()
			return nil, err
		}
		c.Readers = map[string]bool{}
		for _, r := range readers {
			c.Readers[r] = true
		}
		c.Geometry = "geom"
		c.IDKind = -1
		found[c.ID] = &c
		byTable[[2]string{c.Schema, c.Table}] = &c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = pool.Query(ctx, columnsQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hasGeometry := map[*Collection]bool{}
	for rows.Next() {
		var schema, table, name, dataType string
		if err := rows.Scan(&schema, &table, &name, &dataType); err != nil {
			return nil, err
		}
		c := byTable[[2]string{schema, table}]
		if c == nil {
			continue
		}
		switch name {
		case c.IDField:
			c.IDKind = kindOf(dataType)
		case c.Geometry:
			hasGeometry[c] = true
		default:
			c.Properties = append(c.Properties, Column{name, kindOf(dataType)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for id, c := range found { // a table the service cannot see is pygeoapi's to answer
		if c.IDKind < 0 || !hasGeometry[c] {
			delete(found, id)
		}
	}
	return found, nil
}

func kindOf(dataType string) int {
	switch dataType {
	case "smallint", "integer", "bigint", "real", "double precision", "numeric":
		return kindNumber
	case "boolean":
		return kindBool
	case "text", "character varying", "character":
		return kindText
	}
	return kindJSON
}
