// Package beamzoo runs the zoo's models as Apache Beam transforms: batch
// classification, embeddings and FID statistics over image sets too large
// for one machine, on any Beam runner — prism in-process, Google Cloud
// Dataflow, Apache Flink, Apache Spark — from one pipeline.
//
// The engine is pure Go, so a pipeline's worker binary builds with
// CGO_ENABLED=0 and needs no native library on the workers.
//
// A pipeline reads images with MatchImages (Beam's fileio: a local glob, or
// gs://bucket/*.jpg where the gcs file system is imported), runs one of
//
//   - Classify: the top-K classes of each image (Classified elements),
//   - Embed: each image's embedding, zoo.Model.Features or a named layer
//     (Embedding elements),
//   - FIDStats: the mean and covariance of the embeddings, combined by a
//     CombineFn whose float64 accumulators merge exactly (Moments),
//
// and writes the results with WriteJSONLines or WriteStatsNPZ (pytorch-fid's
// .npz). Each inference DoFn loads its model once per worker process
// (Model.Load, in Setup; bundles share it) from a weight file or the tag's
// published weights, and batches images within a bundle (Options.BatchSize).
// An image that cannot be read or decoded goes to the transform's
// dead-letter output (Failure) and is counted, never dropped. The Beam
// counters "images", "errors" and "batches" (namespace "inceptionzoo") are
// read from the pipeline's result with Counters.
//
// Types and DoFns are registered in this package's init functions, so a
// worker binary that imports the package can run them. The library's core
// packages never import Beam (internal/deps checks it); this package and the
// CLI's `inception pipeline` command are the only ones that do.
package beamzoo
