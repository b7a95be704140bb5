package deploy

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// The repository's root, where docker-compose.yml and the Dockerfile are.
const root = ".."

// loadCompose loads the compose files in dir (the project directory) with
// compose-go, the loader `docker compose` itself uses, as
// `docker compose --profile P ... config` would: validated against the
// Compose schema, interpolated, env files read, paths resolved, and checked
// for consistency (every depends_on, volume, secret and network defined, no
// enabled service depending on a disabled one). The environment of the test
// process plays no part, so the answer is the same on every machine.
func loadCompose(t *testing.T, dir string, files []string, profiles ...string) *types.Project {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(dir, f))
	}
	opts, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(dir),
		cli.WithProfiles(profiles),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker compose -f %s --profile %v: %v", strings.Join(files, " -f "), profiles, err)
	}
	return p
}

// composeProfiles are the profiles docker-compose.yml has. A profile added
// to the file without being added here fails TestCompose_LoadsUnderEveryProfile,
// so that what it enables gets a look (and a check, if it needs one).
var composeProfiles = []string{"observability", "producer", "tools"}

func TestCompose_LoadsUnderEveryProfile(t *testing.T) {
	files := []string{"docker-compose.yml"}

	// Every profile the file uses, read from the file itself.
	all := loadCompose(t, root, files, "*")
	var found []string
	for _, s := range all.Services {
		for _, p := range s.Profiles {
			if !slices.Contains(found, p) {
				found = append(found, p)
			}
		}
	}
	slices.Sort(found)
	if !slices.Equal(found, composeProfiles) {
		t.Errorf("docker-compose.yml has the profiles %v; this test knows %v: update composeProfiles", found, composeProfiles)
	}

	for _, profiles := range append([][]string{nil, {"*"}}, wrap(found)...) {
		name := strings.Join(profiles, ",")
		if name == "" {
			name = "none"
		}
		t.Run(name, func(t *testing.T) {
			p := loadCompose(t, root, files, profiles...)
			// Exactly the services without a profile, and those of the
			// profiles asked for.
			for _, s := range all.Services {
				want := len(s.Profiles) == 0 || slices.Contains(profiles, "*") || slices.ContainsFunc(s.Profiles, func(p string) bool { return slices.Contains(profiles, p) })
				if _, got := p.Services[s.Name]; got != want {
					t.Errorf("service %s enabled: %v, want %v", s.Name, got, want)
				}
			}
			checkBindMounts(t, p)
			checkComposeOrderd(t, p)
		})
	}
}

func wrap(ss []string) [][]string {
	var out [][]string
	for _, s := range ss {
		out = append(out, []string{s})
	}
	return out
}

// checkBindMounts fails the test unless every file or folder a service
// bind-mounts from the repository exists: compose would create a missing
// source as an empty folder, and the service would start without its
// configuration.
func checkBindMounts(t *testing.T, p *types.Project) {
	t.Helper()
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("service %s mounts %s at %s: %v", s.Name, v.Source, v.Target, err)
			}
		}
	}
}

