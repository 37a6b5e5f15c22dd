// Package deps holds tests that pin the behaviour of third-party
// dependencies this module relies on, and that the library core does not
// import what only commands need (Beam, gRPC, Prometheus, gorgonia). It has
// no code.
package deps
