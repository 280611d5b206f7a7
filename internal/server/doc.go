// Package server assembles a modelwatch server from a Config — providers,
// catalog, authenticator, gateway, front doors, observers — and runs it: it
// listens (refusing a non-loopback address without authentication), serves
// /healthz, and on shutdown drains in-flight calls and lets observers flush.
package server
