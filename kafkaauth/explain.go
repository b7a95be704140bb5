package kafkaauth

import (
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/IBM/sarama"
)

// Explained is a failure to reach the brokers, said in words with the
// setting to check.
type Explained struct {
	Err  error
	What string // e.g. "authentication failed"
	Hint string // e.g. "check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
}

func (e *Explained) Error() string { return e.What + " (" + e.Hint + "): " + e.Err.Error() }
func (e *Explained) Unwrap() error { return e.Err }

// Explain says in words why err, a failure to connect or talk to the
// brokers with c, happened and which setting to check; an error it cannot
// tell is returned as it is.
func (c Config) Explain(err error) error {
	if err == nil {
		return nil
	}
	var (
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		text      = err.Error()
	)
	explained := func(what, hint string) error { return &Explained{Err: err, What: what, Hint: hint} }
	switch {
	case errors.Is(err, sarama.ErrSASLAuthenticationFailed), strings.Contains(text, "SASL Authentication failed"):
		return explained("authentication failed", "check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) and KAFKA_SASL_MECHANISM")
	case errors.Is(err, sarama.ErrUnsupportedSASLMechanism):
		return explained("the brokers do not offer SASL mechanism "+c.Mechanism, "check KAFKA_SASL_MECHANISM")
	case errors.As(err, &authority), strings.Contains(text, "certificate signed by unknown authority"):
		return explained("the brokers' certificate is signed by an unknown authority", "set KAFKA_TLS_CA_FILE to the CA that signs it")
	case errors.As(err, &hostname), strings.Contains(text, "certificate is valid for"):
		return explained("the brokers' certificate is not for the name dialled", "check KAFKA_BROKERS, or set KAFKA_TLS_SERVER_NAME")
	case errors.As(err, &invalid), strings.Contains(text, "certificate has expired"):
		return explained("the brokers' certificate is not valid", "renew it, or check this machine's clock")
	case strings.Contains(text, "certificate required"), strings.Contains(text, "bad certificate"),
		strings.Contains(text, "unknown certificate authority"):
		if c.CertFile == "" {
			return explained("the brokers want a client certificate", "set KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE")
		}
		return explained("the brokers refused the client certificate", "check KAFKA_TLS_CERT_FILE: it must be signed by a CA the brokers trust")
	case strings.Contains(text, "first record does not look like a TLS handshake"):
		return explained("KAFKA_TLS is true but the brokers do not speak TLS on this port", "check KAFKA_BROKERS and KAFKA_TLS")
	}
	closed := errors.Is(err, io.EOF) || strings.Contains(text, "EOF") || strings.Contains(text, "connection reset")
	var netErr net.Error
	timeout := errors.As(err, &netErr) && netErr.Timeout()
	switch {
	case closed && c.TLS && c.Mechanism != "":
		// Past TLS (a certificate problem says so), a broker that hangs up
		// on SASL is refusing the credentials: some answer
		// SASL_AUTHENTICATION_FAILED, others just close.
		return explained("authentication failed", "the brokers closed the connection while orderd authenticated: check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) and KAFKA_SASL_MECHANISM")
	case closed && !c.TLS:
		return explained("the brokers closed the connection", "do they want TLS (KAFKA_TLS), or other credentials (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD)?")
	case closed:
		return explained("the brokers closed the connection", "do they want SASL (KAFKA_SASL_MECHANISM)?")
	case timeout && c.TLS && strings.Contains(text, "read"):
		return explained("KAFKA_TLS is true but the brokers do not speak TLS on this port", "no answer to the TLS handshake: check KAFKA_BROKERS and KAFKA_TLS")
	}
	return err
}
