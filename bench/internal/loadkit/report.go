package loadkit

import (
	"fmt"
	"slices"
	"time"
)

// Median returns the median of xs, 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Ms formats d in milliseconds, to two decimals, as the reports do.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// Percentile returns the value below which p (0 to 100) of sorted fell:
// the element at (len-1)·p/100, rounded down; the zero value for none.
func Percentile[T any](sorted []T, p float64) T {
	if len(sorted) == 0 {
		var zero T
		return zero
	}
	return sorted[int(float64(len(sorted)-1)*p/100)]
}
