package daemon

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/orderd/orderd/internal/testenv"
)

// The flags' defaults come from ORDERD_CHAOS_DURATION and
// ORDERD_CHAOS_SEEDS when they are set: go test ./... passes a flag to
// every package's test binary, and only this one knows these, so a run of
// the whole module (CI's) sets them through the environment instead.
var (
	chaosDuration = flag.Duration("chaos.duration", envDuration("ORDERD_CHAOS_DURATION", 20*time.Second), "how long TestChaos injects faults, at least: it goes on until it has injected each kind of fault once (default from ORDERD_CHAOS_DURATION)")
	chaosSeeds    = flag.String("chaos.seeds", envString("ORDERD_CHAOS_SEEDS", "0"), "comma-separated seeds of TestChaos's workload and fault schedule, one run each; 0 draws a fresh one (default from ORDERD_CHAOS_SEEDS)")
)

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// envDuration is name's duration, or def when it is unset. A value that is
// not a duration stops the test binary: a CI run that meant to run longer
// must not quietly run the default.
func envDuration(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		panic(fmt.Sprintf("%s=%q: %v", name, v, err))
	}
	return d
}

// chaosFault is one fault TestChaos injected, and how long orderd took to
// be healthy everywhere again once it ended.
type chaosFault struct {
	at, lasted, recovery time.Duration
	what                 string
	recovered            bool
}

func (f chaosFault) String() string {
	if !f.recovered {
		return fmt.Sprintf("at %6s: %-18s lasted %6s, not healthy everywhere after it", f.at, f.what, f.lasted)
	}
	return fmt.Sprintf("at %6s: %-18s lasted %6s, healthy everywhere %6s later", f.at, f.what, f.lasted, f.recovery)
}

// Three replicas, a producer of valid, broken, duplicate and conflicting
// messages, and a fault schedule drawn from a seed: replicas killed and
// restarted, SIGTERMed and restarted, PostgreSQL cut, the broker restarted.
// The first four faults are the four kinds in an order the seed draws, so
// every run reaches each of them however short -chaos.duration is; later
// ones are drawn at random. At the end every promise holds: each valid
// order stored once, each broken or conflicting one dead-lettered, the
// group committed to the end, every replica healthy and serving every
// order. A failing run prints its seed: go test ./daemon -run TestChaos
// -chaos.seeds=N replays it. CI runs a few fixed seeds as well as fresh
// ones, for longer (.ci/run).
func TestChaos(t *testing.T) {
	// Each seed is a test of its own, beside the others (see chaos).
	t.Parallel()
	for _, s := range strings.Split(*chaosSeeds, ",") {
		seed, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			t.Fatalf("-chaos.seeds=%s: %v", *chaosSeeds, err)
		}
		if seed == 0 {
			seed = uint64(time.Now().UnixNano())
		}
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { chaos(t, seed) })
	}
}

func chaos(t *testing.T, seed uint64) {
	// Three replicas of smaller pools than the tests' (10 connections each,
	// see maxInstances): with their test's own, two instances' worth. Their
	// writes come at 400 orders a second, well within one writer.
	schedule(t, load{instances: 2, long: true})
	t.Logf("chaos seed %d, for %s (replay: go test ./daemon -run TestChaos -chaos.seeds=%d)", seed, *chaosDuration, seed)
	// The schedule so far, printed if the run fails: which fault it did
	// not recover from, and what came before.
	var faults []chaosFault
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range faults {
				t.Log(f)
			}
			t.Logf("chaos failed; replay with -chaos.seeds=%d -chaos.duration=%s", seed, *chaosDuration)
		}
	})
	rnd := rand.New(rand.NewPCG(seed, 99))

	broker := testenv.RestartableKafka(t, kfake.SeedTopics(6, "orders"))
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(broker.Addrs(), ","), "DATABASE_URL": proxiedURL,
		"KAFKA_HEARTBEAT": "500ms", "KAFKA_SESSION": "3s", "RETRY_MAX_BACKOFF": "1s",
		"WRITERS": "1", "READ_CONCURRENCY": "1", "LIST_CONCURRENCY": "1",
	}
	replicas := make([]*process, 3)
	for i := range replicas {
		replicas[i] = startProcess(t, env)
	}
	healthy := func() {
		for _, r := range replicas {
			r.waitHealthy(t)
		}
	}
	healthy()

	const rate = 400 // orders a second
	w := newWorkload(seed, int(chaosDuration.Seconds()*rate), 0.02, 0.01, 0.005)
	produced := w.produceAll(t, broker.Addrs(), rate)

	start := time.Now()
	const kinds = 4
	firstKinds := rnd.Perm(kinds)
	// The schedule's pauses and outages are what the seed draws: the
	// sleeps below are the faults' own lengths, not waits for anything.
	for n := 0; n < kinds || time.Since(start) < *chaosDuration; n++ {
		time.Sleep(time.Duration(1000+rnd.IntN(3000)) * time.Millisecond)
		f := chaosFault{at: time.Since(start).Round(100 * time.Millisecond)}
		outage := time.Duration(500+rnd.IntN(2500)) * time.Millisecond
		began := time.Now()
		i, kind := rnd.IntN(len(replicas)), rnd.IntN(kinds)
		if n < kinds {
			kind = firstKinds[n]
		}
		switch kind {
		case 0:
			f.what = fmt.Sprintf("SIGKILL replica %d", i)
			replicas[i].kill(t)
			time.Sleep(outage)
			replicas[i] = startProcess(t, env)
		case 1:
			f.what = fmt.Sprintf("SIGTERM replica %d", i)
			if err := replicas[i].stop(t); err != nil {
				t.Fatalf("replica %d after SIGTERM: %v", i, err)
			}
			time.Sleep(outage)
			replicas[i] = startProcess(t, env)
		case 2:
			f.what = "PostgreSQL cut"
			proxy.Cut()
			time.Sleep(outage)
			proxy.Restore()
		case 3:
			f.what = "broker restart"
			broker.Stop()
			time.Sleep(outage)
			broker.Start()
		}
		f.lasted = time.Since(began).Round(10 * time.Millisecond)
		faults = append(faults, f)
		healthy()
		last := &faults[len(faults)-1]
		last.recovery, last.recovered = time.Since(began.Add(f.lasted)).Round(10*time.Millisecond), true
	}
	<-produced
	runs := make([]*daemonRun, len(replicas))
	for i, r := range replicas {
		runs[i] = r.daemonRun
	}
	w.verify(t, dbURL, broker.Addrs(), runs...)

	var worst time.Duration
	for _, f := range faults {
		t.Log(f)
		worst = max(worst, f.recovery)
	}
	dead := testenv.Sum(testenv.EndOffsets(t, broker.Addrs(), "orders.dlq"))
	t.Logf("%d faults in %s; %d valid orders stored once, %d exact copies, %d condemned messages, %d dead letters (redeliveries included); slowest recovery %s",
		len(faults), time.Since(start).Round(time.Second), len(w.valid), w.dups, len(w.condemned), dead, worst)
	if code, _ := runs[0].health(t); code != http.StatusOK {
		t.Fatalf("replica 0 unhealthy at the end: %d", code)
	}
}
