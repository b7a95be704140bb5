package harness

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// MaxDuration and MaxCount bound a run even when asked for more.
const (
	MaxDuration = 30 * time.Minute
	MaxCount    = 1_000_000_000
)

// CheckLoopback refuses a target that is not this machine unless allowed:
// a load test pointed at someone else's service by mistake is an attack.
func CheckLoopback(rawURL string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, UsageError{Msg: fmt.Sprintf("invalid -url %q: want e.g. http://127.0.0.1:8081", rawURL)}
	}
	if allowRemote {
		return u, nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return u, nil
	}
	return nil, UsageError{Msg: fmt.Sprintf("-url %s is not loopback; pass -allow-remote to load another machine on purpose", rawURL)}
}

// CheckLoopbackBrokers is CheckLoopback for Kafka broker addresses.
func CheckLoopbackBrokers(brokers []string, allowRemote bool) error {
	for _, b := range brokers {
		if _, err := CheckLoopback("http://"+strings.TrimSpace(b), allowRemote); err != nil {
			return UsageError{Msg: fmt.Sprintf("broker %s is not loopback; pass -allow-remote to use it on purpose", b)}
		}
	}
	return nil
}

// CheckLoopbackDB refuses a database that is not on this machine unless
// allowed: the bench writes to it.
func CheckLoopbackDB(dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return UsageError{Msg: "invalid -database-url: want postgres://user@127.0.0.1:5432/db"}
	}
	if _, err := CheckLoopback("http://"+u.Host, false); err != nil {
		return UsageError{Msg: fmt.Sprintf("database %s is not loopback; pass -allow-remote to write to it on purpose", u.Host)}
	}
	return nil
}

// SplitBrokers splits a comma-separated -brokers list, dropping empty entries.
func SplitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// RedactDB is a database URL without its password.
func RedactDB(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "(database)"
	}
	return u.Redacted()
}
