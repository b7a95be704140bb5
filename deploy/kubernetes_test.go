package deploy

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/orderd/orderd/daemon/config"
)

// manifests is what kustomize renders from one kustomization, each object
// decoded into its Kubernetes type.
type manifests struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	configMaps  []corev1.ConfigMap
	budgets     []policyv1.PodDisruptionBudget
}

// render builds the kustomization in dir with kustomize's own Go API (what
// `kubectl apply -k` runs) and decodes every object strictly, as the API
// server would: an unknown or misspelt field, a duplicate field, or a kind
// this test does not expect fails it.
func render(t *testing.T, dir string) manifests {
	t.Helper()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var m manifests
	for _, r := range resources.Resources() {
		data, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		id := r.GetGvk().ApiVersion() + " " + r.GetKind()
		where := fmt.Sprintf("%s: %s %q", dir, id, r.GetName())
		switch id {
		case "apps/v1 Deployment":
			m.deployments = append(m.deployments, decodeStrict[appsv1.Deployment](t, where, data))
		case "v1 Service":
			m.services = append(m.services, decodeStrict[corev1.Service](t, where, data))
		case "v1 ConfigMap":
			m.configMaps = append(m.configMaps, decodeStrict[corev1.ConfigMap](t, where, data))
		case "policy/v1 PodDisruptionBudget":
			m.budgets = append(m.budgets, decodeStrict[policyv1.PodDisruptionBudget](t, where, data))
		default:
			t.Errorf("%s: a kind this test does not know; decode and check it here", where)
		}
	}
	if len(m.deployments) != 1 || len(m.services) != 1 || len(m.configMaps) != 1 || len(m.budgets) != 1 {
		t.Fatalf("%s: %d Deployments, %d Services, %d ConfigMaps, %d PodDisruptionBudgets; want one of each",
			dir, len(m.deployments), len(m.services), len(m.configMaps), len(m.budgets))
	}
	return m
}

// decodeStrict decodes data into a T the way the API server does
// (sigs.k8s.io/json, case-sensitive), failing on any field T does not have.
func decodeStrict[T any](t *testing.T, where string, data []byte) T {
	t.Helper()
	var v T
	strict, err := kjson.UnmarshalStrict(data, &v)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	for _, e := range strict {
		t.Errorf("%s: %v", where, e)
	}
	return v
}

func TestKubernetes_Base(t *testing.T) {
	m := render(t, "kubernetes")
	checkKubernetes(t, "kubernetes", m)
	if d := m.deployments[0]; d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("the base runs %v replicas, want 3", d.Spec.Replicas)
	}
}

func TestKubernetes_SecuredKafkaOverlay(t *testing.T) {
	const dir = "kubernetes/overlays/secured-kafka"
	m := render(t, dir)
	checkKubernetes(t, dir, m)
	// SCRAM-SHA-512 over TLS, the CA and the password from files (which
	// checkKubernetes found mounted from Secrets).
	overlay := m.configMaps[0].Data
	for name, want := range map[string]string{
		"KAFKA_TLS":                "true",
		"KAFKA_SASL_MECHANISM":     "SCRAM-SHA-512",
		"KAFKA_TLS_CA_FILE":        "a file",
		"KAFKA_SASL_PASSWORD_FILE": "a file",
	} {
		if got := overlay[name]; got == "" || (want != "a file" && got != want) {
			t.Errorf("%s: %s=%q, want %s", dir, name, got, want)
		}
	}
	// The overlay adds to the base's settings and mounts; it replaces none.
	base := render(t, "kubernetes/base")
	for name, value := range base.configMaps[0].Data {
		if _, ok := overlay[name]; !ok {
			t.Errorf("%s: the ConfigMap lost the base's %s=%s", dir, name, value)
		}
	}
	mounts := m.deployments[0].Spec.Template.Spec.Containers[0].VolumeMounts
	for _, bm := range base.deployments[0].Spec.Template.Spec.Containers[0].VolumeMounts {
		if !slices.ContainsFunc(mounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == bm.MountPath }) {
			t.Errorf("%s: the container lost the base's mount %s", dir, bm.MountPath)
		}
	}
}

