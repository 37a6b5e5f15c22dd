package beamzoo

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
)

// Counters returns the committed values of the counters this package
// updates (CounterImages, CounterErrors, CounterBatches, CounterPartials),
// summed over the transforms of the pipeline, by name. A counter never
// incremented is absent. Runners that report no metrics (some job servers
// do not) give an empty map.
func Counters(r beam.PipelineResult) map[string]int64 {
	out := map[string]int64{}
	if r == nil {
		return out
	}
	res := r.Metrics().Query(func(sr metrics.SingleResult) bool { return sr.Namespace() == Namespace })
	for _, c := range res.Counters() {
		out[c.Name()] += c.Result()
	}
	return out
}
