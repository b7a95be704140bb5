// Package web is orderd's browser UI: one page (index.html), one stylesheet
// (style.css) and ES modules (main.js and what it imports), embedded in the
// binary. There is no build step and nothing is fetched from anywhere but
// orderd itself. The modules without DOM access (json.js, format.js,
// query.js, chart.js, redrive.js) are unit-tested with node --test, from
// web/test.
//
// The server serves Static's index.html at / and every other file of Static
// at /assets/<name>, so the files stay in one flat directory. The page works
// under a Content-Security-Policy without 'unsafe-inline': it has no inline
// script, style or event handler, and the script builds the page with DOM
// calls only, never from markup, because order data and dead-letter payloads
// are untrusted.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Static holds the UI files with the static directory as its root:
// index.html, style.css and the modules.
var Static fs.FS = mustSub(files, "static")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic("web: " + err.Error())
	}
	return sub
}
