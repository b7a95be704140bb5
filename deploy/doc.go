// Package deploy holds orderd's deployment files, not code: the Kubernetes
// manifests (kubernetes/, a kustomize base and its overlays), the files the
// compose stack mounts (compose/, observability/), and the tests that hold
// them, docker-compose.yml and the Dockerfile to what orderd really is: the
// settings it knows, the routes it serves, the port it listens on, how long
// it takes to stop and how much memory its cache costs.
package deploy
