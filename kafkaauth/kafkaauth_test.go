package kafkaauth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/orderd/orderd/internal/testenv"
)

// connect applies c to a sarama client of brokers and asks for the topics,
// and returns what went wrong, explained.
func connect(t *testing.T, brokers []string, c Config) error {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	sc := sarama.NewConfig()
	sc.Net.DialTimeout, sc.Net.ReadTimeout = 5*time.Second, 5*time.Second
	sc.Metadata.Retry.Max = 0
	secure, err := c.Configure()
	if err != nil {
		return c.Explain(err)
	}
	secure(sc)
	client, err := sarama.NewClient(brokers, sc)
	if err != nil {
		return c.Explain(err)
	}
	defer client.Close()
	_, err = client.Topics()
	return c.Explain(err)
}

// Every mechanism, over TLS with a client certificate the brokers require:
// the client gets in.
func TestConnect_EveryMechanismOverMutualTLS(t *testing.T) {
	certs := testenv.NewCerts(t)
	for _, mech := range []string{Plain, SCRAMSHA256, SCRAMSHA512} {
		t.Run(mech, func(t *testing.T) {
			brokers, _ := testenv.KafkaWith(t, kfake.TLS(certs.ServerTLS(true)), kfake.EnableSASL(), kfake.Superuser(mech, "orderd", "s3cret"))
			err := connect(t, brokers, Config{
				TLS: true, CAFile: certs.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile,
				Mechanism: mech, Username: "orderd", Password: "s3cret",
			})
			if err != nil {
				t.Fatalf("connect with %s: %v", mech, err)
			}
		})
	}
}

// What a refusal says: in words, with the setting to check.
func TestConnect_RefusalsAreExplained(t *testing.T) {
	certs := testenv.NewCerts(t)
	f := func(name string, serverTLS bool, clientCerts bool, c Config, want, hint string) {
		t.Run(name, func(t *testing.T) {
			opts := []kfake.Opt{kfake.EnableSASL(), kfake.Superuser(SCRAMSHA512, "orderd", "s3cret")}
			if serverTLS {
				opts = append(opts, kfake.TLS(certs.ServerTLS(clientCerts)))
			}
			brokers, _ := testenv.KafkaWith(t, opts...)
			err := connect(t, brokers, c)
			var e *Explained
			if !errors.As(err, &e) || e.What != want || !strings.Contains(e.Hint, hint) {
				t.Fatalf("got %v; want %q, pointing at %s", err, want, hint)
			}
		})
	}
	good := Config{TLS: true, CAFile: certs.CAFile, Mechanism: SCRAMSHA512, Username: "orderd", Password: "s3cret"}
	wrongPassword := good
	wrongPassword.Password = "guess"
	f("wrong password", true, false, wrongPassword, "authentication failed", "KAFKA_SASL_PASSWORD")
	untrusted := good
	untrusted.CAFile = certs.OtherCAFile
	f("certificate of an unknown authority", true, false, untrusted, "the brokers' certificate is signed by an unknown authority", "KAFKA_TLS_CA_FILE")
	f("no client certificate", true, true, good, "the brokers want a client certificate", "KAFKA_TLS_CERT_FILE")
	plaintext := good
	f("TLS to a plaintext listener", false, false, plaintext, "KAFKA_TLS is true but the brokers do not speak TLS on this port", "KAFKA_TLS")
}

func TestValidate_NamesTheSettingsAtFault(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(c Config, want string) {
		t.Helper()
		err := c.Validate()
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("Validate(%+v) = %v, want %q", c, err, want)
		}
	}
	f(Config{}, "")
	f(Config{CAFile: "ca.pem"}, "KAFKA_TLS is not true")
	f(Config{TLS: true, CertFile: "c.pem"}, "KAFKA_TLS_KEY_FILE go together")
	f(Config{Mechanism: "GSSAPI", Username: "u", Password: "p"}, "want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	f(Config{Mechanism: Plain, Password: "p"}, "needs KAFKA_SASL_USERNAME")
	f(Config{Mechanism: Plain, Username: "u"}, "needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE")
	f(Config{Mechanism: Plain, Username: "u", Password: "p", PasswordFile: pwFile}, "not both")
	f(Config{Username: "u"}, "KAFKA_SASL_MECHANISM is not")
	f(Config{Mechanism: Plain, Username: "u", PasswordFile: filepath.Join(dir, "missing")}, "KAFKA_SASL_PASSWORD_FILE")

	c := Config{Mechanism: SCRAMSHA256, Username: "u", PasswordFile: pwFile}
	if err := c.Validate(); err != nil || c.Password != "from-a-file" {
		t.Fatalf("password from a file: %q, %v; want the file without its newline", c.Password, err)
	}
}
