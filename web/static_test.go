package web

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// markupWays are the ways a script can turn text into markup or code.
// Order data and dead-letter payloads are untrusted, so the UI uses none of
// them, not even in a comment: a mention is how a use starts.
var markupWays = []struct {
	re   *regexp.Regexp
	what string
}{
	{regexp.MustCompile(`innerHTML`), "innerHTML"},
	{regexp.MustCompile(`outerHTML`), "outerHTML"},
	{regexp.MustCompile(`insertAdjacentHTML`), "insertAdjacentHTML"},
	{regexp.MustCompile(`document\s*\.\s*write`), "document.write"},
	{regexp.MustCompile(`\beval\s*\(`), "eval("},
	{regexp.MustCompile(`new\s+Function\b`), "new Function"},
	{regexp.MustCompile(`setAttribute\s*\(\s*['"` + "`" + `]\s*on`), "an on* handler set as an attribute"},
	{regexp.MustCompile(`(?i)javascript\s*:`), "a javascript: URL"},
	{regexp.MustCompile(`createContextualFragment|parseFromString|setHTML|srcdoc`), "an HTML parser"},
	{regexp.MustCompile(`set(Timeout|Interval)\s*\(\s*['"` + "`" + `]`), "a timer given code as a string"},
	{regexp.MustCompile(`\.\s*(href|src|srcset|action|formAction)\s*=[^=]`), "a URL property set from script"},
	{regexp.MustCompile(`setAttribute(NS)?\s*\([^)]*['"` + "`" + `](href|src|srcset|action|formaction|xlink:href|style)['"` + "`" + `]`), "a URL or style attribute set from script"},
}

// markupUses lists every way of making markup that text uses, by line.
func markupUses(text string) []string {
	var found []string
	for i, line := range strings.Split(text, "\n") {
		for _, w := range markupWays {
			if w.re.MatchString(line) {
				found = append(found, fmt.Sprintf("line %d: %s: %s", i+1, w.what, strings.TrimSpace(line)))
			}
		}
	}
	return found
}

func TestMarkupUses_CatchesEveryWay(t *testing.T) {
	f := func(snippet string, want bool) {
		t.Helper()
		if got := len(markupUses(snippet)) > 0; got != want {
			t.Errorf("markupUses(%q) found something = %v, want %v", snippet, got, want)
		}
	}
	f(`node.innerHTML = name;`, true)
	f(`node.outerHTML = name;`, true)
	f(`node.insertAdjacentHTML('beforeend', s);`, true)
	f(`document.write(s);`, true)
	f(`document . write(s);`, true)
	f(`eval(s);`, true)
	f(`const g = new Function('return 1');`, true)
	f(`a.setAttribute('onclick', s);`, true)
	f(`a.setAttribute("onerror", s);`, true)
	f("a.setAttribute(`onload`, s);", true)
	f(`a.href = 'JavaScript:alert(1)';`, true)
	f(`range.createContextualFragment(s);`, true)
	f(`new DOMParser().parseFromString(s, 'text/html');`, true)
	f(`setTimeout('alert(1)', 10);`, true)
	f(`a.href = url;`, true)
	f(`img.src = data.x;`, true)
	f(`a.setAttribute('href', url);`, true)
	f(`u.setAttributeNS(ns, "xlink:href", url);`, true)
	f(`n.setAttribute('style', s);`, true)
	f(`if (a.href == b) {}`, false)
	f(`node.textContent = name;`, false)
	f(`node.setAttribute('title', raw);`, false)
	f(`setTimeout(refresh, 3000);`, false)
	f(`const evaluation = 1; retrieval(x);`, false)
}

func TestScript_NeverTurnsTextIntoMarkup(t *testing.T) {
	for _, name := range append(scripts(t), "index.html") {
		for _, use := range markupUses(readStatic(t, name)) {
			t.Errorf("%s: %s", name, use)
		}
	}
}

