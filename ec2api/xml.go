package ec2api

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// xmlns is the namespace of every response (API-7: the model's, with the
// trailing slash AWS and moto send).
const xmlns = "http://ec2.amazonaws.com/doc/" + modelAPIVersion + "/"

// marshalResponse writes <Action>Response with requestId and the fields of
// body (a struct or pointer to one, nil for none) as its children (API-7..9).
func marshalResponse(action, requestID string, body any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: xmlns}}}
	if err := enc.EncodeToken(start); err != nil {
		return nil, err
	}
	if err := enc.EncodeElement(requestID, xml.StartElement{Name: xml.Name{Local: "requestId"}}); err != nil {
		return nil, err
	}
	if body != nil {
		v := reflect.ValueOf(body)
		for v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("xml"), ",")
			if name == "" || name == "-" {
				continue
			}
			fv := v.Field(i)
			if opts == "omitempty" && isEmpty(fv) {
				continue
			}
			if err := enc.EncodeElement(fv.Interface(), xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
				return nil, err
			}
		}
	}
	if err := enc.EncodeToken(start.End()); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// isEmpty is encoding/xml's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// marshalError writes the error document of API-11 (RequestID, capital ID).
func marshalError(e *Error, requestID string) []byte {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	buf.WriteString("<Response><Errors><Error><Code>")
	xml.EscapeText(&buf, []byte(e.Code))
	buf.WriteString("</Code><Message>")
	xml.EscapeText(&buf, []byte(e.Message))
	buf.WriteString("</Message></Error></Errors><RequestID>")
	xml.EscapeText(&buf, []byte(requestID))
	buf.WriteString("</RequestID></Response>")
	return buf.Bytes()
}

func writeXML(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
