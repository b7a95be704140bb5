package daemon

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/kafkaauth"
	"github.com/orderd/orderd/order/orderfake"
)

// securedKafka is a kfake over mutual TLS with one SASL user, and the
// settings and a franz-go client that reach it.
type securedKafka struct {
	brokers []string
	certs   *testenv.Certs
	env     map[string]string // orderd's settings for it, the password from a file
	client  *kgo.Client
}

func startSecuredKafka(t *testing.T, mechanism string) *securedKafka {
	t.Helper()
	certs := testenv.NewCerts(t)
	brokers, _ := testenv.KafkaWith(t, kfake.TLS(certs.ServerTLS(true)), kfake.EnableSASL(), kfake.Superuser(mechanism, "orderd", "s3cret-pw"))
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte("s3cret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := &securedKafka{brokers: brokers, certs: certs, env: map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","),
		"KAFKA_TLS":     "true", "KAFKA_TLS_CA_FILE": certs.CAFile,
		"KAFKA_TLS_CERT_FILE": certs.ClientCertFile, "KAFKA_TLS_KEY_FILE": certs.ClientKeyFile,
		"KAFKA_SASL_MECHANISM": mechanism, "KAFKA_SASL_USERNAME": "orderd", "KAFKA_SASL_PASSWORD_FILE": pwFile,
	}}
	tlsCfg := certs.ServerTLS(false).Clone()
	tlsCfg.Certificates, tlsCfg.RootCAs = nil, certs.CA
	clientCert, err := tls.LoadX509KeyPair(certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg.Certificates = []tls.Certificate{clientCert}
	opts := []kgo.Opt{kgo.DialTLSConfig(tlsCfg)}
	switch mechanism {
	case kafkaauth.Plain:
		opts = append(opts, kgo.SASL(plain.Auth{User: "orderd", Pass: "s3cret-pw"}.AsMechanism()))
	case kafkaauth.SCRAMSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: "orderd", Pass: "s3cret-pw"}.AsSha256Mechanism()))
	case kafkaauth.SCRAMSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: "orderd", Pass: "s3cret-pw"}.AsSha512Mechanism()))
	}
	k.client = testenv.KafkaClient(t, brokers, opts...)
	return k
}

// with is the settings of k with changes; an empty value removes one.
func (k *securedKafka) with(changes map[string]string) map[string]string {
	env := map[string]string{}
	for key, v := range k.env {
		env[key] = v
	}
	for key, v := range changes {
		if v == "" {
			delete(env, key)
		} else {
			env[key] = v
		}
	}
	return env
}

// Through a Kafka that wants mutual TLS and SASL, with every mechanism:
// orders are ingested and served, a broken message is dead-lettered, and
// orderctl lists it with the same settings.
func TestSecuredKafka_EveryMechanismEndToEnd(t *testing.T) {
	parallel(t, 1)
	orderctl, err := buildOrderctl()
	if err != nil {
		t.Fatal(err)
	}
	for _, mech := range []string{kafkaauth.Plain, kafkaauth.SCRAMSHA256, kafkaauth.SCRAMSHA512} {
		t.Run(mech, func(t *testing.T) {
			k := startSecuredKafka(t, mech)
			env := k.with(map[string]string{"DATABASE_URL": testenv.Postgres(t)})
			d := startDaemon(t, env)
			d.waitHealthy(t)
			if strings.Contains(d.logs.String(), "s3cret-pw") {
				t.Fatal("the SASL password is in the log")
			}

			gen := orderfake.New(12)
			recs := generated(gen, 50)
			broken, _ := gen.Broken()
			recs = append(recs, &kgo.Record{Topic: "orders", Value: broken})
			testenv.Produce(t, k.client, recs...)
			for _, r := range recs[:50] {
				uid := string(r.Key)
				eventually(t, "order "+uid+" served", func() bool {
					code, _ := d.get(t, "/order/"+uid)
					return code == http.StatusOK
				})
			}
			eventually(t, "the broken message dead-lettered", func() bool {
				ends, err := kadm.NewClient(k.client).ListEndOffsets(context.Background(), "orders.dlq")
				var n int64
				ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
				return err == nil && n == 1
			})

			cmd := exec.Command(orderctl, "dlq", "ls", "-json")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			for key, v := range env {
				if strings.HasPrefix(key, "KAFKA_") {
					cmd.Env = append(cmd.Env, key+"="+v)
				}
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("orderctl dlq ls over %s: %v\n%s", mech, err, out)
			}
			var listed struct {
				Ref    string `json:"ref"`
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal([]byte(strings.SplitN(string(out), "\n", 2)[0]), &listed); err != nil || listed.Ref == "" {
				t.Fatalf("orderctl dlq ls -json printed %s (%v)", out, err)
			}
		})
	}
}

// A wrong password, an untrusted certificate and a missing client
// certificate leave orderd running, /health 503 saying in words what failed
// and which setting to check, the log naming the setting, and its retries
// spaced out, not a busy loop.
func TestSecuredKafka_RefusalsAreExplainedAndRetried(t *testing.T) {
	parallel(t, 1)
	k := startSecuredKafka(t, kafkaauth.SCRAMSHA512)
	badPassword := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(badPassword, []byte("guess\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(name string, changes map[string]string, what, setting string) {
		t.Run(name, func(t *testing.T) {
			env := k.with(changes)
			env["DATABASE_URL"] = testenv.Postgres(t)
			env["RETRY_MAX_BACKOFF"] = "1s"
			d := startDaemon(t, env)
			eventually(t, "/health 503 naming kafka with "+what, func() bool {
				code, h := d.health(t)
				detail := h.Components["kafka"].Detail
				return code == http.StatusServiceUnavailable && strings.Contains(detail, what) && strings.Contains(detail, setting)
			})
			before := d.metrics(t)[`orderd_retries_total{cause="connect"}`]
			time.Sleep(3 * time.Second) // the window the retries are counted in
			retries := d.metrics(t)[`orderd_retries_total{cause="connect"}`] - before
			if retries > 10 {
				t.Fatalf("%v connection retries in 3 s with RETRY_MAX_BACKOFF=1s: a busy loop", retries)
			}
			if code, _ := d.get(t, "/livez"); code != http.StatusOK {
				t.Fatalf("orderd not alive: /livez %d", code)
			}
			if logs := d.logs.String(); !strings.Contains(logs, setting) || strings.Contains(logs, "s3cret-pw") {
				t.Fatalf("the log does not name %s, or holds the password", setting)
			}
			t.Logf("%s: %v retries in 3 s", name, retries)
		})
	}
	f("wrong password", map[string]string{"KAFKA_SASL_PASSWORD_FILE": badPassword}, "authentication failed", "KAFKA_SASL_PASSWORD")
	f("untrusted certificate", map[string]string{"KAFKA_TLS_CA_FILE": k.certs.OtherCAFile}, "signed by an unknown authority", "KAFKA_TLS_CA_FILE")
	f("no client certificate", map[string]string{"KAFKA_TLS_CERT_FILE": "", "KAFKA_TLS_KEY_FILE": ""}, "want a client certificate", "KAFKA_TLS_CERT_FILE")
}
