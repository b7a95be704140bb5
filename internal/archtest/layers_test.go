package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/orderd/orderd"

// never is one line of docs/ARCHITECTURE.md: the packages matching pkg
// (a path below the module; "x/..." is x and everything below it) never
// depend, directly or through another package, on anything matching one of
// deps (module paths below the module, or third-party import paths).
type never struct {
	pkg  string
	deps []string
	why  string
}

// Infrastructure, named once: what a package that must stay pure never pulls in.
var (
	kafka    = []string{"github.com/IBM/sarama", "github.com/twmb/franz-go/..."}
	postgres = []string{"github.com/jackc/pgx/v5/..."}
	http     = []string{"github.com/valyala/fasthttp/...", "github.com/fasthttp/router"}
	cache    = []string{"github.com/allegro/bigcache/v3"}
	logging  = []string{"github.com/rs/zerolog/..."}
	metrics  = []string{"github.com/prometheus/..."}
	testing_ = []string{"testing", "internal/testenv", "github.com/twmb/franz-go/pkg/kfake"}
)

func all(lists ...[]string) []string { return slices.Concat(lists...) }

var nevers = []never{
	{"order/...", all([]string{"pipeline/...", "stages/...", "storage/...", "server/...", "daemon/...", "dlq/...", "health/..."}, kafka, postgres, http, cache, logging, metrics),
		"the order model is pure: decoding, validation and encoding of untrusted bytes, testable alone"},
	{"pipeline/...", all([]string{"order/...", "stages/...", "storage/...", "server/...", "daemon/...", "dlq/...", "health/..."}, kafka, postgres, http, cache, logging, metrics),
		"the pipeline knows channels, batches, retries and budgets, never orders or the services around them"},
	{"health/...", all([]string{"order/...", "stages/...", "storage/...", "server/...", "daemon/...", "dlq/..."}, kafka, postgres, http, cache),
		"health components are written by everyone, so they depend on none of them: only on pipeline's Retry, whose work they report"},
	{"storage/...", all([]string{"stages/...", "server/...", "daemon/...", "dlq/...", "pipeline/..."}, kafka, http, logging),
		"storage keeps orders and logs nothing: it returns errors and counters, and knows no transport"},
	{"storage", []string{"storage/postgres", "storage/writes", "storage/schema", "storage/reads", "storage/follow", "storage/memory"},
		"the root is the vocabulary every store speaks: its implementations depend on it, never the reverse"},
	{"storage/reads", all([]string{"storage/postgres", "storage/writes", "storage/follow", "storage/memory"}, postgres),
		"the read path reads through the Store interface, so it works the same over PostgreSQL and memory"},
	{"storage/postgres", all([]string{"storage/reads", "storage/follow", "storage/memory"}, cache, metrics),
		"a cache sits in front of a Store, never inside one"},
	{"storage/writes", all([]string{"storage/reads", "storage/follow", "storage/memory"}, cache, metrics),
		"saving batches knows PostgreSQL only"},
	{"storage/follow", []string{"storage/postgres", "storage/writes", "storage/memory"},
		"the follower needs only a connection and the announcements' format"},
	{"storage/schema", []string{module + "/..."}, "the schema is SQL; the store applies it, never the other way round"},
	{"storage/memory", all([]string{"storage/postgres", "storage/writes", "storage/schema", "storage/reads", "storage/follow"}, postgres, cache),
		"the demo's store is a map behind the same interface"},
	{"stages/...", postgres, "stages write through the Store interface; SQL is storage's"},
	{"server/...", []string{"stages/...", "daemon/..."},
		"the HTTP layer reads through interfaces; it never writes orders or consumes Kafka itself"},
	{"stages/...", all([]string{"server/...", "daemon/..."}, http),
		"stages move messages; they serve nothing"},
	{"dlq/...", all([]string{"stages/...", "storage/...", "server/...", "daemon/...", "pipeline/..."}, postgres, http, cache),
		"the dead-letter format and its tools speak only Kafka"},
	{"server/instrument", []string{module + "/..."}, "instrumenting a route knows routes and status codes, never orders, stores or Kafka"},
	{"server/reply", []string{module + "/..."}, "writing a JSON answer needs nothing of orderd's"},
	{"server/admin", all([]string{"storage/...", "stages/...", "health/...", "pipeline/..."}, postgres, cache, logging, metrics),
		"the admin API reads and redrives dead letters through its interface: it knows the dead-letter format, never the orders' store; its routes are counted and traced by the server"},
	{"server/probes", all([]string{"storage/...", "stages/...", "dlq/...", "daemon/..."}, kafka, postgres, cache),
		"the probes read health's registry: readiness is decided from the components, never by calling a store"},
	{"daemon/serve", []string{"daemon/ingest", "daemon/warmup", "daemon/stats", "daemon/kafkaclient", "daemon/demo", "stages/consumer", "storage/follow", "storage/memory"},
		"serving knows the Config and the server's handler; what it reads through, and the parts that fill it, are the daemon's to hand it"},
	{"web/...", []string{module + "/..."}, "the UI's files are embedded as they are; they depend on nothing"},
	{"...", testing_, "no shipped package carries test-only code"},
}

