package harness

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/daemon"
)

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StartKafka starts an in-process Kafka cluster, reached over loopback TCP.
func StartKafka() (*kfake.Cluster, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return nil, fmt.Errorf("start in-process kafka: %w", err)
	}
	return c, nil
}

// InProcess is orderd started in this process through daemon.Run, the way
// cmd/orderd starts it.
type InProcess struct {
	Base   string // http://host:port
	cancel context.CancelFunc
	done   chan error
	Log    string // the file its log goes to
}

// startInProcess runs orderd with env over the bench's own environment
// (so BATCH_SIZE, WRITERS... set for the bench reach orderd too). Its log
// goes to a file, named in errors.
func StartInProcess(ctx context.Context, e Env, env map[string]string) (*InProcess, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.CreateTemp("", "orderd-bench-*.log")
	if err != nil {
		return nil, err
	}
	env["HTTP_ADDR"] = addr
	env["LOG_FORMAT"] = "json"
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return e.Getenv(k)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &InProcess{Base: "http://" + addr, cancel: cancel, done: make(chan error, 1), Log: logFile.Name()}
	go func() {
		p.done <- daemon.Run(runCtx, nil, getenv, logFile, logFile)
		logFile.Close()
	}()
	if err := WaitHealthy(ctx, p.Base, 2*time.Minute, p.done); err != nil {
		p.Stop()
		return nil, fmt.Errorf("orderd did not become healthy: %w (log: %s)", err, p.Log)
	}
	return p, nil
}

func (p *InProcess) Stop() error {
	p.cancel()
	select {
	case err := <-p.done:
		return err
	case <-time.After(time.Minute):
		return fmt.Errorf("orderd did not stop within a minute (log: %s)", p.Log)
	}
}

// WaitHealthy polls GET /health every 10ms until it answers 200, failing
// after limit or when exited delivers (the process ended).
func WaitHealthy(ctx context.Context, base string, limit time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(limit)
	for {
		status, _, err := fasthttp.GetTimeout(nil, base+"/health", time.Second)
		if err == nil && status == fasthttp.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no 200 from %s/health within %s", base, limit)
		}
		select {
		case err := <-exited:
			return fmt.Errorf("orderd exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// child is orderd run as a separate process, so its memory can be measured
// on its own.
type Child struct {
	Cmd    *exec.Cmd
	Base   string     // http://host:port
	Log    string     // the file its log goes to
	Exited chan error // receives cmd.Wait()'s result once it has exited
	once   sync.Once
	err    error
}

// BuildOrderd compiles ./cmd/orderd into a temporary directory; bench runs
// from the repository (go run ./bench).
func BuildOrderd(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp("", "orderd-bench-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "orderd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/orderd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/orderd (run bench from the repository root, or pass -orderd): %v\n%s", err, out)
	}
	return bin, nil
}

func StartChild(ctx context.Context, bin string, env map[string]string) (*Child, time.Time, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, time.Time{}, err
	}
	logFile, err := os.CreateTemp("", "orderd-bench-*.log")
	if err != nil {
		return nil, time.Time{}, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "HTTP_ADDR="+addr, "LOG_FORMAT=json")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, start, fmt.Errorf("start %s: %w", bin, err)
	}
	c := &Child{Cmd: cmd, Base: "http://" + addr, Log: logFile.Name(), Exited: make(chan error, 1)}
	go func() { c.Exited <- cmd.Wait(); logFile.Close() }()
	return c, start, nil
}

// stop sends SIGTERM, as an orchestrator would, and waits; SIGKILL after a
// minute.
func (c *Child) Stop() error {
	c.once.Do(func() {
		_ = c.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case c.err = <-c.Exited:
		case <-time.After(time.Minute):
			_ = c.Cmd.Process.Kill()
			c.err = fmt.Errorf("orderd (pid %d) ignored SIGTERM for a minute; killed (log: %s)", c.Cmd.Process.Pid, c.Log)
		}
	})
	return c.err
}

// Scrape reads the named series (without labels) from GET /metrics.
func Scrape(base string, names ...string) (map[string]float64, error) {
	status, body, err := fasthttp.GetTimeout(nil, base+"/metrics", 10*time.Second)
	if err != nil || status != fasthttp.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %d %v", base, status, err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out, nil
}
