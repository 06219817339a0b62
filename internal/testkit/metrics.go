package testkit

import dto "github.com/prometheus/client_model/go"

// A Sample is one series of a Prometheus metric family, as a test reads
// it: its labels, and its value (a counter's or a gauge's value, a
// histogram's count).
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Samples returns the series of the family called name among families
// (what a registry's Gather or a parsed scrape gives), none when there is
// no such family.
func Samples(families []*dto.MetricFamily, name string) []Sample {
	var out []Sample
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			s := Sample{Labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.Labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Counter != nil:
				s.Value = m.Counter.GetValue()
			case m.Gauge != nil:
				s.Value = m.Gauge.GetValue()
			case m.Histogram != nil:
				s.Value = float64(m.Histogram.GetSampleCount())
			}
			out = append(out, s)
		}
	}
	return out
}
