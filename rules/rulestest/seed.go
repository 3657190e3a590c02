package rulestest

import (
	"hash/fnv"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
)

// SeedEnv names the environment variable that fixes the seed of every
// randomized test (the NACL and SG differential tests, the evaluator's
// randomized runs and fuzz seed corpora): TEST_SEED=N replays a failed run.
const SeedEnv = "TEST_SEED"

var seed = sync.OnceValues(func() (uint64, error) {
	if s := os.Getenv(SeedEnv); s != "" {
		return strconv.ParseUint(s, 10, 64)
	}
	return rand.Uint64(), nil
})

// Seed returns this run's seed: TEST_SEED when set, else one random value
// shared by every test of the process. A test that fails prints it with the
// command that replays it.
func Seed(tb testing.TB) uint64 {
	tb.Helper()
	s, err := seed()
	if err != nil {
		tb.Fatalf("%s: %v (want an unsigned integer)", SeedEnv, err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("random inputs from %s=%d; replay: %s=%d go test -run '^%s$' ...", SeedEnv, s, SeedEnv, s, tb.Name())
		}
	})
	return s
}

// Rand returns a generator for tb drawn from Seed: each test gets its own
// stream (the seed mixed with the test's name), so one TEST_SEED replays
// every test and adding a test changes no other test's inputs.
func Rand(tb testing.TB) *rand.Rand {
	tb.Helper()
	h := fnv.New64a()
	h.Write([]byte(tb.Name()))
	return rand.New(rand.NewPCG(Seed(tb), h.Sum64()))
}
