package main

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

const (
	defaultLimit = 100  // pygeoapi's default_items (pdn.gis.features.pygeoapi_config)
	maxLimit     = 1000 // its max_items (ITEM_LIMIT)
)

// Query is an items request this front answers: a bbox, property equalities, a page.
type Query struct {
	BBox          *[4]float64
	Equal         []Equality // in the order of the collection's columns
	Limit, Offset int
}

// Equality is `?<column>=<value>` on a text column (a Kemendagri code, a name).
type Equality struct{ Column, Value string }

// ParseItems is the query of an items request when this front answers it the way pygeoapi
// would; ok is false for anything else (another format, a CQL2 filter, sorting, a CRS, a
// property that is not a text column, a value pygeoapi would refuse), which pygeoapi answers.
func ParseItems(c *Collection, values url.Values, accept string) (Query, bool) {
	q := Query{Limit: defaultLimit}
	equal := map[string]string{}
	for name, vs := range values {
		if len(vs) != 1 {
			return q, false
		}
		v := vs[0]
		switch {
		case name == "f":
			if v != "json" {
				return q, false
			}
		case name == "bbox":
			box, ok := parseBBox(v)
			if !ok {
				return q, false
			}
			q.BBox = &box
		case name == "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLimit {
				return q, false
			}
			q.Limit = n
		case name == "offset":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return q, false
			}
			q.Offset = n
		case c.textColumn(name) && utf8.ValidString(v) && !strings.ContainsRune(v, 0):
			equal[name] = v
		default:
			return q, false
		}
	}
	if values.Get("f") == "" && (strings.Contains(accept, "text/html") || strings.Contains(accept, "ld+json")) {
		return q, false // a browser gets pygeoapi's HTML page, a linked-data client its JSON-LD
	}
	for _, col := range c.Properties {
		if v, ok := equal[col.Name]; ok {
			q.Equal = append(q.Equal, Equality{col.Name, v})
		}
	}
	return q, true
}

// textColumn is whether name is one of the layer's text columns (a handful: a scan, no map).
func (c *Collection) textColumn(name string) bool {
	for _, col := range c.Properties {
		if col.Kind == kindText && col.Name == name {
			return true
		}
	}
	return false
}

func parseBBox(v string) ([4]float64, bool) {
	var box [4]float64
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return box, false
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return box, false
		}
		box[i] = f
	}
	ok := box[0] <= box[2] && box[1] <= box[3] &&
		box[0] >= -180 && box[2] <= 180 && box[1] >= -90 && box[3] <= 90
	return box, ok
}

// SQL is the page's query and the count's (the same filter), with their arguments.
func (q Query) SQL(c *Collection) (page string, count string, args []any) {
	ident := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	table := pgx.Identifier{c.Schema, c.Table}.Sanitize()
	var where []string
	if q.BBox != nil {
		args = append(args, q.BBox[0], q.BBox[1], q.BBox[2], q.BBox[3])
		where = append(where, "ST_Intersects("+ident(c.Geometry)+", ST_MakeEnvelope($1, $2, $3, $4, 4326))")
	}
	for _, e := range q.Equal {
		args = append(args, e.Value)
		where = append(where, ident(e.Column)+" = $"+strconv.Itoa(len(args)))
	}
	filter := ""
	if len(where) > 0 {
		filter = " WHERE " + strings.Join(where, " AND ")
	}
	columns := []string{ident(c.IDField) + "::text"}
	for _, col := range c.Properties {
		if col.Kind == kindJSON {
			columns = append(columns, "to_json("+ident(col.Name)+")::text")
		} else {
			columns = append(columns, ident(col.Name)+"::text")
		}
	}
	columns = append(columns, "ST_AsGeoJSON("+ident(c.Geometry)+", 15)")
	// Ordered by the table's column (qualified: the output column of the same name is text).
	page = "SELECT " + strings.Join(columns, ", ") + " FROM " + table + " AS t" + filter +
		" ORDER BY t." + ident(c.IDField) +
		" LIMIT " + strconv.Itoa(q.Limit) + " OFFSET " + strconv.Itoa(q.Offset)
	count = "SELECT count(*) FROM " + table + " AS t" + filter
	return page, count, args
}

// appendFeature writes one row (id, properties..., geometry as GeoJSON text or NULL) as a
// GeoJSON feature, keys in pygeoapi's order.
func appendFeature(out []byte, c *Collection, row [][]byte) []byte {
	out = append(out, `{"type":"Feature","properties":{`...)
	for i, col := range c.Properties {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(out, col.Name)
		out = append(out, ':')
		out = appendValue(out, col.Kind, row[i+1])
	}
	out = append(out, `},"id":`...)
	out = appendValue(out, c.IDKind, row[0])
	out = append(out, `,"geometry":`...)
	if geom := row[len(row)-1]; geom == nil {
		out = append(out, "null"...)
	} else {
		out = append(out, geom...)
	}
	return append(out, '}')
}

func appendValue(out []byte, kind int, v []byte) []byte {
	switch {
	case v == nil:
		return append(out, "null"...)
	case kind == kindNumber:
		if s := string(v); s == "NaN" || s == "Infinity" || s == "-Infinity" {
			return append(out, "null"...)
		}
		return append(out, v...)
	case kind == kindBool, kind == kindJSON:
		return append(out, v...)
	}
	return appendString(out, string(v))
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string.
func appendString(out []byte, s string) []byte {
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x20 && b != '"' && b != '\\' {
			continue
		}
		out = append(out, s[start:i]...)
		switch b {
		case '"', '\\':
			out = append(out, '\\', b)
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
		}
		start = i + 1
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
