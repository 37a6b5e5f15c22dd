// Package conformance checks registered models against references that
// are independent of the zoo's engine: ONNX Runtime goldens, the model's
// own ONNX export run by the pure-Go ONNX runner, seeded torchvision
// twins, and the ONNX backend node tests.
//
// # Checks
//
// The checks are plain functions returning results, so the test harness
// (Run) and the CLI (`inception conformance`) share them:
//
//   - CheckMetadata: the registry entry against its builder — input shape,
//     class count, RefParams, RefMACs and, when HasAux, RefParamsAux and
//     the aux heads, counted by nn.Lower;
//   - CheckForward: the zoo engine at batch 1 and 2 — finite, [N, classes],
//     and a sample's output independent of its batch;
//   - CheckGolden: the batch-1 output against a committed golden, and the
//     golden's sensitivity (below);
//   - CheckRoundTrip: export → onnxir.DecodeFile → convert.ImportWeights is
//     bit-identical, and onnx.Load on the export agrees with the engine at
//     batch 2;
//   - CheckORT: a committed golden re-produced by live ONNX Runtime;
//   - CheckTorchTwin: scripts/torch_export.py's seeded torchvision export
//     loaded into the zoo twin and into onnx.Load, both against torch;
//   - RunNodeTests: the ONNX backend node tests in scope (NodeTestCases),
//     with package onnx's known-failures list.
//
// CheckModel runs the per-model checks and returns a Report; Run does so
// inside a test. Mismatches are *MismatchError values naming the model,
// the check, the reference and the first failing element; every error
// wraps one of the package's sentinel errors. A missing oracle (ONNX
// Runtime, python3-torch, libonnx-testdata) wraps ErrOracle with how to
// install it and is a failure when CI=true (Status Missing).
//
// # Goldens
//
// testdata/<model>/ holds, in the ONNX test-data layout, output_0.pb (a
// FLOAT TensorProto) and spec.json (Spec): ONNX Runtime's output on our
// ONNX export (GoldenOpset) of the model with zoo.WithSeed(GoldenWeightSeed)
// weights, on the input nn.NewRand(GoldenInputSeed, GoldenInputKey)
// uniform in ±1 at batch 1, with the tolerance (rtol 1e-3, atol 1e-4).
// Inputs of at most MaxStoredInput bytes are stored as input_0.pb as well
// (inception-v1-d2l); larger ones (up to 1 MB each) are regenerated from
// the seed, and LoadGolden checks a stored input against the seed. The
// goldens are embedded (Goldens) so the CLI runs anywhere.
//
// Goldens are never produced by our engine: UpdateGolden runs ONNX Runtime
// (build tag ort, cgo) and is driven by `make goldens`
// (UpdateCommand). It refuses, and CheckGolden fails, a golden whose
// logits minus the classifier bias spread over less than
// MinSpreadFactor·atol: such a golden could not tell a working network
// from a broken one.
//
// Nothing in the module imports this package except tests and
// cmd/inception.
package conformance
