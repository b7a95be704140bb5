package procmem

import (
	"os"
	"testing"
)

func TestRead_ThisProcess(t *testing.T) {
	rss, peak, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 || peak < rss {
		t.Errorf("RSS %d, peak %d bytes: want at least 1 MiB, and a peak no lower", rss, peak)
	}
	if _, _, err := Read(-1); err == nil {
		t.Error("Read of no process succeeded")
	}
}
