// Package statedict reads state dicts from PyTorch checkpoints and
// safetensors files: the weights of a model as named float32 tensors,
// without Python.
//
// # Formats
//
// Read and ReadFile detect the format by content (Detect), never by file
// name:
//
//   - TorchZip, what torch.save writes since PyTorch 1.6: a zip archive
//     with <archive>/data.pkl (the pickled object) and one
//     <archive>/data/<key> entry per storage. Entries may be stored (as
//     torch writes them) or deflated; every entry's size and CRC-32 are
//     verified.
//   - TorchLegacy, torch.save(..., _use_new_zipfile_serialization=False)
//     and PyTorch before 1.6: five pickles (magic number, protocol
//     version, sys_info, the object, the storage keys) followed by each
//     storage as an 8-byte element count and its raw bytes.
//   - Safetensors: an 8-byte little-endian header length, a JSON header
//     {name: {dtype, shape, data_offsets}, "__metadata__": {...}} and the
//     tensor data, which the tensors must tile exactly (as the Rust
//     reference requires).
//   - ONNX models are recognised only to be refused with ErrUnsupported:
//     package onnx reads them.
//
// Pickles of protocols 0 to 5 are read. The state dict is the file's
// top-level object when that is a dict of tensors, otherwise its
// "state_dict" or "model" entry (StateDict.Root says which), so training
// checkpoints that store optimizer state, epochs and plain Python values
// beside the weights are read too. When every key starts with "module."
// (torch.nn.DataParallel) the prefix is removed and reported in
// StateDict.StrippedPrefix.
//
// float32, float16, bfloat16 and float64 tensors are converted to float32
// (exactly, except that float64 rounds to nearest even); integer and bool
// tensors, such as BatchNorm's num_batches_tracked, are listed in
// StateDict.Skipped and not read. Views are supported: a tensor with a
// storage offset and arbitrary strides (transposes, slices, expanded
// dimensions with stride 0) is gathered into row-major order after every
// element index it touches has been checked against its storage. A
// storage shared by several tensors is read once. Non-finite values (NaN,
// ±Inf) are refused as ErrFormat, as package onnx does.
//
// # Untrusted input
//
// Reading a hostile file never panics and never executes anything. The
// pickle virtual machine in this package builds only inert values and
// resolves GLOBAL opcodes against a fixed allowlist (AllowedGlobals):
//
//	collections.OrderedDict
//	torch._utils._rebuild_tensor, torch._utils._rebuild_tensor_v2
//	torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state
//	torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage
//
// Any other global — os.system, builtins.eval, a pickled nn.Module class —
// fails with a *GlobalError naming it (errors.Is ErrForbidden). Opcodes
// state dicts never use (NEWOBJ, INST, EXT*, sets, out-of-band buffers)
// are refused as ErrUnsupported.
//
// Every length, offset, count and shape is checked against the bytes that
// remain and against Limits before anything is allocated: the pickle's
// size, opcode count, memo size and nesting depth; the number of tensors,
// zip entries and dimensions; the elements of a tensor and the float32
// bytes of the whole result; the safetensors header. Zero fields of
// Limits take DefaultLimits, which fit the largest Inception checkpoints
// with room to spare. Exceeding one is an error wrapping ErrLimit.
//
// # Errors
//
// Every error for bad input wraps exactly one of ErrFormat (malformed:
// truncation, inconsistent sizes, out-of-range views, checksum mismatch,
// exceeded limits) or ErrUnsupported (well-formed but not read here:
// TorchScript, big-endian files, complex or quantized dtypes, forbidden
// globals); test with errors.Is. Typed errors say where: *PickleError (the
// pickle, byte offset and opcode), *EntryError (a zip entry, a legacy
// storage, the safetensors header), *TensorError (a state-dict key) and
// *GlobalError (a refused global). I/O errors of the underlying reader
// are returned wrapped as they are.
//
// Read is safe for concurrent use. It reads float32 storages straight
// into the float32 slices of the result (on little-endian hosts) and
// converts the other dtypes through one 256 KiB buffer, so reading a
// checkpoint costs about one pass over its bytes; an Inception-v3 state
// dict (109 MB) takes about twice the CPU time of os.ReadFile of the file.
package statedict
