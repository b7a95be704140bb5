package server

import (
	"fmt"
	"io/fs"
	"mime"
	"path"

	"github.com/orderd/orderd/server/reply"
	"github.com/valyala/fasthttp"
)

// contentSecurityPolicy lets the page load only its own script, style and
// API, with no inline script or style: order data is untrusted, and even if
// some of it ever reached the page as markup, the browser would not run it.
// frame-ancestors 'none' keeps the page out of other sites' frames.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// uiFile is one embedded asset, read once at start.
type uiFile struct {
	body        []byte
	contentType string
}

// loadUI reads index.html and every other file of ui (the web package's
// Static) into memory.
func loadUI(ui fs.FS) (index uiFile, assets map[string]uiFile, err error) {
	assets = map[string]uiFile{}
	err = fs.WalkDir(ui, ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		body, err := fs.ReadFile(ui, name)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		f := uiFile{body: body, contentType: ct}
		if name == "index.html" {
			index = f
		} else {
			assets[name] = f
		}
		return nil
	})
	if err == nil && index.body == nil {
		err = fmt.Errorf("no index.html")
	}
	if err != nil {
		return uiFile{}, nil, fmt.Errorf("load web UI: %w", err)
	}
	return index, assets, nil
}

// serveUIFile answers with f and the headers every UI response carries.
func serveUIFile(ctx *fasthttp.RequestCtx, f uiFile) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// The assets are not content-hashed: revalidate on every load so a new
	// orderd is never shown with yesterday's script.
	h.Set("Cache-Control", "no-cache")
	ctx.SetContentType(f.contentType)
	ctx.SetBody(f.body)
}

// handleUI serves the page itself; ?id= deep links are read by the script.
func handleUI(index uiFile) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) { serveUIFile(ctx, index) }
}

// handleAsset serves /assets/{name}.
func handleAsset(assets map[string]uiFile) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		name, _ := ctx.UserValue("name").(string)
		f, ok := assets[name]
		if !ok {
			reply.Error(ctx, fasthttp.StatusNotFound, "no such asset: "+name)
			return
		}
		serveUIFile(ctx, f)
	}
}
