package awsshape

import (
	"encoding/json"
	"encoding/xml"
	"time"
)

// List is an EC2 list: in XML a wrapper element whose entries are <item>
// elements (API-9; an empty list is an empty wrapper unless the field is
// omitempty), in JSON an array ([] when empty).
type List[T any] []T

// MarshalXML writes start, one <item> per element, and the end element.
func (l List[T]) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	item := xml.StartElement{Name: xml.Name{Local: "item"}}
	for i := range l {
		if err := e.EncodeElement(&l[i], item); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// UnmarshalXML reads the <item> children of the wrapper.
func (l *List[T]) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*l = List[T]{}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "item" {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			var v T
			if err := d.DecodeElement(&v, &t); err != nil {
				return err
			}
			*l = append(*l, v)
		case xml.EndElement:
			return nil
		}
	}
}

// MarshalJSON writes [] for an empty list, as the CLI prints one.
func (l List[T]) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]T(l))
}

// Time is an EC2 timestamp: ISO 8601 in UTC with milliseconds
// (2024-05-01T12:00:00.000Z, API-9) in XML and JSON alike.
type Time struct{ time.Time }

// TimeFormat is how Time is written.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// NewTime returns t as a *Time (nil for the zero time).
func NewTime(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	return &Time{t.UTC()}
}

// MarshalText writes the timestamp.
func (t Time) MarshalText() ([]byte, error) { return []byte(t.UTC().Format(TimeFormat)), nil }

// MarshalJSON writes the timestamp as a JSON string (time.Time's own
// method would write nanoseconds).
func (t Time) MarshalJSON() ([]byte, error) {
	b, _ := t.MarshalText()
	return json.Marshal(string(b))
}

// UnmarshalJSON reads a JSON string as UnmarshalText does.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return t.UnmarshalText([]byte(s))
}

// UnmarshalText reads RFC 3339 with or without fractional seconds (the CLI
// prints +00:00 offsets, the XML Z).
func (t *Time) UnmarshalText(b []byte) error {
	v, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// Bool returns a pointer to b.
func Bool(b bool) *bool { return &b }

// Int returns a pointer to i as an EC2 Integer.
func Int(i int) *int32 { v := int32(i); return &v }

// Long returns a pointer to i as an EC2 Long.
func Long(i int64) *int64 { return &i }