// environment is a service's environment, unset variables left out.
func environment(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// checkComposeOrderd checks the orderd service, in every profile: its
// settings, its port, its healthcheck and its stop grace period.
func checkComposeOrderd(t *testing.T, p *types.Project) map[string]string {
	t.Helper()
	s, ok := p.Services["orderd"]
	if !ok {
		t.Fatal("no service orderd")
	}
	env := environment(s)
	cfg := checkSettings(t, "compose service orderd", env)
	port := httpPort(t, cfg)

	// The healthcheck runs orderd's own probe (the image has no curl) on
	// /readyz, at HTTP_ADDR's port, with the binary the image installs.
	hc := s.HealthCheck
	if hc == nil || hc.Disable || len(hc.Test) != 4 || hc.Test[0] != "CMD" || hc.Test[2] != "-probe" {
		t.Fatalf("orderd's healthcheck %+v; want [CMD /usr/local/bin/orderd -probe http://127.0.0.1:%d/readyz]", hc, port)
	}
	if bin := dockerfileEntrypoint(t); hc.Test[1] != bin {
		t.Errorf("orderd's healthcheck runs %s; the image's orderd is %s", hc.Test[1], bin)
	}
	checkProbeURL(t, "compose orderd healthcheck", hc.Test[3], port, checkReadinessPath)

	// Compose waits longer than orderd may take to stop.
	if g := s.StopGracePeriod; g == nil || time.Duration(*g) <= stopTime(cfg) {
		t.Errorf("orderd's stop_grace_period %v; want more than SHUTDOWN_TIMEOUT + SHUTDOWN_GRACE = %s", valueOr(g), stopTime(cfg))
	}

	// The published port is HTTP_ADDR's.
	if !slices.ContainsFunc(s.Ports, func(sp types.ServicePortConfig) bool { return sp.Target == uint32(port) }) {
		t.Errorf("orderd publishes %+v; none is HTTP_ADDR's port %d", s.Ports, port)
	}
	return env
}

// checkProbeURL fails the test unless probe is an http URL on the loopback
// at port whose path passes check.
func checkProbeURL(t *testing.T, where, probe string, port int, check func(*testing.T, string, string)) {
	t.Helper()
	u, err := url.Parse(probe)
	if err != nil || u.Scheme != "http" {
		t.Errorf("%s: probe URL %q: want http://127.0.0.1:%d/...", where, probe, port)
		return
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Errorf("%s: probe URL %q: the probe runs inside the container: dial the loopback", where, probe)
	}
	if u.Port() != strconv.Itoa(port) {
		t.Errorf("%s: probe URL %q: orderd listens on %d (HTTP_ADDR)", where, probe, port)
	}
	check(t, where, u.Path)
}

func TestCompose_PgAdminHasOrderdsDatabaseRegistered(t *testing.T) {
	p := loadCompose(t, root, []string{"docker-compose.yml"}, "tools")
	pg, ok := p.Services["pgadmin"]
	if !ok {
		t.Fatal("no service pgadmin under --profile tools")
	}
	if !slices.Equal(pg.Profiles, []string{"tools"}) {
		t.Errorf("pgadmin's profiles %v, want [tools]: off by default", pg.Profiles)
	}
	if repo, tag, _ := strings.Cut(pg.Image, ":"); repo != "dpage/pgadmin4" || tag == "" || tag == "latest" {
		t.Errorf("pgadmin's image %q: want dpage/pgadmin4 with a pinned tag", pg.Image)
	}
	for _, sp := range pg.Ports {
		if ip := net.ParseIP(sp.HostIP); ip == nil || !ip.IsLoopback() {
			t.Errorf("pgadmin publishes %s:%s: bind it to the loopback only", sp.HostIP, sp.Published)
		}
	}
	env := environment(pg)
	postgres := environment(p.Services["postgres"])
	if _, ok := p.Services["postgres"]; !ok {
		t.Fatal("no service postgres")
	}

	// mounted is the host file mounted at target, read.
	mounted := func(target string) []byte {
		t.Helper()
		for _, v := range pg.Volumes {
			if v.Target == target && v.Type == types.VolumeTypeBind {
				data, err := os.ReadFile(v.Source)
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
		}
		t.Fatalf("pgadmin mounts nothing at %s", target)
		return nil
	}

	// servers.json registers the stack's PostgreSQL with orderd's database
	// and user, and takes the password from the pgpass copy.
	var servers struct {
		Servers map[string]struct {
			Name, Group, Host, MaintenanceDB, Username string
			Port                                       int
			ConnectionParameters                       map[string]any
		}
	}
	serversFile := cmp.Or(env["PGADMIN_SERVER_JSON_FILE"], "/pgadmin4/servers.json")
	dec := json.NewDecoder(strings.NewReader(string(mounted(serversFile))))
	if err := dec.Decode(&servers); err != nil {
		t.Fatalf("%s: %v", serversFile, err)
	}
	if len(servers.Servers) != 1 {
		t.Fatalf("servers.json registers %d servers, want 1", len(servers.Servers))
	}
	var host, user, db, passfile string
	var port int
	for _, s := range servers.Servers {
		host, port, user, db = s.Host, s.Port, s.Username, s.MaintenanceDB
		passfile, _ = s.ConnectionParameters["passfile"].(string)
		if s.Name == "" || s.Group == "" {
			t.Errorf("servers.json: a server needs a Name and a Group (pgAdmin refuses it otherwise)")
		}
	}
	if _, ok := p.Services[host]; !ok {
		t.Errorf("servers.json's Host %q is not a service of the stack", host)
	}
	if port != 5432 || user != postgres["POSTGRES_USER"] || db != postgres["POSTGRES_DB"] {
		t.Errorf("servers.json: %s@%s:%d/%s; postgres has user %s, database %s on 5432",
			user, host, port, db, postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])
	}
	// In pgAdmin's server mode, a file path is relative to the login's
	// storage folder, where the entrypoint copies PGPASS_FILE as .pgpass.
	if passfile != "/.pgpass" || env["PGPASS_FILE"] == "" {
		t.Errorf("servers.json's passfile %q with PGPASS_FILE=%q; want /.pgpass and the pgpass file mounted", passfile, env["PGPASS_FILE"])
	}

	// The pgpass line matches that server, with postgres's password.
	sc := bufio.NewScanner(strings.NewReader(string(mounted(env["PGPASS_FILE"]))))
	matched := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 5 {
			t.Errorf("pgpass line %q: want host:port:database:user:password", line)
			continue
		}
		match := func(field, value string) bool { return field == "*" || field == value }
		if match(f[0], host) && match(f[1], strconv.Itoa(port)) && match(f[2], db) && match(f[3], user) {
			matched = true
			if f[4] != postgres["POSTGRES_PASSWORD"] {
				t.Errorf("pgpass has password %q for %s; postgres's is POSTGRES_PASSWORD=%q", f[4], user, postgres["POSTGRES_PASSWORD"])
			}
		}
	}
	if !matched {
		t.Errorf("pgpass has no line for %s:%d user %s", host, port, user)
	}
	if env["PGADMIN_DEFAULT_EMAIL"] == "" || env["PGADMIN_DEFAULT_PASSWORD"] == "" {
		t.Errorf("pgadmin needs PGADMIN_DEFAULT_EMAIL and PGADMIN_DEFAULT_PASSWORD to start")
	}
	// pgAdmin names the login's storage folder after the address, '@' as
	// '_'; there is its copy of the pgpass file.
	if !strings.Contains(env["PGADMIN_DEFAULT_EMAIL"], "@") {
		t.Errorf("PGADMIN_DEFAULT_EMAIL=%q is not an address", env["PGADMIN_DEFAULT_EMAIL"])
	}
}

