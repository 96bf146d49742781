package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func layer() *Collection {
	return &Collection{
		ID: "kab-bekasi.faskes", Title: "Faskes", Schema: "t_kab_bekasi", Table: "faskes",
		IDField: "fid", IDKind: kindNumber, Geometry: "geom",
		Properties: []Column{{"nama", kindText}, {"kode_wilayah", kindText}, {"tempat_tidur", kindNumber},
			{"buka_24_jam", kindBool}, {"diperbarui", kindJSON}},
	}
}

func TestItemsItAnswersAndThoseItHandsToPygeoapi(t *testing.T) {
	cases := []struct {
		query, accept string
		ok            bool
	}{
		{"", "", true},
		{"f=json&limit=100&bbox=107,-6.3,107.15,-6.1", "", true},
		{"kode_wilayah=32.16.01", "application/geo+json", true},
		{"limit=10&offset=20&nama=RSUD", "", true},
		{"", "text/html,application/xhtml+xml", false},      // a browser: pygeoapi's HTML
		{"f=html", "", false},                               // another format
		{"f=jsonld", "", false},                             // another format
		{"filter=kode_wilayah LIKE '32.16.%25'", "", false}, // CQL2
		{"sortby=-nama", "", false},                         // sorting
		{"bbox-crs=EPSG:3857&bbox=1,2,3,4", "", false},      // another CRS
		{"tempat_tidur=10", "", false},                      // a number column
		{"unknown=1", "", false},                            // not a column
		{"limit=0", "", false}, {"limit=1001", "", false}, {"limit=x", "", false},
		{"offset=-1", "", false},
		{"bbox=1,2,3", "", false}, {"bbox=3,2,1,4", "", false}, {"bbox=1,2,3,NaN", "", false},
		{"bbox=-181,0,0,1", "", false}, {"bbox=0,0,1,1,0,1", "", false},
		{"kode_wilayah=32.16.01&kode_wilayah=32.16.02", "", false}, // twice
	}
	for _, c := range cases {
		values, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ParseItems(layer(), values, c.accept); ok != c.ok {
			t.Errorf("%q (Accept %q): answered here %v, want %v", c.query, c.accept, ok, c.ok)
		}
	}
}

func TestItemsQueryIsTheFilterAndThePageOrderedByID(t *testing.T) {
	values, _ := url.ParseQuery("bbox=107,-6.3,107.15,-6.1&kode_wilayah=32.16.01&limit=5&offset=10")
	q, ok := ParseItems(layer(), values, "")
	if !ok {
		t.Fatal("not answered here")
	}
	page, count, args := q.SQL(layer())
	want := `SELECT "fid"::text, "nama"::text, "kode_wilayah"::text, "tempat_tidur"::text, ` +
		`"buka_24_jam"::text, to_json("diperbarui")::text, ST_AsGeoJSON("geom", 15) ` +
		`FROM "t_kab_bekasi"."faskes" AS t WHERE ST_Intersects("geom", ST_MakeEnvelope($1, $2, $3, $4, 4326)) ` +
		`AND "kode_wilayah" = $5 ORDER BY t."fid" LIMIT 5 OFFSET 10`
	if page != want {
		t.Errorf("page:\n%s\nwant\n%s", page, want)
	}
	if !strings.HasPrefix(count, `SELECT count(*) FROM "t_kab_bekasi"."faskes" AS t WHERE ST_Intersects`) {
		t.Errorf("count: %s", count)
	}
	if len(args) != 5 || args[4] != "32.16.01" || args[0] != 107.0 {
		t.Errorf("args: %v", args)
	}
}

func TestANameIsQuotedNeverSpliced(t *testing.T) {
	c := layer()
	c.Properties = []Column{{`a"; DROP TABLE x; --`, kindText}}
	values := url.Values{`a"; DROP TABLE x; --`: {"v"}}
	q, ok := ParseItems(c, values, "")
	if !ok {
		t.Fatal("a text column's equality is answered here")
	}
	page, _, args := q.SQL(c)
	if !strings.Contains(page, `"a""; DROP TABLE x; --" = $1`) || args[0] != "v" {
		t.Errorf("page: %s args %v", page, args)
	}
}

func TestAFeatureIsValidGeoJSONWithEveryKindOfValue(t *testing.T) {
	row := [][]byte{
		[]byte("7"), []byte("RSUD \"Kab\\Bekasi\"\n\x01 é"), nil, []byte("NaN"), []byte("true"),
		[]byte(`"2024-05-01T10:00:00+07:00"`), []byte(`{"type":"Point","coordinates":[107.1,-6.2]}`),
	}
	out := appendFeature(nil, layer(), row)
	var f struct {
		Type       string
		ID         int
		Properties map[string]any
		Geometry   map[string]any
	}
	if err := json.Unmarshal(out, &f); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	p := f.Properties
	if f.Type != "Feature" || f.ID != 7 || p["nama"] != "RSUD \"Kab\\Bekasi\"\n\x01 é" ||
		p["kode_wilayah"] != nil || p["tempat_tidur"] != nil || p["buka_24_jam"] != true ||
		p["diperbarui"] != "2024-05-01T10:00:00+07:00" || f.Geometry["type"] != "Point" {
		t.Errorf("%s", out)
	}
	row[len(row)-1] = nil // no geometry
	if !strings.HasSuffix(string(appendFeature(nil, layer(), row)), `"geometry":null}`) {
		t.Error("a feature without a geometry has geometry null")
	}
}

func TestAStringIsWhatEncodingJSONReadsBack(t *testing.T) {
	for _, s := range []string{"", "plain", "\"\\\b\f\n\r\t", "\x00\x1f\x7f", "Kabupaten Bekasi ☺", "<script>"} {
		var back string
		if err := json.Unmarshal(appendString(nil, s), &back); err != nil || back != s {
			t.Errorf("%q: %q (%v)", s, back, err)
		}
	}
}

func TestItemsPathsAndCollectionIDs(t *testing.T) {
	for path, want := range map[string]string{
		"/collections/kab-bekasi.faskes/items":  "kab-bekasi.faskes",
		"/collections/kab-bekasi.faskes/items/": "kab-bekasi.faskes",
		"/collections/regions/items":            "regions",
	} {
		if id, ok := itemsOf(path); !ok || id != want {
			t.Errorf("%s: %q %v", path, id, ok)
		}
	}
	for _, path := range []string{
		"/collections/regions/items/32.16", "/collections/regions", "/collections/Regions/items",
		"/collections/../items", "/collections//items", "/collections/a/b/items", "/items",
	} {
		if id, ok := itemsOf(path); ok {
			t.Errorf("%s: answered here as %q", path, id)
		}
	}
}
