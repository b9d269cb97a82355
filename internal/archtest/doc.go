// Package archtest holds no code, only tests of rules about the repository
// as a whole (see docs/architecture.md): wiring by plain calls (no init, no
// package-level function variables), small types, and no reference to a
// document kept outside the repository.
package archtest
