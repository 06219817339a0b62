package model

import (
	"crypto/sha256"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strconv"
	"time"
)

// Hash returns a hash of the column values of row, a pointer to the
// model: the version of the row, for an entity tag. It depends on the
// values alone, not on how a database or an instance renders them: a time
// counts as its instant to the microsecond (PostgreSQL keeps no more, and
// the zone it is read in varies), so that the row as written and the same
// row read back, on any instance, hash alike.
func (m *Model) Hash(row any) [sha256.Size]byte {
	v := reflect.ValueOf(row).Elem()
	h := sha256.New()
	var buf, val []byte
	for _, f := range m.Fields {
		if f.GORM == nil {
			continue
		}
		// name NUL length value: no two rows share an encoding.
		val = appendValue(val[:0], v.FieldByIndex(f.Index))
		buf = append(append(buf[:0], f.GORM.DBName...), 0)
		buf = append(binary.AppendUvarint(buf, uint64(len(val))), val...)
		h.Write(buf)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

var valuerType = reflect.TypeFor[driver.Valuer]()

// appendValue appends a canonical encoding of fv to buf.
func appendValue(buf []byte, fv reflect.Value) []byte {
	if fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			return append(buf, 'N')
		}
		fv = fv.Elem()
	}
	if fv.Type() == timeType {
		return appendTime(buf, fv.Interface().(time.Time))
	}
	if fv.Type().Implements(valuerType) || reflect.PointerTo(fv.Type()).Implements(valuerType) && fv.CanAddr() {
		var dv driver.Value
		var err error
		if fv.Type().Implements(valuerType) {
			dv, err = fv.Interface().(driver.Valuer).Value()
		} else {
			dv, err = fv.Addr().Interface().(driver.Valuer).Value()
		}
		if err == nil {
			return appendDriverValue(buf, dv)
		}
	}
	switch fv.Kind() {
	case reflect.String:
		return append(append(buf, 'S'), fv.String()...)
	case reflect.Bool:
		return strconv.AppendBool(append(buf, 'B'), fv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(append(buf, 'I'), fv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(append(buf, 'U'), fv.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.AppendFloat(append(buf, 'F'), fv.Float(), 'g', -1, fv.Type().Bits())
	}
	b, err := json.Marshal(fv.Interface())
	if err != nil {
		return append(buf, '?')
	}
	return append(append(buf, 'J'), b...)
}

// appendDriverValue appends what a driver.Valuer gives: a nullable time
// (gorm.DeletedAt, sql.NullTime), a nullable number or text.
func appendDriverValue(buf []byte, dv driver.Value) []byte {
	switch x := dv.(type) {
	case nil:
		return append(buf, 'N')
	case time.Time:
		return appendTime(buf, x)
	case int64:
		return strconv.AppendInt(append(buf, 'I'), x, 10)
	case float64:
		return strconv.AppendFloat(append(buf, 'F'), x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(append(buf, 'B'), x)
	case string:
		return append(append(buf, 'S'), x...)
	case []byte:
		return append(append(buf, 'X'), x...)
	}
	return append(buf, '?')
}

func appendTime(buf []byte, t time.Time) []byte {
	us := t.Truncate(time.Microsecond)
	return binary.AppendVarint(append(buf, 'T'), us.Unix()*1e6+int64(us.Nanosecond()/1e3))
}
