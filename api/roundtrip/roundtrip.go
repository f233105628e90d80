// Package roundtrip checks that values survive their wire encoding: what a client sends, the
// master stores and resends must read back as the same value. The fuzz targets of the
// packages that parse client input share it, in both modules (the API's and the farm's): that
// is why it is a package of the API module and not internal; API users need not import it.
package roundtrip

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// JSON encodes v and decodes the result strictly (unknown fields and trailing data are
// errors, as the API decodes bodies) into a fresh T.
func JSON[T any](v T) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, fmt.Errorf("encode %T: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return out, fmt.Errorf("decode %T from its own encoding %s: %w", v, b, err)
	}
	if dec.More() {
		return out, fmt.Errorf("decode %T from its own encoding %s: trailing data", v, b)
	}
	return out, nil
}

// Check encodes v to JSON and back and reports how the result differs from v, or nil when
// it reads back the same (see Equal).
func Check[T any](v T) error {
	back, err := JSON(v)
	if err != nil {
		return err
	}
	if !Equal(v, back) {
		a, _ := json.Marshal(v)
		b, _ := json.Marshal(back)
		return fmt.Errorf("%T does not survive JSON:\n sent %+v\n got  %+v\n (encodings %s and %s)", v, v, back, a, b)
	}
	return nil
}

// Equal is reflect.DeepEqual, except that a nil and an empty map or slice are the same (JSON's
// omitempty cannot tell them apart, and no reader can either) and times compare with
// time.Time.Equal (a decoded time carries another *Location for the same instant).
func Equal(a, b any) bool {
	return equal(reflect.ValueOf(a), reflect.ValueOf(b))
}

var timeType = reflect.TypeFor[time.Time]()

func equal(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == timeType {
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !equal(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equal(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.String:
		return a.String() == b.String()
	}
	// Funcs, channels and the like never come from JSON.
	return false
}
