package easy_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// A field is documented and bound as encoding/json writes and reads it:
// a nil []byte is null, so its schema is nullable; a ,string number or
// bool is a string holding its JSON, so "5" fills an int and 5 does not.
func TestAnswersAsEncodingJSONWritesThem(t *testing.T) {
	type Blob struct {
		Data  []byte   `json:"data"`
		Kept  []byte   `json:"kept,omitempty"`
		Count int      `json:"count,string"`
		Small uint8    `json:"small,string"`
		Ratio *float64 `json:"ratio,string"`
		On    bool     `json:"on,string"`
	}
	app, _ := newApp(t)
	easy.Post(app, "/blob", func(ctx context.Context, in *Blob) (*Blob, error) { return in, nil })
	srv := testkit.Serve(t, app)

	var doc any
	if err := json.Unmarshal(testkit.Get(t, srv, "/openapi.json"), &doc); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"data":  `{"format":"base64","type":["string","null"]}`,
		"kept":  `{"format":"base64","type":"string"}`,
		"count": `{"pattern":"^-?(0|[1-9][0-9]*)$","type":"string"}`,
		"small": `{"pattern":"^-?(0|[1-9][0-9]*)$","type":"string"}`,
		"ratio": `{"pattern":"^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?$","type":["string","null"]}`,
		"on":    `{"pattern":"^(true|false)$","type":"string"}`,
	} {
		got, _ := json.Marshal(at(doc, "components", "schemas", "Blob", "properties", name))
		if string(got) != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}

	testkit.Do(t, srv, "POST", "/blob", `{}`).Expect(t, 200, `{"data":null,"count":"0","small":"0","ratio":null,"on":"false"}`)
	testkit.Do(t, srv, "POST", "/blob", `{"data":"aGk=","count":"-5","small":"255","ratio":"0.5","on":"true"}`).Expect(t, 200,
		`{"data":"aGk=","count":"-5","small":"255","ratio":"0.5","on":"true"}`)
	testkit.Do(t, srv, "POST", "/blob", `{"count":5,"small":"256","ratio":"x","on":"yes"}`).Expect(t, 422, `{"detail":[`+
		`{"type":"string_type","loc":["body","count"],"msg":"Input should be a valid string","input":5},`+
		`{"type":"less_than_equal","loc":["body","small"],"msg":"Input should be less than or equal to 255","input":"256","ctx":{"le":255}},`+
		`{"type":"float_parsing","loc":["body","ratio"],"msg":"Input should be a valid number, unable to parse string as a number","input":"x"},`+
		`{"type":"bool_parsing","loc":["body","on"],"msg":"Input should be a valid boolean, unable to interpret input","input":"yes"}]}`)
	testkit.Do(t, srv, "POST", "/blob", `{"count":"1e2"}`).Expect(t, 422,
		`{"detail":[{"type":"int_parsing","loc":["body","count"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"1e2"}]}`)
}
