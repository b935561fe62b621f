// Package memory implements every eusaas port in process. It is the embedded default of the
// reference server and the reference implementation each conformance suite is first proven
// against. Nothing survives a restart.
package memory
