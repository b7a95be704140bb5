package server

import "github.com/fasthttp/router"

// addRoutes lists every route orderd serves.
func addRoutes(r *router.Router, d Deps) {
	r.GET("/", handleIndex())
	r.GET("/order/{id}", handleOrder(d.Orders))
	r.GET("/order/", handleMissingID())
	r.GET("/health", handleHealth(d.Health))
}
