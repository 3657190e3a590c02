// Package testenv gives tests throwaway topologies with unique names, torn
// down in t.Cleanup, and the privileged-test guard. Imported by tests only.
package testenv
