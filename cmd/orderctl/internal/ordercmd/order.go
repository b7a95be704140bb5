// Package ordercmd is orderctl order: fetching an order from orderd's HTTP
// API and printing it.
//
// It never talks to Kafka or PostgreSQL: what it knows of an order is what
// orderd's API answers.
package ordercmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/cmd/orderctl/internal/termtext"
)

// maxOrderBody bounds how much of an answer order get reads: far above any
// order orderd accepts (MAX_MESSAGE_BYTES, 1 MiB by default), yet a -url
// pointing at something that streams cannot exhaust memory.
const maxOrderBody = 64 << 20

// cli is one invocation of orderctl, as the commands of this package see it.
type cli struct{ *command.Globals }

// Run runs "orderctl order COMMAND" with the arguments after "order".
func Run(ctx context.Context, g *command.Globals, args []string) error {
	c := &cli{g}
	return g.RunGroup(ctx, "orderctl order", orderHelp, args, map[string]command.Subcommand{"get": c.orderGet})
}

// orderGet runs "orderctl order get".
func (c *cli) orderGet(ctx context.Context, args []string) error {
	cmd := c.NewCommand("orderctl order get", orderGetHelp)
	rest, err := cmd.ParseAll(args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || rest[0] == "" {
		return cmd.Failf("want one ORDER_UID, got %d arguments", len(rest))
	}
	id := rest[0]
	base, err := url.Parse(c.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("-url / ORDERD_URL %q is not an HTTP address such as http://127.0.0.1:8081", c.URL)
	}

	// PathEscape: an id with '/' or '?' must stay one path segment, and be
	// answered as the invalid id it is.
	endpoint := strings.TrimSuffix(c.URL, "/") + "/order/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return fmt.Errorf("order %q: %w", id, err)
	}
	req.Header.Set("Accept", "application/json")
	// ctx already ends at -timeout; the client's own Timeout is the same
	// bound for anything net/http does outside the request's context.
	client := &http.Client{Timeout: c.Timeout}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach orderd at %s: %w; check -url / ORDERD_URL", c.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOrderBody+1))
	if err != nil {
		return fmt.Errorf("order %q: read the answer of %s: %w", id, c.URL, err)
	}
	if len(body) > maxOrderBody {
		return fmt.Errorf("order %q: the answer of %s is over %d MiB; is -url / ORDERD_URL orderd?", id, c.URL, maxOrderBody>>20)
	}
	if resp.StatusCode != http.StatusOK {
		return answerError(id, resp.Status, body)
	}
	pretty, ok := termtext.IndentJSON(body)
	if !ok {
		return fmt.Errorf("order %q: %s answered 200 with something that is not JSON; is -url / ORDERD_URL orderd?", id, c.URL)
	}
	termtext.WriteLines(c.Stdout, pretty)
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
		id, status, termtext.Cell(string(body), 200))
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

var orderHelp = command.Help{Usage: "Usage:\n  orderctl [global flags] order get ORDER_UID\n", Details: "The order commands ask orderd's HTTP API (-url) about orders.\n", Examples: orderGetExamples}

var orderGetHelp = command.Help{Usage: "Usage:\n  orderctl [global flags] order get ORDER_UID\n", Details: orderGetDetails, Examples: orderGetExamples}
