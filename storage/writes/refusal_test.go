package writes

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestRefusal(t *testing.T) {
	f := func(err error, want bool) {
		t.Helper()
		if _, got := refusal(err); got != want {
			t.Errorf("refusal(%v) = %v, want %v", err, got, want)
		}
	}
	f(&pgconn.PgError{Code: "22021"}, true)                            // NUL byte
	f(&pgconn.PgError{Code: "22003"}, true)                            // numeric out of range
	f(fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "23514"}), true) // CHECK, wrapped
	f(&pgconn.PgError{Code: "23502"}, true)                            // NOT NULL
	f(&pgconn.PgError{Code: "54000"}, true)                            // index row too large
	f(&pgconn.PgError{Code: "54001"}, false)                           // statement too complex: not the order
	f(&pgconn.PgError{Code: "40001"}, false)                           // serialization failure: retry
	f(&pgconn.PgError{Code: "40P01"}, false)                           // deadlock: retry
	f(&pgconn.PgError{Code: "42P01"}, false)                           // unknown table: operator
	f(&pgconn.PgError{Code: "57014"}, false)                           // query cancelled
	f(errors.New("connection reset"), false)
	f(nil, false)
}
