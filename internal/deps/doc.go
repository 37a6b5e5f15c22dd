// Package deps holds tests that pin the behaviour of third-party
// dependencies this module relies on. It has no code.
package deps