// checkKubernetes checks what the base and every overlay must keep, and
// returns the configuration orderd runs with in it.
func checkKubernetes(t *testing.T, dir string, m manifests) config.Config {
	t.Helper()
	d := m.deployments[0]
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 || pod.Containers[0].Name != "orderd" {
		t.Fatalf("%s: want exactly one container, orderd", dir)
	}
	c := pod.Containers[0]
	where := dir + ": container orderd"

	// The environment: the ConfigMap's keys and any env entries, every one a
	// setting orderd knows with a value it accepts, no secret among them.
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil && from.ConfigMapRef.Name == m.configMaps[0].Name && from.Prefix == "":
			maps.Copy(env, m.configMaps[0].Data)
		default:
			t.Errorf("%s: envFrom %+v: want only the ConfigMap %s; secrets are mounted as files (NAME_FILE)", where, from, m.configMaps[0].Name)
		}
	}
	if len(m.configMaps[0].BinaryData) > 0 {
		t.Errorf("%s: the ConfigMap has binaryData; orderd's settings are text", dir)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("%s: env %s comes from %+v; secrets are mounted as files (NAME_FILE), settings live in the ConfigMap", where, e.Name, e.ValueFrom)
		}
		env[e.Name] = e.Value
	}
	for name := range secretValues {
		if _, ok := env[name]; ok {
			t.Errorf("%s: %s is a secret: mount it from a Secret and set %s_FILE instead", where, name, name)
		}
	}
	cfg := checkSettings(t, where, env)

	// Every file a *_FILE setting names is in a volume mounted from a
	// Secret, and is one of its files.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for name, file := range env {
		if !strings.HasSuffix(name, "_FILE") || file == "" {
			continue
		}
		checkMountedSecretFile(t, where, name, file, c.VolumeMounts, volumes)
	}

	// The port: HTTP_ADDR's, named "http", probed, scraped and served.
	port := httpPort(t, cfg)
	named := map[string]int32{}
	for _, p := range c.Ports {
		named[p.Name] = p.ContainerPort
	}
	if named["http"] != int32(port) {
		t.Errorf("%s: container port http is %d, HTTP_ADDR=%s listens on %d", where, named["http"], cfg.HTTPAddr, port)
	}
	resolve := func(what string, p intstr.IntOrString) {
		t.Helper()
		n := p.IntVal
		if p.Type == intstr.String {
			var ok bool
			if n, ok = named[p.StrVal]; !ok {
				t.Errorf("%s: %s names port %q, which the container does not have", where, what, p.StrVal)
				return
			}
		}
		if n != int32(port) {
			t.Errorf("%s: %s is port %d, orderd listens on %d (HTTP_ADDR=%s)", where, what, n, port, cfg.HTTPAddr)
		}
	}

	// Probes: startup and readiness wait for the warm-up, liveness never
	// does; each is a path orderd's real handler serves.
	probe := func(what string, p *corev1.Probe) *corev1.HTTPGetAction {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s", where, what)
			return nil
		}
		if p.HTTPGet.Scheme != "" && p.HTTPGet.Scheme != corev1.URISchemeHTTP {
			t.Errorf("%s: %s uses %s; orderd serves plain HTTP", where, what, p.HTTPGet.Scheme)
		}
		resolve(what, p.HTTPGet.Port)
		return p.HTTPGet
	}
	if g := probe("startupProbe", c.StartupProbe); g != nil {
		checkReadinessPath(t, where+": startupProbe", g.Path)
		// The warm-up takes seconds per million orders, but retries for as
		// long as PostgreSQL is away: give it minutes.
		if window := c.StartupProbe.PeriodSeconds * c.StartupProbe.FailureThreshold; window < 300 {
			t.Errorf("%s: the startupProbe gives the warm-up %ds (periodSeconds x failureThreshold); want at least 300", where, window)
		}
	}
	if g := probe("readinessProbe", c.ReadinessProbe); g != nil {
		checkReadinessPath(t, where+": readinessProbe", g.Path)
	}
	if g := probe("livenessProbe", c.LivenessProbe); g != nil {
		checkLivenessPath(t, where+": livenessProbe", g.Path)
	}

	// Prometheus scrapes /metrics on that port.
	ann := d.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(port) || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: pod annotations %v; want prometheus.io/scrape \"true\", port %q, path /metrics", dir, ann, strconv.Itoa(port))
	}
	if s := newOrderd(t).get(ann["prometheus.io/path"]); !ok(s) {
		t.Errorf("%s: orderd answers the scrape path %q with %d", dir, ann["prometheus.io/path"], s)
	}

	// Stopping: the kubelet waits longer than orderd may take.
	if g := pod.TerminationGracePeriodSeconds; g == nil || float64(*g) <= stopTime(cfg).Seconds() {
		t.Errorf("%s: terminationGracePeriodSeconds %v; want more than SHUTDOWN_TIMEOUT + SHUTDOWN_GRACE = %s, or the kubelet kills orderd mid-drain",
			dir, valueOr(g), stopTime(cfg))
	}

	// Memory, from CACHE_SIZE_MB and MAX_IN_FLIGHT_MB.
	warm, peak := memoryNeeds(cfg)
	request, limit := c.Resources.Requests[corev1.ResourceMemory], c.Resources.Limits[corev1.ResourceMemory]
	mib := func(q resource.Quantity) float64 { return float64(q.Value()) / (1 << 20) }
	if limit.IsZero() || mib(limit) < peak {
		t.Errorf("%s: memory limit %s; CACHE_SIZE_MB=%d and MAX_IN_FLIGHT_MB=%d need %.0f MiB at the peak (%.1f x cache + %d x in flight + %d)",
			where, limit.String(), cfg.CacheSizeMB, cfg.MaxInFlightMB, peak, peakRatio, inFlightRatio, runtimeMiB)
	}
	if request.IsZero() || mib(request) < warm {
		t.Errorf("%s: memory request %s; CACHE_SIZE_MB=%d and MAX_IN_FLIGHT_MB=%d need %.0f MiB once warm (%.1f x cache + %d x in flight + %d)",
			where, request.String(), cfg.CacheSizeMB, cfg.MaxInFlightMB, warm, warmRatio, inFlightRatio, runtimeMiB)
	}
	if request.Cmp(limit) > 0 {
		t.Errorf("%s: memory request %s above the limit %s", where, request.String(), limit.String())
	}
	if gml, err := goMemLimitMiB(env["GOMEMLIMIT"]); err != nil || gml < peak || gml > 0.95*mib(limit) {
		t.Errorf("%s: GOMEMLIMIT=%q (%v): want it set between the peak need (%.0f MiB) and 95%% of the memory limit %s, so the GC collects before garbage reaches the limit",
			where, env["GOMEMLIMIT"], err, peak, limit.String())
	}

	checkLockedDown(t, where, pod, c)

	// The Service, the PodDisruptionBudget and the Deployment's own selector
	// all find the pods.
	labels := d.Spec.Template.Labels
	selects := func(sel map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchExpressions) > 0 || !selects(d.Spec.Selector.MatchLabels) {
		t.Errorf("%s: the Deployment's selector %v does not select its pods %v", dir, d.Spec.Selector, labels)
	}
	svc := m.services[0]
	if !selects(svc.Spec.Selector) {
		t.Errorf("%s: Service %s selects %v, the pods are %v", dir, svc.Name, svc.Spec.Selector, labels)
	}
	if len(svc.Spec.Ports) == 0 {
		t.Errorf("%s: Service %s has no port", dir, svc.Name)
	}
	for _, p := range svc.Spec.Ports {
		resolve("Service port "+p.Name, p.TargetPort)
	}
	pdb := m.budgets[0]
	if pdb.Spec.Selector == nil || len(pdb.Spec.Selector.MatchExpressions) > 0 || !selects(pdb.Spec.Selector.MatchLabels) {
		t.Errorf("%s: PodDisruptionBudget %s selects %v, the pods are %v", dir, pdb.Name, pdb.Spec.Selector, labels)
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	// At least one pod may go (a drain never blocks), at least one stays.
	switch b := pdb.Spec; {
	case b.MaxUnavailable != nil && b.MinAvailable == nil && b.MaxUnavailable.Type == intstr.Int:
		if n := b.MaxUnavailable.IntVal; n < 1 || n >= replicas {
			t.Errorf("%s: PodDisruptionBudget maxUnavailable %d with %d replicas", dir, n, replicas)
		}
	case b.MinAvailable != nil && b.MaxUnavailable == nil && b.MinAvailable.Type == intstr.Int:
		if n := b.MinAvailable.IntVal; n < 1 || n >= replicas {
			t.Errorf("%s: PodDisruptionBudget minAvailable %d with %d replicas", dir, n, replicas)
		}
	default:
		t.Errorf("%s: PodDisruptionBudget %+v: want one of maxUnavailable or minAvailable, as a number", dir, b)
	}
	return cfg
}

