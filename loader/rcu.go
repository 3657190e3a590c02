package loader

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// rcuWaiter waits for the BPF programs in flight. Programs run inside RCU
// read-side sections, and the kernel runs synchronize_rcu() before an
// update of a map-in-map returns (maybe_wait_bpf_programs), so writing the
// one slot of an ARRAY_OF_MAPS returns only after every program run that
// started before the write has finished. Table swaps use it before they
// reuse what a retired table generation occupied.
type rcuWaiter struct {
	outer, inner *ebpf.Map
}

func newRCUWaiter() (_ *rcuWaiter, err error) {
	w := &rcuWaiter{}
	defer func() {
		if err != nil {
			_ = w.Close()
		}
	}()
	inner := &ebpf.MapSpec{Name: "rcu_wait_in", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}
	if w.inner, err = ebpf.NewMap(inner); err != nil {
		return nil, fmt.Errorf("create rcu wait map: %w", err)
	}
	outer := &ebpf.MapSpec{Name: "rcu_wait", Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1, InnerMap: inner}
	if w.outer, err = ebpf.NewMap(outer); err != nil {
		return nil, fmt.Errorf("create rcu wait map: %w", err)
	}
	return w, nil
}

// wait returns once every program run that started before the call has
// finished.
func (w *rcuWaiter) wait() error {
	if err := w.outer.Put(uint32(0), w.inner); err != nil {
		return fmt.Errorf("wait for programs in flight: %w", err)
	}
	return nil
}

func (w *rcuWaiter) Close() error {
	var errs []error
	for _, m := range []*ebpf.Map{w.outer, w.inner} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}
