// Package kafkaauth is how orderd's programs (orderd, orderctl, the
// producer and the bench tool) reach a secured Kafka: TLS, with a CA of
// its own and a client certificate, and SASL PLAIN or SCRAM. Every program
// takes the same settings, from the same flags and environment variables,
// and says in words what failed when the brokers refuse it.
package kafkaauth

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// SASL mechanisms orderd speaks.
const (
	Plain       = "PLAIN"
	SCRAMSHA256 = "SCRAM-SHA-256"
	SCRAMSHA512 = "SCRAM-SHA-512"
)

// Config is how to reach the brokers. The zero value is plaintext without
// SASL, what a local Kafka wants.
type Config struct {
	TLS                bool   // KAFKA_TLS: dial TLS, with the system roots unless CAFile is given
	CAFile             string // KAFKA_TLS_CA_FILE: PEM certificates to trust instead of the system's
	CertFile, KeyFile  string // KAFKA_TLS_CERT_FILE, KAFKA_TLS_KEY_FILE: a client certificate (mutual TLS)
	ServerName         string // KAFKA_TLS_SERVER_NAME: the name the brokers' certificates are checked against
	InsecureSkipVerify bool   // KAFKA_TLS_INSECURE_SKIP_VERIFY: trust any certificate (never in production)

	Mechanism    string // KAFKA_SASL_MECHANISM: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty for none
	Username     string // KAFKA_SASL_USERNAME
	Password     string // KAFKA_SASL_PASSWORD
	PasswordFile string // KAFKA_SASL_PASSWORD_FILE: the password, from a file (a mounted secret)
}

// Flag names; the environment variable of each is its upper case with _
// for -, as every orderd setting's.
const (
	flagTLS          = "kafka-tls"
	flagCAFile       = "kafka-tls-ca-file"
	flagCertFile     = "kafka-tls-cert-file"
	flagKeyFile      = "kafka-tls-key-file"
	flagServerName   = "kafka-tls-server-name"
	flagInsecure     = "kafka-tls-insecure-skip-verify"
	flagMechanism    = "kafka-sasl-mechanism"
	flagUsername     = "kafka-sasl-username"
	flagPassword     = "kafka-sasl-password"
	flagPasswordFile = "kafka-sasl-password-file"
)

// AddFlags registers the settings on fs. A program whose flags also come
// from the environment (orderd) reads them through its own mechanism;
// DefaultsFromEnv suits one that takes only some of its flags from there.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.TLS, flagTLS, c.TLS, "dial the Kafka brokers over TLS (system roots unless -kafka-tls-ca-file)")
	fs.StringVar(&c.CAFile, flagCAFile, c.CAFile, "PEM `file` of the certificates that sign the brokers'")
	fs.StringVar(&c.CertFile, flagCertFile, c.CertFile, "PEM `file` of the client certificate, for mutual TLS")
	fs.StringVar(&c.KeyFile, flagKeyFile, c.KeyFile, "PEM `file` of the client certificate's key")
	fs.StringVar(&c.ServerName, flagServerName, c.ServerName, "the `name` the brokers' certificates must carry (default: their host)")
	fs.BoolVar(&c.InsecureSkipVerify, flagInsecure, c.InsecureSkipVerify, "trust any broker certificate: for tests only, logged as a warning")
	fs.StringVar(&c.Mechanism, flagMechanism, c.Mechanism, "SASL `mechanism`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)")
	fs.StringVar(&c.Username, flagUsername, c.Username, "SASL `user`")
	fs.StringVar(&c.Password, flagPassword, c.Password, "SASL `password` (prefer -kafka-sasl-password-file)")
	fs.StringVar(&c.PasswordFile, flagPasswordFile, c.PasswordFile, "`file` holding the SASL password (a trailing newline is dropped)")
}

