// Package pgraw decodes values straight from pgx's read buffer (rows.RawValues),
// for the hot loops that read millions of rows without scanning each into
// a Go value. It never imports anything of orderd's.
package pgraw

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Bigint decodes a bigint as PostgreSQL sent it: big-endian in the binary
// format pgx asks for, decimal text under the simple protocol (which a URL
// can choose with default_query_exec_mode).
func Bigint(raw []byte, format int16) (int64, error) {
	if format == pgx.BinaryFormatCode {
		if len(raw) != 8 {
			return 0, fmt.Errorf("%d bytes for a bigint", len(raw))
		}
		return int64(binary.BigEndian.Uint64(raw)), nil
	}
	return strconv.ParseInt(string(raw), 10, 64)
}
