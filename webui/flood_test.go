package webui

import (
	"bufio"
	"encoding/json"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// flood feeds rate drops a second for d into sink from two goroutines (the
// daemon reads the NACL and the SG ring buffers on two), each drop a new
// flow (a port scan), and returns how many it sent.
func flood(sink Sink, rate int, d time.Duration, during func()) uint64 {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sent uint64
	start := time.Now()
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := *sgDrop()
			n := uint64(0)
			// Paced by the clock, not by a ticker: a late wake-up sends
			// what the rate owes by then.
			for {
				el := time.Since(start)
				if el >= d {
					break
				}
				for owed := uint64(el.Seconds() * float64(rate) / 2); n < owed; {
					n++
					ev.SrcPort = 1024 + int(n%60000)
					ev.DstPort = 1 + w*30000 + int(n/60000)%30000
					sink.Drop(&ev)
				}
				time.Sleep(time.Millisecond)
			}
			mu.Lock()
			sent += n
			mu.Unlock()
		}()
	}
	if during != nil {
		during()
	}
	wg.Wait()
	return sent
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// Under 100,000 drops a second the web view's memory and goroutines stay
// bounded, whether a page keeps up or stalls, and the totals stay exact.
func TestFloodIsBounded(t *testing.T) {
	_, s, url := serveFake(t, Options{})
	heap0, g0 := heapInUse(), runtime.NumGoroutine()

	// A page that keeps up, and one that stalls (never reads).
	fast, err := http.Get(url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Body.Close()
	stalled, err := http.Get(url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Body.Close()
	var last batch
	var rows, batches int
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(fast.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		ev := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				ev = e
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok && ev == "batch" {
				var b batch
				if json.Unmarshal([]byte(d), &b) == nil {
					last, rows, batches = b, max(rows, len(b.Entries)), batches+1
				}
			}
		}
	}()

	var maxRows, maxG int
	var maxHeap uint64
	sent := flood(s.Hub(), 100_000, 3*time.Second, func() {
		for range 5 {
			time.Sleep(500 * time.Millisecond)
			maxRows = max(maxRows, s.Hub().pendingRows())
			maxG = max(maxG, runtime.NumGoroutine())
			maxHeap = max(maxHeap, heapInUse())
		}
	})
	time.Sleep(3 * DefaultInterval)
	s.Close()
	<-read
	t.Logf("sent %d drops in 3 s; %d batches of at most %d rows reached the page; heap in use %d KiB before, at most %d KiB during; goroutines %d before, at most %d during",
		sent, batches, rows, heap0>>10, maxHeap>>10, g0, maxG)
	if last.Totals.DropPackets != sent {
		t.Errorf("the last batch's total is %d drops, %d were sent: totals must stay exact", last.Totals.DropPackets, sent)
	}
	// One row per flow up to MaxKeys, then one per instance, kind,
	// direction, protocol and reason: here one.
	if maxRows > DefaultMaxKeys+1 || rows > DefaultMaxKeys+1 {
		t.Errorf("a batch held %d rows (page got %d), want at most %d", maxRows, rows, DefaultMaxKeys+1)
	}
	if maxHeap > heap0+64<<20 {
		t.Errorf("heap grew from %d to %d KiB under the flood", heap0>>10, maxHeap>>10)
	}
	if maxG > g0+16 {
		t.Errorf("goroutines grew from %d to %d under the flood", g0, maxG)
	}
}

// BenchmarkHubDrop is the web view's cost per drop on the daemon's ring
// reader goroutines (a new flow each time: the map is full after MaxKeys).
func BenchmarkHubDrop(b *testing.B) {
	h := NewHub(DefaultInterval, DefaultMaxKeys)
	defer h.Close("done")
	b.RunParallel(func(pb *testing.PB) {
		ev := *sgDrop()
		n := 0
		for pb.Next() {
			n++
			ev.SrcPort = 1024 + n%60000
			h.Drop(&ev)
		}
	})
}

// The page under 100,000 drops a second: it keeps rendering each update,
// its list stays bounded and its totals exact. The render times (arrival of
// an update to the frame after it is painted) are logged for BENCHMARKS.md.
func TestPageUnderFlood(t *testing.T) {
	_, s, url := serveFake(t, Options{})
	b := newBrowser(t)
	b.do(t, 20*time.Second, chromedp.Navigate(url+"/"))
	b.waitJS(t, 10*time.Second, `document.getElementById('conn').textContent === 'live'`)
	// Quiet first: one drop per update, the baseline of the same run.
	ev := *sgDrop()
	for i := range 12 {
		ev.SrcPort = 2000 + i
		s.Hub().Drop(&ev)
		time.Sleep(300 * time.Millisecond)
	}
	quiet := eval[[]float64](t, b, `(() => { const r = window.vpcemu.renders; window.vpcemu.renders = []; return r; })()`)
	sent := flood(s.Hub(), 100_000, 5*time.Second, nil) + 12
	want := "dropped " + itoa(sent) + " packets"
	b.waitJS(t, 10*time.Second, `document.getElementById('totals').textContent.startsWith('`+want+`')`)
	renders := eval[[]float64](t, b, `window.vpcemu.renders`)
	nrows := eval[int](t, b, `document.querySelectorAll('#events tbody tr').length`)
	missed := eval[int](t, b, `window.vpcemu.missed`)
	if nrows > 500 {
		t.Errorf("the list holds %d rows, want at most 500", nrows)
	}
	if len(renders) == 0 {
		t.Fatal("the page rendered no update")
	}
	slices.Sort(renders)
	slices.Sort(quiet)
	t.Logf("quiet: %d updates, render time median %.1f ms, max %.1f ms", len(quiet), quiet[len(quiet)/2], quiet[len(quiet)-1])
	t.Logf("flood of %d drops in 5 s: %d updates rendered, %d skipped; render time median %.1f ms, p95 %.1f ms, max %.1f ms; %d rows listed",
		sent-12, len(renders), missed, renders[len(renders)/2], renders[len(renders)*95/100], renders[len(renders)-1], nrows)
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
