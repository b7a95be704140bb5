package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxOrderBody bounds how much of an answer order get reads: far above any
// order orderd accepts (MAX_MESSAGE_BYTES, 1 MiB by default), yet a -url
// pointing at something that streams cannot exhaust memory.
const maxOrderBody = 64 << 20

// order runs "orderctl order COMMAND".
func (c *cli) order(ctx context.Context, args []string) error {
	cmd := c.newCommand("orderctl order")
	cmd.usage = "Usage:\n  orderctl [global flags] order get ORDER_UID\n"
	cmd.details = "The order commands ask orderd's HTTP API (-url) about orders.\n"
	cmd.examples = orderGetExamples
	rest, err := cmd.parse(args)
	if err != nil {
		return err
	}
	return cmd.dispatch(ctx, rest, map[string]subcommand{"get": c.orderGet})
}

// orderGet runs "orderctl order get".
func (c *cli) orderGet(ctx context.Context, args []string) error {
	cmd := c.newCommand("orderctl order get")
	cmd.usage = "Usage:\n  orderctl [global flags] order get ORDER_UID\n"
	cmd.details = orderGetDetails
	cmd.examples = orderGetExamples
	rest, err := cmd.parseAll(args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || rest[0] == "" {
		return cmd.failf("want one ORDER_UID, got %d arguments", len(rest))
	}
	id := rest[0]
	base, err := url.Parse(c.url)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("-url / ORDERD_URL %q is not an HTTP address such as http://127.0.0.1:8081", c.url)
	}

	// PathEscape: an id with '/' or '?' must stay one path segment, and be
	// answered as the invalid id it is.
	endpoint := strings.TrimSuffix(c.url, "/") + "/order/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return fmt.Errorf("order %q: %w", id, err)
	}
	req.Header.Set("Accept", "application/json")
	// ctx already ends at -timeout; the client's own Timeout is the same
	// bound for anything net/http does outside the request's context.
	client := &http.Client{Timeout: c.timeout}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach orderd at %s: %w; check -url / ORDERD_URL", c.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOrderBody+1))
	if err != nil {
		return fmt.Errorf("order %q: read the answer of %s: %w", id, c.url, err)
	}
	if len(body) > maxOrderBody {
		return fmt.Errorf("order %q: the answer of %s is over %d MiB; is -url / ORDERD_URL orderd?", id, c.url, maxOrderBody>>20)
	}
	if resp.StatusCode != http.StatusOK {
		return answerError(id, resp.Status, body)
	}
	pretty, ok := indentJSON(body)
	if !ok {
		return fmt.Errorf("order %q: %s answered 200 with something that is not JSON; is -url / ORDERD_URL orderd?", id, c.url)
	}
	writeLines(c.stdout, pretty)
	return nil
}

// answerError is the error for an answer other than 200: its status and the
// message of orderd's JSON error body, {"error": "..."}.
func answerError(id, status string, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return fmt.Errorf("order %q: orderd answered %s: %s", id, status, e.Error)
	}
	// Not orderd's shape: a proxy's page, or something else at -url.
	return fmt.Errorf("order %q: answer %s, without orderd's JSON error (is -url / ORDERD_URL orderd?): %s",
		id, status, cell(string(body), 200))
}

const (
	orderGetDetails = `Fetches an order from orderd's HTTP API, GET {-url}/order/ORDER_UID, and
prints its JSON indented. Any answer but 200 is an error naming the status
and orderd's message, e.g. "order not found" for an order orderd does not
have, or a 503 while orderd cannot reach PostgreSQL.
`
	orderGetExamples = `  orderctl order get b563feb7b2b84b6test
  orderctl -url http://orderd.internal:8081 order get b563feb7b2b84b6test
`
)
