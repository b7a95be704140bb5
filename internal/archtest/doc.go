// Package archtest holds orderd's layering as a test: which packages may
// depend on which, checked against `go list -deps` on every run of the suite,
// so that docs/ARCHITECTURE.md's "never imports" lines stay true. It has no
// code of its own.
package archtest