func TestIndex_HasNoInlineScriptStyleOrHandler(t *testing.T) {
	for _, tg := range indexTags(t) {
		for _, a := range tg.attrs {
			if a.name == "style" {
				t.Errorf("<%s> has a style attribute: the CSP refuses inline style", tg.name)
			}
			if strings.HasPrefix(a.name, "on") {
				t.Errorf("<%s> has an %s= handler: the CSP refuses inline script", tg.name, a.name)
			}
		}
		switch tg.name {
		case "style":
			t.Errorf("<style> element: the CSP refuses inline style; use style.css")
		case "script":
			if strings.TrimSpace(tg.body) != "" {
				t.Errorf("<script> with an inline body: the CSP refuses it")
			}
			if _, ok := tg.attr("src"); !ok {
				t.Errorf("<script> without src")
			}
			// A module script runs once the page is parsed, as defer.
			if typ, _ := tg.attr("type"); typ != "module" {
				t.Errorf("<script> without type=module: the UI is ES modules")
			}
		}
	}
}

func TestIndex_ReferencesOnlyEmbeddedFiles(t *testing.T) {
	var refs []string
	for _, tg := range indexTags(t) {
		for _, name := range []string{"href", "src", "action"} {
			v, ok := tg.attr(name)
			if !ok {
				continue
			}
			switch {
			case strings.HasPrefix(v, "/assets/"):
				file := strings.TrimPrefix(v, "/assets/")
				refs = append(refs, file)
				if _, err := fs.Stat(Static, file); err != nil {
					t.Errorf("<%s %s=%q>: no %s in Static: %v", tg.name, name, v, file, err)
				}
			case v == "/" || strings.HasPrefix(v, "#") || strings.HasPrefix(v, "data:"):
				// the page itself, a fragment, or inline data the CSP allows
			default:
				t.Errorf("<%s %s=%q>: the UI loads nothing but its own embedded files", tg.name, name, v)
			}
		}
	}
	for _, want := range []string{"style.css", "main.js"} {
		if !slices.Contains(refs, want) {
			t.Errorf("index.html does not load /assets/%s", want)
		}
	}
}

// TestIndex_KeepsTheIDsOthersRelyOn guards the ids the browser test and the
// documentation name: renaming one breaks them silently otherwise.
func TestIndex_KeepsTheIDsOthersRelyOn(t *testing.T) {
	ids := indexIDs(t)
	for _, id := range []string{
		"lookup-form", "lookup-id", "lookup-submit", "lookup-status",
		"order", "order-uid", "order-track", "order-date", "order-delivery", "order-payment",
		"payment-arithmetic", "order-items", "copy-json",
		"recent-list", "recent-more", "recent-refresh",
		"dlq-token-form", "dlq-token", "dlq-token-submit", "dlq-forget", "dlq-reason", "dlq-refresh",
		"dlq-list", "dlq-more", "dlq-detail", "dlq-headers", "dlq-payload", "dlq-redrive",
		"dlq-redrive-confirm", "dlq-redrive-cancel", "dlq-status",
		"stats", "stat-orders", "stat-rate", "stat-dlq", "stat-cache", "stat-hits", "stat-lag",
		"search-from", "search-to", "search-groups", "tab-flow", "flow-charts", "dlq-since",
		"dlq-bulk", "dlq-bulk-text", "dlq-bulk-go", "dlq-tree",
	} {
		if !ids[id] {
			t.Errorf("index.html has no #%s", id)
		}
	}
}

// TestScript_LooksUpOnlyExistingIDs: a script fails when an id it needs
// is missing, which only a browser would notice.
func TestScript_LooksUpOnlyExistingIDs(t *testing.T) {
	ids := indexIDs(t)
	byID := regexp.MustCompile(`byId\('([^']+)'\)`)
	n := 0
	for _, name := range scripts(t) {
		for _, m := range byID.FindAllStringSubmatch(readStatic(t, name), -1) {
			n++
			if !ids[m[1]] {
				t.Errorf("%s looks up #%s, which index.html lacks", name, m[1])
			}
		}
	}
	if n == 0 {
		t.Fatal("the scripts look up no ids with byId: has the helper been renamed?")
	}
}