// checkMountedSecretFile fails the test unless file (the value of setting
// name) is a file of a Secret volume mounted in the container.
func checkMountedSecretFile(t *testing.T, where, name, file string, mounts []corev1.VolumeMount, volumes map[string]corev1.Volume) {
	t.Helper()
	for _, vm := range mounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(vm.MountPath, "/")+"/")
		if !ok {
			continue
		}
		v := volumes[vm.Name]
		switch {
		case v.Secret == nil:
			t.Errorf("%s: %s=%s is in volume %q, which is not a Secret", where, name, file, vm.Name)
		case !vm.ReadOnly:
			t.Errorf("%s: %s=%s: mount %s read-only", where, name, file, vm.MountPath)
		case vm.SubPath != "":
			t.Errorf("%s: %s=%s: volume %q is mounted with subPath, which never sees a rotated Secret", where, name, file, vm.Name)
		case len(v.Secret.Items) > 0 && !slices.ContainsFunc(v.Secret.Items, func(k corev1.KeyToPath) bool { return path.Clean(k.Path) == rel }):
			t.Errorf("%s: %s=%s: Secret %s's items %v have no path %q", where, name, file, v.Secret.SecretName, v.Secret.Items, rel)
		}
		return
	}
	t.Errorf("%s: %s=%s is in no mounted volume; mount it from a Secret", where, name, file)
}

// checkLockedDown fails the test unless the container runs as it must:
// not as root, on a read-only root file system, without capabilities or a
// way to gain privileges, under the runtime's default seccomp profile.
func checkLockedDown(t *testing.T, where string, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	sc := c.SecurityContext
	if sc == nil {
		t.Errorf("%s: no securityContext", where)
		return
	}
	isTrue := func(b *bool) bool { return b != nil && *b }
	if !isTrue(sc.RunAsNonRoot) && !(sc.RunAsNonRoot == nil && isTrue(psc.RunAsNonRoot)) {
		t.Errorf("%s: runAsNonRoot is not true", where)
	}
	if uid := sc.RunAsUser; (uid != nil && *uid == 0) || (uid == nil && psc.RunAsUser != nil && *psc.RunAsUser == 0) {
		t.Errorf("%s: runs as uid 0", where)
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		t.Errorf("%s: readOnlyRootFilesystem is not true", where)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}
	if isTrue(sc.Privileged) {
		t.Errorf("%s: privileged", where)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities %+v; want drop [ALL] and nothing added", where, sc.Capabilities)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile %+v; want RuntimeDefault", where, seccomp)
	}
}

func valueOr[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}
