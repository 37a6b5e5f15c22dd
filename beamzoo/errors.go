package beamzoo

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them (or an
// error of the zoo, preprocess or metrics packages) with the path, model or
// sizes involved; test them with errors.Is.
var (
	// ErrConfig reports options that cannot be run: an empty model name,
	// Weights together with Pretrained, a batch size or top-K out of range.
	ErrConfig = errors.New("beamzoo: invalid configuration")
	// ErrSeeded reports a model that would run on seeded (untrained)
	// weights without Model.AllowSeeded.
	ErrSeeded = errors.New("beamzoo: model has seeded weights")
	// ErrTooLarge reports a weight file over Model.MaxWeightsBytes. (An
	// image over preprocess.MaxBytes or MaxPixels is a Failure wrapping
	// preprocess.ErrTooLarge.)
	ErrTooLarge = errors.New("beamzoo: file too large")
	// ErrDigest reports a weight file whose SHA-256 is not Model.WeightsSHA256.
	ErrDigest = errors.New("beamzoo: weight file digest mismatch")
	// ErrLayer reports an embedding layer the model does not have, or one
	// whose output is not a vector per image.
	ErrLayer = errors.New("beamzoo: embedding layer")
)