// TestModules_ImportOnlyTheirNeighbours: every import is of another file
// of Static, by a relative path, as /assets/{name} serves them; and the
// pure modules, which node --test runs without a browser, touch no DOM.
func TestModules_ImportOnlyTheirNeighbours(t *testing.T) {
	imports := regexp.MustCompile(`(?m)^import\s[^;]*?from\s+'([^']+)';`)
	pure := []string{"json.js", "format.js", "query.js", "chart.js", "redrive.js"}
	dom := regexp.MustCompile(`\b(document|window|navigator|HTMLElement|fetch)\b`)
	for _, name := range scripts(t) {
		text := readStatic(t, name)
		for _, m := range imports.FindAllStringSubmatch(text, -1) {
			file, ok := strings.CutPrefix(m[1], "./")
			if !ok || strings.Contains(file, "/") {
				t.Errorf("%s imports %q: only ./name.js of Static is served", name, m[1])
				continue
			}
			if _, err := fs.Stat(Static, file); err != nil {
				t.Errorf("%s imports %s, which Static lacks", name, m[1])
			}
			if slices.Contains(pure, name) && !slices.Contains(pure, file) {
				t.Errorf("%s is a pure module but imports %s", name, file)
			}
		}
		if slices.Contains(pure, name) {
			for _, use := range dom.FindAllString(text, -1) {
				t.Errorf("%s is a pure module but uses %s", name, use)
			}
		}
	}
	for _, want := range pure {
		if _, err := fs.Stat(Static, want); err != nil {
			t.Errorf("no pure module %s: %v", want, err)
		}
	}
}

// scripts lists the UI's JavaScript modules.
func scripts(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(Static, "*.js")
	if err != nil || len(names) == 0 {
		t.Fatalf("no scripts in Static (%v)", err)
	}
	return names
}

// TestScript_ReadsOrdersExactly: order answers carry int64 ids and amounts,
// which JSON.parse rounds beyond 2^53, so every request for them must ask
// api for parseJSON (exact: true). The browser test shows what is at stake.
func TestScript_ReadsOrdersExactly(t *testing.T) {
	// Every api( call of the modules that read orders, whatever its path.
	calls := []string{}
	for _, name := range []string{"find.js", "recent.js"} {
		calls = append(calls, regexp.MustCompile("\\bapi\\([^\n]*").FindAllString(readStatic(t, name), -1)...)
	}
	if len(calls) < 3 {
		t.Fatalf("find.js and recent.js request orders %d times with api(, want at least 3: has the helper been renamed?", len(calls))
	}
	for _, call := range calls {
		if !strings.Contains(call, "exact: true") {
			t.Errorf("orders read without exact: true, so big integers are rounded: %s", call)
		}
	}
}