func TestCompose_SecuredKafkaOverride(t *testing.T) {
	// The override as an operator uses it: docker-compose.yml beside it,
	// secured-kafka.env copied from the example, the CA and the password in
	// secrets/. In a scratch copy, so the repository stays as it is.
	dir := t.TempDir()
	copyFile := func(from, to string) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(root, from))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, to), data)
	}
	copyFile("docker-compose.yml", "docker-compose.yml")
	copyFile("deploy/compose/secured-kafka.yaml", "deploy/compose/secured-kafka.yaml")
	copyFile("deploy/compose/secured-kafka.env.example", "deploy/compose/secured-kafka.env")
	cert, _ := testCertificate(t)
	write(t, filepath.Join(dir, "deploy/compose/secrets/kafka-ca.crt"), []byte(cert))
	write(t, filepath.Join(dir, "deploy/compose/secrets/kafka-sasl-password"), []byte("secret"))

	p := loadCompose(t, dir, []string{"docker-compose.yml", "deploy/compose/secured-kafka.yaml"})
	env := checkComposeOrderd(t, p)
	s := p.Services["orderd"]

	// The env file's brokers, not the local Kafka; TLS and SCRAM on.
	if b := env["KAFKA_BROKERS"]; b == "" || strings.Contains(b, "kafka:9092") {
		t.Errorf("KAFKA_BROKERS=%q; want the env file's brokers", b)
	}
	if env["KAFKA_TLS"] != "true" || !slices.Contains(saslMechanisms, env["KAFKA_SASL_MECHANISM"]) {
		t.Errorf("KAFKA_TLS=%q KAFKA_SASL_MECHANISM=%q; want TLS and SASL", env["KAFKA_TLS"], env["KAFKA_SASL_MECHANISM"])
	}
	if g := env["KAFKA_GROUP"]; g == "" || g == "orderd" {
		t.Errorf("KAFKA_GROUP=%q; the stack must not join a production orderd's group", g)
	}
	if _, ok := s.DependsOn["kafka"]; ok {
		t.Errorf("orderd still depends on the local kafka")
	}

	// Every file a *_FILE setting names is a secret mounted there.
	targets := map[string]string{}
	for _, sec := range s.Secrets {
		target := sec.Target
		switch {
		case target == "":
			target = "/run/secrets/" + sec.Source
		case !path.IsAbs(target):
			target = "/run/secrets/" + target
		}
		targets[target] = sec.Source
	}
	for name, file := range env {
		if !strings.HasSuffix(name, "_FILE") || file == "" {
			continue
		}
		source, ok := targets[file]
		if !ok {
			t.Errorf("%s=%s: no secret is mounted there (secrets: %v)", name, file, targets)
			continue
		}
		if f := p.Secrets[source].File; f == "" {
			t.Errorf("%s=%s: secret %s has no file", name, file, source)
		} else if _, err := os.Stat(f); err != nil {
			t.Errorf("%s=%s: %v", name, file, err)
		}
	}

	// A missing env file is an error naming it, not a silently plain Kafka.
	if err := os.Remove(filepath.Join(dir, "deploy/compose/secured-kafka.env")); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(dir, "docker-compose.yml"), filepath.Join(dir, "deploy/compose/secured-kafka.yaml")},
		cli.WithWorkingDirectory(dir), cli.WithResolvedPaths(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opts.LoadProject(context.Background()); err == nil || !strings.Contains(err.Error(), "secured-kafka.env") {
		t.Errorf("without secured-kafka.env the override loads (err %v); want an error naming it", err)
	}
}