// DefaultsFromEnv fills c from the settings' environment variables, before
// AddFlags, so that flags given on the command line win.
func (c *Config) DefaultsFromEnv(getenv func(string) string) error {
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(EnvName(name)); v != "" {
			*dst = v
		}
	}
	boolean := func(name string, dst *bool) {
		if v := getenv(EnvName(name)); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", EnvName(name), v))
			}
			*dst = b
		}
	}
	boolean(flagTLS, &c.TLS)
	str(flagCAFile, &c.CAFile)
	str(flagCertFile, &c.CertFile)
	str(flagKeyFile, &c.KeyFile)
	str(flagServerName, &c.ServerName)
	boolean(flagInsecure, &c.InsecureSkipVerify)
	str(flagMechanism, &c.Mechanism)
	str(flagUsername, &c.Username)
	str(flagPassword, &c.Password)
	str(flagPasswordFile, &c.PasswordFile)
	return errors.Join(errs...)
}

// EnvName is the environment variable of a flag.
func EnvName(flagName string) string { return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_")) }

// Validate checks that the settings go together, and reads the password
// from its file. It names the settings at fault.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	tlsFiles := c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != "" || c.InsecureSkipVerify
	check(c.TLS || !tlsFiles, "KAFKA_TLS_* settings are given but KAFKA_TLS is not true")
	check((c.CertFile == "") == (c.KeyFile == ""), "KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE go together: a client certificate needs its key")
	switch c.Mechanism {
	case "":
		check(c.Username == "" && c.Password == "" && c.PasswordFile == "",
			"KAFKA_SASL_USERNAME or a password is given but KAFKA_SASL_MECHANISM is not: set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	case Plain, SCRAMSHA256, SCRAMSHA512:
		check(c.Username != "", "KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME")
		check(c.Password == "" || c.PasswordFile == "", "set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both")
		check(c.Password != "" || c.PasswordFile != "", "KAFKA_SASL_MECHANISM needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE")
	default:
		check(false, fmt.Sprintf("KAFKA_SASL_MECHANISM %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.Mechanism))
	}
	if len(errs) == 0 && c.PasswordFile != "" {
		pw, err := ReadSecret(c.PasswordFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("KAFKA_SASL_PASSWORD_FILE: %w", err))
		}
		c.Password = pw
	}
	return errors.Join(errs...)
}

// ReadSecret reads a secret from a file, the Docker and Kubernetes secrets
// convention: the whole file, less one trailing newline.
func ReadSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// Configure reads what c names (the CA, the client certificate) and
// returns what sets a sarama configuration to reach the brokers with it:
// every client a program makes gets the same TLS and SASL settings. c must
// have passed Validate.
func (c Config) Configure() (func(*sarama.Config), error) {
	var tc *tls.Config
	if c.TLS {
		var err error
		if tc, err = c.tlsConfig(); err != nil {
			return nil, err
		}
	}
	return func(sc *sarama.Config) {
		if tc != nil {
			sc.Net.TLS.Enable, sc.Net.TLS.Config = true, tc.Clone()
		}
		if c.Mechanism == "" {
			return
		}
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Handshake = true
		sc.Net.SASL.User, sc.Net.SASL.Password = c.Username, c.Password
		switch c.Mechanism {
		case Plain:
			sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case SCRAMSHA256:
			sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: sha256.New} }
		case SCRAMSHA512:
			sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: sha512.New} }
		}
	}, nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("KAFKA_TLS_CA_FILE: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("KAFKA_TLS_CA_FILE %s holds no PEM certificate", c.CAFile)
		}
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// scramClient is sarama's SCRAMClient over xdg-go/scram, the library
// sarama's own examples use: SCRAM is not something to write by hand.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (s *scramClient) Begin(user, password, authzID string) error {
	c, err := s.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	s.conv = c.NewConversation()
	return nil
}

func (s *scramClient) Step(challenge string) (string, error) { return s.conv.Step(challenge) }

func (s *scramClient) Done() bool { return s.conv.Done() }