// TestStatic_IsFlatAndSelfContained: the server serves /assets/{name}, one
// path segment, and nothing may come from another origin at run time.
func TestStatic_IsFlatAndSelfContained(t *testing.T) {
	var names []string
	err := fs.WalkDir(Static, ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if name != "." {
				t.Errorf("Static has a directory %s: /assets/{name} cannot serve it", name)
			}
			return nil
		}
		names = append(names, name)
		// The SVG namespace is a name, never fetched: createElementNS
		// needs it.
		text := strings.ReplaceAll(readStatic(t, name), "'http://www.w3.org/2000/svg'", "")
		for _, bad := range []string{"http://", "https://", "@import", "url("} {
			if strings.Contains(text, bad) {
				t.Errorf("%s contains %q: the UI must not load anything from elsewhere", name, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"index.html", "main.js", "style.css"} {
		if !slices.Contains(names, want) {
			t.Errorf("Static lacks %s (has %v)", want, names)
		}
	}
}

func TestScanTags(t *testing.T) {
	tags, err := scanTags(`<!doctype html><!-- <script>x</script> --><p id=a class="b c" hidden>t</p>` +
		`<script src='/x.js' defer></script><script>alert(1)</script><a title="1 > 0" onclick=go()>`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range tags {
		s := tg.name
		for _, a := range tg.attrs {
			s += " " + a.name + "=" + a.value
		}
		if tg.body != "" {
			s += " body=" + tg.body
		}
		got = append(got, s)
	}
	want := []string{"p id=a class=b c hidden=", "script src=/x.js defer=", "script body=alert(1)", "a title=1 > 0 onclick=go()"}
	if !slices.Equal(got, want) {
		t.Errorf("scanTags:\n got %q\nwant %q", got, want)
	}
}

func readStatic(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(Static, name)
	if err != nil {
		t.Fatalf("read %s from Static: %v", name, err)
	}
	return string(b)
}

func indexTags(t *testing.T) []tag {
	t.Helper()
	tags, err := scanTags(readStatic(t, "index.html"))
	if err != nil {
		t.Fatalf("index.html: %v", err)
	}
	return tags
}

// indexIDs returns index.html's ids, failing the test on a duplicate.
func indexIDs(t *testing.T) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, tg := range indexTags(t) {
		if id, ok := tg.attr("id"); ok {
			if ids[id] {
				t.Errorf("index.html: duplicate id %q", id)
			}
			ids[id] = true
		}
	}
	return ids
}

type attr struct{ name, value string }

// tag is one start tag; body is the raw text of a <script> or <style>.
type tag struct {
	name  string
	attrs []attr
	body  string
}

func (tg tag) attr(name string) (string, bool) {
	for _, a := range tg.attrs {
		if a.name == name {
			return a.value, true
		}
	}
	return "", false
}

// scanTags lists the start tags of an HTML document, with names lower-cased
// and attribute values unquoted. It is just enough HTML for our own page,
// and errors on anything it cannot read rather than guessing, so nothing
// slips past the checks above. (golang.org/x/net/html would be a new
// dependency for one test.)
func scanTags(doc string) ([]tag, error) {
	var tags []tag
	i := 0
	for {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			return tags, nil
		}
		i += lt
		rest := doc[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest, "-->")
			if end < 0 {
				return nil, fmt.Errorf("offset %d: unclosed comment", i)
			}
			i += end + 3
			continue
		case strings.HasPrefix(rest, "<!"), strings.HasPrefix(rest, "</"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return nil, fmt.Errorf("offset %d: unclosed tag", i)
			}
			i += end + 1
			continue
		}
		tg, n, err := scanStartTag(rest)
		if err != nil {
			return nil, fmt.Errorf("offset %d: %w", i, err)
		}
		i += n
		if tg.name == "script" || tg.name == "style" {
			end := strings.Index(strings.ToLower(doc[i:]), "</"+tg.name)
			if end < 0 {
				return nil, fmt.Errorf("offset %d: <%s> never closed", i, tg.name)
			}
			tg.body = doc[i : i+end]
			i += end
		}
		tags = append(tags, tg)
	}
}

// scanStartTag reads "<name attr=value ...>" at the start of s and returns
// the tag and its length.
func scanStartTag(s string) (tag, int, error) {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
	i := 1
	for i < len(s) && !isSpace(s[i]) && s[i] != '>' && s[i] != '/' {
		i++
	}
	tg := tag{name: strings.ToLower(s[1:i])}
	if tg.name == "" {
		return tag{}, 0, fmt.Errorf("a '<' that starts no tag")
	}
	for {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			return tag{}, 0, fmt.Errorf("<%s> never ends", tg.name)
		}
		if s[i] == '>' {
			return tg, i + 1, nil
		}
		start := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/' {
			i++
		}
		a := attr{name: strings.ToLower(s[start:i])}
		if i < len(s) && s[i] == '=' {
			i++
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return tag{}, 0, fmt.Errorf("<%s %s=...> has an unclosed quote", tg.name, a.name)
				}
				a.value = s[i+1 : i+1+end]
				i += end + 2
			} else {
				start := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				a.value = s[start:i]
			}
		}
		tg.attrs = append(tg.attrs, a)
	}
}