func write(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The Dockerfile's instructions this test reads. The exec (JSON) form only:
// the distroless image has no shell for the other.
var (
	healthcheckRE = regexp.MustCompile(`(?m)^HEALTHCHECK\s+((?:--\S+\s+)*)CMD\s+(\[.*\])\s*$`)
	entrypointRE  = regexp.MustCompile(`(?m)^ENTRYPOINT\s+(\[.*\])\s*$`)
	exposeRE      = regexp.MustCompile(`(?m)^EXPOSE\s+(\d+)\s*$`)
)

// dockerfile is the Dockerfile's text, continuation lines joined.
func dockerfile(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(data), "\\\n", " ")
}

// dockerfileEntrypoint is the path of orderd in the image.
func dockerfileEntrypoint(t *testing.T) string {
	t.Helper()
	m := entrypointRE.FindAllStringSubmatch(dockerfile(t), -1)
	var argv []string
	if len(m) != 1 || json.Unmarshal([]byte(m[0][1]), &argv) != nil || len(argv) != 1 {
		t.Fatalf("the Dockerfile needs one ENTRYPOINT [\"/path/to/orderd\"]; found %q", m)
	}
	return argv[0]
}

func TestDockerfile_HealthcheckProbesLivez(t *testing.T) {
	text := dockerfile(t)
	m := healthcheckRE.FindAllStringSubmatch(text, -1)
	if len(m) != 1 {
		t.Fatalf("the Dockerfile has %d HEALTHCHECK ... CMD [...] instructions, want 1", len(m))
	}
	var argv []string
	if err := json.Unmarshal([]byte(m[0][2]), &argv); err != nil {
		t.Fatalf("HEALTHCHECK CMD %s: %v", m[0][2], err)
	}
	bin := dockerfileEntrypoint(t)
	if len(argv) != 3 || argv[0] != bin || argv[1] != "-probe" {
		t.Fatalf("HEALTHCHECK CMD %q; want [%q \"-probe\" \"http://127.0.0.1:PORT/livez\"]", argv, bin)
	}
	for _, opt := range strings.Fields(m[0][1]) {
		name, value, _ := strings.Cut(strings.TrimPrefix(opt, "--"), "=")
		if _, err := time.ParseDuration(value); name != "retries" && err != nil {
			t.Errorf("HEALTHCHECK --%s=%s: %v", name, value, err)
		}
	}
	// The image runs orderd with its defaults: HTTP_ADDR's port, EXPOSEd.
	port := httpPort(t, defaults(t))
	if e := exposeRE.FindStringSubmatch(text); e == nil || e[1] != strconv.Itoa(port) {
		t.Errorf("the Dockerfile EXPOSEs %v; orderd listens on %d (HTTP_ADDR's default)", e, port)
	}
	// /livez: an engine that acts on the health status (Swarm replaces an
	// unhealthy task) must not restart orderd for warming up, or for Kafka
	// or PostgreSQL being away.
	checkProbeURL(t, "Dockerfile HEALTHCHECK", argv[2], port, checkLivenessPath)
}