// exempt are packages that may break a never on purpose: a package and
// the dependency it is allowed.
var exempt = []struct{ pkg, dep string }{
	// -demo runs an in-process Kafka cluster, and bench drives orderd in
	// the same process: both are meant to carry kfake.
	{"daemon/...", "github.com/twmb/franz-go/pkg/kfake"},
	{"cmd/orderd", "github.com/twmb/franz-go/pkg/kfake"},
	{"bench/...", "github.com/twmb/franz-go/pkg/kfake"},
	// The tests' own helpers: only tests import them, which the last never
	// holds (they import testing).
	{"internal/testenv", "..."},
	{"storage/internal/storetest", "..."},
	{"stages/internal/stagetest", "..."},
}

func TestNevers(t *testing.T) {
	deps := listDeps(t)
	if len(deps) < 10 {
		t.Fatalf("go list found %d packages; the module's packages are missing", len(deps))
	}
	for _, n := range nevers {
		matched := false
		for pkg, ds := range deps {
			if !matches(module, n.pkg, pkg) {
				continue
			}
			matched = true
			var bad []string
			for _, d := range ds {
				if slices.ContainsFunc(n.deps, func(f string) bool { return matchesDep(f, d) }) && !exempted(pkg, d) {
					bad = append(bad, d)
				}
			}
			if len(bad) > 0 {
				t.Errorf("%s depends on %s, which it never does: %s", strings.TrimPrefix(pkg, module+"/"), strings.Join(bad, ", "), n.why)
			}
		}
		if !matched {
			t.Errorf("no package matches %q: the rule names a package that is gone; update it and docs/ARCHITECTURE.md", n.pkg)
		}
	}
}

// listDeps maps every non-test package of the module to everything it
// depends on, directly or not.
func listDeps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	return deps
}

// matches reports whether pkg is named by pattern, relative to base when
// base is set.
func matches(base, pattern, pkg string) bool {
	if base != "" {
		if pattern == "..." {
			return pkg == base || strings.HasPrefix(pkg, base+"/")
		}
		pattern = base + "/" + pattern
	}
	if p, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == p || strings.HasPrefix(pkg, p+"/")
	}
	return pkg == pattern
}

// matchesDep matches a dependency pattern: a module path when it is written
// below the module, a relative one ("stages/...") taken as below it, or a
// third-party or standard-library path.
func matchesDep(pattern, dep string) bool {
	if strings.HasPrefix(pattern, module) {
		return matches("", pattern, dep)
	}
	first, _, _ := strings.Cut(pattern, "/")
	if strings.Contains(first, ".") || !isModuleDir(first) {
		return matches("", pattern, dep)
	}
	return matches(module, pattern, dep)
}

// isModuleDir says whether a path's first element is one of orderd's own
// top-level folders, rather than the standard library's (net/http, testing).
func isModuleDir(first string) bool {
	switch first {
	case "order", "pipeline", "stages", "storage", "server", "daemon", "dlq", "health", "web", "bench", "cmd", "internal", "feed", "kafkaauth", "api", "deploy":
		return true
	}
	return false
}

func exempted(pkg, dep string) bool {
	return slices.ContainsFunc(exempt, func(e struct{ pkg, dep string }) bool {
		return matches(module, e.pkg, pkg) && (e.dep == "..." || matches("", e.dep, dep))
	})
}
