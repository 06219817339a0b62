package typeschema

import (
	"math"
	"reflect"
)

// IsInt reports whether t is of an integer kind.
func IsInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func isUnsigned(k reflect.Kind) bool {
	switch k {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// IntRange is the range of values of the integer kind k: what the binder
// accepts for it, and what the document shows when a JSON number holds
// its bounds exactly.
func IntRange(k reflect.Kind) (lo int64, hi uint64) {
	switch k {
	case reflect.Int8:
		return math.MinInt8, math.MaxInt8
	case reflect.Int16:
		return math.MinInt16, math.MaxInt16
	case reflect.Int32:
		return math.MinInt32, math.MaxInt32
	case reflect.Int:
		return math.MinInt, math.MaxInt
	case reflect.Int64:
		return math.MinInt64, math.MaxInt64
	case reflect.Uint8:
		return 0, math.MaxUint8
	case reflect.Uint16:
		return 0, math.MaxUint16
	case reflect.Uint32:
		return 0, math.MaxUint32
	case reflect.Uint, reflect.Uintptr:
		return 0, math.MaxUint
	}
	return 0, math.MaxUint64
}

// documentedRange is k's range as minimum and maximum, for kinds whose
// bounds a double holds exactly (up to 32 bits). The bounds of the 64-bit
// kinds, written as doubles, would be rounded past the range (2^63-1 is
// written 9223372036854775808), so an int64 has none and a uint64 only
// its minimum 0; the binder refuses what they cannot hold all the same.
func documentedRange(k reflect.Kind) (lo, hi float64, exact bool) {
	switch k {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		l, h := IntRange(k)
		return float64(l), float64(h), true
	}
	return 0, 0, false
}
