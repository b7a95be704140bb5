package order_test

import (
	"testing"
	"time"

	"github.com/orderd/orderd/order"
)

func TestCreatedAt(t *testing.T) {
	f := func(s string) {
		t.Helper()
		got, err := order.CreatedAt(&order.Order{DateCreated: s})
		if err != nil {
			t.Fatalf("CreatedAt(%q): %v", s, err)
		}
		// The same instant time.Parse finds, always in UTC.
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("time.Parse(RFC3339Nano, %q): %v", s, err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("CreatedAt(%q) = %v, want %v in UTC", s, got, want.UTC())
		}
	}
	// the model's, without a fraction: the RFC3339Nano layout takes it too
	f("2021-11-26T06:22:19Z")
	// fractions of every length from 1 to 9 digits
	f("2021-11-26T06:22:19.1Z")
	f("2021-11-26T06:22:19.120Z")
	f("2021-11-26T06:22:19.123456Z")
	f("2021-11-26T06:22:19.123456789Z")
	// offsets east and west, the extremes, and the "unknown offset" -00:00
	f("2021-11-26T09:22:19+03:00")
	f("2021-11-25T22:52:19.5-07:30")
	f("2021-11-26T06:22:19+23:59")
	f("2021-11-26T06:22:19-23:59")
	f("2021-11-26T06:22:19-00:00")
	// an offset that moves the date across a year boundary
	f("2021-12-31T23:30:00-01:00")
	// 29 February in a leap year, including the 400-year rule
	f("2024-02-29T00:00:00Z")
	f("2000-02-29T00:00:00Z")
	// the ends of the four-digit years
	f("0000-01-01T00:00:00Z")
	f("9999-12-31T23:59:59.999999999Z")
}

func TestCreatedAt_Rejects(t *testing.T) {
	f := func(s string) {
		t.Helper()
		if got, err := order.CreatedAt(&order.Order{DateCreated: s}); err == nil {
			t.Fatalf("CreatedAt(%q) = %v, want an error", s, got)
		}
	}
	// empty, a date alone, no offset
	f("")
	f("2021-11-26")
	f("2021-11-26T06:22:19")
	// a space or lower-case t/z (time.Parse rejects these too)
	f("2021-11-26 06:22:19Z")
	f("2021-11-26t06:22:19Z")
	f("2021-11-26T06:22:19z")
	// out of range: month, day, hour, minute, second (no leap seconds)
	f("2021-13-26T06:22:19Z")
	f("2021-00-26T06:22:19Z")
	f("2021-11-31T06:22:19Z")
	f("2021-02-29T06:22:19Z")
	f("1900-02-29T06:22:19Z")
	f("2021-11-26T24:00:00Z")
	f("2021-11-26T06:60:19Z")
	f("2021-11-26T06:22:60Z")
	// offsets out of range or badly written
	f("2021-11-26T06:22:19+24:00")
	f("2021-11-26T06:22:19+03:60")
	f("2021-11-26T06:22:19+0300")
	f("2021-11-26T06:22:19+03")
	f("2021-11-26T06:22:19Z+03:00")
	// fractions: empty, finer than a nanosecond, a comma (which time.Parse's
	// lenient fallback accepts)
	f("2021-11-26T06:22:19.Z")
	f("2021-11-26T06:22:19.1234567891Z")
	f("2021-11-26T06:22:19,5Z")
	// a one-digit hour (also accepted by time.Parse's fallback)
	f("2021-11-26T6:22:19Z")
	// signs and letters where digits belong
	f("2021-11-2aT06:22:19Z")
	f("+021-11-26T06:22:19Z")
	f("2021-11-26T06:22:19.12a3Z")
	// trailing text
	f("2021-11-26T06:22:19Z ")
}
