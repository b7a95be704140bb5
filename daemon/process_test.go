package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/orderd/orderd/internal/procmem"
)

var (
	binDir     string
	binDirOnce = sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "orderd-test-bin-")
		binDir = dir
		return dir, err
	})
	buildOrderd   = sync.OnceValues(func() (string, error) { return build("orderd") })
	buildOrderctl = sync.OnceValues(func() (string, error) { return build("orderctl") })
)

// build builds cmd/name into the tests' binary directory.
func build(name string) (string, error) {
	dir, err := binDirOnce()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	out, err := exec.Command("go", "build", "-o", bin, "github.com/orderd/orderd/cmd/"+name).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	return bin, nil
}

// process is orderd run as a child process from the built binary, as it
// runs in production: its memory is its own, and it can be killed.
type process struct {
	*daemonRun
	cmd *exec.Cmd
	// exitChecked: its exit status is no failure of the cleanup's, because
	// it was killed or the test checked it.
	exitChecked bool
}

// startProcess runs the orderd binary with env (HTTP_ADDR is chosen here)
// and stops it with SIGTERM when the test ends. Its log is printed if the
// test fails.
func startProcess(t *testing.T, env map[string]string) *process {
	t.Helper()
	bin, err := buildOrderd()
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	full := testSettings(addr, env)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range full {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, daemonRun: &daemonRun{base: "http://" + addr, logs: &logBuffer{}, done: make(chan error, 1)}}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.cancel = func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if err := p.stop(t); err != nil && !p.exitChecked {
			_ = cmd.Process.Kill()
			t.Errorf("orderd process: %v", err)
		}
		if t.Failed() {
			t.Logf("orderd log:\n%s", p.logs)
		}
	})
	return p
}

// kill ends the process with SIGKILL, as the kernel's OOM killer or a lost
// node would: nothing of it runs after the signal, no shutdown, no commit.
func (p *process) kill(t *testing.T) {
	t.Helper()
	p.exitChecked = true
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill orderd: %v", err)
	}
	_ = p.exited(t)
}

// memory returns the process's resident memory now and at its peak.
func (p *process) memory(t *testing.T) (rss, peak int64) {
	t.Helper()
	rss, peak, err := procmem.Read(p.cmd.Process.Pid)
	if err != nil {
		t.Fatalf("read the process's memory: %v", err)
	}
	return rss, peak
}
